import { describe, expect, it } from 'vitest';
import { type AnalysisPolicy, parseServiceConfig } from '../../functions/core/config';
import { ConfigInvalidError } from '../../functions/core/errors';
import { judge, type MetricWindow, type PeriodStats } from '../../functions/core/judge';
import { evidenceText } from '../../functions/views/evidence-text';
import { validParsedConfig, validServiceConfig } from '../helpers/config';

const policy = (analysis: Record<string, unknown> = {}): AnalysisPolicy =>
  validParsedConfig({ analysis: { alarms: undefined, ...analysis } as never }).analysis;

const START = Date.parse('2025-03-14T09:30:00Z');
const periods = (n: number, requests: number, errors: number): PeriodStats[] =>
  Array.from({ length: n }, (_, i) => ({
    start: new Date(START + i * 60_000).toISOString(),
    requests,
    errors,
    p99Ms: 300,
    slow: requests / 10, // the same slow share on both sides: latency is shown not worse
  }));
/**
 * 15 minutes, the canary's error rate 1.15× stable's (2.3% vs 2%): not shown worse than stable, and shown below 1.5×
 * stable (the test's upper bound is 1.44×) but not below 1.3×.
 */
const window: MetricWindow = {
  from: new Date(START).toISOString(),
  to: new Date(START + 15 * 60_000).toISOString(),
  periodSeconds: 60,
  canary: periods(15, 1000, 23),
  baseline: periods(15, 3000, 60),
  slowThresholdMs: 320,
};

describe('judge: early pass needs evidence against the smallest regression that matters', () => {
  it('passes early below the default 1.5× (the evidence says so)', () => {
    const v = judge(window, [], policy());
    expect(v.earlyPass).toBe(true);
    const m = v.metrics.find((x) => x.metric === 'errorRate');
    expect(m?.facts.passRatio).toBe(1.5);
    expect(m?.eValueNotWorse).toBeGreaterThanOrEqual(m?.eThreshold as number);
    expect(m?.interval?.upper).toBeLessThan(1.5);
    const [, upper] =
      /shown below 1\.50× stable \(the smallest regression that matters\); e-value [\d.e+]+ of 125 against ≥ 1\.50×, ratio 1\.15 \(≤ ([\d.]+)× at 99\.2%\)/.exec(
        evidenceText(m as never),
      ) ?? [];
    expect(Number(upper)).toBeLessThan(1.5);
  });

  it('refuses the early pass when the team declares 1.3× the smallest regression, and says why', () => {
    const v = judge(window, [], policy({ minimumRegression: 1.3 }));
    expect(v.earlyPass).toBe(false);
    expect(v.result).toBe('pass'); // enough traffic, nothing shown worse: the bake runs its course
    const m = v.metrics.find((x) => x.metric === 'errorRate');
    expect(m?.facts.passRatio).toBe(1.3);
    expect(m?.notWorse).toBe(false);
    expect(m?.eValueNotWorse).toBeLessThan(m?.eThreshold as number);
    expect(m?.interval?.upper).toBeGreaterThan(1.3);
    expect(evidenceText(m as never)).toMatch(/not shown worse than 1\.00× stable; .* against ≥ 1\.30×/);
    // The latency test is held to the same bar.
    expect(v.metrics.find((x) => x.metric === 'latencyP99')?.facts.passRatio).toBe(1.3);
  });

  it("keeps a test's own passRatio over the declared minimum", () => {
    const v = judge(window, [], policy({ minimumRegression: 1.3, errorRate: { passRatio: 1.5 } }));
    expect(v.metrics.find((x) => x.metric === 'errorRate')?.facts.passRatio).toBe(1.5);
  });

  it.each([1, 0.5, 'a lot', 102])('rejects analysis.minimumRegression %j, naming the field', (value) => {
    const act = () =>
      parseServiceConfig(validServiceConfig({ analysis: { minimumRegression: value } as never }));
    expect(act).toThrow(ConfigInvalidError);
    try {
      act();
    } catch (error) {
      const issue = (error as ConfigInvalidError).issues.find((i) => i.path === 'analysis.minimumRegression');
      expect(issue?.message).toMatch(/ratio above 1|at most 101/);
    }
  });
});
