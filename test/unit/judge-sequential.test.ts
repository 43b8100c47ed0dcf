import { describe, expect, it } from 'vitest';
import type { AnalysisPolicy } from '../../functions/core/config';
import { judge, type MetricEvidence, type MetricWindow, type PeriodStats } from '../../functions/core/judge';
import { BETS } from '../../functions/core/stats/ratio';
import { evidenceText, verdictText } from '../../functions/views/evidence-text';
import { validParsedConfig } from '../helpers/config';

const policy = (analysis: Record<string, unknown> = {}): AnalysisPolicy =>
  validParsedConfig({ analysis: { alarms: undefined, ...analysis } as never }).analysis;

const START = Date.parse('2025-03-14T09:30:00Z');
type Row = [requests: number, errors: number, slow: number];
const periods = (rows: Row[]): PeriodStats[] =>
  rows.map(([requests, errors, slow], i) => ({
    start: new Date(START + i * 60_000).toISOString(),
    requests,
    errors,
    p99Ms: requests > 0 ? 300 : null,
    slow,
  }));
const win = (c: Row[], b: Row[], threshold: number | null = 320): MetricWindow => ({
  from: new Date(START).toISOString(),
  to: new Date(START + c.length * 60_000).toISOString(),
  periodSeconds: 60,
  canary: periods(c),
  baseline: periods(b),
  ...(threshold === null ? {} : { slowThresholdMs: threshold }),
});
const rep = (n: number, r: Row): Row[] => Array.from({ length: n }, () => r);

describe('judge (sequential)', () => {
  it('is inconclusive with little traffic, never failing for lack of data', () => {
    const v = judge(win(rep(2, [20, 1, 1]), rep(2, [2000, 20, 20])), [], policy());
    expect(v.result).toBe('inconclusive');
    expect(verdictText(v)).toContain('40 of 200');
  });

  it('does not fail on an incident that hits both versions', () => {
    const c: Row[] = [...rep(3, [300, 3, 3]), ...rep(5, [300, 24, 90]), ...rep(3, [300, 3, 3])];
    const b: Row[] = [...rep(3, [5700, 57, 57]), ...rep(5, [5700, 456, 1710]), ...rep(3, [5700, 57, 57])];
    const v = judge(win(c, b), [], policy({ errorRate: { tolerance: 0, max: 0.2 } }));
    expect(v.result).not.toBe('fail');
  });

  it('does not fail when the canary weight changes (the pooled rates would mislead)', () => {
    // 5% then 50%; errors 0.5% then 4% on both sides: pooled canary rate 3.7% vs pooled baseline 1.6%
    const c: Row[] = [...rep(5, [300, 1, 3]), ...rep(5, [3000, 120, 30])];
    const b: Row[] = [...rep(5, [5700, 29, 57]), ...rep(5, [3000, 120, 30])];
    const v = judge(win(c, b), [], policy({ errorRate: { tolerance: 0, max: 0.2 } }));
    expect(v.result).not.toBe('fail');
  });

  it('fails a doubled error rate with evidence, and carries it', () => {
    const v = judge(
      win(rep(10, [300, 6, 3]), rep(10, [5700, 57, 57])),
      [],
      policy({ errorRate: { tolerance: 0 } }),
    );
    expect(v.result).toBe('fail');
    const m = v.metrics.find((x) => x.metric === 'errorRate');
    expect(m?.eValue).toBeGreaterThanOrEqual(m?.eThreshold as number);
    expect(m?.eThreshold).toBeCloseTo(1 / 0.008, 9); // the error test gets 80% of alpha 0.01
    expect(m?.interval?.lower).toBeGreaterThan(1);
  });

  it('words a failure with what decided it: the e-value against its bar and the bound that test gives, above ρ0', () => {
    // Barely past the bar: 2× errors for six minutes (a separate interval procedure could still reach below 1×).
    const v = judge(win(rep(6, [300, 6, 3]), rep(6, [5700, 57, 57])), [], policy());
    const m = v.metrics.find((x) => x.metric === 'errorRate') as MetricEvidence;
    expect(m.result).toBe('fail');
    const text = evidenceText(m);
    const [, e, bar, lower] =
      /shown above 1\.00× stable; e-value ([\d.]+) of (\d+) against ≤ 1\.00×, ratio [\d.]+ \(≥ ([\d.]+)× at 99\.2%\)/.exec(
        text,
      ) ?? [];
    expect(Number(e)).toBeGreaterThanOrEqual(Number(bar));
    expect(Number(lower)).toBeGreaterThan(1);
  });

  it('fails on slow requests (tail regression) when the source counts them', () => {
    const v = judge(win(rep(10, [300, 3, 9]), rep(10, [5700, 57, 57])), [], policy());
    expect(v.result).toBe('fail');
    expect(verdictText(v)).toContain('latencyP99');
  });

  it('passes early when the canary is shown not worse', () => {
    const v = judge(
      win(rep(10, [5000, 50, 50]), rep(10, [5000, 50, 50])),
      [],
      policy({ errorRate: { tolerance: 0 } }),
    );
    expect(v.result).toBe('pass');
    expect(v.earlyPass).toBe(true);
    expect(v.metrics.every((m) => m.metric === 'alarms' || m.notWorse === true)).toBe(true);
  });

  it('passes without early pass when there is enough traffic but not enough evidence', () => {
    const v = judge(win(rep(1, [300, 3, 3]), rep(1, [5700, 57, 57])), [], policy());
    expect(v.result).toBe('pass');
    expect(v.earlyPass).toBe(false);
  });

  it('falls back to the p99 comparison without slow counts', () => {
    const v = judge(win(rep(5, [300, 3, 3]), rep(5, [5700, 57, 57]), null), [], policy());
    const m = v.metrics.find((x) => x.metric === 'latencyP99');
    expect(m?.eValue).toBeUndefined();
    expect(evidenceText(m as MetricEvidence)).toContain('canary p99');
  });

  it('is JSON-serialisable with its evidence', () => {
    const v = judge(win(rep(3, [300, 0, 3]), rep(3, [5700, 0, 57])), [], policy());
    expect(JSON.parse(JSON.stringify(v))).toEqual(v);
  });

  it('does not judge latency during the warm-up (a cold start is not a regression), but errors still count', () => {
    // Minutes 0–1 three times as many slow requests, then the same as stable.
    const c: Row[] = [...rep(2, [300, 3, 30]), ...rep(8, [300, 3, 3])];
    const b: Row[] = rep(10, [5700, 57, 57]);
    expect(judge(win(c, b), [], policy({ warmupSeconds: 0 })).result).toBe('fail');
    const v = judge(win(c, b), [], policy());
    expect(v.result).not.toBe('fail');
    expect(v.metrics.find((x) => x.metric === 'latencyP99')?.counts?.canaryRequests).toBe(2400);
    const errors: Row[] = [...rep(2, [300, 30, 3]), ...rep(8, [300, 3, 3])];
    expect(judge(win(errors, b), [], policy()).result).toBe('fail');
  });

  it('fails a whole-distribution shift on the counts above the median', () => {
    // ×1.10 latency: 57.6% of canary requests above the stable median vs 50%; the tail count barely moves.
    const w = win(rep(10, [300, 3, 3]), rep(10, [5700, 57, 57]));
    for (const p of w.canary) p.aboveMedian = 173;
    for (const p of w.baseline) p.aboveMedian = 2850;
    w.medianThresholdMs = 100;
    const v = judge(w, [], policy({ warmupSeconds: 0 }));
    expect(v.result).toBe('fail');
    expect(verdictText(v)).toContain('latencyP50');
  });

  it('bets small on the share above the median: a ×1.10 share over 12 minutes fails, which the error bets would miss', () => {
    // 55% of canary requests above the stable median vs 50% (about ×1.07 latency): the e-value on the bets of
    // 1.10×, 1.21× and 1.46× passes the latency test's bar (1/0.001); on the error test's bets it is 60.
    const w = win(rep(12, [300, 3, 3]), rep(12, [5700, 57, 57]));
    for (const p of w.canary) p.aboveMedian = 165;
    for (const p of w.baseline) p.aboveMedian = 2850;
    w.medianThresholdMs = 100;
    const p = policy({ warmupSeconds: 0 });
    const v = judge(w, [], p);
    const median = v.metrics.find((x) => x.metric === 'latencyP50') as MetricEvidence;
    expect(median.result).toBe('fail');
    expect(median.eThreshold).toBeCloseTo(1000, 9);
    const withErrorBets = judge(w, [], p, [], BETS).metrics.find(
      (x) => x.metric === 'latencyP50',
    ) as MetricEvidence;
    expect(withErrorBets.result).not.toBe('fail');
    expect(withErrorBets.eValue).toBeLessThan(100);
  });

  it('holds the step (inconclusive) while the canary looks worse and the evidence is building', () => {
    // 2× errors for four minutes: evidence past √(1/α) but not yet 1/α.
    const v = judge(
      win(rep(4, [300, 6, 3]), rep(4, [5700, 57, 57])),
      [],
      policy({ errorRate: { tolerance: 0 } }),
    );
    const m = v.metrics.find((x) => x.metric === 'errorRate');
    expect(m?.eValue).toBeGreaterThanOrEqual(Math.sqrt(m?.eThreshold as number));
    expect(m?.lookingWorse).toBe(true);
    expect(v.result).toBe('inconclusive');
  });

  it('leaves the minute the canary weight changed out of its tests: a slowdown of both versions right after a step does not fail the canary', () => {
    // 2000 requests a minute, 1% slow on both versions; 25% → 50% half-way through minute 4, then both versions slow
    // (80% of requests) for a quarter of that minute. In that minute the canary's requests lean to its second half,
    // where the slowdown is: 205 of its 750 requests slow vs 210 of stable's 1250, a ratio of 1.6 that no version
    // caused.
    const c: Row[] = [...rep(3, [500, 0, 5]), [750, 0, 205], ...rep(3, [1000, 0, 10])];
    const b: Row[] = [...rep(3, [1500, 0, 15]), [1250, 0, 210], ...rep(3, [1000, 0, 10])];
    const changed = new Date(START + 3 * 60_000 + 30_000).toISOString();
    const window = { ...win(c, b, 20), canaryWeightedFrom: new Date(START).toISOString() };
    const p = policy({ warmupSeconds: 0 });
    // Judged without the change time, the mixed minute fails the canary...
    expect(judge(window, [], p).result).toBe('fail');
    // ...with it, that minute is left out of the paired tests (still counted in the requests seen).
    const v = judge({ ...window, weightChangedAt: [changed] }, [], p);
    expect(v.result).toBe('pass');
    expect(v.canary.requests).toBe(5250);
    const latency = v.metrics.find((m) => m.metric === 'latencyP99');
    expect(latency?.counts).toEqual({
      canaryEvents: 45,
      canaryRequests: 4500,
      baselineEvents: 75,
      baselineRequests: 7500,
    });
    expect(evidenceText(latency as MetricEvidence)).toContain('1 minute with a weight change not compared');
  });
});
