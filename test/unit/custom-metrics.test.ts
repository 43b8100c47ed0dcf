import { describe, expect, it } from 'vitest';
import { parseServiceConfig, type ServiceConfigInput } from '../../functions/core/config';
import type { CustomMetricConfig } from '../../functions/core/custom-metrics';
import { customMetrics } from '../../functions/core/custom-metrics';
import { ConfigInvalidError } from '../../functions/core/errors';
import { judge, type MetricEvidence, type MetricWindow, type Verdict } from '../../functions/core/judge';
import { decide } from '../../functions/core/rules';
import { logEValue, meanSequence } from '../../functions/core/stats/mean';
import type { CustomPoint } from '../../functions/core/verdict';
import { evidenceText, verdictText } from '../../functions/views/evidence-text';
import { verdictSentence } from '../../functions/views/headline';
import { seededRandom } from '../../sandbox/versions';
import { validParsedConfig, validServiceConfig } from '../helpers/config';

const START = Date.parse('2025-03-14T09:30:00Z');
const at = (i: number) => new Date(START + i * 60_000).toISOString();
const DIM = { name: 'Service', canary: 'web-canary', stable: 'web' };
const ORDERS = { namespace: 'Shop', metricName: 'OrdersAttempted' };

function configError(analysis: Record<string, unknown>): ConfigInvalidError {
  try {
    parseServiceConfig({ ...validServiceConfig(), analysis } as ServiceConfigInput);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigInvalidError);
    return error as ConfigInvalidError;
  }
  throw new Error('expected the config to be rejected');
}

const counts = (over: Record<string, unknown> = {}) => ({
  name: 'orders',
  kind: 'counts',
  versionDimension: DIM,
  good: { ...ORDERS, metricName: 'OrdersCompleted' },
  total: ORDERS,
  ...over,
});

describe('analysis.metrics in the service config', () => {
  it('accepts counts and gauges, metric math included, and fills their defaults', () => {
    const gauge = {
      name: 'perAttempt',
      kind: 'gauge',
      versionDimension: DIM,
      value: { expression: 'FILL(done, 0) / tried', metrics: { done: ORDERS, tried: ORDERS } },
    };
    const config = parseServiceConfig({ ...validServiceConfig(), analysis: { metrics: [counts(), gauge] } });
    const [c, g] = config.analysis.metrics;
    expect(c).toMatchObject({ direction: 'higherIsWorse', tolerance: 0, critical: true });
    expect(g?.kind).toBe('gauge');
  });

  it.each([
    ['an unknown field', [counts({ treshold: 1 })], 'analysis.metrics[0].treshold', /unknown/],
    ['three of good, bad and total', [counts({ bad: ORDERS })], 'analysis.metrics[0].total', /exactly two/],
    ['an unknown kind', [counts({ kind: 'rate' })], 'analysis.metrics[0].kind', /counts.*gauge/],
    ['a name that is no query Id', [counts({ name: 'Orders' })], 'analysis.metrics[0].name', /lowercase/],
    ['the same name twice', [counts(), counts()], 'analysis.metrics[1].name', /duplicates/],
    ["the ECS deployer's name", [counts({ name: 'ecsCpu' })], 'analysis.metrics[0].name', /ECS/],
    [
      'one dimension value for both versions',
      [counts({ versionDimension: { ...DIM, canary: 'web' } })],
      'analysis.metrics[0].versionDimension.canary',
      /tell the versions apart/,
    ],
    [
      'a query setting the version dimension itself',
      [counts({ total: { ...ORDERS, dimensions: { Service: 'web' } } })],
      'analysis.metrics[0].total.dimensions',
      /versionDimension gives it per version/,
    ],
    [
      'an expression naming an undeclared metric',
      [counts({ total: { expression: 'a + b', metrics: { a: ORDERS } } })],
      'analysis.metrics[0].total.expression',
      /"b" is not one of the metrics' ids/,
    ],
    [
      'a malformed expression, advisory or not',
      [counts({ critical: false, total: { expression: 'a / / b', metrics: { a: ORDERS, b: ORDERS } } })],
      'analysis.metrics[0].total.expression',
      /operand is missing before "\/"/,
    ],
    [
      'an expression with unbalanced parentheses',
      [counts({ total: { expression: '(a + b', metrics: { a: ORDERS, b: ORDERS } } })],
      'analysis.metrics[0].total.expression',
      /"\(" without its "\)"/,
    ],
    [
      'an expression calling no metric math function',
      [counts({ total: { expression: 'SQUARE(a)', metrics: { a: ORDERS } } })],
      'analysis.metrics[0].total.expression',
      /"SQUARE" is not a metric math function/,
    ],
  ])('refuses %s, naming the field', (_what, metrics, path, message) => {
    const error = configError({ metrics });
    const issue = error.issues.find((i) => i.path === path);
    expect(issue, JSON.stringify(error.issues)).toBeDefined();
    expect(issue?.message).toMatch(message);
  });

  it("adds the ECS deployer's CPU and memory per service, advisory, unless opted out", () => {
    const config = validParsedConfig();
    const ecs = customMetrics(config).filter((m) => m.name.startsWith('ecs'));
    expect(ecs.map((m) => [m.name, m.critical, m.kind])).toEqual([
      ['ecsCpu', false, 'gauge'],
      ['ecsMemory', false, 'gauge'],
    ]);
    const cpu = ecs[0];
    if (cpu?.kind !== 'gauge' || 'expression' in cpu.value) throw new Error('not a metric');
    expect(cpu.value).toMatchObject({ namespace: 'AWS/ECS', metricName: 'CPUUtilization', stat: 'Average' });
    expect(cpu.versionDimension).toEqual({ name: 'ServiceName', canary: 'web-canary', stable: 'web' });
    const off = validParsedConfig({ analysis: { ecsMetrics: { enabled: false } } });
    expect(customMetrics(off)).toEqual([]);
  });
});

describe('the gauge confidence sequence (stats/mean.ts)', () => {
  const gauss = (r: () => number) => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());

  it('is the set of means whose e-value stays below 1/alpha', () => {
    const r = seededRandom(3);
    const values = Array.from({ length: 12 }, () => 2 + gauss(r));
    const s = meanSequence(values, 0.01);
    if (s.lower === null || s.upper === null) throw new Error('unbounded');
    expect(logEValue(values, s.lower)).toBeCloseTo(Math.log(100), 6);
    expect(logEValue(values, s.upper)).toBeCloseTo(Math.log(100), 6);
    expect(logEValue(values, (s.lower + s.upper) / 2)).toBeLessThan(Math.log(100));
  });

  it('is unbounded with too few periods', () => {
    expect(meanSequence([1, 2, 3], 0.005)).toMatchObject({ lower: null, upper: null });
  });

  it('misses the true mean in at most alpha of runs, looked at after every period', () => {
    const r = seededRandom(11);
    let missed = 0;
    for (let run = 0; run < 300; run++) {
      const values: number[] = [];
      for (let n = 0; n < 40; n++) {
        values.push(5 + 3 * gauss(r));
        const s = meanSequence(values, 0.05);
        if ((s.lower !== null && s.lower > 5) || (s.upper !== null && s.upper < 5)) {
          missed++;
          break;
        }
      }
    }
    expect(missed / 300).toBeLessThanOrEqual(0.05);
  });
});

/** A window of n minutes in which both versions served traffic, with each version's custom points. */
function window(
  n: number,
  points: (i: number) => { canary: Partial<CustomPoint>; baseline: Partial<CustomPoint> },
) {
  const served = (i: number) => ({ start: at(i), requests: 1000, errors: 1, p99Ms: 100 });
  const custom = Array.from({ length: n }, (_, i) => points(i));
  return {
    from: at(0),
    to: at(n),
    periodSeconds: 60,
    canary: Array.from({ length: n }, (_, i) => served(i)),
    baseline: Array.from({ length: n }, (_, i) => ({ ...served(i), requests: 9000, errors: 9 })),
    custom: [
      {
        name: 'm',
        canary: custom.map((p, i) => ({ start: at(i), ...p.canary })),
        baseline: custom.map((p, i) => ({ start: at(i), ...p.baseline })),
      },
    ],
  } satisfies MetricWindow;
}

const policy = validParsedConfig({ analysis: { alarms: [], minRequests: 100 } }).analysis;
const spec = (over: Partial<CustomMetricConfig>): CustomMetricConfig =>
  ({
    name: 'm',
    kind: 'gauge',
    direction: 'higherIsWorse',
    tolerance: 0,
    critical: true,
    versionDimension: DIM,
    value: ORDERS,
    ...over,
  }) as CustomMetricConfig;
const evidence = (v: Verdict): MetricEvidence =>
  v.metrics.find((m) => m.metric === 'custom.m') as MetricEvidence;

describe('judging custom metrics', () => {
  it('fails a counts metric whose good events per total drop, with the ratio test, and says so', () => {
    const w = window(8, () => ({ canary: { good: 60, total: 100 }, baseline: { good: 810, total: 900 } }));
    const v = judge(w, [], policy, [
      spec({ kind: 'counts', direction: 'lowerIsWorse', good: ORDERS, total: ORDERS }),
    ]);
    expect(v.result).toBe('fail');
    const m = evidence(v);
    expect(m).toMatchObject({ result: 'fail', reason: 'shownWorse', canary: 0.6, baseline: 0.9 });
    expect(verdictText(v)).toMatch(
      /^custom\.m: canary good 60\.00% \(480\/800\) vs stable 90\.00% \(6480\/7200\): shown below stable \/ 1\.00/,
    );
    expect(verdictSentence(v)).toMatch(
      /^The canary's m rate is lower than stable's: 60\.00% against 90\.00%/,
    );
  });

  it('passes a counts metric with the same bad rate on both versions', () => {
    const w = window(8, () => ({ canary: { bad: 5, total: 100 }, baseline: { bad: 45, total: 900 } }));
    const v = judge(w, [], policy, [spec({ kind: 'counts', bad: ORDERS, total: ORDERS })]);
    expect(evidence(v).result).toBe('pass');
    expect(v.result).toBe('pass');
  });

  it('fails a gauge shown above stable and prints the confidence sequence that decided', () => {
    const r = seededRandom(5);
    const w = window(8, () => ({ canary: { value: 45 + r() }, baseline: { value: 30 + r() } }));
    const v = judge(w, [], policy, [spec({ tolerance: 0.2 })]);
    const m = evidence(v);
    expect(m.reason).toBe('shownWorse');
    expect(m.facts.difference?.lower).toBeGreaterThan(0);
    expect(evidenceText(m)).toMatch(
      /mean canary − 1\.20× stable per minute \+\d.* \(confidence sequence \+[\d.]+ to \+[\d.]+ at 99\.50%\)/,
    );
  });

  it('passes a gauge within its tolerance and fails one above its absolute ceiling', () => {
    const r = seededRandom(9);
    const w = window(8, () => ({ canary: { value: 30 + r() }, baseline: { value: 30 + r() } }));
    expect(judge(w, [], policy, [spec({ tolerance: 0.2 })]).result).toBe('pass');
    const v = judge(w, [], policy, [spec({ tolerance: 0.2, max: 25 })]);
    expect(evidence(v)).toMatchObject({ result: 'fail', reason: 'aboveCeiling' });
  });

  it('waits for traffic while a critical metric lacks data, using no extension (never a failure for it)', () => {
    const w = window(2, () => ({ canary: { value: 30 }, baseline: { value: 30 } }));
    const critical = judge(w, [], policy, [spec({})]);
    expect(critical).toMatchObject({ result: 'inconclusive', reason: 'lowData', lowTraffic: true });
    // Every extension used already: still waiting, not rolled back.
    const step = { index: 0, weight: 5, bakeSeconds: 60, approval: false };
    expect(decide(critical, step, policy.maxExtensions, policy).action).toBe('awaitTraffic');
    expect(verdictSentence(critical)).toBe(
      'Too little data to judge yet for m (2 of 3); nothing to do, the step waits for traffic',
    );
    expect(verdictText(critical)).toMatch(
      /^not enough data yet: custom\.m: canary 30 vs stable 30 \(means over 2 paired minutes\): not judged yet: 2 of 3 paired minutes$/,
    );
    expect(judge(w, [], policy, [spec({ critical: false })]).result).toBe('pass');
  });

  it('reports an advisory regression without failing the verdict', () => {
    const w = window(8, (i) => ({ canary: { value: 60 + (i % 2) }, baseline: { value: 30 + (i % 3) } }));
    const v = judge(w, [], policy, [spec({ critical: false })]);
    expect(evidence(v)).toMatchObject({ result: 'fail', facts: { advisory: true } });
    expect(v.result).toBe('pass');
    expect(evidenceText(evidence(v))).toMatch(/^\(advisory\) canary/);
  });

  it('gives critical custom metrics half of alpha, advisory ones none', () => {
    const w = window(8, () => ({ canary: { value: 30 }, baseline: { value: 30 } }));
    const errors = (v: Verdict) => v.metrics.find((m) => m.metric === 'errorRate')?.eThreshold;
    expect(errors(judge(w, [], policy, [spec({ critical: false })]))).toBeCloseTo(100);
    const v = judge(w, [], policy, [spec({}), spec({ name: 'n' })]);
    expect(errors(v)).toBeCloseTo(200);
    expect(evidence(v).eThreshold).toBeCloseTo(400);
  });

  it('compares only the minutes both versions served: at 100% the gauge is judged on its bounds alone', () => {
    const w = window(4, () => ({ canary: { value: 80 }, baseline: { value: 2 } }));
    const alone = { ...w, baseline: w.baseline.map((p) => ({ ...p, requests: 0, errors: 0 })) };
    const m = evidence(judge(alone, [], policy, [spec({ max: 90 })]));
    expect(m).toMatchObject({ reason: 'noBaseline', result: 'pass', canary: 80 });
  });

  it('holds the step when stable served requests but its series is missing, rather than judge the canary alone', () => {
    const w = window(4, () => ({ canary: { value: 80 }, baseline: { value: 2 } }));
    const unpublished = { ...w, custom: w.custom.map((s) => ({ ...s, baseline: [] })) };
    const m = evidence(judge(unpublished, [], policy, [spec({ max: 90 })]));
    expect(m).toMatchObject({ reason: 'lowData', result: 'inconclusive' });
  });

  it('holds the step while the confidence sequence is unbounded, whatever minData', () => {
    const canary = [60, 40, 70];
    const w = window(3, (i) => ({ canary: { value: canary[i] ?? 0 }, baseline: { value: 30 } }));
    const m = evidence(judge(w, [], policy, [spec({})]));
    expect(m.facts.difference).toMatchObject({ lower: null, upper: null });
    expect(m).toMatchObject({ reason: 'lowData', result: 'inconclusive' });
    expect(evidenceText(m)).toMatch(/not judged yet: 3 paired minutes, too few to bound the difference/);
  });

  it('applies the ceiling only once the canary has minData points', () => {
    const w = window(1, () => ({ canary: { value: 95 }, baseline: { value: 30 } }));
    const alone = { ...w, custom: w.custom.map((s) => ({ ...s, baseline: [] })) };
    for (const v of [w, alone]) {
      expect(evidence(judge(v, [], policy, [spec({ max: 90 })]))).toMatchObject({
        reason: 'lowData',
        result: 'inconclusive',
      });
    }
  });
});
