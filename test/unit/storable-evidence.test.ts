/**
 * Every number the analysis writes to the rollout table is storable: the verdict, its evidence and the periods it
 * judged marshall with the handlers' document-client options, come back equal from DynamoDB's wire form, stay
 * within DynamoDB's Number range ("Supported data types and naming rules in Amazon DynamoDB": 38 digits, positive
 * 1E-130 to 9.9999999999999999999999999999999999999E+125, the same negated), and survive JSON (Step Functions passes
 * state as JSON, where Infinity and NaN become null) unchanged.
 */
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DOCUMENT_OPTIONS } from '../../functions/adapters/aws/dynamodb';
import { parseServiceConfig, type ServiceConfigInput } from '../../functions/core/config';
import { customMetrics } from '../../functions/core/custom-metrics';
import { judge, type MetricWindow, type PeriodStats } from '../../functions/core/judge';
import { customPeriodValues, periodCounts } from '../../functions/core/late-metrics';
import { evidenceSummary } from '../../functions/core/state-change';
import { E_VALUE_CEILING } from '../../functions/core/stats/storable';
import type { CustomPoint } from '../../functions/core/verdict';
import { evidenceText } from '../../functions/views/evidence-text';
import { InMemoryRolloutStore } from '../../sandbox/store';
import { validParsedConfig, validServiceConfig } from '../helpers/config';

const START = Date.parse('2025-03-14T09:30:00Z');
const at = (i: number) => new Date(START + i * 60_000).toISOString();
const DIM = { name: 'Service', canary: 'web-canary', stable: 'web' };
const ORDERS = { namespace: 'Shop', metricName: 'OrdersAttempted' };

const config = (alpha: number) =>
  validParsedConfig({
    analysis: {
      alarms: undefined,
      errorRate: { alpha },
      metrics: [
        {
          name: 'orders',
          kind: 'counts',
          versionDimension: DIM,
          good: { ...ORDERS, metricName: 'Done' },
          total: ORDERS,
        },
        { name: 'queue', kind: 'gauge', versionDimension: DIM, value: { ...ORDERS, metricName: 'Queue' } },
      ],
    } as never,
  });

/** One minute of both versions: requests, then failures, slow and above-median shares of them, and a gauge. */
const minute = fc.record({
  canary: fc.nat({ max: 2_000_000 }),
  baseline: fc.nat({ max: 20_000_000 }),
  canaryFail: fc.double({ min: 0, max: 1, noNaN: true }),
  baselineFail: fc.double({ min: 0, max: 1, noNaN: true }),
  slow: fc.double({ min: 0, max: 1, noNaN: true }),
  // CloudWatch takes values within ±2^360 (PutMetricData, MetricDatum Value): gauges anywhere in that range.
  gauge: fc.oneof(
    fc.double({ min: -(2 ** 360), max: 2 ** 360, noNaN: true, noDefaultInfinity: true }),
    fc.double({ min: 0, max: 100, noNaN: true }),
  ),
  stableGauge: fc.oneof(
    fc.double({ min: -(2 ** 360), max: 2 ** 360, noNaN: true, noDefaultInfinity: true }),
    fc.double({ min: 0, max: 100, noNaN: true }),
  ),
});
type Minute = typeof minute extends fc.Arbitrary<infer T> ? T : never;

/** Extreme shapes besides the random minutes: long windows with no errors, all errors, one version failing. */
const shape = fc.constantFrom('random', 'noErrors', 'allErrors', 'canaryAllFail', 'baselineAllFail');

function window(minutes: readonly Minute[], kind: string, repeat: number): MetricWindow {
  const rows = Array.from(
    { length: minutes.length * repeat },
    (_, i) => minutes[i % minutes.length] as Minute,
  );
  const side = (which: 'canary' | 'baseline'): PeriodStats[] =>
    rows.map((m, i) => {
      const requests = m[which];
      const share =
        kind === 'noErrors'
          ? 0
          : kind === 'allErrors' || kind === `${which}AllFail`
            ? 1
            : kind === 'random'
              ? m[which === 'canary' ? 'canaryFail' : 'baselineFail']
              : 0;
      const errors = Math.round(requests * share);
      return {
        start: at(i),
        requests,
        errors,
        p99Ms: requests > 0 ? 250 : null,
        slow: Math.round(requests * m.slow),
        aboveMedian: Math.round(requests * (which === 'canary' ? Math.max(m.slow, 0.5) : 0.5)),
      };
    });
  const points = (which: 'gauge' | 'stableGauge'): CustomPoint[] =>
    rows.map((m, i) => ({
      start: at(i),
      value: m[which],
      good: m.canary - Math.round(m.canary * m.canaryFail),
      total: m.canary,
    }));
  return {
    from: at(0),
    to: at(rows.length),
    periodSeconds: 60,
    canary: side('canary'),
    baseline: side('baseline'),
    slowThresholdMs: 300,
    medianThresholdMs: 120,
    custom: [
      { name: 'orders', canary: points('gauge'), baseline: points('stableGauge') },
      { name: 'queue', canary: points('gauge'), baseline: points('stableGauge') },
    ],
  };
}

/** Below 1E+126: the largest double under it (1E+126 less about 1E+110) is within 9.99…9E+125 (38 nines). */
const NUMBER_ABOVE = 1e126;
const NUMBER_MIN = 1e-130;

/** Every number in DynamoDB's wire form (N and NS values), to check its range and digits. */
function wireNumbers(value: unknown, out: string[] = []): string[] {
  if (Array.isArray(value)) for (const v of value) wireNumbers(v, out);
  else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (k === 'N' && typeof v === 'string') out.push(v);
      else wireNumbers(v, out);
    }
  }
  return out;
}

function expectStorable(item: Record<string, unknown>): void {
  const wire = marshall(item, DOCUMENT_OPTIONS.marshallOptions);
  for (const n of wireNumbers(wire)) {
    const x = Math.abs(Number(n));
    expect(x === 0 || (x >= NUMBER_MIN && x < NUMBER_ABOVE), `${n} is outside DynamoDB's Number range`).toBe(
      true,
    );
    expect(n.replace(/^-|e.*$|\./gi, '').replace(/^0+/, '').length).toBeLessThanOrEqual(38);
  }
  expect(unmarshall(wire, DOCUMENT_OPTIONS.unmarshallOptions)).toEqual(item);
  expect(JSON.parse(JSON.stringify(item))).toEqual(item);
}

describe('the evidence an analysis stores', () => {
  it('marshalls with the production options and survives DynamoDB and JSON unchanged', () => {
    fc.assert(
      fc.property(
        fc.array(minute, { minLength: 1, maxLength: 12 }),
        shape,
        fc.constantFrom(1, 1, 40),
        fc.constantFrom(0.01, 0.05, 1e-6),
        (minutes, kind, repeat, alpha) => {
          const c = config(alpha);
          const w = window(minutes, kind, repeat);
          const custom = customMetrics(c);
          const verdict = judge(w, [], c.analysis, custom);
          const judgedPeriods = { alb: periodCounts(w), custom: customPeriodValues(w, custom) };
          expectStorable({ lastVerdict: verdict, judgedPeriods, updatedAt: at(0) });
          expectStorable({ detail: { canary: verdict.canary, evidence: evidenceSummary(verdict) } });
          for (const m of verdict.metrics) {
            if (m.eValue !== undefined) expect(m.eValue).toBeLessThanOrEqual(E_VALUE_CEILING);
            if (m.eValueNotWorse !== undefined) expect(m.eValueNotWorse).toBeLessThanOrEqual(E_VALUE_CEILING);
          }
        },
      ),
      { numRuns: 40, seed: 20261130 },
    );
  });

  it('stores the e-value of a long healthy canary (≈1e21 before the ceiling) at the ceiling', () => {
    const rows = Array.from({ length: 2500 }, () => ({
      canary: 100,
      baseline: 1900,
      canaryFail: 0,
      baselineFail: 0.01,
      slow: 0.01,
      gauge: 1,
      stableGauge: 1,
    }));
    const c = config(0.01);
    const verdict = judge(window(rows, 'random', 1), [], c.analysis, customMetrics(c));
    const errors = verdict.metrics.find((m) => m.metric === 'errorRate');
    expect(errors?.eValueNotWorse).toBe(E_VALUE_CEILING);
    expect(errors?.notWorse).toBe(true);
    expectStorable({ lastVerdict: verdict });
    // Read as a bound, not a figure: the evidence is stronger than the ceiling it is recorded at.
    expect(evidenceText(errors as NonNullable<typeof errors>)).toContain(
      'e-value more than 1e+15 of 250 against ≥ 1.50×',
    );
  });

  it("keeps a counts metric's rates storable when CloudWatch's values are fractional", () => {
    // CloudWatch takes values down to about 1e-109 and up to 2^360: a ratio of two such sums leaves DynamoDB's range.
    const c = validParsedConfig({
      analysis: {
        alarms: undefined,
        metrics: [
          {
            name: 'orders',
            kind: 'counts',
            versionDimension: DIM,
            bad: { ...ORDERS, metricName: 'Failed' },
            total: ORDERS,
          },
        ],
      } as never,
    });
    const base = window(
      Array.from({ length: 30 }, () => ({
        canary: 100,
        baseline: 1000,
        canaryFail: 0,
        baselineFail: 0,
        slow: 0,
        gauge: 1,
        stableGauge: 1,
      })),
      'random',
      1,
    );
    const tiny = (side: 'canary' | 'baseline'): CustomPoint[] =>
      base.canary.map((p) => ({
        start: p.start,
        bad: side === 'canary' ? 1e-108 : 1e100,
        total: side === 'canary' ? 1e108 : 1e100,
      }));
    const verdict = judge(
      { ...base, custom: [{ name: 'orders', canary: tiny('canary'), baseline: tiny('baseline') }] },
      [],
      c.analysis,
      customMetrics(c),
    );
    expect(verdict.metrics.some((m) => m.metric === 'custom.orders')).toBe(true);
    expectStorable({ lastVerdict: verdict });
  });

  it('refuses an alpha whose bars would come near the e-value ceiling, naming the field', () => {
    const input = { ...validServiceConfig(), analysis: { errorRate: { alpha: 1e-7 } } } as ServiceConfigInput;
    expect(() => parseServiceConfig(input)).toThrow(/analysis\.errorRate\.alpha/);
  });

  it("the sandbox's store refuses a number the table would not keep, naming where it is", async () => {
    const store = new InMemoryRolloutStore();
    await store.putRollout({
      rolloutId: 'web-1',
      service: 'web',
      image: { repository: 'team/web', digest: `sha256:${'ab'.repeat(32)}` },
      status: 'running',
      alarms: [],
      createdAt: at(0),
      updatedAt: at(0),
    });
    const c = config(0.01);
    const verdict = judge(window([], 'random', 1), [], c.analysis);
    const broken = {
      ...verdict,
      metrics: [{ ...(verdict.metrics[0] as (typeof verdict.metrics)[0]), eValue: 1e300 }],
    };
    await expect(store.updateRollout('web-1', { lastVerdict: broken })).rejects.toThrow(
      'lastVerdict.metrics[0].eValue',
    );
    await expect(store.updateRollout('web-1', { lastVerdict: verdict })).resolves.toBeDefined();
  });
});
