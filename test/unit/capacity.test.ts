/**
 * Capacity before traffic, task by task: set-weight's `scale` phase sizes the canary and reads its capacity
 * without touching the listener; check-ready `capacity` polls it for the step's weight and gives up with
 * CanaryNotReady past the readiness bound; the `shift` phase (or no phase, an execution started before the scale
 * phase existed) moves the weight.
 */
import type { Context } from 'aws-lambda';
import { describe, expect, it, vi } from 'vitest';
import type { RolloutDoc, Route } from '../../functions/core/rollout';
import type { CanaryCapacity, Clock, Deployer, Log, TrafficRouter } from '../../functions/ports';
import { makeCheckReady } from '../../functions/tasks/check-ready';
import { makeSetWeight } from '../../functions/tasks/set-weight';
import { InMemoryRolloutStore } from '../../sandbox/store';
import { ROLLOUT_ID, ROUTE, rolloutDocFor, SERVICE, validParsedConfig } from '../helpers/config';

const route: Route = ROUTE;
const config = validParsedConfig({
  analysis: { alarms: [] },
  readiness: { timeoutSeconds: 60, pollSeconds: 15 },
});
const rollout: RolloutDoc = rolloutDocFor(config);
const context = {} as Context;
const step = { index: 1, weight: 50, bakeSeconds: 300, approval: false };
const clock: Clock = {
  now: () => new Date('2025-03-14T09:40:00.000Z'),
  workflowSeconds: (s) => s,
  sleep: async () => {},
};
const log: Log = { info: () => {}, warn: () => {}, error: () => {} };

const STARTING: CanaryCapacity = {
  ready: false,
  needed: 5,
  desired: 5,
  running: 3,
  healthy: 1,
  detail: 'web-canary: 3/5 tasks running, 1 healthy; 5 needed for 50%',
};

/** A world that records, in order, what the tasks asked of the deployer and the router. */
function world(capacity: CanaryCapacity = STARTING) {
  const calls: string[] = [];
  const deployer = {
    scaleCanary: vi.fn(async (_c, _r, percent: number) => {
      calls.push(`scale ${percent}`);
    }),
    canaryCapacity: vi.fn(async (_c, _r, percent: number) => {
      calls.push(`capacity ${percent}`);
      return capacity;
    }),
  } as unknown as Deployer;
  const router: TrafficRouter = {
    describe: async () => ({}),
    setWeights: async (_r, percent) => {
      calls.push(`weights ${percent}`);
    },
    verifyWeights: async () => true,
  };
  return { calls, deployer, router, deployerFor: () => deployer };
}

async function store() {
  const s = new InMemoryRolloutStore();
  // The rollout holds its service, as start-rollout left it.
  await s.acquireLock(SERVICE, ROLLOUT_ID, new Date('2025-03-14T09:27:00.000Z'));
  await s.putRollout({
    rolloutId: ROLLOUT_ID,
    service: SERVICE,
    image: rollout.image,
    status: 'running',
    alarms: [],
    createdAt: '2025-03-14T09:27:00.000Z',
    updatedAt: '2025-03-14T09:27:00.000Z',
    canaryStartedAt: '2025-03-14T09:30:00.000Z',
    canaryPercent: 5,
    route,
  });
  return s;
}

describe('set-weight phases', () => {
  it('scale: sizes the canary and reads its capacity for the weight, and leaves the listener and the record alone', async () => {
    const w = world();
    const s = await store();
    const handler = makeSetWeight({ router: w.router, deployerFor: w.deployerFor, store: s, clock, log });

    const out = await handler({ rollout, route, step, phase: 'scale' }, context);

    expect(w.calls).toEqual(['scale 50', 'capacity 50']);
    expect(out).toEqual({
      ready: false,
      attempts: 0,
      waited: 15,
      detail: STARTING.detail,
      needed: 5,
      desired: 5,
      running: 3,
      healthy: 1,
      waitSeconds: 15,
    });
    expect((await s.getRollout(ROLLOUT_ID))?.canaryPercent).toBe(5);
    expect(await s.history(ROLLOUT_ID)).toEqual([]);
  });

  it('shift: moves the weight and records the step', async () => {
    const w = world();
    const s = await store();
    const handler = makeSetWeight({ router: w.router, deployerFor: w.deployerFor, store: s, clock, log });

    const capacity = { ...STARTING, ready: true, running: 5, healthy: 5, attempts: 3, waited: 60 };
    await handler({ rollout, route, step, phase: 'shift', capacity }, context);

    expect(w.calls).toEqual(['scale 50', 'weights 50']);
    expect((await s.getRollout(ROLLOUT_ID))?.canaryPercent).toBe(50);
    const [entry] = await s.history(ROLLOUT_ID);
    expect(entry?.type).toBe('weight');
    expect(entry?.type === 'weight' && entry.detail).toEqual({
      step: 1,
      weight: 50,
      capacity: { polls: 3, detail: STARTING.detail, healthy: 5, needed: 5 },
    });
  });

  it('no phase (an execution started before the scale phase): scales, then moves the weight, as it always did', async () => {
    const w = world();
    const handler = makeSetWeight({
      router: w.router,
      deployerFor: w.deployerFor,
      store: await store(),
      clock,
      log,
    });

    await handler({ rollout, route, step }, context);

    expect(w.calls).toEqual(['scale 50', 'weights 50']);
  });

  it('an unknown phase is InputInvalid and changes nothing', async () => {
    const w = world();
    const handler = makeSetWeight({
      router: w.router,
      deployerFor: w.deployerFor,
      store: await store(),
      clock,
      log,
    });

    await expect(handler({ rollout, route, step, phase: 'grow' }, context)).rejects.toMatchObject({
      name: 'InputInvalid',
    });
    expect(w.calls).toEqual([]);
  });
});

describe('check-ready capacity', () => {
  it('reads the capacity for the weight it is given, counts the poll, spaces the next and passes the numbers on', async () => {
    const w = world();
    const handler = makeCheckReady({ deployerFor: w.deployerFor, store: await store(), clock });

    const first = await handler(
      { rollout, route, which: 'capacity', weight: 50, readiness: { attempts: 0, waited: 15 } },
      context,
    );
    const later = await handler(
      { rollout, route, which: 'capacity', weight: 50, readiness: { attempts: 3, waited: 45 } },
      context,
    );

    expect(w.calls).toEqual(['capacity 50', 'capacity 50']);
    expect(first).toMatchObject({
      ready: false,
      attempts: 1,
      waited: 30,
      healthy: 1,
      needed: 5,
      waitSeconds: 15,
    });
    // Half the time waited so far, but never past the 60 s timeout: the last poll falls on it.
    expect(later).toMatchObject({ attempts: 4, waited: 60, waitSeconds: 15 });
  });

  it('gives up with CanaryNotReady naming the weight and what is missing once the readiness bound is reached', async () => {
    const w = world();
    const handler = makeCheckReady({ deployerFor: w.deployerFor, store: await store(), clock });

    // The poll at the 60 s timeout is the last.
    await expect(
      handler(
        { rollout, route, which: 'capacity', weight: 50, readiness: { attempts: 4, waited: 60 } },
        context,
      ),
    ).rejects.toMatchObject({
      name: 'CanaryNotReady',
      message: `canary capacity for 50% not ready after 60s: ${STARTING.detail}`,
    });
  });

  it('ready on the last poll is ready', async () => {
    const w = world({ ...STARTING, ready: true, running: 5, healthy: 5 });
    const handler = makeCheckReady({ deployerFor: w.deployerFor, store: await store(), clock });

    const out = await handler(
      { rollout, route, which: 'capacity', weight: 50, readiness: { attempts: 4, waited: 60 } },
      context,
    );

    expect(out).toMatchObject({ ready: true, attempts: 5 });
  });

  it('capacity without a weight (or a weight with another check) is InputInvalid naming weight', async () => {
    const w = world();
    const handler = makeCheckReady({ deployerFor: w.deployerFor, store: await store(), clock });

    await expect(handler({ rollout, route, which: 'capacity' }, context)).rejects.toMatchObject({
      name: 'InputInvalid',
      message: expect.stringContaining('weight'),
    });
    await expect(handler({ rollout, route, which: 'canary', weight: 50 }, context)).rejects.toMatchObject({
      name: 'InputInvalid',
    });
    expect(w.calls).toEqual([]);
  });
});
