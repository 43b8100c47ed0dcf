/**
 * analyze with `analysis.xray`: the X-Ray window of the service's groups is judged beside the load balancer's, with
 * the rollout's latency thresholds; a controller without an X-Ray source refuses the config instead of ignoring it.
 */
import type { Context } from 'aws-lambda';
import { describe, expect, it, vi } from 'vitest';
import type { MetricWindow, PeriodStats } from '../../functions/core/judge';
import type { RolloutDoc, Route } from '../../functions/core/rollout';
import type { Clock, MetricSource, TrafficRouter } from '../../functions/ports';
import { makeAnalyze } from '../../functions/tasks/analyze';
import { InMemoryRolloutStore } from '../../sandbox/store';
import { ROLLOUT_ID, ROUTE, rolloutDocFor, SERVICE, validParsedConfig } from '../helpers/config';

const NOW = new Date('2025-03-14T09:41:00.000Z');
const route: Route = ROUTE;
const XRAY = {
  canaryGroup: 'web-canary',
  stableGroup: 'web-stable',
  entitySelectorExpression: 'service("web")',
};
const config = validParsedConfig({ analysis: { alarms: [], xray: XRAY } });
const rollout: RolloutDoc = rolloutDocFor(config);
const clock: Clock = { now: () => new Date(NOW), workflowSeconds: (s) => s, sleep: async () => {} };
const log = { info: vi.fn(), warn: vi.fn(), error: vi.fn() };
const step = rollout.plan[0] as NonNullable<(typeof rollout.plan)[number]>;
const input = { rollout, route, step, extensions: 0, bakeLeft: 120 };

function periods(n: number, requests: number, errors: number): PeriodStats[] {
  return Array.from({ length: n }, (_, i) => ({
    start: new Date(Date.parse('2025-03-14T09:35:00.000Z') + i * 60_000).toISOString(),
    requests,
    errors,
    p99Ms: 100,
  }));
}

function source(canary: PeriodStats[], baseline: PeriodStats[]) {
  return {
    fetch: vi.fn(
      async (q: Parameters<MetricSource['fetch']>[0]): Promise<MetricWindow> => ({
        from: q.from.toISOString(),
        to: q.to.toISOString(),
        periodSeconds: q.periodSeconds,
        canary,
        baseline,
      }),
    ),
    baselineThresholds: async () => undefined,
  } satisfies MetricSource;
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
    canaryStartedAt: '2025-03-14T09:35:00.000Z',
    latencyThresholds: { p99Ms: 320, p50Ms: 85 },
    route,
  });
  return s;
}

/** The listener shows the share the rollout set (no drift). */
const steadyRouter: TrafficRouter = {
  describe: async () => ({}),
  setWeights: async () => {},
  verifyWeights: async () => true,
};

describe('analyze with analysis.xray', () => {
  it("fails the canary on its X-Ray groups' faults when the load balancer sees nothing wrong", async () => {
    // Prepare
    const s = await store();
    const alb = source(periods(6, 400, 2), periods(6, 4000, 20));
    const xray = source(periods(6, 40, 8), periods(6, 400, 4));
    const xrayFor = vi.fn(() => xray);
    const analyze = makeAnalyze({
      metrics: alb,
      xrayFor,
      alarms: { states: async () => [] },
      router: steadyRouter,
      store: s,
      notifiers: [],
      clock,
      log,
    });

    // Act / Assess
    await expect(analyze(input, {} as Context)).rejects.toMatchObject({ name: 'CanaryFailed' });
    expect(xrayFor).toHaveBeenCalledWith(XRAY);
    expect(xray.fetch).toHaveBeenCalledWith(
      expect.objectContaining({ route, periodSeconds: 60, thresholds: { p99Ms: 320, p50Ms: 85 } }),
    );
    const verdict = (await s.getRollout(ROLLOUT_ID))?.lastVerdict;
    expect(verdict?.metrics.find((m) => m.metric === 'errorRate')?.result).toBe('pass');
    expect(verdict?.metrics.find((m) => m.metric === 'xray.errorRate')?.result).toBe('fail');
  });

  it('refuses the config, naming analysis.xray, when the controller has no X-Ray source', async () => {
    // Prepare
    const analyze = makeAnalyze({
      metrics: source(periods(6, 400, 2), periods(6, 4000, 20)),
      alarms: { states: async () => [] },
      router: steadyRouter,
      store: await store(),
      notifiers: [],
      clock,
      log,
    });

    // Act / Assess
    await expect(analyze(input, {} as Context)).rejects.toMatchObject({
      name: 'ConfigInvalid',
      message: expect.stringContaining('analysis.xray'),
    });
  });
});
