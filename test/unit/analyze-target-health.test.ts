/**
 * analyze and the canary's weight: from its first SetWeight the canary has weight, so a settled minute with no
 * healthy canary target at all fails it, even when the load balancer routed it no request.
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
const config = validParsedConfig({ analysis: { alarms: [] } });
const rollout: RolloutDoc = rolloutDocFor(config);
const clock: Clock = { now: () => new Date(NOW), workflowSeconds: (s) => s, sleep: async () => {} };
const log = { info: vi.fn(), warn: vi.fn(), error: vi.fn() };
const step = rollout.plan[0] as NonNullable<(typeof rollout.plan)[number]>;
const input = { rollout, route, step, extensions: 0, bakeLeft: 120 };

function periods(n: number, requests: number, healthyHosts: number): PeriodStats[] {
  return Array.from({ length: n }, (_, i) => ({
    start: new Date(Date.parse('2025-03-14T09:35:00.000Z') + i * 60_000).toISOString(),
    requests,
    errors: 0,
    p99Ms: requests > 0 ? 100 : null,
    healthyHosts,
    unhealthyHosts: 0,
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

describe('analyze: a weighted canary with no target', () => {
  it('fails the canary when no canary target was healthy for settled minutes, with no request routed to it', async () => {
    // Prepare: the canary's tasks were stopped; ALB answered 503 itself, so the group counts no request.
    const s = await store();
    const analyze = makeAnalyze({
      metrics: source(periods(4, 0, 0), periods(4, 4000, 6)),
      alarms: { states: async () => [] },
      router: steadyRouter,
      store: s,
      notifiers: [],
      clock,
      log,
    });

    // Act / Assess
    await expect(analyze(input, {} as Context)).rejects.toMatchObject({
      name: 'CanaryFailed',
      message: expect.stringMatching(/^targetHealth:/),
    });
    const verdict = (await s.getRollout(ROLLOUT_ID))?.lastVerdict;
    expect(verdict?.metrics.find((m) => m.metric === 'targetHealth')?.result).toBe('fail');
  });
});
