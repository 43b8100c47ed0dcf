import { describe, expect, it } from 'vitest';
import type { Route } from '../../functions/core/rollout';
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
  router.setWeights = async (route: Route, canaryPercent: number) => {
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
    const t = world.config().traffic;
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
