/**
 * A judged period must not change later: each analysis stores the request counts of the periods it judged, and
 * the next one compares them with what the metric source now returns for the same periods.
 */
import type { Context } from 'aws-lambda';
import { describe, expect, it, vi } from 'vitest';
import { stepSpecs } from '../../functions/core/config';
import type { MetricWindow, PeriodStats } from '../../functions/core/judge';
import {
  CUSTOM_VALUES_STORED,
  customPeriodValues,
  MAX_STORED_PERIODS,
  periodCounts,
  revisedCustomPeriods,
  revisedPeriods,
} from '../../functions/core/late-metrics';
import { buildPlan } from '../../functions/core/plan';
import type { RolloutDoc, RolloutRecord, Route } from '../../functions/core/rollout';
import type { CustomPoint } from '../../functions/core/verdict';
import type { Clock, MetricSource, TrafficRouter } from '../../functions/ports';
import { makeAnalyze } from '../../functions/tasks/analyze';
import { InMemoryRolloutStore } from '../../sandbox/store';
import {
  CANARY_TG_ARN,
  IMAGE_DIGEST,
  LISTENER_ARN,
  REPOSITORY,
  ROLLOUT_ID,
  SERVICE,
  STABLE_TG_ARN,
  validParsedConfig,
} from '../helpers/config';

const START = Date.parse('2025-03-14T09:35:00.000Z');
const at = (i: number) => new Date(START + i * 60_000).toISOString();

function periods(requests: readonly number[], errorsEach = 0): PeriodStats[] {
  return requests.map((n, i) => ({ start: at(i), requests: n, errors: errorsEach, p99Ms: 100 }));
}

function window(canary: readonly number[], baseline: readonly number[]): MetricWindow {
  return {
    from: at(0),
    to: at(canary.length),
    periodSeconds: 60,
    canary: periods(canary),
    baseline: periods(baseline),
  };
}

describe('periodCounts and revisedPeriods', () => {
  it('stores the counts compactly and finds the judged periods whose counts changed, not the new ones', () => {
    // Prepare
    const judged = periodCounts(window([100, 110, 90], [1000, 1100, 900]));

    // Act
    const revised = revisedPeriods(judged, window([100, 130, 90, 95], [1000, 1100, 960, 950]));

    // Assess
    expect(judged).toEqual({
      start: at(0),
      periodSeconds: 60,
      canary: [100, 110, 90],
      baseline: [1000, 1100, 900],
    });
    expect(revised).toEqual([
      { start: at(1), judged: { canary: 110, baseline: 1100 }, now: { canary: 130, baseline: 1100 } },
      { start: at(2), judged: { canary: 90, baseline: 900 }, now: { canary: 90, baseline: 960 } },
    ]);
    expect(revisedPeriods(judged, window([100, 110, 90, 95], [1000, 1100, 900, 950]))).toEqual([]);
    expect(revisedPeriods(undefined, window([1], [1]))).toEqual([]);
  });

  it(`keeps the newest ${MAX_STORED_PERIODS} periods of a long window`, () => {
    const n = MAX_STORED_PERIODS + 5;
    const counts = periodCounts(
      window(
        Array.from({ length: n }, (_, i) => i),
        Array(n).fill(7),
      ),
    );

    expect(counts.start).toBe(at(5));
    expect(counts.canary).toHaveLength(MAX_STORED_PERIODS);
    expect(counts.canary[0]).toBe(5);
  });
});

/** Business metrics: completed orders per attempted (counts, lower is worse) and a CPU gauge. */
const ORDERS_AND_CPU = validParsedConfig({
  analysis: {
    alarms: [],
    metrics: [
      {
        name: 'orders',
        kind: 'counts',
        direction: 'lowerIsWorse',
        versionDimension: { name: 'Service', canary: 'web-canary', stable: 'web' },
        good: { namespace: 'Shop', metricName: 'OrdersCompleted' },
        total: { namespace: 'Shop', metricName: 'OrdersAttempted' },
      },
      {
        name: 'cpu',
        kind: 'gauge',
        versionDimension: { name: 'Service', canary: 'web-canary', stable: 'web' },
        value: { namespace: 'Shop', metricName: 'Cpu' },
      },
    ],
  },
});
const [ORDERS, CPU] = ORDERS_AND_CPU.analysis.metrics as [
  (typeof ORDERS_AND_CPU.analysis.metrics)[number],
  (typeof ORDERS_AND_CPU.analysis.metrics)[number],
];

type Point = Omit<CustomPoint, 'start'>;

/** A window of steady requests with the custom metrics' points (undefined: no point). */
function withCustom(
  orders: { canary: (Point | undefined)[]; baseline: (Point | undefined)[] },
  cpu: { canary: (number | undefined)[]; baseline: (number | undefined)[] },
): MetricWindow {
  const n = Math.max(orders.canary.length, cpu.canary.length);
  const points = (ps: (Point | undefined)[]) => ps.flatMap((p, i) => (p ? [{ start: at(i), ...p }] : []));
  const values = (vs: (number | undefined)[]) =>
    points(vs.map((v) => (v === undefined ? undefined : { value: v })));
  return {
    ...window(Array(n).fill(100), Array(n).fill(1000)),
    custom: [
      { name: 'orders', canary: points(orders.canary), baseline: points(orders.baseline) },
      { name: 'cpu', canary: values(cpu.canary), baseline: values(cpu.baseline) },
    ],
  };
}

describe('customPeriodValues and revisedCustomPeriods', () => {
  it('finds a counts series and a gauge revised after being judged, and a point that arrived late', () => {
    // Prepare: minute 1's orders were partial; minute 2 had no CPU point for the canary yet.
    const judged = customPeriodValues(
      withCustom(
        {
          canary: [
            { good: 9, total: 10 },
            { good: 3, total: 4 },
            { good: 9, total: 10 },
          ],
          baseline: [
            { good: 90, total: 100 },
            { good: 90, total: 100 },
            { good: 90, total: 100 },
          ],
        },
        { canary: [41.5, 40.25, undefined], baseline: [30, 30, 30] },
      ),
      [ORDERS, CPU],
    );

    // Act
    const revised = revisedCustomPeriods(
      judged,
      withCustom(
        {
          canary: [
            { good: 9, total: 10 },
            { good: 8, total: 10 },
            { good: 9, total: 10 },
            { good: 1, total: 2 },
          ],
          baseline: [{ good: 90, total: 100 }, { good: 90, total: 100 }, { good: 90, total: 100 }, {}],
        },
        { canary: [41.5, 40.25, 44, 50], baseline: [30, 30, 30, 30] },
      ),
      [ORDERS, CPU],
    );

    // Assess
    expect(judged?.orders).toEqual({
      start: at(0),
      periodSeconds: 60,
      series: {
        good: { canary: [9, 3, 9], baseline: [90, 90, 90] },
        total: { canary: [10, 4, 10], baseline: [100, 100, 100] },
      },
    });
    expect(judged?.cpu?.series.value).toEqual({ canary: [41.5, 40.25, null], baseline: [30, 30, 30] });
    expect(revised).toEqual([
      {
        source: 'custom',
        metric: 'custom.orders',
        series: 'good',
        start: at(1),
        judged: { canary: 3, baseline: 90 },
        now: { canary: 8, baseline: 90 },
      },
      {
        source: 'custom',
        metric: 'custom.orders',
        series: 'total',
        start: at(1),
        judged: { canary: 4, baseline: 100 },
        now: { canary: 10, baseline: 100 },
      },
      {
        source: 'custom',
        metric: 'custom.cpu',
        series: 'value',
        start: at(2),
        judged: { canary: null, baseline: 30 },
        now: { canary: 44, baseline: 30 },
      },
    ]);
    expect(
      revisedCustomPeriods(
        undefined,
        withCustom({ canary: [], baseline: [] }, { canary: [1], baseline: [1] }),
        [CPU],
      ),
    ).toEqual([]);
  });

  it("keeps the newest periods that fit the values' budget (CUSTOM_VALUES_STORED), all metrics together", () => {
    const n = 2000;
    const cpu = { canary: Array(n).fill(40), baseline: Array(n).fill(30) };
    const values = customPeriodValues(withCustom({ canary: [], baseline: [] }, cpu), [ORDERS, CPU]);
    // orders: 2 series × 2 versions, cpu: 1 × 2 → 6 values a period.
    const kept = CUSTOM_VALUES_STORED / 6;
    expect(values?.cpu?.series.value?.canary).toHaveLength(kept);
    expect(values?.cpu?.start).toBe(at(n - kept));
    expect(values?.orders?.series.good?.canary).toEqual(Array(kept).fill(null));
  });
});

describe('analyze: a period judged earlier that changed', () => {
  const route: Route = {
    listenerArn: LISTENER_ARN,
    stableTargetGroupArn: STABLE_TG_ARN,
    canaryTargetGroupArn: CANARY_TG_ARN,
  };
  const config = validParsedConfig({ analysis: { alarms: [] } });
  const rollout: RolloutDoc = {
    rolloutId: ROLLOUT_ID,
    service: SERVICE,
    image: { repository: REPOSITORY, digest: IMAGE_DIGEST },
    config,
    plan: buildPlan(stepSpecs(config)),
    trigger: 'ecr-push',
    requestedAt: '2025-03-14T09:26:53Z',
  };
  const step = rollout.plan[0] as NonNullable<(typeof rollout.plan)[number]>;
  const input = { rollout, route, step, extensions: 0, bakeLeft: 600 };
  const clock: Clock = {
    now: () => new Date('2025-03-14T09:45:00.000Z'),
    workflowSeconds: (s) => s,
    sleep: async () => {},
  };

  it('is judged on the new counts, logged as a warning and noted in the verdict (lateMetrics), naming the delay to raise', async () => {
    // Prepare: the first analysis sees minute 1 partial (20 canary requests); the next sees it complete.
    // The rollout holds its service, as start-rollout left it.
    const store = await rolloutStore();
    const windows = [window([100, 20], [1000, 200]), window([100, 100, 100], [1000, 1000, 1000])];
    const metrics: MetricSource = {
      fetch: vi.fn(async () => windows.shift() as MetricWindow),
      baselineThresholds: async () => undefined,
    };
    const log = { info: vi.fn(), warn: vi.fn(), error: vi.fn() };
    const router: TrafficRouter = {
      describe: async () => ({}),
      setWeights: async () => {},
      verifyWeights: async () => true,
    };
    const analyze = makeAnalyze({
      metrics,
      router,
      alarms: { states: async () => [] },
      store,
      notifiers: [],
      clock,
      log,
    });

    // Act
    await analyze(input, {} as Context);
    const first = await store.getRollout(ROLLOUT_ID);
    const firstPeriods = await store.getJudgedPeriods(ROLLOUT_ID);
    await analyze(input, {} as Context);
    const second = await store.getRollout(ROLLOUT_ID);
    const secondPeriods = await store.getJudgedPeriods(ROLLOUT_ID);

    // Assess
    expect(firstPeriods).toEqual({
      alb: { start: at(0), periodSeconds: 60, canary: [100, 20], baseline: [1000, 200] },
    });
    expect(first?.lastVerdict?.lateMetrics).toBeUndefined();
    expect(second?.lastVerdict?.lateMetrics).toEqual({
      periods: [
        {
          source: 'alb',
          start: at(1),
          judged: { canary: 20, baseline: 200 },
          now: { canary: 100, baseline: 1000 },
        },
      ],
      detail: expect.stringMatching(
        /1 minute judged earlier changed.*raise analysis\.metricDelaySeconds \(120 s\)/,
      ),
    });
    // Judged on what the source returns now: all three minutes.
    expect(second?.lastVerdict?.canary.requests).toBe(300);
    expect(secondPeriods?.alb.canary).toEqual([100, 100, 100]);
    expect(log.warn).toHaveBeenCalledWith(
      'late metrics',
      expect.objectContaining({
        rolloutId: ROLLOUT_ID,
        periods: [expect.objectContaining({ start: at(1) })],
      }),
    );
  });

  /** The record as set-weight left it for the first analysis, with `extra` (a record an earlier release wrote). */
  async function rolloutStore(extra: Partial<RolloutRecord> = {}) {
    const store = new InMemoryRolloutStore();
    await store.acquireLock(SERVICE, ROLLOUT_ID, new Date('2025-03-14T09:27:00.000Z'));
    await store.putRollout({
      rolloutId: ROLLOUT_ID,
      service: SERVICE,
      image: rollout.image,
      status: 'running',
      alarms: [],
      createdAt: '2025-03-14T09:27:00.000Z',
      updatedAt: '2025-03-14T09:27:00.000Z',
      canaryStartedAt: at(0),
      route,
      ...extra,
    });
    return store;
  }
  const analyzeOn = (store: InMemoryRolloutStore, seen: MetricWindow) =>
    makeAnalyze({
      metrics: { fetch: async () => structuredClone(seen), baselineThresholds: async () => undefined },
      router: { describe: async () => ({}), verifyWeights: async () => true },
      alarms: { states: async () => [] },
      store,
      notifiers: [],
      clock,
      log: { info: vi.fn(), warn: vi.fn(), error: vi.fn() },
    });

  it.each(['updateRollout', 'appendHistory', 'putJudgedPeriods'] as const)(
    'still notes the revision when %s fails in the analysis that sees it, once retried',
    async (write) => {
      // Prepare: an analysis judged minute 1 partial; the next sees it complete, and one of its writes is throttled.
      const store = await rolloutStore();
      await analyzeOn(store, window([100, 20], [1000, 200]))(input, {} as Context);
      const real = store[write].bind(store) as (...args: unknown[]) => Promise<unknown>;
      let throttled = false;
      Object.assign(store, {
        [write]: async (...args: unknown[]) => {
          if (!throttled && (write !== 'updateRollout' || 'lastVerdict' in (args[1] as object))) {
            throttled = true;
            throw Object.assign(new Error('Rate of requests exceeds the allowed throughput'), {
              name: 'ThrottlingException',
            });
          }
          return real(...args);
        },
      });
      const complete = window([100, 100, 100], [1000, 1000, 1000]);

      // Act: the failed attempt, then Step Functions' retry of it.
      await expect(analyzeOn(store, complete)(input, {} as Context)).rejects.toThrow(/throughput/);
      await analyzeOn(store, complete)(input, {} as Context);

      // Assess
      const record = await store.getRollout(ROLLOUT_ID);
      expect(record?.lastVerdict?.lateMetrics?.periods).toEqual([
        {
          source: 'alb',
          start: at(1),
          judged: { canary: 20, baseline: 200 },
          now: { canary: 100, baseline: 1000 },
        },
      ]);
      expect((await store.getJudgedPeriods(ROLLOUT_ID))?.alb.canary).toEqual([100, 100, 100]);
    },
  );

  it('compares with the newer of the periods item and the periods an earlier release kept on the record', async () => {
    // Prepare: an item left at minute 2 (minute 1 partial); an earlier release, run since, judged minutes 0 to 3
    // onto the record (minute 1 complete, minute 3 partial).
    const newer = { alb: periodCounts(window([100, 100, 100, 20], [1000, 1000, 1000, 200])) };
    const store = await rolloutStore({ judgedPeriods: newer });
    await store.putJudgedPeriods(ROLLOUT_ID, { alb: periodCounts(window([100, 20], [1000, 200])) });

    // Act
    await analyzeOn(store, window([100, 100, 100, 100], [1000, 1000, 1000, 1000]))(input, {} as Context);

    // Assess: only minute 3 changed since it was judged; the record keeps its periods until the item is newer.
    const record = await store.getRollout(ROLLOUT_ID);
    expect(record?.lastVerdict?.lateMetrics?.periods).toEqual([
      {
        source: 'alb',
        start: at(3),
        judged: { canary: 20, baseline: 200 },
        now: { canary: 100, baseline: 1000 },
      },
    ]);
    expect((await store.getJudgedPeriods(ROLLOUT_ID))?.alb.canary).toEqual([100, 100, 100, 100]);
    expect(record?.judgedPeriods).toEqual(newer);
  });

  it('notes a custom metric revised after being judged (lateMetrics, the warning), the requests unchanged', async () => {
    // Prepare: the requests stay as judged; minute 1's completed orders arrive late, the CPU gauge stays.
    const store = new InMemoryRolloutStore();
    await store.acquireLock(SERVICE, ROLLOUT_ID, new Date('2025-03-14T09:27:00.000Z'));
    await store.putRollout({
      rolloutId: ROLLOUT_ID,
      service: SERVICE,
      image: rollout.image,
      status: 'running',
      alarms: [],
      createdAt: '2025-03-14T09:27:00.000Z',
      updatedAt: '2025-03-14T09:27:00.000Z',
      canaryStartedAt: at(0),
      route,
    });
    const cpu = { canary: [40, 40], baseline: [30, 30] };
    const baseline = [
      { good: 90, total: 100 },
      { good: 90, total: 100 },
    ];
    const windows = [
      withCustom(
        {
          canary: [
            { good: 9, total: 10 },
            { good: 2, total: 10 },
          ],
          baseline,
        },
        cpu,
      ),
      withCustom(
        {
          canary: [
            { good: 9, total: 10 },
            { good: 9, total: 10 },
          ],
          baseline,
        },
        cpu,
      ),
    ];
    const metrics: MetricSource = {
      fetch: vi.fn(async () => windows.shift() as MetricWindow),
      baselineThresholds: async () => undefined,
    };
    const log = { info: vi.fn(), warn: vi.fn(), error: vi.fn() };
    const analyze = makeAnalyze({
      metrics,
      router: { describe: async () => ({}), verifyWeights: async () => true },
      alarms: { states: async () => [] },
      store,
      notifiers: [],
      clock,
      log,
    });
    const custom = { ...input, rollout: { ...rollout, config: ORDERS_AND_CPU } };

    // Act
    await analyze(custom, {} as Context);
    const first = await store.getRollout(ROLLOUT_ID);
    const firstPeriods = await store.getJudgedPeriods(ROLLOUT_ID);
    await analyze(custom, {} as Context);
    const second = await store.getRollout(ROLLOUT_ID);
    const secondPeriods = await store.getJudgedPeriods(ROLLOUT_ID);

    // Assess
    expect(firstPeriods?.custom?.orders?.series.good?.canary).toEqual([9, 2]);
    expect(first?.lastVerdict?.lateMetrics).toBeUndefined();
    expect(second?.lastVerdict?.lateMetrics).toEqual({
      periods: [
        {
          source: 'custom',
          metric: 'custom.orders',
          series: 'good',
          start: at(1),
          judged: { canary: 2, baseline: 90 },
          now: { canary: 9, baseline: 90 },
        },
      ],
      detail: expect.stringMatching(
        /^1 minute judged earlier changed afterwards \(metrics arrived later than the metric delay: custom\.orders\).*raise analysis\.metricDelaySeconds \(120 s\)/,
      ),
    });
    expect(secondPeriods?.custom?.orders?.series.good?.canary).toEqual([9, 9]);
    expect(log.warn).toHaveBeenCalledWith(
      'late metrics',
      expect.objectContaining({ periods: [expect.objectContaining({ metric: 'custom.orders' })] }),
    );
  });
});
