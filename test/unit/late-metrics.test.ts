/**
 * A judged period must not change later: each analysis stores the request counts of the periods it judged, and
 * the next one compares them with what the metric source now returns for the same periods.
 */
import type { Context } from 'aws-lambda';
import { describe, expect, it, vi } from 'vitest';
import { stepSpecs } from '../../functions/core/config';
import type { MetricWindow, PeriodStats } from '../../functions/core/judge';
import { MAX_STORED_PERIODS, periodCounts, revisedPeriods } from '../../functions/core/late-metrics';
import { buildPlan } from '../../functions/core/plan';
import type { RolloutDoc, Route } from '../../functions/core/rollout';
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
      canaryStartedAt: at(0),
      route,
    });
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
    await analyze(input, {} as Context);
    const second = await store.getRollout(ROLLOUT_ID);

    // Assess
    expect(first?.judgedPeriods).toEqual({
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
    expect(second?.judgedPeriods?.alb.canary).toEqual([100, 100, 100]);
    expect(log.warn).toHaveBeenCalledWith(
      'late metrics',
      expect.objectContaining({
        rolloutId: ROLLOUT_ID,
        periods: [expect.objectContaining({ start: at(1) })],
      }),
    );
  });
});
