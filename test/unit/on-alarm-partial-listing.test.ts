/**
 * An alarm while part of the `active` index cannot be read: the rollouts the readable parts list are stopped
 * through the store, and a gated rollout whose part stays unreadable is found among the running executions and
 * stopped without the store (100% stable, execution stopped). The invocation still fails, so the event is retried.
 */
import type { Context } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { ErrorName, IncompleteListError } from '../../functions/core/errors';
import type { AlbRoute, RolloutDoc, RolloutRecord } from '../../functions/core/rollout';
import type { Clock, Executions, RollbackDeployer, TrafficRouter } from '../../functions/ports';
import { makeOnAlarm } from '../../functions/tasks/on-alarm';
import { InMemoryRolloutStore } from '../../sandbox/store';
import { rolloutDocFor, validParsedConfig } from '../helpers/config';
import { loadEvent } from '../helpers/fixtures';

const ALARM = 'web-5xx-high';
const AT = new Date('2026-01-01T12:00:00Z');
const clock: Clock = { now: () => AT, workflowSeconds: (s) => s, sleep: async () => {} };
const log = { info: () => {}, warn: () => {}, error: () => {} };
const context = {} as Context;

/** A service's route; each service has its own listener. */
function routeOf(service: string): AlbRoute {
  const arn = 'arn:aws:elasticloadbalancing:us-east-1:123456789012';
  return {
    listenerArn: `${arn}:listener/app/${service}/50dc6c495c0c9188/f2f7dc8efc522ab2`,
    stableTargetGroupArn: `${arn}:targetgroup/${service}-stable/73e2d6bc24d8a067`,
    canaryTargetGroupArn: `${arn}:targetgroup/${service}-canary/2453ed029918f21f`,
  };
}

/** A rollout of `service` gated by ALARM: its document (the execution's input) and its live record. */
function rollout(service: string, rolloutId: string, canaryPercent: number) {
  const route = routeOf(service);
  const config = validParsedConfig({
    service,
    repository: `acme/${service}`,
    traffic: { kind: 'alb', ...route },
    analysis: { alarms: [ALARM] },
  });
  const doc: RolloutDoc = { ...rolloutDocFor(config), rolloutId, service };
  const record: RolloutRecord = {
    rolloutId,
    service,
    image: doc.image,
    status: 'running',
    alarms: [...config.analysis.alarms],
    route,
    currentStep: 0,
    canaryPercent,
    createdAt: AT.toISOString(),
    updatedAt: AT.toISOString(),
  };
  return { doc, record };
}

/** Listeners that apply what they are told at once, by listener ARN; every change recorded. */
function listeners(start: Record<string, number>) {
  const percent = new Map(Object.entries(start).map(([s, p]) => [routeOf(s).listenerArn, p]));
  const changes: { service: string; percent: number }[] = [];
  const router = {
    describe: async () => ({}) as never,
    setWeights: async (route: AlbRoute, canary: number) => {
      const service = Object.keys(start).find((s) => routeOf(s).listenerArn === route.listenerArn) as string;
      changes.push({ service, percent: canary });
      percent.set(route.listenerArn, canary);
    },
    verifyWeights: async (route: AlbRoute, canary: number) => percent.get(route.listenerArn) === canary,
  } as TrafficRouter;
  const canaryOf = (service: string) => percent.get(routeOf(service).listenerArn);
  return { router, changes, canaryOf };
}

/** Running executions, each with its rollout document as input; stops and failed waits recorded. */
function executions(docs: RolloutDoc[]) {
  const stopped: { name: string; error: string }[] = [];
  const failedWaits: string[] = [];
  const fake = {
    running: async () =>
      docs.map((doc) => ({
        name: doc.rolloutId,
        input: JSON.stringify({ rollout: doc }),
        startedAt: AT.toISOString(),
      })),
    lastStateEntered: async () => ({ name: 'Bake', input: '{}' }),
    stop: async (name: string, error: string) => {
      stopped.push({ name, error });
    },
    isRunning: async () => true,
    sendTaskFailure: async (token: string) => {
      failedWaits.push(token);
      return true;
    },
    sendTaskSuccess: async () => true,
  } as unknown as Executions;
  return { fake, stopped, failedWaits };
}

const deployer: RollbackDeployer = {
  swapsTargetGroups: false,
  restoreStable: async () => {},
  scaleDownCanary: async () => {},
} as unknown as RollbackDeployer;

/** The store holds every record, but its listing reads only the part that holds `found`. */
async function partialStore(records: RolloutRecord[], found: RolloutRecord[]) {
  const store = new InMemoryRolloutStore();
  for (const r of records) {
    await store.putRollout(r);
    await store.acquireLock(r.service, r.rolloutId, AT);
  }
  store.listActive = async () => {
    throw new IncompleteListError<RolloutRecord>(
      'the active index: partition ACTIVE#17 could not be read',
      found,
    );
  };
  return store;
}

describe('on-alarm when part of the active index cannot be read', () => {
  it('stops the listed rollout through the store and the unlisted gated one from its execution, then fails', async () => {
    // Prepare: A (web) is listed; B (api), gated by the same alarm, is in the unreadable part but runs.
    const a = rollout('web', 'web-0123456789abcdef', 25);
    const b = rollout('api', 'api-fedcba9876543210', 50);
    const store = await partialStore([a.record, b.record], [a.record]);
    const traffic = listeners({ web: 25, api: 50 });
    const runs = executions([b.doc, a.doc]);
    const handler = makeOnAlarm({
      store,
      clock,
      log,
      router: traffic.router,
      executions: runs.fake,
      deployerFor: () => deployer,
    });

    // Act
    const outcome = handler(loadEvent('cloudwatch/alarm'), context);

    // Assess: the invocation fails (retried); both canaries are at 0% by then.
    await expect(outcome).rejects.toMatchObject({ name: 'Transient' });
    expect(traffic.canaryOf('web')).toBe(0);
    expect(traffic.canaryOf('api')).toBe(0);
    // A: its abort mark stored, stable put back once; its execution is left to its own rollback.
    expect((await store.getRollout(a.record.rolloutId))?.abort).toMatchObject({
      reason: ErrorName.AlarmFired,
    });
    expect(traffic.changes.filter((c) => c.service === 'web')).toEqual([{ service: 'web', percent: 0 }]);
    // B: stable put back from its execution's input, then its execution stopped with AlarmFired.
    expect(traffic.changes.filter((c) => c.service === 'api')).toEqual([{ service: 'api', percent: 0 }]);
    expect(runs.stopped).toEqual([{ name: b.record.rolloutId, error: ErrorName.AlarmFired }]);
    expect((await store.getRollout(b.record.rolloutId))?.abort).toBeUndefined();
  });

  it('handles a listed rollout that also runs as an execution once, through the store', async () => {
    const a = rollout('web', 'web-0123456789abcdef', 25);
    const store = await partialStore([a.record], [a.record]);
    const traffic = listeners({ web: 25 });
    const runs = executions([a.doc]);
    const handler = makeOnAlarm({
      store,
      clock,
      log,
      router: traffic.router,
      executions: runs.fake,
      deployerFor: () => deployer,
    });

    await expect(handler(loadEvent('cloudwatch/alarm'), context)).rejects.toMatchObject({
      name: 'Transient',
    });
    expect((await store.getRollout(a.record.rolloutId))?.abort).toMatchObject({
      reason: ErrorName.AlarmFired,
    });
    expect(traffic.changes).toEqual([{ service: 'web', percent: 0 }]);
    expect(runs.stopped).toEqual([]);
  });
});
