/**
 * Every task checks that its rollout still owns the service before any side effect: a task retried after its
 * attempt ended the rollout (the response lost), or one still running for an execution that was stopped, changes
 * nothing a newer rollout owns.
 */
import type { Context } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import type { RolloutDoc, RolloutStatus, Route } from '../../functions/core/rollout';
import type { Clock, Deployer, Log, MetricSource, Notifier, TrafficRouter } from '../../functions/ports';
import { makeAnalyze } from '../../functions/tasks/analyze';
import { makeBake } from '../../functions/tasks/bake';
import { makeCheckReady } from '../../functions/tasks/check-ready';
import { makePrepare } from '../../functions/tasks/prepare';
import { makePromote } from '../../functions/tasks/promote';
import { makeRequestApproval } from '../../functions/tasks/request-approval';
import { makeSetWeight } from '../../functions/tasks/set-weight';
import { InMemoryRolloutStore } from '../../sandbox/store';
import { ROLLOUT_ID, ROUTE, rolloutDocFor, SERVICE, validParsedConfig } from '../helpers/config';

const route: Route = ROUTE;
const config = validParsedConfig({ analysis: { alarms: [] } });
const rollout: RolloutDoc = rolloutDocFor(config);
const NEXT = 'web-0123456789abcdef';
const context = {} as Context;
const step = { index: 0, weight: 5, bakeSeconds: 300, approval: false };
const at = new Date('2025-03-14T09:40:00.000Z');
const clock: Clock = { now: () => at, workflowSeconds: (s) => s, sleep: async () => {} };
const log: Log = { info: () => {}, warn: () => {}, error: () => {} };

/** A port whose every method records its call (and answers as a healthy world would). */
function recording<T extends object>(calls: string[], name: string, answers: Record<string, unknown>): T {
  return new Proxy({} as T, {
    get: (_target, method: string) => {
      if (method === 'swapsTargetGroups') return false;
      if (method === 'then') return undefined;
      return async () => {
        calls.push(`${name}.${method}`);
        return answers[method];
      };
    },
  });
}

async function world(status: RolloutStatus, lockHolder: string | undefined) {
  const store = new InMemoryRolloutStore();
  await store.putRollout({
    rolloutId: ROLLOUT_ID,
    service: SERVICE,
    image: rollout.image,
    status,
    alarms: [],
    createdAt: '2025-03-14T09:27:00.000Z',
    updatedAt: '2025-03-14T09:27:00.000Z',
    canaryStartedAt: '2025-03-14T09:30:00.000Z',
    canaryPercent: 5,
    route,
  });
  if (lockHolder) await store.acquireLock(SERVICE, lockHolder, at);
  const calls: string[] = [];
  const router = recording<TrafficRouter>(calls, 'router', { verifyWeights: true, describe: {} });
  const deployer = recording<Deployer>(calls, 'deployer', {
    describeStable: { image: 'v1' },
    canaryCapacity: { ready: true, healthy: 1, detail: 'ok' },
    canaryHealth: { ready: true, detail: 'ok' },
    stableHealth: { ready: true, detail: 'ok' },
  });
  const metrics = recording<MetricSource>(calls, 'metrics', {});
  const notifier: Notifier = {
    name: 'recording',
    notify: async (e) => {
      calls.push(`notify.${e.type}`);
    },
  };
  const executions = recording<never>(calls, 'executions', {});
  const deps = { store, clock, log, router, deployerFor: () => deployer, executions, metrics };
  const alarms = { states: async () => [] };
  const tasks: Record<string, () => Promise<unknown>> = {
    Prepare: () => makePrepare(deps)({ rollout }, context),
    CheckReady: () => makeCheckReady(deps)({ rollout, route, which: 'canary' }, context),
    'SetWeight scale': () => makeSetWeight(deps)({ rollout, route, step, phase: 'scale' }, context),
    'SetWeight shift': () => makeSetWeight(deps)({ rollout, route, step, phase: 'shift' }, context),
    Bake: () => makeBake(deps)({ token: 't1', rollout, step, seconds: 60 }, context),
    Analyze: () =>
      makeAnalyze({ ...deps, alarms, notifiers: [notifier] })(
        { rollout, route, step, extensions: 0, bakeLeft: 0 },
        context,
      ),
    RequestApproval: () =>
      makeRequestApproval({ ...deps, notifiers: [notifier] })(
        { token: 't2', rollout, step, seconds: 60 },
        context,
      ),
    'Promote begin': () => makePromote(deps)({ rollout, route, phase: 'begin' }, context),
    'Promote shiftBack': () => makePromote(deps)({ rollout, route, phase: 'shiftBack' }, context),
    'Promote finish': () => makePromote(deps)({ rollout, route, phase: 'finish' }, context),
  };
  return { store, calls, tasks };
}

describe('every task checks that its rollout still owns the service first', () => {
  for (const [status, holder, what] of [
    ['rolledBack', NEXT, 'rolled back, and the next rollout holds the service'],
    ['running', NEXT, 'its lock passed to a newer rollout'],
    ['running', undefined, 'nobody holds the service'],
    ['rollingBack', ROLLOUT_ID, 'rolling back (the reconciler or the workflow is restoring stable)'],
  ] as const) {
    it(`${what}: each task fails with LockHeld and touches nothing`, async () => {
      const { store, calls, tasks } = await world(status, holder);
      const before = await store.getRollout(ROLLOUT_ID);
      for (const [name, run] of Object.entries(tasks)) {
        const error = await run().then(
          () => undefined,
          (e: unknown) => e as Error,
        );
        expect(error?.name, name).toBe('LockHeld');
        expect(error?.message, name).toMatch(/changes nothing/);
      }
      expect(calls).toEqual([]);
      expect(await store.getRollout(ROLLOUT_ID)).toEqual(before);
      expect(await store.history(ROLLOUT_ID)).toEqual([]);
      expect((await store.getLock(SERVICE))?.rolloutId).toBe(holder);
    });
  }

  it('a retried PromoteFinish after the promotion finished returns what it returned, and changes nothing', async () => {
    const { store, calls, tasks } = await world('promoted', NEXT);
    await expect(tasks['Promote finish']?.()).resolves.toEqual({ promoted: true });
    expect(calls).toEqual([]);
    expect((await store.getLock(SERVICE))?.rolloutId).toBe(NEXT);
    expect(await store.history(ROLLOUT_ID)).toEqual([]);
  });

  it('a retried PromoteFinish whose attempt stopped before releasing the service releases it', async () => {
    const { store, calls, tasks } = await world('promoted', ROLLOUT_ID);
    await expect(tasks['Promote finish']?.()).resolves.toEqual({ promoted: true });
    expect(calls).toEqual([]);
    expect(await store.getLock(SERVICE)).toBeUndefined();
  });
});
