import { describe, expect, it, vi } from 'vitest';
import { albTraffic } from '../../functions/core/config-route';
import { DEMO_ALARM, demoService, HEALTHY } from '../../sandbox/demo';
import { alarmEvent, ctx, expectSettled, SHORT_PLAN, snsEvents, startWorld } from '../helpers/world';

const APPROVAL_PLAN = [
  { weight: 25, bakeSeconds: 60, approval: true },
  { weight: 100, bakeSeconds: 60 },
];

/** A first step whose bake outlasts the test, so the rollout is reliably mid-bake when interrupted. */
const LONG_BAKE = [
  { weight: 25, bakeSeconds: 600 },
  { weight: 100, bakeSeconds: 60 },
];

async function startedId(p: Promise<{ status: string; rolloutId?: string }>): Promise<string> {
  const r = await p;
  if (r.status !== 'started' || !r.rolloutId) throw new Error(`expected a start, got ${JSON.stringify(r)}`);
  return r.rolloutId;
}

describe('interrupting a rollout', () => {
  it('an alarm during a bake puts 100% on stable at once, then the workflow rolls back', async () => {
    const world = await startWorld({
      services: [demoService({ steps: LONG_BAKE })],
    });
    const id = await startedId(world.push('v2'));
    await world.waitForWait(id, 'bake');

    const handled = await world.handlers.OnAlarm(alarmEvent(DEMO_ALARM), ctx);

    // on-alarm itself verified the weights before returning: stable has everything already.
    expect(handled).toMatchObject({ stopped: [id] });
    expect(world.appliedCanaryPercent()).toBe(0);
    const execution = await world.waitFor(id);
    expect(execution.status).toBe('FAILED');
    expect(execution.error).toBe('AlarmFired');
    await expectSettled(world, { stableTag: 'v1' });
  });

  it('an alarm while waiting for approval rolls back', async () => {
    const world = await startWorld({ services: [demoService({ steps: APPROVAL_PLAN })] });
    const id = await startedId(world.push('v2'));
    await world.waitForWait(id, 'approval');
    await world.handlers.OnAlarm(alarmEvent(DEMO_ALARM), ctx);
    const execution = await world.waitFor(id);
    expect(execution.error).toBe('AlarmFired');
    await expectSettled(world, { stableTag: 'v1' });
  });

  it('an alarm that gates nothing running, or an OK transition, changes nothing', async () => {
    const world = await startWorld({ services: [demoService({ steps: APPROVAL_PLAN })] });
    const id = await startedId(world.push('v2'));
    await world.waitForWait(id, 'approval');
    const other = await world.handlers.OnAlarm(alarmEvent('some-other-alarm'), ctx);
    const ok = await world.handlers.OnAlarm(alarmEvent(DEMO_ALARM, 'OK'), ctx);
    expect(other).toMatchObject({ stopped: [] });
    expect(ok).toMatchObject({ stopped: [] });
    expect(world.appliedCanaryPercent()).toBe(25);
    expect(await world.decideApproval('web', true)).toBe(true);
    expect((await world.waitFor(id)).status).toBe('SUCCEEDED');
  });

  it('approval: approving advances to promotion', async () => {
    const world = await startWorld({ services: [demoService({ steps: APPROVAL_PLAN })] });
    const id = await startedId(world.push('v2'));
    await world.waitForWait(id, 'approval');
    await vi.waitFor(() => expect(snsEvents(world)).toContain('approval.requested'));
    expect(await world.decideApproval('web', true)).toBe(true);
    expect((await world.waitFor(id)).status).toBe('SUCCEEDED');
    await expectSettled(world, { stableTag: 'v2' });
  });

  it('approval: rejecting rolls back with ApprovalRejected and quarantines the image', async () => {
    const world = await startWorld({ services: [demoService({ steps: APPROVAL_PLAN })] });
    const id = await startedId(world.push('v2'));
    await world.waitForWait(id, 'approval');
    expect(await world.decideApproval('web', false, 'not today')).toBe(true);
    const execution = await world.waitFor(id);
    expect(execution.error).toBe('ApprovalRejected');
    expect(await world.store.isQuarantined('web', world.imageByTag('v2').digest)).toBe(true);
    await expectSettled(world, { stableTag: 'v1' });
    // The token is spent: deciding again does nothing.
    expect(await world.decideApproval('web', true)).toBe(false);
  });

  it('approval: nobody deciding before the timeout rolls back (the default policy)', async () => {
    const world = await startWorld({
      services: [
        demoService({ steps: APPROVAL_PLAN, approvals: { timeoutSeconds: 60, onTimeout: 'rollback' } }),
      ],
    });
    const id = await startedId(world.push('v2'));
    const execution = await world.waitFor(id);
    expect(execution.error).toBe('ApprovalTimedOut');
    await expectSettled(world, { stableTag: 'v1' });
  });

  it('approval: a policy of approving on timeout promotes', async () => {
    const world = await startWorld({
      services: [
        demoService({ steps: APPROVAL_PLAN, approvals: { timeoutSeconds: 60, onTimeout: 'approve' } }),
      ],
    });
    const id = await startedId(world.push('v2'));
    expect((await world.waitFor(id)).status).toBe('SUCCEEDED');
    await expectSettled(world, { stableTag: 'v2' });
  });

  it('a newer image supersedes a running rollout: the old one rolls back, then the new one runs', async () => {
    const world = await startWorld({
      services: [demoService({ steps: LONG_BAKE })],
      images: [
        { tag: 'v2', profile: HEALTHY },
        { tag: 'v5', profile: HEALTHY },
      ],
    });
    const first = await startedId(world.push('v2'));
    await world.waitForWait(first, 'bake');

    const second = await world.push('v5');

    expect(second).toMatchObject({ status: 'superseding', supersedes: first });
    const old = await world.waitFor(first);
    expect(old.error).toBe('Superseded');
    // Superseded is not the image's fault: no quarantine.
    expect(await world.store.isQuarantined('web', world.imageByTag('v2').digest)).toBe(false);
    if (second.status !== 'superseding') throw new Error('not superseding');
    const next = await world.waitFor(second.rolloutId, 60_000);
    expect(next.status).toBe('SUCCEEDED');
    await expectSettled(world, { stableTag: 'v5' });
  });

  it('an execution stopped from outside is reconciled: stable restored, service released', async () => {
    const world = await startWorld({
      services: [demoService({ steps: LONG_BAKE })],
    });
    const id = await startedId(world.push('v2'));
    await world.waitForWait(id, 'bake');
    expect(world.appliedCanaryPercent()).toBe(25);

    await world.executions.stop(id);

    expect((await world.waitFor(id)).status).toBe('ABORTED');
    await expectSettled(world, { stableTag: 'v1' });
    expect((await world.store.getRollout(id))?.status).toBe('rolledBack');
  });
});

describe('operators steering a rollout', () => {
  it('promote --full skips from a bake straight to the last step, which is still judged', async () => {
    const world = await startWorld({
      services: [
        demoService({
          steps: [
            { weight: 5, bakeSeconds: 600 },
            { weight: 25, bakeSeconds: 600 },
            { weight: 100, bakeSeconds: 60 },
          ],
        }),
      ],
    });
    const id = await startedId(world.push('v2'));
    await world.waitForWait(id, 'bake');
    const record = await world.store.getRollout(id);
    expect(await world.executions.sendTaskSuccess(record?.wait?.token ?? '', { skipToFull: true })).toBe(
      true,
    );
    expect((await world.waitFor(id)).status).toBe('SUCCEEDED');
    const history = await world.store.history(id);
    expect(history.filter((h) => h.type === 'weight').map((h) => h.detail?.weight)).toEqual([5, 100]);
    expect(history.filter((h) => h.type === 'analysis').map((h) => h.detail?.weight)).toContain(100);
    await expectSettled(world, { stableTag: 'v2' });
  });

  it('ending a bake early without --full analyzes the step at once and goes on step by step', async () => {
    const world = await startWorld({ services: [demoService({ steps: LONG_BAKE })] });
    const id = await startedId(world.push('v2'));
    await world.waitForWait(id, 'bake');
    const record = await world.store.getRollout(id);
    await world.executions.sendTaskSuccess(record?.wait?.token ?? '', { promoted: true });
    expect((await world.waitFor(id)).status).toBe('SUCCEEDED');
    const weights = (await world.store.history(id))
      .filter((h) => h.type === 'weight')
      .map((h) => h.detail?.weight);
    expect(weights).toEqual([25, 100]);
  });
});

describe('bad input changes nothing', () => {
  it('an invalid service config is refused naming the field', async () => {
    await expect(
      startWorld({
        services: [
          demoService({
            steps: [
              { weight: 50, bakeSeconds: 60 },
              { weight: 40, bakeSeconds: 60 },
            ],
          }),
        ],
      }),
    ).rejects.toThrow(/steps\[1\]\.weight: weights must increase/);
  });

  it('a malformed event or an unknown repository fails with the field named, and no rollout starts', async () => {
    const world = await startWorld({ services: [demoService({ steps: SHORT_PLAN })] });
    const bad = {
      version: '0',
      id: '1',
      'detail-type': 'ECR Image Action',
      source: 'aws.ecr',
      time: new Date().toISOString(),
      detail: {
        'action-type': 'PUSH',
        result: 'SUCCESS',
        'repository-name': 'shop/web',
        'image-digest': 'sha256:nothex',
      },
    };
    await expect(world.handlers.StartRollout(bad, ctx)).rejects.toMatchObject({
      name: 'InputInvalid',
      message: expect.stringMatching(/detail\.image-digest/),
    });
    const unknown = structuredClone(bad);
    unknown.detail['image-digest'] = world.imageByTag('v2').digest;
    unknown.detail['repository-name'] = 'shop/unknown';
    await expect(world.handlers.StartRollout(unknown, ctx)).rejects.toMatchObject({
      message: expect.stringMatching(/detail\.repository-name: no service/),
    });
    expect(world.executions.list()).toEqual([]);
    expect(world.store.heldLocks()).toEqual([]);
    expect(await world.store.listActive()).toEqual([]);
    expect(world.appliedCanaryPercent()).toBe(0);
  });

  it('a missing target group fails Prepare with TargetNotFound and changes no weights', async () => {
    const world = await startWorld({ services: [demoService({ steps: SHORT_PLAN })] });
    world.lb.targetGroups.delete(albTraffic(world.config().traffic).canaryTargetGroupArn);
    const before = world.lb.configuredState(albTraffic(world.config().traffic).listenerArn);
    const id = await startedId(world.push('v2'));
    const execution = await world.waitFor(id);
    expect(execution.error).toBe('TargetNotFound');
    expect(execution.cause).toMatch(/web-canary/);
    expect(world.lb.configuredState(albTraffic(world.config().traffic).listenerArn)).toEqual(before);
    expect(world.store.heldLocks()).toEqual([]);
  });
});

describe('a lock left behind', () => {
  it('is taken over when its holder never started', async () => {
    const world = await startWorld({ services: [demoService({ steps: SHORT_PLAN })] });
    await world.store.acquireLock('web', 'web-0000000000000000', new Date(0));
    const id = await startedId(world.push('v2'));
    expect((await world.waitFor(id)).status).toBe('SUCCEEDED');
    await expectSettled(world, { stableTag: 'v2' });
  });

  it('is not taken over while its holder is still rolling back: the push waits for the reconciler', async () => {
    const world = await startWorld({ services: [demoService({ steps: SHORT_PLAN })] });
    const now = new Date();
    await world.store.acquireLock('web', 'web-1111111111111111', now);
    await world.store.putRollout({
      rolloutId: 'web-1111111111111111',
      service: 'web',
      image: { repository: 'shop/web', digest: world.imageByTag('v3').digest },
      status: 'rollingBack',
      alarms: [],
      createdAt: now.toISOString(),
      updatedAt: now.toISOString(),
    });

    const result = await world.push('v2');

    expect(result).toMatchObject({ status: 'superseding', supersedes: 'web-1111111111111111' });
    expect(world.executions.list()).toEqual([]);
    expect((await world.store.getLock('web'))?.pending?.image.tag).toBe('v2');
  });
});
