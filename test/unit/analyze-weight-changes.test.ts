/**
 * analyze and the canary's weight changes: set-weight records when each weight took the listener, and the analysis
 * compares no minute holding one (the canary's requests in it lean to one side of the change, so a slowdown of both
 * versions on that side would weigh on the canary alone).
 */
import type { Context } from 'aws-lambda';
import { describe, expect, it, vi } from 'vitest';
import type { MetricEvidence, MetricWindow, PeriodStats } from '../../functions/core/judge';
import type { RolloutDoc } from '../../functions/core/rollout';
import type { Clock, MetricSource, TrafficRouter } from '../../functions/ports';
import { makeAnalyze } from '../../functions/tasks/analyze';
import { evidenceText } from '../../functions/views/evidence-text';
import { InMemoryRolloutStore } from '../../sandbox/store';
import { ROLLOUT_ID, ROUTE, rolloutDocFor, SERVICE, validParsedConfig } from '../helpers/config';

const NOW = new Date('2025-03-14T09:45:00.000Z');
const config = validParsedConfig({ analysis: { alarms: [], warmupSeconds: 0 } });
const rollout: RolloutDoc = rolloutDocFor(config);
const clock: Clock = { now: () => new Date(NOW), workflowSeconds: (s) => s, sleep: async () => {} };
const log = { info: vi.fn(), warn: vi.fn(), error: vi.fn() };
const step = rollout.plan[1] as NonNullable<(typeof rollout.plan)[number]>;
const input = { rollout, route: ROUTE, step, extensions: 0, bakeLeft: 120 };

/** [requests, slow] per minute from 09:35; 25% → 50% half-way through 09:38, then both versions slow a while. */
const minutes = (rows: [number, number][]): PeriodStats[] =>
  rows.map(([requests, slow], i) => ({
    start: new Date(Date.parse('2025-03-14T09:35:00.000Z') + i * 60_000).toISOString(),
    requests,
    errors: 0,
    p99Ms: 30,
    slow,
    aboveMedian: Math.round(requests / 2),
  }));
const canary = minutes([
  [500, 5],
  [500, 5],
  [500, 5],
  [750, 205],
  [1000, 10],
  [1000, 10],
  [1000, 10],
]);
const baseline = minutes([
  [1500, 15],
  [1500, 15],
  [1500, 15],
  [1250, 210],
  [1000, 10],
  [1000, 10],
  [1000, 10],
]);

const metrics: MetricSource = {
  fetch: async (q): Promise<MetricWindow> => ({
    from: q.from.toISOString(),
    to: q.to.toISOString(),
    periodSeconds: q.periodSeconds,
    slowThresholdMs: 20,
    medianThresholdMs: 10,
    canary,
    baseline,
  }),
  baselineThresholds: async () => undefined,
};

/** The listener shows the share the rollout set (no drift). */
const steadyRouter: TrafficRouter = {
  describe: async () => ({}),
  setWeights: async () => {},
  verifyWeights: async () => true,
};

async function analyzeWith(weightChangedAt: string[] | undefined) {
  const store = new InMemoryRolloutStore();
  await store.acquireLock(SERVICE, ROLLOUT_ID, new Date('2025-03-14T09:27:00.000Z'));
  await store.putRollout({
    rolloutId: ROLLOUT_ID,
    service: SERVICE,
    image: rollout.image,
    status: 'running',
    alarms: [],
    createdAt: '2025-03-14T09:27:00.000Z',
    updatedAt: '2025-03-14T09:38:30.000Z',
    canaryStartedAt: '2025-03-14T09:35:00.000Z',
    ...(weightChangedAt ? { weightChangedAt } : {}),
    route: ROUTE,
  });
  const analyze = makeAnalyze({
    metrics,
    alarms: { states: async () => [] },
    router: steadyRouter,
    store,
    notifiers: [],
    clock,
    log,
  });
  return { result: analyze(input, {} as Context), store };
}

describe('analyze: the minutes a weight change falls in', () => {
  it('leaves the minute of the change out of the comparison, so a slowdown of both versions after it fails nothing', async () => {
    const { result, store } = await analyzeWith(['2025-03-14T09:35:00.000Z', '2025-03-14T09:38:30.000Z']);
    await expect(result).resolves.toMatchObject({ action: expect.not.stringMatching(/rollback/) });
    const verdict = (await store.getRollout(ROLLOUT_ID))?.lastVerdict;
    expect(verdict?.result).not.toBe('fail');
    const latency = verdict?.metrics.find((m) => m.metric === 'latencyP99');
    expect(latency?.counts).toMatchObject({ canaryEvents: 40, baselineEvents: 60 });
    expect(evidenceText(latency as MetricEvidence)).toContain('2 minutes with a weight change not compared');
  });

  it('without the change times, judges that minute like the others and rolls the healthy canary back', async () => {
    const { result } = await analyzeWith(undefined);
    await expect(result).rejects.toMatchObject({
      name: 'CanaryFailed',
      message: expect.stringMatching(/latencyP99: .*slow share shown above/),
    });
  });
});
