import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { AnalysisPolicy } from '../../functions/core/config';
import {
  type AlarmState,
  judge,
  type MetricEvidence,
  type MetricWindow,
  type PeriodStats,
  settledEnd,
  summarize,
  type Verdict,
} from '../../functions/core/judge';
import { evidenceText, verdictText } from '../../functions/views/evidence-text';
import { type ConfigOverrides, validParsedConfig } from '../helpers/config';

/**
 * Default policy: minRequests 200, error rate tolerance 0.5 / minIncrease 0.005 / max 0.05,
 * p99 tolerance 0.25 / minIncrease 25 ms, no p99 ceiling.
 */
function policy(analysis: ConfigOverrides['analysis'] = {}): AnalysisPolicy {
  return validParsedConfig({ analysis: { alarms: undefined, ...analysis } }).analysis;
}

const START = Date.parse('2025-03-14T09:30:00Z');

/** Periods of one minute from START, one per entry. */
function periods(...entries: Array<[requests: number, errors: number, p99Ms: number | null]>): PeriodStats[] {
  return entries.map(([requests, errors, p99Ms], i) => ({
    start: new Date(START + i * 60_000).toISOString(),
    requests,
    errors,
    p99Ms,
  }));
}

function window(canary: PeriodStats[], baseline: PeriodStats[]): MetricWindow {
  return {
    from: new Date(START).toISOString(),
    to: new Date(START + Math.max(canary.length, baseline.length) * 60_000).toISOString(),
    periodSeconds: 60,
    canary,
    baseline,
  };
}

/** n equal periods: a steady window. */
function steady(n: number, requests: number, errors: number, p99Ms: number | null): PeriodStats[] {
  return periods(
    ...Array.from({ length: n }, () => [requests, errors, p99Ms] as [number, number, number | null]),
  );
}

const OK_ALARMS: AlarmState[] = [
  { name: 'web-5xx-high', state: 'OK' },
  { name: 'web-p99-latency-high', state: 'OK' },
];

function metric(verdict: Verdict, name: MetricEvidence['metric']): MetricEvidence {
  const m = verdict.metrics.find((x) => x.metric === name);
  expect(m, `no ${name} evidence in ${JSON.stringify(verdict.metrics)}`).toBeDefined();
  return m as MetricEvidence;
}

describe('summarize', () => {
  it('adds requests and errors and computes the error rate', () => {
    // Act
    const s = summarize(periods([100, 1, 120], [300, 5, 140]));

    // Assess
    expect(s.requests).toBe(400);
    expect(s.errors).toBe(6);
    expect(s.errorRate).toBeCloseTo(0.015, 12);
  });

  it('weights each period p99 by the period requests', () => {
    // Act
    const s = summarize(periods([100, 0, 100], [300, 0, 200]));

    // Assess
    expect(s.p99Ms).toBeCloseTo((100 * 100 + 300 * 200) / 400, 9);
  });

  it('ignores periods without traffic or without a p99 in the latency', () => {
    // Act
    const s = summarize(periods([0, 0, null], [200, 0, 150], [0, 0, 9999], [50, 0, null]));

    // Assess
    expect(s.requests).toBe(250);
    expect(s.p99Ms).toBe(150);
  });

  it('has no rates for an empty window (missing data is not a number)', () => {
    expect(summarize([])).toEqual({ requests: 0, errors: 0, errorRate: null, p99Ms: null });
    expect(summarize(periods([0, 0, null]))).toEqual({
      requests: 0,
      errors: 0,
      errorRate: null,
      p99Ms: null,
    });
  });

  it('keeps the weighted p99 within the period p99s', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(fc.integer({ min: 1, max: 10_000 }), fc.double({ min: 1, max: 10_000, noNaN: true })),
          {
            minLength: 1,
            maxLength: 30,
          },
        ),
        (list) => {
          const s = summarize(periods(...list.map(([r, p]) => [r, 0, p] as [number, number, number])));
          const p99s = list.map(([, p]) => p);
          expect(s.p99Ms).toBeGreaterThanOrEqual(Math.min(...p99s) - 1e-9);
          expect(s.p99Ms).toBeLessThanOrEqual(Math.max(...p99s) + 1e-9);
        },
      ),
    );
  });
});

describe('judge', () => {
  describe('not enough canary traffic', () => {
    it('is inconclusive below minRequests when the evidence is not conclusive', () => {
      // Prepare: 3 errors in 199 requests vs 0.1% — suspicious, not shown (the sequential test may fail below
      // minRequests only on evidence, never pass)
      const w = window(steady(1, 199, 3, 100), steady(1, 4000, 4, 100));

      // Act
      const verdict = judge(w, OK_ALARMS, policy());

      // Assess
      expect(verdict.result).toBe('inconclusive');
      expect(verdictText(verdict)).toContain('199 of 200');
      expect(verdict.canary.requests).toBe(199);
      expect(verdict.lowTraffic).toBe(true);
    });

    it('is inconclusive with no canary data at all (no traffic yet is not a failure)', () => {
      // Act
      const verdict = judge(window([], steady(3, 1000, 1, 80)), OK_ALARMS, policy());

      // Assess
      expect(verdict.result).toBe('inconclusive');
      expect(verdict.canary.errorRate).toBeNull();
    });

    it('gives a verdict from exactly minRequests', () => {
      // Act
      const verdict = judge(window(steady(2, 100, 0, 90), steady(2, 2000, 2, 90)), OK_ALARMS, policy());

      // Assess
      expect(verdict.result).toBe('pass');
      expect(verdict.lowTraffic).toBeUndefined();
    });

    it('follows the policy minRequests', () => {
      // Prepare
      const w = window(steady(2, 100, 0, 90), steady(2, 2000, 2, 90));

      // Act
      const verdict = judge(w, OK_ALARMS, policy({ minRequests: 500 }));

      // Assess
      expect(verdict.result).toBe('inconclusive');
      expect(verdictText(verdict)).toContain('200 of 500');
    });
  });

  describe('alarms', () => {
    it('fails when a gating alarm is in ALARM even with no canary traffic', () => {
      // Prepare
      const alarms: AlarmState[] = [
        { name: 'web-5xx-high', state: 'ALARM' },
        { name: 'web-p99-latency-high', state: 'OK' },
      ];

      // Act
      const verdict = judge(window([], []), alarms, policy());

      // Assess
      expect(verdict.result).toBe('fail');
      expect(verdictText(verdict)).toContain('web-5xx-high');
      expect(metric(verdict, 'alarms')).toMatchObject({ result: 'fail', canary: 1 });
    });

    it('fails when an alarm fires although the metrics look healthy', () => {
      // Act
      const verdict = judge(
        window(steady(5, 500, 0, 90), steady(5, 5000, 0, 90)),
        [{ name: 'web-p99-latency-high', state: 'ALARM' }],
        policy(),
      );

      // Assess
      expect(verdict.result).toBe('fail');
    });

    it('does not fail on INSUFFICIENT_DATA', () => {
      // Act
      const verdict = judge(
        window(steady(5, 500, 0, 90), steady(5, 5000, 0, 90)),
        [{ name: 'web-5xx-high', state: 'INSUFFICIENT_DATA' }],
        policy(),
      );

      // Assess
      expect(verdict.result).toBe('pass');
      expect(metric(verdict, 'alarms').result).toBe('pass');
    });

    it('names every alarm in ALARM', () => {
      // Act
      const verdict = judge(
        window([], []),
        [
          { name: 'a', state: 'ALARM' },
          { name: 'b', state: 'OK' },
          { name: 'c', state: 'ALARM' },
        ],
        policy(),
      );

      // Assess
      expect(verdictText(verdict)).toContain('a, c');
      expect(verdictText(verdict)).not.toContain('b');
    });
  });

  describe('error rate', () => {
    // Default policy: limit = min(max(b × 1.5, b + 0.5%), 5%)

    it('passes when the canary matches the baseline', () => {
      // Act
      const verdict = judge(window(steady(5, 200, 4, 90), steady(5, 2000, 40, 90)), OK_ALARMS, policy());

      // Assess
      expect(verdict.result).toBe('pass');
      expect(metric(verdict, 'errorRate')).toMatchObject({ result: 'pass', canary: 0.02, baseline: 0.02 });
    });

    it('fails when the canary is shown above (1 + tolerance) × baseline', () => {
      // Prepare: baseline 2%, canary 4% (tolerance 0.2, limit shown: 1.2 × 2% = 2.4%), enough errors for the
      // sequential test
      const w = window(steady(10, 1000, 40, 90), steady(10, 10000, 200, 90));

      // Act
      const verdict = judge(w, OK_ALARMS, policy({ errorRate: { tolerance: 0.2 } }));

      // Assess
      expect(verdict.result).toBe('fail');
      const m = metric(verdict, 'errorRate');
      expect(m.result).toBe('fail');
      expect(m.canary).toBeCloseTo(0.04, 12);
      expect(m.limit).toBeCloseTo(0.024, 12);
      expect(verdictText(verdict)).toMatch(/^errorRate: /);
    });

    it('passes when above baseline + minIncrease but within (1 + tolerance) × baseline', () => {
      // Prepare: baseline 2% → limit 3%; canary 2.8%
      const w = window(steady(5, 500, 14, 90), steady(5, 5000, 100, 90));

      // Act
      const verdict = judge(w, OK_ALARMS, policy());

      // Assess
      expect(verdict.result).toBe('pass');
    });

    it('passes a higher canary rate that is not shown worse (few errors)', () => {
      // Prepare: baseline 0.2%, canary 0.5%, tolerance 0.2: 10 errors are not evidence enough
      const w = window(steady(5, 400, 2, 90), steady(5, 5000, 10, 90));

      // Act
      const verdict = judge(w, OK_ALARMS, policy({ errorRate: { tolerance: 0.2 } }));

      // Assess
      expect(verdict.result).toBe('pass');
      expect(metric(verdict, 'errorRate').limit).toBeCloseTo(0.0024, 12);
      expect(metric(verdict, 'errorRate').eValue).toBeLessThan(100);
    });

    it('fails when above both (low baseline)', () => {
      // Prepare: baseline 0.2% → limit 0.7%; canary 1%
      const w = window(steady(5, 400, 4, 90), steady(5, 5000, 10, 90));

      // Act
      const verdict = judge(w, OK_ALARMS, policy());

      // Assess
      expect(verdict.result).toBe('fail');
    });

    it('fails above the absolute ceiling even when the baseline is as bad', () => {
      // Prepare: baseline 8%, canary 8%: relative limit 12%, ceiling 5%
      const w = window(steady(5, 500, 40, 90), steady(5, 5000, 400, 90));

      // Act
      const verdict = judge(w, OK_ALARMS, policy());

      // Assess
      expect(verdict.result).toBe('fail');
      expect(metric(verdict, 'errorRate').limit).toBe(0.05);
    });

    it('follows the policy tolerance, minIncrease and max', () => {
      // Prepare: baseline 2%, canary 3.5% (ratio 1.75), with plenty of errors
      const w = window(steady(10, 4000, 140, 90), steady(10, 40000, 800, 90));

      // Act
      const strict = judge(w, OK_ALARMS, policy({ errorRate: { tolerance: 0.5 } }));
      const lenient = judge(w, OK_ALARMS, policy({ errorRate: { tolerance: 1 } }));
      const ceiling = judge(w, OK_ALARMS, policy({ errorRate: { tolerance: 1, max: 0.03 } }));

      // Assess
      expect(strict.result).toBe('fail');
      expect(lenient.result).toBe('pass');
      expect(ceiling.result).toBe('fail');
    });

    it('judges a canary against a baseline without traffic by the minimum increase', () => {
      // Act
      const clean = judge(window(steady(5, 100, 0, 90), []), OK_ALARMS, policy());
      const bad = judge(window(steady(5, 100, 5, 90), []), OK_ALARMS, policy());

      // Assess
      expect(clean.result).toBe('pass');
      expect(bad.result).toBe('fail');
      expect(metric(bad, 'errorRate').baseline).toBeNull();
    });

    it('carries its evidence: counts, rates and the limit', () => {
      // Act
      const verdict = judge(window(steady(5, 200, 8, 90), steady(5, 2000, 40, 90)), OK_ALARMS, policy());

      // Assess
      expect(verdict.canary).toMatchObject({ requests: 1000, errors: 40 });
      expect(verdict.baseline).toMatchObject({ requests: 10000, errors: 200 });
      const m = metric(verdict, 'errorRate');
      expect(evidenceText(m)).toMatch(/^canary 4\.00% \(40\/1000\) vs stable 2\.00% \(200\/10000\): /);
      expect(m.counts).toEqual({
        canaryEvents: 40,
        canaryRequests: 1000,
        baselineEvents: 200,
        baselineRequests: 10000,
      });
      expect(m.estimate).toBeCloseTo(2, 6);
      expect(m.interval?.lower).toBeGreaterThan(1);
      expect(m.interval?.upper).toBeGreaterThan(2);
      expect(m.eThreshold).toBe(100);
    });
  });

  describe('latency', () => {
    // Default policy: limit = max(b × 1.25, b + 25 ms)

    it('passes when the canary p99 matches the baseline', () => {
      // Act
      const verdict = judge(window(steady(5, 200, 0, 180), steady(5, 2000, 0, 180)), OK_ALARMS, policy());

      // Assess
      expect(metric(verdict, 'latencyP99')).toMatchObject({ result: 'pass', canary: 180, baseline: 180 });
    });

    it('fails when the canary p99 is above (1 + tolerance) × baseline and baseline + minIncrease', () => {
      // Prepare: baseline 200 ms → limit max(250, 225) = 250; canary 300
      const w = window(steady(5, 200, 0, 300), steady(5, 2000, 0, 200));

      // Act
      const verdict = judge(w, OK_ALARMS, policy());

      // Assess
      expect(verdict.result).toBe('fail');
      expect(metric(verdict, 'latencyP99')).toMatchObject({ result: 'fail', canary: 300, limit: 250 });
      expect(verdictText(verdict)).toContain('latencyP99');
    });

    it('passes a small absolute increase on a fast service', () => {
      // Prepare: baseline 40 ms → limit max(50, 65) = 65; canary 60
      const w = window(steady(5, 200, 0, 60), steady(5, 2000, 0, 40));

      // Act
      const verdict = judge(w, OK_ALARMS, policy());

      // Assess
      expect(verdict.result).toBe('pass');
      expect(metric(verdict, 'latencyP99').limit).toBe(65);
    });

    it('fails above the p99MaxMs ceiling even when the baseline is as slow', () => {
      // Prepare
      const w = window(steady(5, 200, 0, 900), steady(5, 2000, 0, 900));

      // Act
      const verdict = judge(w, OK_ALARMS, policy({ latency: { p99MaxMs: 500 } }));

      // Assess
      expect(verdict.result).toBe('fail');
      expect(metric(verdict, 'latencyP99').limit).toBe(500);
    });

    it('applies the ceiling when the baseline has no latency data', () => {
      // Act
      const under = judge(
        window(steady(5, 200, 0, 400), []),
        OK_ALARMS,
        policy({ latency: { p99MaxMs: 500 } }),
      );
      const over = judge(
        window(steady(5, 200, 0, 600), []),
        OK_ALARMS,
        policy({ latency: { p99MaxMs: 500 } }),
      );
      const noLimit = judge(window(steady(5, 200, 0, 600), []), OK_ALARMS, policy());

      // Assess
      expect(under.result).toBe('pass');
      expect(over.result).toBe('fail');
      expect(noLimit.result).toBe('pass');
      expect(metric(noLimit, 'latencyP99').limit).toBeNull();
    });

    it('is inconclusive when the canary has requests but no latency data', () => {
      // Act
      const verdict = judge(window(steady(5, 200, 0, null), steady(5, 2000, 0, 150)), OK_ALARMS, policy());

      // Assess
      expect(verdict.result).toBe('inconclusive');
      expect(metric(verdict, 'latencyP99').result).toBe('inconclusive');
      expect(verdictText(verdict)).toContain('no canary latency data');
    });

    it('still fails on the error rate when latency data is missing', () => {
      // Act
      const verdict = judge(window(steady(5, 200, 20, null), steady(5, 2000, 2, 150)), OK_ALARMS, policy());

      // Assess
      expect(verdict.result).toBe('fail');
    });

    it('uses the request-weighted p99 of the window', () => {
      // Prepare: canary p99 (100×100 + 300×400) / 400 = 325 > 250
      const w = window(periods([100, 0, 100], [300, 0, 400]), steady(2, 2000, 0, 200));

      // Act (no warm-up: both periods count)
      const verdict = judge(w, OK_ALARMS, policy({ warmupSeconds: 0 }));

      // Assess
      expect(metric(verdict, 'latencyP99').canary).toBe(325);
      expect(verdict.result).toBe('fail');
    });
  });

  describe('changes that hit both versions alike', () => {
    it('does not fail on a traffic surge that both versions see at a steady split', () => {
      // Prepare: 10% canary; traffic ×10 in the last two minutes with 3% errors and slower p99 on both
      const w = window(
        periods([50, 0, 80], [50, 0, 80], [500, 15, 240], [500, 15, 240]),
        periods([450, 0, 80], [450, 0, 80], [4500, 135, 240], [4500, 135, 240]),
      );

      // Act
      const verdict = judge(w, OK_ALARMS, policy());

      // Assess
      expect(verdict.result).toBe('pass');
    });

    it('does not fail when both error rates rise together after the canary weight grows', () => {
      // Prepare: minute 1 at 5% (no errors anywhere), minute 2 at 50% with 3% errors on both versions.
      // Per period the canary is exactly as good as stable.
      const w = window(periods([100, 0, 80], [1000, 30, 80]), periods([1900, 0, 80], [1000, 30, 80]));

      // Act
      const verdict = judge(w, OK_ALARMS, policy());

      // Assess
      expect(verdict.result).not.toBe('fail');
    });

    it('does not fail when both p99s rise together after the canary weight grows', () => {
      // Prepare: minute 1 at 5% and 100 ms on both, minute 2 at 50% and 400 ms on both.
      const w = window(periods([100, 0, 100], [1000, 0, 400]), periods([1900, 0, 100], [1000, 0, 400]));

      // Act
      const verdict = judge(w, OK_ALARMS, policy());

      // Assess
      expect(verdict.result).not.toBe('fail');
    });

    it('never fails a canary that is identical to stable period by period, at any split', () => {
      fc.assert(
        fc.property(
          fc.array(
            fc.record({
              total: fc.integer({ min: 0, max: 20_000 }),
              canaryShare: fc.integer({ min: 1, max: 99 }),
              errorRate: fc.double({ min: 0, max: 0.045, noNaN: true }),
              p99: fc.integer({ min: 20, max: 400 }),
            }),
            { minLength: 1, maxLength: 20 },
          ),
          (minutes) => {
            const c: Array<[number, number, number]> = [];
            const b: Array<[number, number, number]> = [];
            for (const m of minutes) {
              const cr = Math.round((m.total * m.canaryShare) / 100);
              const br = m.total - cr;
              // Same rate on both sides (rounded counts, so allow one error of slack on the canary's favour).
              c.push([cr, Math.floor(cr * m.errorRate), m.p99]);
              b.push([br, Math.ceil(br * m.errorRate), m.p99]);
            }
            const verdict = judge(window(periods(...c), periods(...b)), OK_ALARMS, policy());
            expect(verdict.result).not.toBe('fail');
          },
        ),
        { seed: 20250314, numRuns: 300 },
      );
    });
  });

  describe('X-Ray statistics beside the load balancer', () => {
    // The load balancer sees both versions alike: 0.5% target 5XX.
    const alb = () => window(steady(6, 400, 2, 120), steady(6, 4000, 20, 120));
    const withXRay = (canary: PeriodStats[], baseline: PeriodStats[]): MetricWindow => ({
      ...alb(),
      xray: window(canary, baseline),
    });

    it('fails a canary on downstream faults that the load balancer never sees', () => {
      // Prepare: the canary answers 200 but its downstream calls fault in X-Ray's traces (8 of 40 sampled).
      const w = withXRay(steady(6, 40, 8, 150), steady(6, 400, 4, 150));

      // Act
      const verdict = judge(w, OK_ALARMS, policy());
      const albOnly = judge(alb(), OK_ALARMS, policy());

      // Assess
      expect(albOnly.result).toBe('pass');
      expect(verdict.result).toBe('fail');
      expect(metric(verdict, 'errorRate').result).toBe('pass');
      const xray = metric(verdict, 'xray.errorRate');
      expect(xray.result).toBe('fail');
      expect(xray.counts).toEqual({
        canaryEvents: 48,
        canaryRequests: 240,
        baselineEvents: 24,
        baselineRequests: 2400,
      });
      expect(evidenceText(xray)).toMatch(/^X-Ray canary 20\.00%/);
      expect(verdictText(verdict)).toContain('xray.errorRate: ');
    });

    it('splits alpha between the two sources, so the whole judge still keeps it', () => {
      // Act
      const albOnly = judge(alb(), OK_ALARMS, policy({ errorRate: { alpha: 0.01 } }));
      const both = judge(
        withXRay(steady(6, 40, 0, 150), steady(6, 400, 2, 150)),
        OK_ALARMS,
        policy({ errorRate: { alpha: 0.01 } }),
      );

      // Assess: each source's error test needs twice the evidence (e-value bar 1/(α/2) instead of 1/α).
      expect(metric(albOnly, 'errorRate').eThreshold).toBeCloseTo(100, 6);
      expect(metric(both, 'errorRate').eThreshold).toBeCloseTo(200, 6);
      expect(metric(both, 'xray.errorRate').eThreshold).toBeCloseTo(200, 6);
    });

    it('judges slow requests counted from the histogram, and never holds a step for want of traces', () => {
      // Prepare: few sampled traces, none failing, none slow; thresholds as the load balancer's.
      const canary = steady(6, 3, 0, 100).map((p) => ({ ...p, slow: 0, aboveMedian: 1 }));
      const baseline = steady(6, 30, 0, 100).map((p) => ({ ...p, slow: 1, aboveMedian: 15 }));
      const w: MetricWindow = {
        ...alb(),
        xray: { ...window(canary, baseline), slowThresholdMs: 180, medianThresholdMs: 60 },
      };

      // Act
      const verdict = judge(w, OK_ALARMS, policy());

      // Assess
      expect(verdict.result).toBe('pass');
      expect(verdict.metrics.map((m) => m.metric)).toEqual([
        'errorRate',
        'latencyP99',
        'xray.errorRate',
        'xray.latency',
        'alarms',
      ]);
      expect(metric(verdict, 'xray.latency').result).toBe('pass');
    });
  });

  describe('the verdict', () => {
    it('passes with evidence for every metric', () => {
      // Act
      const verdict = judge(window(steady(5, 200, 1, 120), steady(5, 2000, 10, 118)), OK_ALARMS, policy());

      // Assess
      expect(verdict.result).toBe('pass');
      expect(verdict.metrics.map((m) => m.metric)).toEqual(['errorRate', 'latencyP99', 'alarms']);
      expect(verdict.metrics.every((m) => m.result === 'pass')).toBe(true);
      expect(evidenceText(metric(verdict, 'alarms'))).toBe('2 gating alarm(s) OK');
    });

    it('names every failing metric in the reason', () => {
      // Act
      const verdict = judge(window(steady(5, 200, 20, 900), steady(5, 2000, 2, 100)), OK_ALARMS, policy());

      // Assess
      expect(verdict.result).toBe('fail');
      expect(verdictText(verdict)).toContain('errorRate: ');
      expect(verdictText(verdict)).toContain('latencyP99: ');
    });

    it('is JSON-serialisable (it travels in the rollout record and notifications)', () => {
      // Act
      const verdict = judge(window(steady(5, 200, 1, 120), []), OK_ALARMS, policy());

      // Assess
      expect(JSON.parse(JSON.stringify(verdict))).toEqual(verdict);
    });
  });
});

describe('judge: requests without a target response (a crashing canary)', () => {
  /** A period as the ALB adapter reports it: failures are target 5xx plus requests with no target response. */
  const failing = (
    requests: number,
    targetErrors: number,
    noResponse: number,
    connectionErrors: number,
  ): Omit<PeriodStats, 'start'> => ({
    requests,
    errors: targetErrors + noResponse,
    targetErrors,
    noResponse,
    connectionErrors,
    p99Ms: 80,
  });
  const at = (i: number, p: Omit<PeriodStats, 'start'>): PeriodStats => ({
    start: new Date(START + i * 60_000).toISOString(),
    ...p,
  });

  it('fails a canary whose requests get no target response, never an early pass, and shows the breakdown', () => {
    // Two healthy minutes, then the canary's process refuses connections: ALB answers 502 itself.
    const canary = [
      at(0, failing(300, 0, 0, 0)),
      at(1, failing(300, 0, 0, 0)),
      at(2, failing(300, 0, 240, 240)),
    ];
    const baseline = [0, 1, 2].map((i) => at(i, failing(5700, 6, 0, 0)));

    const verdict = judge(window(canary, baseline), OK_ALARMS, policy());

    expect(verdict.result).toBe('fail');
    expect(verdict.earlyPass).toBe(false);
    expect(verdict.canary).toMatchObject({
      errors: 240,
      noResponse: 240,
      connectionErrors: 240,
      targetErrors: 0,
    });
    const errors = metric(verdict, 'errorRate');
    expect(errors.result).toBe('fail');
    expect(errors.failures?.canary).toEqual({ targetErrors: 0, noResponse: 240, connectionErrors: 240 });
    expect(errors.failures?.baseline).toEqual({ targetErrors: 18, noResponse: 0, connectionErrors: 0 });
    expect(evidenceText(errors)).toMatch(/240 without a target response \(240 failed connections\)/);
  });

  it('a source without the breakdown keeps its evidence as before', () => {
    const verdict = judge(window(steady(5, 300, 0, 80), steady(5, 5700, 6, 80)), OK_ALARMS, policy());

    expect(metric(verdict, 'errorRate').failures).toBeUndefined();
    expect(verdict.canary.noResponse).toBeUndefined();
  });
});

describe('judge: canary target health (UnHealthyHostCount guard rail)', () => {
  const ISO = (minutes: number) => new Date(START + minutes * 60_000).toISOString();
  const at = (i: number, healthyHosts: number, unhealthyHosts: number, requests = 300): PeriodStats => ({
    start: new Date(START + i * 60_000).toISOString(),
    requests,
    errors: 0,
    p99Ms: 80,
    healthyHosts,
    unhealthyHosts,
  });
  const baseline = [0, 1, 2].map((i) => at(i, 6, 0, 5700));

  it('fails when every canary target was unhealthy for a whole period while it had traffic', () => {
    const verdict = judge(window([at(0, 2, 0), at(1, 2, 0), at(2, 0, 2)], baseline), OK_ALARMS, policy());

    expect(verdict.result).toBe('fail');
    const health = metric(verdict, 'targetHealth');
    expect(health.result).toBe('fail');
    expect(evidenceText(health)).toMatch(/every canary target unhealthy/);
    expect(verdictText(verdict)).toMatch(/^targetHealth:/);
  });

  it('some unhealthy canary targets are evidence, not a failure', () => {
    const verdict = judge(window([at(0, 2, 0), at(1, 1, 1), at(2, 2, 0)], baseline), OK_ALARMS, policy());

    const health = metric(verdict, 'targetHealth');
    expect(health.result).toBe('pass');
    expect(health.canary).toBe(1);
    expect(evidenceText(health)).toMatch(/up to 1 unhealthy canary target/);
  });

  it('does not blame the canary when the stable targets were all unhealthy too', () => {
    const sick = [0, 1, 2].map((i) => at(i, 0, 6, 5700));
    const verdict = judge(window([at(0, 0, 2), at(1, 0, 2), at(2, 0, 2)], sick), OK_ALARMS, policy());

    expect(metric(verdict, 'targetHealth').result).toBe('pass');
  });

  it('fails a weighted canary with no healthy target for a whole period, even with no target at all and no requests', () => {
    // ECS stopped the crashed tasks: the group has no target, ALB answers 503 itself and RequestCount (only
    // requests where a target was chosen) stays 0, so the failures never reach the canary's error rate.
    const empty = (i: number): PeriodStats => ({ ...at(i, 0, 0, 0), unhealthyHosts: 0 });
    const weighted = { ...window([at(0, 2, 0), empty(1), empty(2)], baseline), canaryWeightedFrom: ISO(0) };

    const verdict = judge(weighted, OK_ALARMS, policy());

    expect(verdict.result).toBe('fail');
    const health = metric(verdict, 'targetHealth');
    expect(health.result).toBe('fail');
    expect(evidenceText(health)).toMatch(/no healthy canary target for 2 whole minute\(s\) with weight/);
  });

  it('a canary without weight yet (its first partial minute) is not failed for having no healthy target', () => {
    const weighted = {
      ...window([at(0, 0, 0, 0), at(1, 2, 0)], baseline.slice(0, 2)),
      canaryWeightedFrom: ISO(0.5),
    };

    expect(metric(judge(weighted, OK_ALARMS, policy()), 'targetHealth').result).toBe('pass');
  });

  it("no healthy canary target is not the canary's fault when stable had none either", () => {
    const sick = [0, 1].map((i) => at(i, 0, 0, 5700));
    const weighted = { ...window([at(0, 0, 0, 0), at(1, 0, 0, 0)], sick), canaryWeightedFrom: ISO(0) };

    expect(metric(judge(weighted, OK_ALARMS, policy()), 'targetHealth').result).not.toBe('fail');
  });

  it('all canary targets unhealthy without traffic (weight 0) is not a failure', () => {
    const verdict = judge(window([at(0, 0, 2, 0)], baseline.slice(0, 1)), OK_ALARMS, policy());

    expect(metric(verdict, 'targetHealth').result).not.toBe('fail');
  });
});

describe('settledEnd', () => {
  it('clamps to the last period boundary that is older than the metric delay', () => {
    const now = new Date('2025-03-14T09:35:30Z');
    expect(settledEnd(now, 60, 120).toISOString()).toBe('2025-03-14T09:33:00.000Z');
    expect(settledEnd(now, 60, 0).toISOString()).toBe('2025-03-14T09:35:00.000Z');
    expect(settledEnd(new Date('2025-03-14T09:35:00Z'), 60, 60).toISOString()).toBe(
      '2025-03-14T09:34:00.000Z',
    );
    expect(settledEnd(now, 300, 120).toISOString()).toBe('2025-03-14T09:30:00.000Z');
  });
});
