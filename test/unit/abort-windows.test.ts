/**
 * An abort (an alarm, an operator) arriving while the rollout is already rolling back: the mark is stored (the
 * rollout still holds its service), and between that mark and the abort's own put-back the rollback may finish and
 * hand the service to a newer rollout already weighting its canary. The put-back must then move nothing.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { stepSpecs } from '../../functions/core/config';
import { ErrorName } from '../../functions/core/errors';
import { buildPlan } from '../../functions/core/plan';
import type { AlbRoute, RolloutRecord } from '../../functions/core/rollout';
import type { Clock, Executions, TrafficRouter } from '../../functions/ports';
import { STABLE_REREAD_BUDGET_MS } from '../../functions/tasks/lib/abort';
import { abortRollout, stableAfterAbort } from '../../functions/tasks/lib/procedures';
import { InMemoryRolloutStore } from '../../sandbox/store';
import { validParsedConfig } from '../helpers/config';

const SERVICE = 'web';
const OLD = 'web-0123456789abcdef';
const NEW = 'web-fedcba9876543210';
const AT = new Date('2026-01-01T12:00:00Z');
const clock: Clock = { now: () => AT, workflowSeconds: (s) => s, sleep: async () => {} };
const config = validParsedConfig();
const route: AlbRoute = {
  listenerArn:
    'arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/web/50dc6c495c0c9188/f2f7dc8efc522ab2',
  stableTargetGroupArn:
    'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web-stable/73e2d6bc24d8a067',
  canaryTargetGroupArn:
    'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web-canary/2453ed029918f21f',
};

/** A listener that applies what it is told at once; every change recorded. */
function listener(canaryPercent: number) {
  const state = { canaryPercent, changes: [] as number[] };
  const router = {
    describe: async () => ({}) as never,
    setWeights: async (_route: AlbRoute, percent: number) => {
      state.changes.push(percent);
      state.canaryPercent = percent;
    },
    verifyWeights: async (_route: AlbRoute, percent: number) => state.canaryPercent === percent,
  } as TrafficRouter;
  return { state, router };
}

function record(rolloutId: string, extra: Partial<RolloutRecord> = {}): RolloutRecord {
  return {
    rolloutId,
    service: SERVICE,
    image: { repository: 'shop/web', digest: `sha256:${'ab'.repeat(32)}`, tag: 'v2' },
    status: 'running',
    alarms: [],
    route,
    createdAt: AT.toISOString(),
    updatedAt: AT.toISOString(),
    ...extra,
  };
}

/** The old rollout's rollback ends and hands the service over; the newer one weights its canary at 5%. */
async function rollbackEndsAndNewerMoves(store: InMemoryRolloutStore, state: { canaryPercent: number }) {
  await store.updateRollout(OLD, { status: 'rolledBack', canaryPercent: 0 });
  await store.setPending(SERVICE, OLD, {
    rolloutId: NEW,
    service: SERVICE,
    image: { repository: 'shop/web', digest: `sha256:${'cd'.repeat(32)}`, tag: 'v3' },
    config,
    plan: buildPlan(stepSpecs(config)),
    trigger: 'ecr-push',
    requestedAt: AT.toISOString(),
  });
  await store.releaseLock(SERVICE, OLD, AT);
  await store.putRollout(record(NEW, { canaryPercent: 5 }));
  state.canaryPercent = 5;
}

describe('an abort while the rollout is rolling back', () => {
  it('moves no traffic when the rollback hands the service over between the mark and the put-back', async () => {
    // Prepare: the old rollout is rolling back (it still holds the service) when an alarm fires.
    const store = new InMemoryRolloutStore();
    const old = record(OLD, { status: 'rollingBack', canaryPercent: 0 });
    await store.putRollout(old);
    await store.acquireLock(SERVICE, OLD, AT);
    const { state, router } = listener(0);
    const mark = store.markAborted.bind(store);
    store.markAborted = async (...args) => {
      const marked = await mark(...args);
      await rollbackEndsAndNewerMoves(store, state);
      return marked;
    };
    const executions = { sendTaskFailure: async () => true } as unknown as Executions;
    const deps = { store, clock, executions, router };
    // Act
    const aborting = abortRollout(deps, old, {
      reason: ErrorName.AlarmFired,
      message: 'alarm web-5xx in ALARM',
      entry: { type: 'alarm', detail: { alarm: 'web-5xx' } },
      putStableBack: stableAfterAbort(deps, old, route),
    });
    // Assess: the newer rollout's 5% is left as it is, and the abort says why it moved nothing.
    expect(await aborting).toMatchObject({
      status: 'notHolding',
      why: `${OLD} is rolledBack and web's lock is held by ${NEW} since the abort was marked: no traffic was moved`,
    });
    expect(state.changes).toEqual([]);
    expect(state.canaryPercent).toBe(5);
    expect((await store.getRollout(NEW))?.canaryPercent).toBe(5);
  });

  it('puts stable back while the rolling-back rollout still holds its service', async () => {
    const store = new InMemoryRolloutStore();
    const old = record(OLD, { status: 'rollingBack', canaryPercent: 10 });
    await store.putRollout(old);
    await store.acquireLock(SERVICE, OLD, AT);
    const { state, router } = listener(10);
    const executions = { sendTaskFailure: async () => true } as unknown as Executions;
    const deps = { store, clock, executions, router };
    const outcome = await abortRollout(deps, old, {
      reason: ErrorName.AlarmFired,
      message: 'alarm web-5xx in ALARM',
      entry: { type: 'alarm', detail: { alarm: 'web-5xx' } },
      putStableBack: stableAfterAbort(deps, old, route),
    });
    expect(outcome.status).toBe('aborted');
    expect(state.changes).toEqual([0]);
    expect((await store.getRollout(OLD))?.canaryPercent).toBe(0);
  });
});

describe('an abort once the mark is stored, the store then hanging', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('puts stable back when the record and lock cannot be read again within the budget', async () => {
    // Prepare: the mark is stored; after it the store neither answers nor fails (a throttled table, the SDK's and
    // the adapter's retries on top).
    vi.useFakeTimers();
    const store = new InMemoryRolloutStore();
    const live = record(OLD, { status: 'running', canaryPercent: 50 });
    await store.putRollout(live);
    await store.acquireLock(SERVICE, OLD, AT);
    const { state, router } = listener(50);
    const mark = store.markAborted.bind(store);
    let marked = false;
    store.markAborted = async (...args) => {
      const stored = await mark(...args);
      marked = true;
      return stored;
    };
    const getLock = store.getLock.bind(store);
    store.getLock = (service) => (marked ? new Promise(() => {}) : getLock(service));
    const executions = { sendTaskFailure: async () => true } as unknown as Executions;
    const deps = { store, clock, executions, router };
    // Act
    void abortRollout(deps, live, {
      reason: ErrorName.AlarmFired,
      message: 'alarm web-5xx in ALARM',
      entry: { type: 'alarm', detail: { alarm: 'web-5xx' } },
      putStableBack: stableAfterAbort(deps, live, route),
    });
    await vi.advanceTimersByTimeAsync(STABLE_REREAD_BUDGET_MS);
    // Assess: the canary's 50% is back on stable while the read still hangs.
    expect(marked).toBe(true);
    expect(state.changes).toEqual([0]);
    expect(state.canaryPercent).toBe(0);
  });
});
