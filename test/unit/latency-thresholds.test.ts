/**
 * The rollout's latency thresholds: fixed by the first set-weight from the stable version before the canary
 * starts, passed unchanged by every analysis, and turned into slow counts by the sandbox's metric source.
 */
import type { Context } from 'aws-lambda';
import { describe, expect, it, vi } from 'vitest';
import { CloudWatchMetricSource } from '../../functions/adapters/aws/cloudwatch';
import type { MetricWindow } from '../../functions/core/judge';
import type { LatencyThresholds, RolloutDoc, RolloutRecord, Route } from '../../functions/core/rollout';
import type { Clock, Log, MetricSource, TrafficRouter } from '../../functions/ports';
import { makeAnalyze } from '../../functions/tasks/analyze';
import { makeSetWeight, THRESHOLD_SPAN_SECONDS } from '../../functions/tasks/set-weight';
import { LocalCloudWatch } from '../../sandbox/cloudwatch';
import { MetricsRecorder } from '../../sandbox/metrics';
import { InMemoryRolloutStore } from '../../sandbox/store';
import {
  CANARY_TG_ARN,
  ROLLOUT_ID,
  ROUTE,
  rolloutDocFor,
  SERVICE,
  STABLE_TG_ARN,
  validParsedConfig,
} from '../helpers/config';

const NOW = new Date('2025-03-14T09:40:00.000Z');
const route: Route = ROUTE;
const config = validParsedConfig({ analysis: { alarms: [] } });
const rollout: RolloutDoc = rolloutDocFor(config);
const context = {} as Context;
const step = (i: number) => rollout.plan[i] as NonNullable<(typeof rollout.plan)[number]>;

const clock: Clock = { now: () => new Date(NOW), workflowSeconds: (s) => s, sleep: async () => {} };
const log = () => ({
  info: vi.fn<Log['info']>(),
  warn: vi.fn<Log['warn']>(),
  error: vi.fn<Log['error']>(),
});
const router: TrafficRouter = {
  describe: async () => ({}),
  setWeights: async () => {},
  verifyWeights: async () => true,
};
const deployerFor = () =>
  ({ scaleCanary: async () => {} }) as unknown as ReturnType<
    Parameters<typeof makeSetWeight>[0]['deployerFor']
  >;

async function storeWith(extra: Partial<RolloutRecord> = {}) {
  const store = new InMemoryRolloutStore();
  // The rollout holds its service, as start-rollout left it.
  await store.acquireLock(SERVICE, ROLLOUT_ID, new Date('2025-03-14T09:27:00.000Z'));
  await store.putRollout({
    rolloutId: ROLLOUT_ID,
    service: SERVICE,
    image: rollout.image,
    status: 'running',
    alarms: [],
    createdAt: '2025-03-14T09:27:00.000Z',
    updatedAt: '2025-03-14T09:27:00.000Z',
    route,
    ...extra,
  });
  return store;
}

function fakeMetrics(thresholds: LatencyThresholds | undefined | Error) {
  const emptyWindow = (q: { from: Date; to: Date; periodSeconds: number }): MetricWindow => ({
    from: q.from.toISOString(),
    to: q.to.toISOString(),
    periodSeconds: q.periodSeconds,
    canary: [],
    baseline: [],
  });
  return {
    fetch: vi.fn(async (q: Parameters<MetricSource['fetch']>[0]) => emptyWindow(q)),
    baselineThresholds: vi.fn(async () => {
      if (thresholds instanceof Error) throw thresholds;
      return thresholds;
    }),
  } satisfies MetricSource;
}

/** The listener shows the share the rollout set (no drift). */
const steadyRouter: TrafficRouter = {
  describe: async () => ({}),
  setWeights: async () => {},
  verifyWeights: async () => true,
};

describe('set-weight fixes the latency thresholds on the first step', () => {
  it('takes the stable p99 and p50 over the 30 minutes before, and stores them with canaryStartedAt', async () => {
    const store = await storeWith();
    const metrics = fakeMetrics({ p99Ms: 320, p50Ms: 85 });
    const handler = makeSetWeight({ router, deployerFor, store, clock, log: log(), metrics });

    await handler({ rollout, route, step: step(0) }, context);

    expect(THRESHOLD_SPAN_SECONDS).toBe(1800);
    expect(metrics.baselineThresholds).toHaveBeenCalledTimes(1);
    expect(metrics.baselineThresholds).toHaveBeenCalledWith({
      route,
      from: new Date('2025-03-14T09:10:00.000Z'),
      to: NOW,
    });
    const record = await store.getRollout(ROLLOUT_ID);
    expect(record?.latencyThresholds).toEqual({ p99Ms: 320, p50Ms: 85 });
    expect(record?.canaryStartedAt).toBe(NOW.toISOString());
  });

  it('later steps leave them alone (computed once, before the canary started)', async () => {
    const store = await storeWith({
      canaryStartedAt: '2025-03-14T09:30:00.000Z',
      latencyThresholds: { p99Ms: 300, p50Ms: 80 },
    });
    const metrics = fakeMetrics({ p99Ms: 999, p50Ms: 999 });
    const handler = makeSetWeight({ router, deployerFor, store, clock, log: log(), metrics });

    await handler({ rollout, route, step: step(1) }, context);

    expect(metrics.baselineThresholds).not.toHaveBeenCalled();
    expect((await store.getRollout(ROLLOUT_ID))?.latencyThresholds).toEqual({ p99Ms: 300, p50Ms: 80 });
  });

  it('no stable traffic before: nothing stored (the judge compares p99s)', async () => {
    const store = await storeWith();
    const handler = makeSetWeight({
      router,
      deployerFor,
      store,
      clock,
      log: log(),
      metrics: fakeMetrics(undefined),
    });

    await handler({ rollout, route, step: step(0) }, context);

    const record = await store.getRollout(ROLLOUT_ID);
    expect(record).not.toHaveProperty('latencyThresholds');
    expect(record?.canaryStartedAt).toBe(NOW.toISOString());
  });

  it('a metrics failure does not block the step: warned, nothing stored', async () => {
    const store = await storeWith();
    const l = log();
    const handler = makeSetWeight({
      router,
      deployerFor,
      store,
      clock,
      log: l,
      metrics: fakeMetrics(new Error('denied')),
    });

    await expect(handler({ rollout, route, step: step(0) }, context)).resolves.toMatchObject({
      extensions: 0,
    });

    expect(l.warn).toHaveBeenCalledWith(expect.stringContaining('latency thresholds'), expect.anything());
    expect(await store.getRollout(ROLLOUT_ID)).not.toHaveProperty('latencyThresholds');
  });
});

describe('analyze passes the stored thresholds unchanged', () => {
  const deps = (store: InMemoryRolloutStore, metrics: MetricSource) => ({
    metrics,
    alarms: { states: async () => [] },
    router: steadyRouter,
    store,
    notifiers: [],
    clock,
    log: log(),
  });

  it('with thresholds on the record', async () => {
    const store = await storeWith({
      canaryStartedAt: '2025-03-14T09:35:00.000Z',
      latencyThresholds: { p99Ms: 320, p50Ms: 85 },
    });
    const metrics = fakeMetrics(undefined);

    await makeAnalyze(deps(store, metrics))(
      { rollout, route, step: step(0), extensions: 0, bakeLeft: 0 },
      context,
    ).catch(() => undefined);

    expect(metrics.fetch).toHaveBeenCalledWith({
      route,
      from: new Date('2025-03-14T09:35:00.000Z'),
      // Settled periods only: 09:40 less the default 120 s metric delay.
      to: new Date('2025-03-14T09:38:00.000Z'),
      periodSeconds: 60,
      thresholds: { p99Ms: 320, p50Ms: 85 },
      // The ECS deployer's CPU and memory come along.
      metrics: [expect.objectContaining({ name: 'ecsCpu' }), expect.objectContaining({ name: 'ecsMemory' })],
    });
  });

  it('judges up to the last period settled after the configured analysis.metricDelaySeconds', async () => {
    const store = await storeWith({ canaryStartedAt: '2025-03-14T09:35:00.000Z' });
    const metrics = fakeMetrics(undefined);
    const delayed = {
      ...rollout,
      config: { ...config, analysis: { ...config.analysis, metricDelaySeconds: 190 } },
    };

    await makeAnalyze(deps(store, metrics))(
      { rollout: delayed, route, step: step(0), extensions: 0, bakeLeft: 0 },
      context,
    ).catch(() => undefined);

    // 09:40:00 − 190 s = 09:36:50: the last whole minute ends at 09:36.
    expect(metrics.fetch.mock.calls[0]?.[0].to).toEqual(new Date('2025-03-14T09:36:00.000Z'));
  });

  it('without: no thresholds in the query', async () => {
    const store = await storeWith({ canaryStartedAt: '2025-03-14T09:35:00.000Z' });
    const metrics = fakeMetrics(undefined);

    await makeAnalyze(deps(store, metrics))(
      { rollout, route, step: step(0), extensions: 0, bakeLeft: 0 },
      context,
    ).catch(() => undefined);

    expect(metrics.fetch.mock.calls[0]?.[0]).not.toHaveProperty('thresholds');
  });
});

describe('the CloudWatch adapter over the local CloudWatch', () => {
  // Rollout time: the stable version before the canary, then both.
  const T0 = Date.parse('2025-03-14T09:00:00.000Z');
  function recorder() {
    const r = new MetricsRecorder(10_000);
    // 100 stable requests at 1..100 ms in the 10 minutes before 09:10.
    for (let i = 1; i <= 100; i++) r.record(STABLE_TG_ARN, T0 + i * 5_000, 200, i);
    // From 09:10: per minute, stable 10 requests at 10..100 ms, canary 4 at 50, 99, 100, 150 ms.
    for (let m = 10; m < 12; m++) {
      const at = T0 + m * 60_000 + 1_000;
      for (let k = 1; k <= 10; k++) r.record(STABLE_TG_ARN, at, 200, k * 10);
      for (const ms of [50, 99, 100, 150]) r.record(CANARY_TG_ARN, at, 200, ms);
    }
    return r;
  }
  /** Everything published: the clock stands an hour after the last request. */
  const source_ = () =>
    new CloudWatchMetricSource(
      new LocalCloudWatch(recorder(), { now: () => new Date(T0 + 60 * 60_000) }, 60).client(),
    );

  it('baselineThresholds: nearest-rank p99 and p50 of the stable latencies in the span', async () => {
    const source = source_();

    await expect(
      source.baselineThresholds({ route, from: new Date(T0), to: new Date(T0 + 10 * 60_000) }),
    ).resolves.toEqual({ p99Ms: 99, p50Ms: 50 });
  });

  it('baselineThresholds: undefined without stable traffic in the span', async () => {
    const source = source_();

    await expect(
      source.baselineThresholds({ route, from: new Date(T0 - 30 * 60_000), to: new Date(T0) }),
    ).resolves.toBeUndefined();
  });

  it('fetch with thresholds counts requests strictly above them in every period, on both sides', async () => {
    const source = source_();

    const window = await source.fetch({
      route,
      from: new Date(T0 + 10 * 60_000),
      to: new Date(T0 + 12 * 60_000),
      periodSeconds: 60,
      thresholds: { p99Ms: 99, p50Ms: 50 },
    });

    expect(window.slowThresholdMs).toBe(99);
    expect(window.medianThresholdMs).toBe(50);
    expect(window.canary.map((p) => [p.requests, p.slow, p.aboveMedian])).toEqual([
      [4, 2, 3],
      [4, 2, 3],
    ]);
    expect(window.baseline.map((p) => [p.requests, p.slow, p.aboveMedian])).toEqual([
      [10, 1, 5],
      [10, 1, 5],
    ]);
  });

  it('fetch without thresholds reports no counts', async () => {
    const source = source_();

    const window = await source.fetch({
      route,
      from: new Date(T0 + 10 * 60_000),
      to: new Date(T0 + 12 * 60_000),
      periodSeconds: 60,
    });

    expect(window).not.toHaveProperty('slowThresholdMs');
    expect([...window.canary, ...window.baseline].some((p) => 'slow' in p || 'aboveMedian' in p)).toBe(false);
  });
});
