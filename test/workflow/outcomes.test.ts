import { describe, expect, it } from 'vitest';
import { demoService } from '../../sandbox/demo';
import { SANDBOX_ROUTING_KEY } from '../../sandbox/world';
import { expectSettled, pages, SHORT_PLAN, snsEvents, startWorld } from '../helpers/world';

describe('the canary workflow on the real state machine', () => {
  it('promotes a healthy image through every step and leaves 100% on stable running it', async () => {
    // Prepare
    const world = await startWorld();
    // Act
    const started = await world.push('v2');
    if (started.status !== 'started') throw new Error(`not started: ${started.status}`);
    const execution = await world.waitFor(started.rolloutId);
    // Assess
    expect(execution.status).toBe('SUCCEEDED');
    const record = await world.store.getRollout(started.rolloutId);
    expect(record?.status).toBe('promoted');
    const weights = (await world.store.history(started.rolloutId))
      .filter((h) => h.type === 'weight')
      .map((h) => h.detail?.weight);
    expect(weights).toEqual([5, 10, 25, 50, 100]);
    await expectSettled(world, { stableTag: 'v2' });
    expect(snsEvents(world)).toContain('rollout.promoted');
    expect(pages(world)).toEqual([]);
  });

  it('rolls back an image whose error rate is worse than stable, quarantines it and pages on-call', async () => {
    const world = await startWorld({ services: [demoService({ steps: SHORT_PLAN })] });
    const started = await world.push('v3');
    if (started.status !== 'started') throw new Error('not started');
    const execution = await world.waitFor(started.rolloutId);
    expect(execution.status).toBe('FAILED');
    expect(execution.error).toBe('CanaryFailed');
    expect((await world.store.getRollout(started.rolloutId))?.outcome?.reason).toMatch(/errorRate/);
    expect(await world.store.isQuarantined('web', world.imageByTag('v3').digest)).toBe(true);
    await expectSettled(world, { stableTag: 'v1' });
    const [page] = pages(world);
    expect(page?.dedup_key).toBe(started.rolloutId);
    expect(page?.payload.severity).toBe('error');
    expect(snsEvents(world)).toContain('rollout.rolledBack');
  });

  it('refuses a quarantined image without starting anything', async () => {
    const world = await startWorld({ services: [demoService({ steps: SHORT_PLAN })] });
    const first = await world.push('v3');
    if (first.status !== 'started') throw new Error('not started');
    await world.waitFor(first.rolloutId);
    await world.executions.idle();
    const executionsBefore = world.executions.list().length;

    const again = await world.push('v3');

    expect(again.status).toBe('refused');
    expect(again.status === 'refused' && again.reason).toMatch(/quarantined/);
    expect(world.executions.list().length).toBe(executionsBefore);
    expect(world.store.heldLocks()).toEqual([]);
    expect(snsEvents(world)).toContain('rollout.refused');
  });

  it('treats a redelivered push as a no-op: one event, at most one rollout', async () => {
    const world = await startWorld({ services: [demoService({ steps: SHORT_PLAN })] });
    const first = await world.push('v2', undefined, 'event-1');
    const duplicate = await world.push('v2', undefined, 'event-1');
    const sameImageAgain = await world.deployRequested('web', 'v2');
    expect(first.status).toBe('started');
    expect(duplicate).toEqual({
      status: 'duplicate',
      rolloutId: first.status === 'started' ? first.rolloutId : '',
    });
    expect(sameImageAgain.status).toBe('duplicate');
    await world.executions.idle();
    expect(world.executions.list()).toHaveLength(1);
    await expectSettled(world, { stableTag: 'v2' });
    // After promotion, the same image again is still a duplicate, not a second rollout.
    expect((await world.push('v2')).status).toBe('duplicate');
  });

  it('never pages with, logs or notifies the routing key', async () => {
    const lines: string[] = [];
    const world = await startWorld({
      services: [demoService({ steps: SHORT_PLAN })],
      onLog: (level, message, extra) => lines.push(`${level} ${message} ${JSON.stringify(extra ?? {})}`),
    });
    const started = await world.push('v3');
    if (started.status !== 'started') throw new Error('not started');
    await world.waitFor(started.rolloutId);
    await world.executions.idle();
    const notified = world.receiver.messages
      .map((m) => {
        const { routing_key: _key, ...rest } = m.body;
        return JSON.stringify(rest);
      })
      .join('\n');
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.join('\n')).not.toContain(SANDBOX_ROUTING_KEY);
    expect(notified).not.toContain(SANDBOX_ROUTING_KEY);
    expect(notified).not.toContain('local-token-');
  });
});
