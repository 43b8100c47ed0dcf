/**
 * The custom metrics' checks (config `analysis.metrics`, the ECS deployer's CPU and memory): canary against the
 * concurrent stable version, only over the periods in which both served traffic and the canary's share held.
 * - counts: the error rate's anytime-valid ratio test (stats/ratio.ts) on the events per total: bad events when
 *   higher is worse; good events when lower is worse, the versions swapped so that the test is still "canary worse
 *   than (1 + tolerance)×" (its ratio is then stable's rate over the canary's).
 * - gauge: the time-uniform confidence sequence for the mean per-period difference (stats/mean.ts), and the
 *   absolute bounds (max, min) on the canary's mean level.
 * Advisory metrics are judged alike and marked (facts.advisory): the judge leaves them out of its verdict.
 */
import type { AnalysisPolicy } from './config';
import { type CustomMetricConfig, countsOf } from './custom-metrics';
import { steadyShare } from './metric-window';
import { passRatioOf, sequentialEvidence, testReason, testResult } from './sequential-checks';
import { logEValue, meanSequence } from './stats/mean';
import { type RatioPeriod, ratioTest } from './stats/ratio';
import { eValueOf, storableNumber } from './stats/storable';
import type {
  CustomPoint,
  CustomSeries,
  EvidenceFacts,
  EvidenceReason,
  MetricEvidence,
  MetricWindow,
  VerdictResult,
} from './verdict';

/** The share of alpha the critical custom metrics get together (the load balancer's and X-Ray's tests the rest). */
export const CUSTOM_ALPHA_SHARE = 0.5;
/** Default minData: canary events in `total` (counts), paired periods (gauge). */
const DEFAULT_MIN_TOTAL = 100;
const DEFAULT_MIN_PERIODS = 3;

type Pair = [canary: CustomPoint, baseline: CustomPoint];

/** The periods both versions served traffic in, with a steady canary share, that both versions have a point for. */
function pairs(window: MetricWindow, series: CustomSeries | undefined): Pair[] {
  if (!series) return [];
  const steady = steadyShare(window);
  const baselineServed = new Set(window.baseline.filter((p) => p.requests > 0).map((p) => p.start));
  const both = new Set(
    window.canary
      .filter((p) => p.requests > 0 && baselineServed.has(p.start) && steady(p))
      .map((p) => p.start),
  );
  const byStart = new Map(series.baseline.map((p) => [p.start, p]));
  const out: Pair[] = [];
  for (const c of series.canary) {
    const b = byStart.get(c.start);
    if (b && both.has(c.start)) out.push([c, b]);
  }
  return out;
}

function base(spec: CustomMetricConfig, rho0: number, passRatio: number, minData: number, data: number) {
  return {
    metric: `custom.${spec.name}` as const,
    facts: {
      kind: spec.kind,
      direction: spec.direction,
      ...(spec.critical ? {} : { advisory: true }),
      rho0,
      passRatio,
      minData,
      data,
    } satisfies EvidenceFacts,
  };
}

/** The regression a metric declares (1 + tolerance) and the ratio an early pass must show the canary below. */
function boundsOf(spec: CustomMetricConfig, policy: AnalysisPolicy): { rho0: number; passRatio: number } {
  const rho0 = 1 + spec.tolerance;
  return { rho0, passRatio: passRatioOf(policy, undefined, rho0) };
}

/** Critical metrics hold the step until they have their data; advisory ones never do. */
const short = (spec: CustomMetricConfig): VerdictResult => (spec.critical ? 'inconclusive' : 'pass');

function judgeCounts(
  window: MetricWindow,
  spec: CustomMetricConfig,
  series: CustomSeries | undefined,
  policy: AnalysisPolicy,
  alpha: number,
): MetricEvidence {
  const { rho0, passRatio } = boundsOf(spec, policy);
  const swap = spec.direction === 'lowerIsWorse';
  const periods: RatioPeriod[] = [];
  for (const [c, b] of pairs(window, series)) {
    const cc = countsOf(c, spec.direction);
    const bc = countsOf(b, spec.direction);
    if (!cc || !bc) continue;
    const canary = { requests: cc.total, events: cc.events };
    const baseline = { requests: bc.total, events: bc.events };
    const [x, y] = swap ? [baseline, canary] : [canary, baseline];
    periods.push({
      canaryRequests: x.requests,
      canaryEvents: x.events,
      baselineRequests: y.requests,
      baselineEvents: y.events,
    });
  }
  const t = ratioTest(periods, { rho0, passRatio, alpha });
  const [ce, ct, be, bt] = swap
    ? [t.baselineEvents, t.baselineRequests, t.canaryEvents, t.canaryRequests]
    : [t.canaryEvents, t.canaryRequests, t.baselineEvents, t.baselineRequests];
  const minData = spec.minData ?? DEFAULT_MIN_TOTAL;
  const canaryRate = ct > 0 ? ce / ct : null;
  const baselineRate = bt > 0 ? be / bt : null;
  const enough = ct >= minData;
  const limit = baselineRate === null ? null : swap ? baselineRate / rho0 : baselineRate * rho0;
  // Shown worse fails at any amount of data, as the error rate does; anything else waits for minData.
  const result = testResult(t, false, enough);
  return {
    ...base(spec, rho0, passRatio, minData, ct),
    result: result === 'inconclusive' ? short(spec) : result,
    // Rates of CloudWatch's values (fractional, ±2^360) may leave DynamoDB's Number range: kept storable.
    canary: storableNumber(canaryRate),
    baseline: storableNumber(baselineRate),
    limit: storableNumber(limit),
    reason: !enough && !t.worse ? 'lowData' : testReason(t, false),
    ...sequentialEvidence(t, alpha),
    // The events and totals as the versions counted them (the test's own are swapped when lower is worse).
    counts: { canaryEvents: ce, canaryRequests: ct, baselineEvents: be, baselineRequests: bt },
  };
}

/** Why a gauge came out as it did, the failures first. */
function gaugeReason(
  f: Record<'worse' | 'ceiling' | 'floor' | 'noBaseline' | 'enough' | 'building' | 'notWorse', boolean>,
): EvidenceReason {
  if (f.worse) return 'shownWorse';
  if (f.ceiling) return 'aboveCeiling';
  if (f.floor) return 'belowFloor';
  if (f.noBaseline) return 'noBaseline';
  if (!f.enough) return 'lowData';
  if (f.building) return 'lookingWorse';
  return f.notWorse ? 'shownNotWorse' : 'notShownWorse';
}

/**
 * Whether stable served requests, by the load balancer's counts, in a period of the canary's series: then a missing
 * stable series is a fault of the metric (stable not publishing, a wrong version dimension), not the canary alone.
 */
function stableServed(window: MetricWindow, series: CustomSeries | undefined): boolean {
  const starts = new Set((series?.canary ?? []).map((p) => p.start));
  return window.baseline.some((p) => p.requests > 0 && starts.has(p.start));
}

const mean = (xs: readonly number[]) => (xs.length > 0 ? xs.reduce((a, x) => a + x, 0) / xs.length : null);

function judgeGauge(
  window: MetricWindow,
  spec: CustomMetricConfig & { kind: 'gauge' },
  series: CustomSeries | undefined,
  policy: AnalysisPolicy,
  alpha: number,
): MetricEvidence {
  const { rho0, passRatio } = boundsOf(spec, policy);
  const lower = spec.direction === 'lowerIsWorse';
  const values = pairs(window, series).flatMap(([c, b]) =>
    c.value !== undefined && b.value !== undefined ? [[c.value, b.value] as const] : [],
  );
  // Positive: worse than `factor` × stable (above it, or below stable / factor when lower is worse).
  const diff = (factor: number) => values.map(([c, b]) => (lower ? b / factor - c : c - factor * b));
  const [diffRho0, diffPass] = [diff(rho0), diff(passRatio)];
  const [atRho0, atPass] = [meanSequence(diffRho0, alpha), meanSequence(diffPass, alpha)];
  const worse = atRho0.lower !== null && atRho0.lower > 0;
  const notWorse = atPass.upper !== null && atPass.upper < 0;
  const eValue = eValueOf((atRho0.mean ?? 0) > 0 ? logEValue(diffRho0, 0) : 0);
  const eValueNotWorse = eValueOf((atPass.mean ?? 0) < 0 ? logEValue(diffPass, 0) : 0);
  const building = !worse && !notWorse && eValue >= Math.sqrt(1 / alpha);
  const minData = spec.minData ?? DEFAULT_MIN_PERIODS;
  // Too few periods leave the sequence unbounded both ways: nothing is known of the difference yet.
  const unbounded = [atRho0, atPass].every((q) => q.lower === null && q.upper === null);
  const enough = values.length >= minData && !unbounded;
  const canaryValues = (series?.canary ?? []).flatMap((p) => (p.value === undefined ? [] : [p.value]));
  const canaryLevel = mean(canaryValues);
  const canaryMean = mean(values.map(([c]) => c));
  const baselineMean = mean(values.map(([, b]) => b));
  const level =
    canaryValues.length >= minData && (values.length >= minData || values.length === 0) ? canaryLevel : null;
  const ceiling = level !== null && spec.max !== undefined && level > spec.max;
  const floor = level !== null && spec.min !== undefined && level < spec.min;
  const reason = gaugeReason({
    worse,
    ceiling,
    floor,
    noBaseline: values.length === 0 && canaryValues.length >= minData && !stableServed(window, series),
    enough,
    building,
    notWorse,
  });
  const result: VerdictResult =
    worse || ceiling || floor
      ? 'fail'
      : reason === 'lowData'
        ? short(spec)
        : building && spec.critical
          ? 'inconclusive'
          : 'pass';
  const decided = notWorse && !worse ? atPass : atRho0;
  const common = base(spec, rho0, passRatio, minData, values.length);
  return {
    ...common,
    result,
    // Derived from the data: kept within what the store holds (stats/storable.ts).
    canary: storableNumber(reason === 'noBaseline' ? canaryLevel : canaryMean),
    baseline: storableNumber(baselineMean),
    limit: baselineMean === null ? null : storableNumber(lower ? baselineMean / rho0 : baselineMean * rho0),
    reason,
    facts: {
      ...common.facts,
      ...(spec.max !== undefined ? { ceiling: spec.max } : {}),
      ...(spec.min !== undefined ? { floor: spec.min } : {}),
      difference: {
        factor: decided === atPass ? passRatio : rho0,
        mean: storableNumber(decided.mean),
        lower: storableNumber(decided.lower),
        upper: storableNumber(decided.upper),
        level: 1 - alpha,
      },
    },
    estimate: canaryMean !== null && baselineMean ? storableNumber(canaryMean / baselineMean) : null,
    eValue,
    eThreshold: 1 / alpha,
    eValueNotWorse,
    notWorse,
    lookingWorse: building,
  };
}

/** Each custom metric's evidence, every metric at the same level alpha (the judge shares its alpha among them). */
export function judgeCustomMetrics(
  window: MetricWindow,
  specs: readonly CustomMetricConfig[],
  policy: AnalysisPolicy,
  alpha: number,
): MetricEvidence[] {
  const byName = new Map((window.custom ?? []).map((s) => [s.name, s]));
  return specs.map((spec) =>
    spec.kind === 'gauge'
      ? judgeGauge(window, spec, byName.get(spec.name), policy, alpha)
      : judgeCounts(window, spec, byName.get(spec.name), policy, alpha),
  );
}
