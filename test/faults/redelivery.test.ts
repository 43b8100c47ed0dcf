/**
 * Events delivered again, late and out of order, on the real state machine. EventBridge delivers at least once
 * and Lambda's asynchronous queue may deliver one event more than once (AWS Lambda Developer Guide, "How Lambda
 * handles errors and retries with asynchronous invocation"): whatever happened since, an event already handled
 * changes nothing, and the newest push ends on stable.
 */
import { describe, expect, it } from 'vitest';
import { TransientError } from '../../functions/core/errors';
import { demoService, HEALTHY } from '../../sandbox/demo';
import type { World } from '../../sandbox/world';
import { expectSettled, SHORT_PLAN, startWorld } from '../helpers/world';

const IMAGES = ['v2', 'v5', 'v6'].map((tag) => ({ tag, profile: HEALTHY }));
const BAKING_PLAN = [
  { weight: 25, bakeSeconds: 600 },
  { weight: 100, bakeSeconds: 60 },
];

/** The time of a push made `seconds` before `time`. */
const earlier = (time: string, seconds: number) => new Date(Date.parse(time) - seconds * 1000).toISOString();

async function started(result: Promise<Awaited<ReturnType<World['push']>>>): Promise<string> {
  const r = await result;
  if (r.status !== 'started') throw new Error(`expected a start, got ${JSON.stringify(r)}`);
  return r.rolloutId;
}

describe('redelivered and out-of-order pushes', () => {
  it('a redelivered push of a superseded image changes nothing: the newer image ends on stable', async () => {
    const world = await startWorld({ services: [demoService({ steps: BAKING_PLAN })], images: IMAGES });
    const pushedAt = world.clock.now().toISOString();
    const first = await started(world.push('v2', undefined, 'push-v2', pushedAt));
    await world.waitForWait(first, 'bake');
    const newer = await world.push('v5', undefined, 'push-v5');
    expect(newer).toMatchObject({ status: 'superseding', supersedes: first });
    expect((await world.waitFor(first)).error).toBe('Superseded');
    if (newer.status !== 'superseding') throw new Error('not superseding');
    await world.waitForWait(newer.rolloutId, 'bake');

    const again = await world.push('v2', undefined, 'push-v2', pushedAt);

    expect(again.status).toBe('ignored');
    expect(world.executions.list().map((e) => e.name)).toEqual([first, newer.rolloutId]);
    await world.operations.promote('web', { full: true });
    expect((await world.waitFor(newer.rolloutId)).status).toBe('SUCCEEDED');
    await expectSettled(world, { stableTag: 'v5' });
  });

  it('a push redelivered after `canary abort` does not restart the aborted image; `canary start` does', async () => {
    const world = await startWorld({ services: [demoService({ steps: BAKING_PLAN })], images: IMAGES });
    const pushedAt = world.clock.now().toISOString();
    const first = await started(world.push('v2', undefined, 'push-v2', pushedAt));
    await world.waitForWait(first, 'bake');
    await world.operations.abort('web', 'wrong build');
    expect((await world.waitFor(first)).error).toBe('Aborted');
    await world.executions.idle();

    const redelivered = await world.push('v2', undefined, 'push-v2', pushedAt);
    const pushedAgain = await world.push('v2');

    expect(redelivered).toEqual({ status: 'duplicate', rolloutId: first });
    expect(pushedAgain).toMatchObject({ status: 'duplicate', rolloutId: first });
    expect(pushedAgain.status === 'duplicate' && pushedAgain.reason).toMatch(/canary start/);
    expect(world.executions.list()).toHaveLength(1);
    await expectSettled(world, { stableTag: 'v1' });

    // The explicit request runs it again, once however often its event is delivered.
    const rerun = await world.operations.start('web', 'v2');
    expect(rerun.message).toMatch(/\(start-rollout: started\): rollout web-[0-9a-f]{16}-r[0-9a-f]{8}$/);
    expect(rerun.rolloutId).toMatch(/^web-[0-9a-f]{16}-r[0-9a-f]{8}$/);
    await world.executions.idle();
    expect(world.executions.list()).toHaveLength(2);
    expect(world.executions.list()[1]?.status).toBe('SUCCEEDED');
    await expectSettled(world, { stableTag: 'v2' });
  });

  it('a `canary start` event delivered twice rolls out once', async () => {
    const world = await startWorld({ services: [demoService({ steps: SHORT_PLAN })], images: IMAGES });
    const time = world.clock.now().toISOString();
    const first = await world.deployRequested('web', 'v2', { rerun: true, eventId: 'start-1', time });
    const again = await world.deployRequested('web', 'v2', { rerun: true, eventId: 'start-1', time });
    expect(first.status).toBe('started');
    expect(again).toEqual({
      status: 'duplicate',
      rolloutId: first.status === 'started' ? first.rolloutId : '',
    });
    await world.executions.idle();
    expect(world.executions.list()).toHaveLength(1);
    await expectSettled(world, { stableTag: 'v2' });
  });

  it('a late push of an older image does not displace a newer one, running or promoted', async () => {
    const world = await startWorld({ services: [demoService({ steps: SHORT_PLAN })], images: IMAGES });
    const pushedAt = world.clock.now().toISOString();
    const newer = await started(world.push('v6', undefined, 'push-v6', pushedAt));

    const late = await world.push('v5', undefined, 'push-v5', earlier(pushedAt, 30));

    expect(late.status).toBe('ignored');
    expect(late.status === 'ignored' && late.reason).toMatch(/is not newer than/);
    expect((await world.waitFor(newer)).status).toBe('SUCCEEDED');
    // Later still, after the newer image was promoted.
    expect((await world.push('v2', undefined, 'push-v2', earlier(pushedAt, 60))).status).toBe('ignored');
    await world.executions.idle();
    expect(world.executions.list()).toHaveLength(1);
    await expectSettled(world, { stableTag: 'v6' });
  });

  it('pushes made in one second, delivered in any order, leave the same image on stable', async () => {
    const outcomes: string[] = [];
    const digests = new Map<string, string>();
    for (const order of [
      ['v5', 'v6'],
      ['v6', 'v5'],
    ]) {
      const world = await startWorld({ services: [demoService({ steps: SHORT_PLAN })], images: IMAGES });
      const time = new Date(Math.floor(world.clock.now().getTime() / 1000) * 1000).toISOString();
      for (const tag of order) {
        digests.set(tag, world.imageByTag(tag).digest);
        await world.push(tag, undefined, `push-${tag}`, time);
      }
      await world.executions.idle();
      await world.executions.idle();
      const promoted = (await world.store.listByService('web', 10)).filter((r) => r.status === 'promoted');
      expect(promoted).toHaveLength(1);
      outcomes.push(promoted[0]?.image.tag ?? '');
      await expectSettled(world, { stableTag: promoted[0]?.image.tag ?? '' });
    }
    // The larger digest wins a tie.
    expect(outcomes[0]).toBe(outcomes[1]);
    expect(outcomes[0]).toBe((digests.get('v5') ?? '') > (digests.get('v6') ?? '') ? 'v5' : 'v6');
  });
});

describe('the lock belongs to the execution that may hold it', () => {
  it('a write after StartExecution failing does not release the lock: a newer push supersedes, never runs beside', async () => {
    const world = await startWorld({ services: [demoService({ steps: BAKING_PLAN })], images: IMAGES });
    const append = world.store.appendHistory.bind(world.store);
    let failed = false;
    world.store.appendHistory = async (rolloutId, entry) => {
      if (entry.type === 'started' && !failed) {
        failed = true;
        throw new TransientError('DynamoDB throttled the write');
      }
      return append(rolloutId, entry);
    };
    const first = world.push('v2').catch((error: unknown) => error);
    const outcome = await first;
    const running = world.executions.list()[0]?.name ?? '';
    expect(failed).toBe(true);
    expect(world.store.heldLocks().map((l) => l.rolloutId)).toEqual([running]);
    if (outcome instanceof Error) expect(outcome).toBeInstanceOf(TransientError);
    await world.waitForWait(running, 'bake');

    const newer = await world.push('v5');

    expect(newer).toMatchObject({ status: 'superseding', supersedes: running });
    await world.executions.idle();
    await world.executions.idle();
    expect(world.executions.list().map((e) => e.status)).toEqual(['FAILED', 'SUCCEEDED']);
    expect(world.violations).toEqual([]);
    await expectSettled(world, { stableTag: 'v5' });
  });

  it('a StartExecution whose response was lost keeps the lock; the event delivered again changes nothing', async () => {
    const world = await startWorld({ services: [demoService({ steps: BAKING_PLAN })], images: IMAGES });
    const start = world.executions.start.bind(world.executions);
    let lost = false;
    world.executions.start = async (name, input) => {
      const result = await start(name, input);
      if (!lost) {
        lost = true;
        throw new TransientError('the response of StartExecution was lost');
      }
      return result;
    };
    const time = world.clock.now().toISOString();
    await expect(world.push('v2', undefined, 'push-v2', time)).rejects.toThrow(/lost/);
    const running = world.executions.list()[0]?.name ?? '';
    expect(world.store.heldLocks().map((l) => l.rolloutId)).toEqual([running]);

    // Lambda retries the event.
    expect(await world.push('v2', undefined, 'push-v2', time)).toEqual({
      status: 'duplicate',
      rolloutId: running,
    });
    await world.waitForWait(running, 'bake');
    expect(await world.push('v5')).toMatchObject({ status: 'superseding', supersedes: running });
    await world.executions.idle();
    await world.executions.idle();
    expect(world.executions.list().map((e) => e.status)).toEqual(['FAILED', 'SUCCEEDED']);
    await expectSettled(world, { stableTag: 'v5' });
  });
});

describe('the hand-over to a newer image', () => {
  it('completes when the newer rollout’s StartExecution fails once: the retried Rollback starts it', async () => {
    const world = await startWorld({ services: [demoService({ steps: BAKING_PLAN })], images: IMAGES });
    const first = await started(world.push('v2'));
    await world.waitForWait(first, 'bake');
    const start = world.executions.start.bind(world.executions);
    let refused = 0;
    world.executions.start = async (name, input) => {
      if (name !== first && refused === 0) {
        refused++;
        throw new TransientError('Step Functions throttled StartExecution');
      }
      return start(name, input);
    };

    const newer = await world.push('v5');

    expect(newer).toMatchObject({ status: 'superseding', supersedes: first });
    if (newer.status !== 'superseding') throw new Error('not superseding');
    expect((await world.waitFor(first)).error).toBe('Superseded');
    expect(refused).toBe(1);
    await world.waitForWait(newer.rolloutId, 'bake');
    await world.operations.promote('web', { full: true });
    expect((await world.waitFor(newer.rolloutId)).status).toBe('SUCCEEDED');
    await expectSettled(world, { stableTag: 'v5' });
  });

  it('completes when the start fails until the Rollback gives up: the reconciler starts it', async () => {
    const world = await startWorld({ services: [demoService({ steps: BAKING_PLAN })], images: IMAGES });
    const first = await started(world.push('v2'));
    await world.waitForWait(first, 'bake');
    const start = world.executions.start.bind(world.executions);
    let refused = 0;
    world.executions.start = async (name, input) => {
      // Step Functions refuses the newer rollout's start for as long as the older execution runs.
      if (name !== first && world.executions.get(first)?.status === 'RUNNING') {
        refused++;
        throw new TransientError('Step Functions throttled StartExecution');
      }
      return start(name, input);
    };

    const newer = await world.push('v5');

    if (newer.status !== 'superseding') throw new Error(`not superseding: ${JSON.stringify(newer)}`);
    expect((await world.waitFor(first)).status).toBe('FAILED');
    expect(refused).toBeGreaterThan(1);
    await world.waitForWait(newer.rolloutId, 'bake');
    await world.operations.promote('web', { full: true });
    expect((await world.waitFor(newer.rolloutId)).status).toBe('SUCCEEDED');
    await expectSettled(world, { stableTag: 'v5' });
  });

  it('a rollout left holding the lock with no execution is started by the next push, which then takes over', async () => {
    const world = await startWorld({ services: [demoService({ steps: SHORT_PLAN })], images: IMAGES });
    const start = world.executions.start.bind(world.executions);
    let refuse = true;
    world.executions.start = async (name, input) => {
      if (refuse) throw new TransientError('Step Functions throttled StartExecution');
      return start(name, input);
    };
    await expect(world.push('v2')).rejects.toThrow(/throttled/);
    const [lock] = world.store.heldLocks();
    expect(world.executions.list()).toHaveLength(0);
    refuse = false;

    const newer = await world.push('v5');

    expect(newer).toMatchObject({ status: 'superseding', supersedes: lock?.rolloutId });
    await world.executions.idle();
    await world.executions.idle();
    expect(world.executions.list().map((e) => [e.name, e.status])).toEqual([
      [lock?.rolloutId, 'FAILED'],
      [newer.status === 'superseding' ? newer.rolloutId : '', 'SUCCEEDED'],
    ]);
    await expectSettled(world, { stableTag: 'v5' });
  });
});
