import { describe, expect, it, vi } from 'vitest';
import type { ServiceConfigInput } from '../../functions/core/config';
import { albTraffic } from '../../functions/core/config-route';
import type { AlbRoute } from '../../functions/core/rollout';
import { DEMO_ALARM, demoService, HEALTHY } from '../../sandbox/demo';
import type { World } from '../../sandbox/world';
import { alarmEvent, ctx, expectSettled, pages, SHORT_PLAN, snsEvents, startWorld } from '../helpers/world';

function lostResponse(message: string): Error {
  // Lambda reports a function that crashed after its side effects as Lambda.Unknown; the workflow retries it.
  const error = new Error(message);
  error.name = 'Lambda.Unknown';
  return error;
}

const rolloutOf = (event: unknown) => (event as { rollout?: { rolloutId?: string } }).rollout?.rolloutId;

describe('a retry after a lost response is a no-op once the rollout is over', () => {
  it('a retried PromoteFinish leaves the next rollout of the service alone', async () => {
    let world: World | undefined;
    let first: string | undefined;
    let next: Promise<{ status: string; rolloutId?: string }> | undefined;
    let retried: () => void = () => undefined;
    const retryDone = new Promise<void>((resolve) => {
      retried = resolve;
    });
    let finishes = 0;
    world = await startWorld({
      services: [demoService({ steps: SHORT_PLAN, analysis: { alarms: [] } })],
      alarms: [],
      images: [
        { tag: 'v2', profile: HEALTHY },
        { tag: 'v5', profile: HEALTHY },
      ],
      invoke: async (fn, event, call) => {
        const id = rolloutOf(event);
        const phase = (event as { phase?: string }).phase;
        if (fn === 'Promote' && phase === 'finish' && id === first && world) {
          finishes++;
          const result = await call();
          if (finishes > 1) {
            retried();
            return result;
          }
          // The first attempt promoted and released the service; the next image takes it and deploys its canary;
          // then the first attempt's response is lost, and the workflow retries it.
          next = world.push('v5');
          const started = await next;
          if (started.status !== 'started' || !started.rolloutId) throw new Error('v5 did not start');
          const nextId = started.rolloutId;
          for (let i = 0; i < 500 && !(await world.store.getRollout(nextId))?.route; i++)
            await new Promise((r) => setTimeout(r, 5));
          throw lostResponse('Promote: crashed after its side effects (injected)');
        }
        // The next rollout waits at its first readiness poll until the retry has run.
        if (fn === 'CheckReady' && first && id !== first) await retryDone;
        return call();
      },
    });
    const started = await world.push('v2');
    if (started.status !== 'started') throw new Error('not started');
    first = started.rolloutId;

    const execution = await world.waitFor(first);
    expect(execution.status).toBe('SUCCEEDED');
    expect(finishes).toBe(2);
    const second = await next;
    if (!second?.rolloutId) throw new Error('v5 did not start');
    const secondExecution = await world.waitFor(second.rolloutId);

    expect(secondExecution.status).toBe('SUCCEEDED');
    expect(await world.store.isQuarantined('web', world.imageByTag('v5').digest)).toBe(false);
    expect((await world.store.getRollout(first))?.status).toBe('promoted');
    expect(pages(world)).toEqual([]);
    await expectSettled(world, { stableTag: 'v5' });
  });
});

/** A second step whose bake outlasts the test: a rollout that is not stopped would still be baking at the end. */
const LONG_BAKE = [
  { weight: 25, bakeSeconds: 0 },
  { weight: 50, bakeSeconds: 6000 },
  { weight: 100, bakeSeconds: 60 },
];

/**
 * Runs `during` in the middle of the world's listener writes: when a write of `percent` comes, `during` starts, and
 * the write waits until `during` has itself written the listener (or finished), then goes through.
 */
function interleave(world: World, percent: number, during: () => Promise<unknown>): Promise<unknown> {
  const router = world.router;
  const setWeights = router.setWeights.bind(router);
  let started: Promise<unknown> | undefined;
  let ran: (result: Promise<unknown>) => void = () => undefined;
  const result = new Promise<unknown>((resolve) => {
    ran = resolve;
  });
  let wrote: () => void = () => undefined;
  const written = new Promise<void>((resolve) => {
    wrote = resolve;
  });
  router.setWeights = async (route: AlbRoute, canaryPercent: number) => {
    if (canaryPercent === percent && !started) {
      started = during().finally(wrote);
      ran(started);
      await written;
    } else if (started) {
      wrote();
    }
    return setWeights(route, canaryPercent);
  };
  return result;
}

describe('an alarm wins over whatever task is running', () => {
  it('an alarm that moves traffic while SetWeight is writing its weight stops the rollout', async () => {
    const world = await startWorld({ services: [demoService({ steps: LONG_BAKE })] });
    // SetWeight has checked the rollout and is about to move 25% to 50%; on-alarm runs and writes 0% first.
    const alarm = interleave(world, 50, () => world.handlers.OnAlarm(alarmEvent(DEMO_ALARM), ctx));
    const started = await world.push('v2');
    if (started.status !== 'started') throw new Error('not started');

    expect(await alarm).toMatchObject({ stopped: [started.rolloutId] });
    const execution = await world.waitFor(started.rolloutId);
    expect(execution.status).toBe('FAILED');
    expect(execution.error).toBe('AlarmFired');
    expect((await world.store.getRollout(started.rolloutId))?.abort?.reason).toBe('AlarmFired');
    await expectSettled(world, { stableTag: 'v1' });
  });
});

describe('weights changed outside the rollout', () => {
  it('the next analysis finds the drift, rolls back naming the weights seen and expected, and pages', async () => {
    const world = await startWorld({
      services: [
        demoService({
          steps: [
            { weight: 25, bakeSeconds: 600 },
            { weight: 100, bakeSeconds: 60 },
          ],
        }),
      ],
    });
    const started = await world.push('v2');
    if (started.status !== 'started') throw new Error('not started');
    await world.waitForWait(started.rolloutId, 'bake');
    expect(world.appliedCanaryPercent()).toBe(25);

    // Someone sets the listener to 90/10 by hand (the console, or infrastructure as code putting its weights back).
    const t = albTraffic(world.config().traffic);
    world.lb.configure(t.listenerArn, {
      weights: { [t.stableTargetGroupArn]: 9, [t.canaryTargetGroupArn]: 1 },
    });

    const execution = await world.waitFor(started.rolloutId);
    expect(execution.status).toBe('FAILED');
    expect(execution.error).toBe('TrafficDrifted');
    const record = await world.store.getRollout(started.rolloutId);
    expect(record?.outcome?.reason).toContain(
      'expected 25% on the canary (stable 3, canary 1), found stable 9, canary 1 (10% on the canary)',
    );
    // The image is not at fault: it may be rolled out again without a release.
    expect(await world.store.isQuarantined('web', world.imageByTag('v2').digest)).toBe(false);
    expect(pages(world).map((p) => p.dedup_key)).toContain(started.rolloutId);
    expect(snsEvents(world)).toContain('rollout.rolledBack');
    await expectSettled(world, { stableTag: 'v1' });
  });
});

describe('weights changed outside the rollout, under analysis.onDrift: pause', () => {
  const DRIFT_PLAN = [
    { weight: 25, bakeSeconds: 300 },
    { weight: 100, bakeSeconds: 60 },
  ];
  const DRIFT_TEXT =
    "the listener's weights were changed outside the rollout: expected 25% on the canary (stable 3, canary 1), found stable 9, canary 1 (10% on the canary)";

  /** Starts a rollout, lets it bake its first step, then sets the listener to 90/10 by hand. */
  async function drifted(approvals?: ServiceConfigInput['approvals']): Promise<{ world: World; id: string }> {
    const world = await startWorld({
      services: [
        demoService({
          steps: DRIFT_PLAN,
          analysis: { onDrift: 'pause' },
          ...(approvals ? { approvals } : {}),
        }),
      ],
    });
    const started = await world.push('v2');
    if (started.status !== 'started' || !started.rolloutId) throw new Error('not started');
    await world.waitForWait(started.rolloutId, 'bake');
    const t = albTraffic(world.config().traffic);
    world.lb.configure(t.listenerArn, {
      weights: { [t.stableTargetGroupArn]: 9, [t.canaryTargetGroupArn]: 1 },
    });
    await world.waitForWait(started.rolloutId, 'approval');
    return { world, id: started.rolloutId };
  }

  const approvalRequests = (world: World) =>
    world.receiver.messages
      .map((m) => JSON.stringify(m.body))
      .filter((body) => body.includes('approval.requested'));

  it('the analysis asks for approval naming the drift; approving puts the rollout weights back and it promotes', async () => {
    const { world, id } = await drifted();
    await vi.waitFor(() => expect(approvalRequests(world).length).toBe(1));
    const [request] = approvalRequests(world);
    expect(request).toContain(DRIFT_TEXT);
    expect(request).toContain("approve to restore the rollout's weights and continue, reject to roll back");
    // Waiting for a person: the weights stay as they were set by hand.
    expect(world.appliedCanaryPercent()).toBe(10);
    expect((await world.store.getRollout(id))?.status).not.toBe('rolledBack');

    expect(await world.decideApproval('web', true)).toBe(true);
    // The step's weights are written again, and its bake goes on.
    await vi.waitFor(() => expect(world.appliedCanaryPercent()).toBe(25), { timeout: 10_000 });
    const execution = await world.waitFor(id);
    expect(execution.status).toBe('SUCCEEDED');
    expect((await world.store.getRollout(id))?.status).toBe('promoted');
    expect(pages(world)).toEqual([]);
    await expectSettled(world, { stableTag: 'v2' });
  });

  it('rejecting rolls back', async () => {
    const { world, id } = await drifted();
    expect(await world.decideApproval('web', false, 'the hand change stays until we know why')).toBe(true);
    const execution = await world.waitFor(id);
    expect(execution.status).toBe('FAILED');
    expect(execution.error).toBe('ApprovalRejected');
    expect(snsEvents(world)).toContain('rollout.rolledBack');
    await expectSettled(world, { stableTag: 'v1' });
    // A person changed the weights: nothing says the image is bad, so it is not kept out.
    expect(await world.store.isQuarantined('web', world.imageByTag('v2').digest)).toBe(false);
  });

  it('nobody deciding before the approval timeout: the approvals policy decides (rollback by default)', async () => {
    const { world, id } = await drifted({ timeoutSeconds: 60 });
    const execution = await world.waitFor(id);
    expect(execution.status).toBe('FAILED');
    expect(execution.error).toBe('ApprovalTimedOut');
    await expectSettled(world, { stableTag: 'v1' });
    expect(await world.store.isQuarantined('web', world.imageByTag('v2').digest)).toBe(false);
  });

  it('approving on timeout by policy puts the rollout weights back and continues', async () => {
    const { world, id } = await drifted({ timeoutSeconds: 60, onTimeout: 'approve' });
    const execution = await world.waitFor(id);
    expect(execution.status).toBe('SUCCEEDED');
    await expectSettled(world, { stableTag: 'v2' });
  });
});
