/**
 * The judge's sequential checks: the error rate and the slow-request shares (the tail, and above the median) of
 * the canary against the baseline, each an anytime-valid test (stats/ratio.ts) on paired per-period counts, with
 * the absolute ceilings as guard rails; and the same tests on X-Ray's statistics.
 */
import type { AnalysisPolicy } from './config';
import {
  afterWarmup,
  baselineForCanary,
  DEFAULT_WARMUP_SECONDS,
  failureCounts,
  hasCounts,
  mixedPeriods,
  pairPeriods,
  summarize,
} from './metric-window';
import { BETS, type Bet, type RatioTest, ratioTest } from './stats/ratio';
import type { EvidenceReason, MetricEvidence, MetricWindow, VerdictResult, VersionSummary } from './verdict';

/** The share of alpha the error-rate test gets when latency tests run too (they share the rest). */
export const ERROR_ALPHA_SHARE = 0.8;
/** Hold the step while the e-value is past threshold ** HOLD_EXPONENT (see lookingWorse). */
const HOLD_EXPONENT = 0.5;
/** The share of alpha X-Ray's tests get when the window carries X-Ray statistics (the load balancer's get the rest). */
export const XRAY_ALPHA_SHARE = 0.5;

/** Evidence against H0 past √(1/α) (half-way on the log scale) and not shown not-worse: hold the step. */
export function lookingWorse(t: RatioTest): boolean {
  return !t.worse && !t.notWorse && t.eValue >= t.threshold ** HOLD_EXPONENT;
}

/**
 * The bets of the test on the share of requests above the stable version's median. That share is at most 2× the
 * stable version's (one half → all), and a whole-distribution slowdown moves it by little (×1.10 latency ≈ ×1.15
 * share, ×1.5 ≈ ×1.6 for log-normal latencies with σ = 0.5), so its bets are small: ln multiplier = ln 1.1 × 2^k,
 * k = 0..2 (1.10, 1.21, 1.46), equal weights, rather than the error test's (stats/ratio.ts BETS, 1.4× to 15×), which
 * catch a ×1.10 slowdown less often (bench/judge, 600 runs: 'latency ×1.10' caught in 94% with these, 90% with those).
 */
export const ABOVE_MEDIAN_BETS: readonly Bet[] = /* @__PURE__ */ (() =>
  [0, 1, 2].map((k) => ({
    multiplier: 1.1 ** (2 ** k),
    weight: 1 / 3,
  })))();

/** Default smallest regression that matters (analysis.minimumRegression): early pass needs evidence below it. */
export const DEFAULT_MINIMUM_REGRESSION = 1.5;

/** The ratio a test must show the canary below to pass early: the test's own passRatio, else the declared minimum. */
export function passRatioOf(policy: AnalysisPolicy, own: number | undefined, rho0: number): number {
  return own ?? Math.max(rho0, policy.minimumRegression ?? DEFAULT_MINIMUM_REGRESSION);
}

export function sequentialEvidence(t: RatioTest, alpha: number) {
  return {
    counts: {
      canaryEvents: t.canaryEvents,
      canaryRequests: t.canaryRequests,
      baselineEvents: t.baselineEvents,
      baselineRequests: t.baselineRequests,
    },
    estimate: t.estimate,
    interval: { lower: t.lower, upper: t.upper, level: 1 - alpha },
    eValue: t.eValue,
    eThreshold: t.threshold,
    eValueNotWorse: t.eValueNotWorse,
    notWorse: t.notWorse,
    lookingWorse: lookingWorse(t),
  };
}

/** What a sequential test found, the ceiling checked after a test showing the canary worse. */
export function testReason(t: RatioTest, ceiling: boolean): EvidenceReason {
  if (t.worse) return 'shownWorse';
  if (ceiling) return 'aboveCeiling';
  if (lookingWorse(t)) return 'lookingWorse';
  return t.notWorse ? 'shownNotWorse' : 'notShownWorse';
}

/** A failure on evidence or the ceiling; a pass with enough traffic unless the evidence is building; else unsettled. */
export function testResult(t: RatioTest, ceiling: boolean, enough: boolean): VerdictResult {
  if (t.worse || ceiling) return 'fail';
  return enough && !lookingWorse(t) ? 'pass' : 'inconclusive';
}

export function judgeErrorRate(
  window: MetricWindow,
  c: VersionSummary,
  b: VersionSummary,
  policy: AnalysisPolicy,
  alpha: number,
  bets: readonly Bet[] = BETS,
): MetricEvidence {
  const { tolerance, max, minIncrease } = policy.errorRate;
  const rho0 = 1 + tolerance;
  const passRatio = passRatioOf(policy, policy.errorRate.passRatio, rho0);
  const canaryRate = c.errorRate ?? 0;
  const enough = c.requests >= policy.minRequests;
  const t = ratioTest(
    pairPeriods(window, (p) => p.errors),
    { rho0, passRatio, alpha, bets },
  );
  // Over the same periods as the counts (c and b's errors and requests).
  const cf = failureCounts(window.canary);
  const bf = failureCounts(window.baseline);
  const failures = cf && bf ? { failures: { canary: cf, baseline: bf } } : {};
  const sides = {
    canarySide: { rate: canaryRate, errors: c.errors, requests: c.requests, ...(cf ? { failures: cf } : {}) },
    baselineSide: {
      rate: b.errorRate,
      errors: b.errors,
      requests: b.requests,
      ...(bf ? { failures: bf } : {}),
    },
  };
  if (b.errorRate === null || t.baselineRequests === 0) {
    // No concurrent baseline: only the absolute limits can judge (minIncrease over a zero baseline, the ceiling).
    const limit = Math.min(minIncrease, max);
    const failed = enough && canaryRate > limit;
    return {
      metric: 'errorRate',
      result: failed ? 'fail' : enough ? 'pass' : 'inconclusive',
      canary: c.errorRate,
      baseline: null,
      limit,
      reason: 'noBaseline',
      facts: { ...sides },
      ...failures,
    };
  }
  const ceiling = enough && canaryRate > max;
  return {
    metric: 'errorRate',
    result: testResult(t, ceiling, enough),
    canary: c.errorRate,
    baseline: b.errorRate,
    limit: Math.min(b.errorRate * rho0, max),
    reason: testReason(t, ceiling),
    facts: { rho0, passRatio, ceiling: max, ...sides, mixedPeriods: mixedPeriods(window) },
    ...failures,
    ...sequentialEvidence(t, alpha),
  };
}

export function judgeSlowRequests(
  window: MetricWindow,
  c: VersionSummary,
  b: VersionSummary,
  policy: AnalysisPolicy,
  alpha: number,
  field: 'slow' | 'aboveMedian',
  bets: readonly Bet[] = field === 'aboveMedian' ? ABOVE_MEDIAN_BETS : BETS,
): MetricEvidence {
  const tolerance = policy.latency.slowTolerance ?? 0;
  const rho0 = 1 + tolerance;
  const passRatio = passRatioOf(policy, policy.latency.passRatio, rho0);
  const warm = afterWarmup(window, policy);
  const warmCanary = window.canary.filter(warm);
  const warmRequests = warmCanary.reduce((acc, p) => acc + p.requests, 0);
  const enough = c.requests >= policy.minRequests;
  const t = ratioTest(
    pairPeriods(window, (p) => p[field] ?? 0, warm),
    { rho0, passRatio, alpha, bets },
  );
  const tail = field === 'slow';
  const ceilingMs = policy.latency.p99MaxMs;
  const warmP99 = summarize(warmCanary).p99Ms;
  const ceiling = tail && enough && ceilingMs !== undefined && warmP99 !== null && warmP99 > ceilingMs;
  // Still warming up: latency cannot fail the canary, and it does not hold the step either.
  const warming = warmRequests === 0;
  return {
    metric: tail ? 'latencyP99' : 'latencyP50',
    result: testResult(t, ceiling, enough),
    canary: tail ? c.p99Ms : t.canaryRequests > 0 ? t.canaryEvents / t.canaryRequests : null,
    baseline: tail ? b.p99Ms : t.baselineRequests > 0 ? t.baselineEvents / t.baselineRequests : null,
    limit: tail ? (ceilingMs ?? null) : null,
    reason: warming ? 'warmingUp' : testReason(t, ceiling),
    facts: {
      rho0,
      passRatio,
      thresholdMs: (tail ? window.slowThresholdMs : window.medianThresholdMs) as number,
      warmP99Ms: warmP99,
      warmupSeconds: policy.warmupSeconds ?? DEFAULT_WARMUP_SECONDS,
      mixedPeriods: mixedPeriods(window),
      ...(tail && ceilingMs !== undefined ? { ceiling: ceilingMs } : {}),
    },
    ...sequentialEvidence(t, alpha),
  };
}

/**
 * X-Ray's statistics through the same sequential tests: failures (faults, throttles) and, with thresholds, slow
 * requests. Traces are sampled, so their count says nothing about minRequests, and the absolute ceilings are the
 * load balancer's guard rails: X-Ray fails the canary, or holds the step while it looks worse, on its sequential
 * tests alone, and never holds it for want of traces.
 */
export function judgeXRay(
  x: Omit<MetricWindow, 'xray'>,
  policy: AnalysisPolicy,
  alpha: number,
  bets: readonly Bet[] = BETS,
): MetricEvidence[] {
  const { p99MaxMs: _ceiling, ...latency } = policy.latency;
  const sequentialOnly: AnalysisPolicy = {
    ...policy,
    minRequests: 0,
    errorRate: { ...policy.errorRate, max: 1, minIncrease: 1 },
    latency,
  };
  const c = summarize(x.canary);
  const b = baselineForCanary(x.canary, x.baseline);
  const slow = hasCounts(x, 'slow');
  const alphaErrors = slow ? alpha * ERROR_ALPHA_SHARE : alpha;
  return [
    { ...judgeErrorRate(x, c, b, sequentialOnly, alphaErrors, bets), metric: 'xray.errorRate' },
    ...(slow
      ? [
          {
            ...judgeSlowRequests(x, c, b, sequentialOnly, alpha - alphaErrors, 'slow', bets),
            metric: 'xray.latency' as const,
          },
        ]
      : []),
  ];
}
