/**
 * Analyses of a typical and of the largest rollout the controller stores, run through the real analyze task against
 * the sandbox's or the table's store: the largest has 20 configured custom metrics beside the ECS deployer's two, X-Ray on, 20 gating
 * alarms and more than a day of minutes since the canary started (core/late-metrics.ts keeps a day), every value
 * with the nine significant digits the late-metric check keeps; the typical one has the default config (the ECS
 * metrics, two alarms) and half an hour of minutes.
 */
import type { Context } from 'aws-lambda';
import type { ServiceConfig } from '../../functions/core/config';
import type { MetricWindow, PeriodStats } from '../../functions/core/judge';
import type { RolloutDoc, RolloutRecord } from '../../functions/core/rollout';
import type { CustomSeries } from '../../functions/core/verdict';
import type { Clock, MetricSource } from '../../functions/ports';
import { makeAnalyze } from '../../functions/tasks/analyze';
import type { WorldStore } from '../../sandbox/store';
import { IMAGE_TAG, ROUTE, rolloutDocFor, SERVICE, validParsedConfig } from './config';

const START = Date.parse('2025-03-14T09:30:00Z');
const at = (minute: number) => new Date(START + minute * 60_000).toISOString();

const XRAY = {
  canaryGroup: 'web-canary',
  stableGroup: 'web-stable',
  entitySelectorExpression: 'service("web")',
};
const DIM = { name: 'Version', canary: 'web-canary', stable: 'web-stable' };

/** 20 custom metrics, the longest names allowed (24 characters): counts (good and total) and gauges in turn. */
function twentyMetrics() {
  return Array.from({ length: 20 }, (_, i) => {
    const name = `checkoutLatencyMetric${String(i).padStart(3, '0')}`;
    const query = (metricName: string) => ({ namespace: 'Shop/Checkout', metricName });
    return i % 2 === 0
      ? {
          name,
          kind: 'counts',
          versionDimension: DIM,
          good: query(`${name}Good`),
          total: query(`${name}All`),
        }
      : { name, kind: 'gauge', versionDimension: DIM, value: query(name) };
  });
}

export interface AnalysisSize {
  config: ServiceConfig;
  minutes: number;
}

export const TYPICAL: AnalysisSize = { config: validParsedConfig(), minutes: 30 };

export const LARGEST: AnalysisSize = {
  config: validParsedConfig({
    analysis: {
      alarms: Array.from({ length: 20 }, (_, i) => `web-checkout-p99-latency-high-${i}`),
      xray: XRAY,
      metrics: twentyMetrics() as never,
    },
  }),
  minutes: 1500,
};

/** A value with nine significant digits, different each minute. */
const nine = (minute: number, base: number) => Number((base + minute / 7).toPrecision(9));

function periods(minutes: number, requests: number): PeriodStats[] {
  return Array.from({ length: minutes }, (_, i) => ({
    start: at(i),
    requests: requests + (i % 97),
    errors: 0,
    p99Ms: nine(i, 211),
  }));
}

function customSeries(config: ServiceConfig, minutes: number): CustomSeries[] {
  const points = (base: number) =>
    Array.from({ length: minutes }, (_, i) => ({
      start: at(i),
      value: nine(i, base),
      good: 100_000 + (i % 89),
      total: 100_100 + (i % 89),
    }));
  const names = [...config.analysis.metrics.map((m) => m.name), 'ecsCpu', 'ecsMemory'];
  return names.map((name) => ({ name, canary: points(40), baseline: points(40) }));
}

function windowOf({ config, minutes }: AnalysisSize, query: { from: Date; to: Date }): MetricWindow {
  return {
    from: query.from.toISOString(),
    to: query.to.toISOString(),
    periodSeconds: 60,
    canary: periods(minutes, 12_345),
    baseline: periods(minutes, 234_567),
    custom: customSeries(config, minutes),
  };
}

/** The rollout's record, with the lock its rollout holds, as set-weight left it for the first analysis. */
export async function putLargeRollout(
  store: WorldStore,
  size: AnalysisSize,
  extra: Partial<RolloutRecord> = {},
): Promise<RolloutDoc> {
  const rollout = rolloutDocFor(size.config);
  await store.acquireLock(SERVICE, rollout.rolloutId, new Date(at(-5)));
  await store.putRollout({
    rolloutId: rollout.rolloutId,
    service: SERVICE,
    image: { ...rollout.image, tag: IMAGE_TAG },
    status: 'running',
    alarms: size.config.analysis.alarms,
    createdAt: at(-5),
    updatedAt: at(0),
    route: ROUTE,
    previousStable: {
      image: `123456789012.dkr.ecr.us-east-1.amazonaws.com/acme/web@sha256:${'a'.repeat(64)}`,
      revision: 'arn:aws:ecs:us-east-1:123456789012:task-definition/web:41',
    },
    currentStep: 0,
    canaryPercent: 5,
    canaryStartedAt: at(0),
    latencyThresholds: { p99Ms: 212.5, p50Ms: 48.25 },
    weightChangedAt: [at(0)],
    ...extra,
  });
  return rollout;
}

/** One analysis of the rollout's first step, its window ending `minutes` after the canary started. */
export async function analyzeLarge(
  store: WorldStore,
  size: AnalysisSize,
  rollout: RolloutDoc,
): Promise<void> {
  // Settled up to the window's end: the default metric delay (120 s) later.
  const now = new Date(Date.parse(at(size.minutes)) + 120_000);
  const clock: Clock = { now: () => new Date(now), workflowSeconds: (s) => s, sleep: async () => {} };
  const source = (): MetricSource => ({
    fetch: async (query) => windowOf(size, query),
    baselineThresholds: async () => undefined,
  });
  const analyze = makeAnalyze({
    metrics: source(),
    xrayFor: source,
    alarms: { states: async (names) => names.map((name) => ({ name, state: 'OK' as const })) },
    router: { describe: async () => ({}), verifyWeights: async () => true },
    store,
    notifiers: [],
    clock,
    log: { info: () => {}, warn: () => {}, error: () => {} },
  });
  const step = rollout.plan[0] as NonNullable<(typeof rollout.plan)[number]>;
  await analyze({ rollout, route: ROUTE, step, extensions: 0, bakeLeft: 300 }, {} as Context);
}
