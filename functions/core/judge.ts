import type { AnalysisPolicy } from './config';
import type { LateMetrics } from './late-metrics';
import { type RatioPeriod, type RatioTest, ratioTest } from './stats/ratio';

/** One period of one version's traffic, as the load balancer reports it. Missing data is zero requests. */
export interface PeriodStats {
  /** ISO start of the period. */
  start: string;
  requests: number;
  /**
   * Failed requests: server errors the targets sent (HTTP 5xx) plus requests that got no response from a target
   * (the load balancer answered 502/503/504 itself: connection refused or reset, timeout, crash). The breakdown
   * below is optional; when given, errors = targetErrors + noResponse.
   */
  errors: number;
  /** Optional breakdown of errors: HTTP 5xx sent by the targets. */
  targetErrors?: number;
  /** Optional breakdown of errors: requests routed to a target that got no response from it. */
  noResponse?: number;
  /**
   * Optional evidence: connections to the targets that could not be established. Connections, not requests: the
   * requests they failed are already in noResponse, so this is never added to errors.
   */
  connectionErrors?: number;
  /**
   * Optional target health over the period: the most targets seen healthy and the fewest seen unhealthy. healthyHosts
   * 0 with unhealthyHosts ≥ 1 means every target was unhealthy for the whole period.
   */
  healthyHosts?: number;
  unhealthyHosts?: number;
  /** p99 of the target response time in the period, in ms; null when there was no traffic. */
  p99Ms: number | null;
  /**
   * Requests slower than the window's slowThresholdMs in the period (optional). When both versions report it, the
   * latency check is the sequential test on these counts; otherwise it falls back to comparing p99s.
   */
  slow?: number;
  /**
   * Requests slower than the window's medianThresholdMs in the period (optional): the whole-distribution latency
   * check. When both versions report it, a second sequential test runs on these counts (catches a ×1.10 shift of
   * every request that the tail count barely sees).
   */
  aboveMedian?: number;
}

export interface MetricWindow {
  from: string;
  to: string;
  periodSeconds: number;
  canary: PeriodStats[];
  baseline: PeriodStats[];
  /**
   * The latency threshold behind PeriodStats.slow, in ms: fixed for the whole window and the same for both
   * versions (e.g. the stable version's p99 before the canary started).
   */
  slowThresholdMs?: number;
  /** The threshold behind PeriodStats.aboveMedian, in ms: the stable version's median, fixed like slowThresholdMs. */
  medianThresholdMs?: number;
  /**
   * Since when the canary has had weight (> 0%) without a break (its first weight; steps only raise it): the periods
   * that start then or later are weighted, which judgeTargetHealth needs to see a canary with no target at all.
   */
  canaryWeightedFrom?: string;
  /**
   * When the canary's share of the traffic changed (each step's shift, a restore after drift). A period holding a
   * change mixes two shares: its canary requests lean to one side of the change, so anything that hits both
   * versions on that side (a slowdown, an incident) weighs more on the canary than on the baseline. Those periods
   * are left out of the paired tests (they still count as requests seen).
   */
  weightChangedAt?: string[];
  /**
   * The same versions as X-Ray's trace statistics report them (config `analysis.xray`), in the same shape:
   * judged beside the load balancer's metrics (evidence `xray.errorRate`, `xray.latency`), sharing alpha.
   */
  xray?: Omit<MetricWindow, 'xray'>;
}

export interface AlarmState {
  name: string;
  state: 'OK' | 'ALARM' | 'INSUFFICIENT_DATA';
}

export type VerdictResult = 'pass' | 'fail' | 'inconclusive';

export interface VersionSummary {
  requests: number;
  /** Failed requests (PeriodStats.errors); the breakdown below when the source gives it. */
  errors: number;
  errorRate: number | null;
  p99Ms: number | null;
  targetErrors?: number;
  noResponse?: number;
  connectionErrors?: number;
}

/** What the failed requests were: target 5xx, requests without a target response, and failed connections. */
export interface FailureCounts {
  targetErrors: number;
  noResponse: number;
  connectionErrors: number;
}

export interface MetricEvidence {
  metric:
    | 'errorRate'
    | 'latencyP99'
    | 'latencyP50'
    | 'alarms'
    | 'targetHealth'
    | 'xray.errorRate'
    | 'xray.latency';
  result: VerdictResult;
  /** The canary's value and the limit it was held to (same unit as the metric). */
  canary: number | null;
  baseline: number | null;
  limit: number | null;
  detail: string;
  /** Sequential tests only: the counts behind the test (events are errors or slow requests). */
  counts?: { canaryEvents: number; canaryRequests: number; baselineEvents: number; baselineRequests: number };
  /** Error rate only, when the source breaks failures down: what failed, per version. */
  failures?: { canary: FailureCounts; baseline: FailureCounts };
  /** Sequential tests only: estimate of canary rate / baseline rate, and its anytime-valid confidence sequence. */
  estimate?: number | null;
  interval?: { lower: number | null; upper: number | null; level: number };
  /** Sequential tests only: the e-value against "not worse than (1 + tolerance) ×", and the bar that fails it. */
  eValue?: number;
  eThreshold?: number;
  /** The evidence says the canary is not worse (the confidence sequence is below passRatio). */
  notWorse?: boolean;
  /**
   * The canary looks worse and the evidence is building (e-value ≥ √(1/α)) but is not conclusive yet: the step is
   * not passed on it (inconclusive → the bake is extended) so that a slow detection is not cut off by the bake's end.
   */
  lookingWorse?: boolean;
}

export interface Verdict {
  result: VerdictResult;
  reason: string;
  canary: VersionSummary;
  baseline: VersionSummary;
  metrics: MetricEvidence[];
  /** A pass on positive evidence that the canary is not worse: the step may be promoted before its bake ends. */
  earlyPass?: boolean;
  /** Inconclusive because the canary has not served minRequests yet: wait for traffic, never fail for it. */
  lowTraffic?: boolean;
  /** Periods judged by an earlier analysis whose counts have changed since (see core/late-metrics.ts). */
  lateMetrics?: LateMetrics;
}

/**
 * The baseline as the canary would have seen it: each period's baseline error rate and p99 weighted by the
 * canary's requests in that period. Pooling the window instead would let anything that changes over time (an
 * incident hitting both versions while the canary's share grows) weigh more on the canary than on the baseline.
 */
function baselineForCanary(canary: readonly PeriodStats[], baseline: readonly PeriodStats[]): VersionSummary {
  const byStart = new Map(baseline.map((p) => [p.start, p]));
  let weight = 0;
  let expectedErrorRate = 0;
  let p99Weight = 0;
  let expectedP99 = 0;
  for (const c of canary) {
    const b = byStart.get(c.start);
    if (!b || b.requests === 0 || c.requests === 0) continue;
    weight += c.requests;
    expectedErrorRate += c.requests * (b.errors / b.requests);
    if (b.p99Ms !== null) {
      p99Weight += c.requests;
      expectedP99 += c.requests * b.p99Ms;
    }
  }
  const pooled = summarize(baseline);
  if (weight === 0) return pooled;
  return {
    ...pooled,
    errorRate: expectedErrorRate / weight,
    p99Ms: p99Weight > 0 ? expectedP99 / p99Weight : pooled.p99Ms,
  };
}

export function summarize(periods: readonly PeriodStats[]): VersionSummary {
  let requests = 0;
  let errors = 0;
  let weightedP99 = 0;
  let p99Requests = 0;
  for (const p of periods) {
    requests += p.requests;
    errors += p.errors;
    if (p.p99Ms !== null && p.requests > 0) {
      weightedP99 += p.p99Ms * p.requests;
      p99Requests += p.requests;
    }
  }
  const failures = failureCounts(periods);
  return {
    requests,
    errors,
    errorRate: requests > 0 ? errors / requests : null,
    // A request-weighted mean of per-period p99s: the window's p99 is not derivable from period p99s exactly.
    p99Ms: p99Requests > 0 ? weightedP99 / p99Requests : null,
    ...(failures ?? {}),
  };
}

/** The failures broken down over the periods; undefined when the source gives no breakdown. */
function failureCounts(periods: readonly PeriodStats[]): FailureCounts | undefined {
  if (!periods.some((p) => p.noResponse !== undefined || p.targetErrors !== undefined)) return undefined;
  const out: FailureCounts = { targetErrors: 0, noResponse: 0, connectionErrors: 0 };
  for (const p of periods) {
    out.noResponse += p.noResponse ?? 0;
    out.targetErrors += p.targetErrors ?? p.errors - (p.noResponse ?? 0);
    out.connectionErrors += p.connectionErrors ?? 0;
  }
  return out;
}

function failureText(f: FailureCounts | undefined): string {
  if (!f) return '';
  const connections = f.connectionErrors > 0 ? ` (${f.connectionErrors} failed connections)` : '';
  return `: ${f.targetErrors} target 5xx, ${f.noResponse} without a target response${connections}`;
}

/** Default metric delay (s) when the policy does not set analysis.metricDelaySeconds (see config.ts). */
export const DEFAULT_METRIC_DELAY_SECONDS = 120;

/**
 * The last period boundary whose metrics are settled at `now`: periods ending more than `delaySeconds` ago. An
 * analysis judges [from, settledEnd) only, so no period is judged while still partial under the delay (revising a
 * judged period would weaken the sequential test's guarantee). CloudWatch documents no bound on lateness: the
 * next analysis checks that judged periods did not change (core/late-metrics.ts).
 */
export function settledEnd(now: Date, periodSeconds: number, delaySeconds: number): Date {
  const step = periodSeconds * 1000;
  return new Date(Math.floor((now.getTime() - delaySeconds * 1000) / step) * step);
}

const pct = (x: number) => `${(x * 100).toFixed(2)}%`;
const ratioText = (x: number | null) => (x === null ? '∞' : x.toFixed(2));

/** Default false-rollback level of the whole judge when the policy does not set errorRate.alpha. */
const DEFAULT_ALPHA = 0.01;

/**
 * Whether the canary's share of the traffic stayed the same over a period (no weight change in [start, end)). The
 * cut is by time, not by the data, like the warm-up: it does not affect the tests' validity.
 */
function steadyShare(window: Omit<MetricWindow, 'xray'>): (p: PeriodStats) => boolean {
  const changes = (window.weightChangedAt ?? []).map((t) => Date.parse(t));
  const length = window.periodSeconds * 1000;
  return (p) => {
    const start = Date.parse(p.start);
    return !changes.some((t) => t >= start && t < start + length);
  };
}

/** The periods with canary traffic left out of the paired tests for a weight change, said in a detail. */
function mixedNote(window: Omit<MetricWindow, 'xray'>): string {
  const steady = steadyShare(window);
  const mixed = window.canary.filter((p) => p.requests > 0 && !steady(p)).length;
  if (mixed === 0) return '';
  return `; ${mixed} ${mixed === 1 ? 'minute' : 'minutes'} with a weight change not compared`;
}

/**
 * Per-period counts of one kind of event, canary and baseline side by side (periods matched by start), leaving
 * out the periods whose canary share changed (steadyShare).
 */
function pairPeriods(
  window: Omit<MetricWindow, 'xray'>,
  events: (p: PeriodStats) => number,
  warmupFilter: (p: PeriodStats) => boolean = () => true,
): RatioPeriod[] {
  const byStart = new Map(window.baseline.map((p) => [p.start, p]));
  const steady = steadyShare(window);
  const out: RatioPeriod[] = [];
  for (const c of window.canary) {
    const b = byStart.get(c.start);
    if (!b || !warmupFilter(c) || !steady(c)) continue;
    out.push({
      canaryRequests: c.requests,
      baselineRequests: b.requests,
      canaryEvents: events(c),
      baselineEvents: events(b),
    });
  }
  return out;
}

function hasCounts(window: MetricWindow, field: 'slow' | 'aboveMedian'): boolean {
  const threshold = field === 'slow' ? window.slowThresholdMs : window.medianThresholdMs;
  if (threshold === undefined) return false;
  const all = [...window.canary, ...window.baseline].filter((p) => p.requests > 0);
  return all.length > 0 && all.every((p) => typeof p[field] === 'number');
}

/** Default warm-up (s) when the policy does not set analysis.warmupSeconds. */
const DEFAULT_WARMUP_SECONDS = 120;

/**
 * Periods after the canary's warm-up: latency is judged on these only (a new version is often slow for its first
 * minutes: JIT, caches, connection pools). Errors count from the start. The cut is by time, not by the data, so it
 * does not affect the tests' validity.
 */
function afterWarmup(window: MetricWindow, policy: AnalysisPolicy): (p: PeriodStats) => boolean {
  const warmup = policy.warmupSeconds ?? DEFAULT_WARMUP_SECONDS;
  const from = Date.parse(window.canary[0]?.start ?? window.from);
  const cut = from + warmup * 1000;
  return (p) => Date.parse(p.start) >= cut;
}

/** The share of alpha the error-rate test gets when latency tests run too (they share the rest). */
const ERROR_ALPHA_SHARE = 0.8;
/** Hold the step while the e-value is past threshold ** HOLD_EXPONENT (see lookingWorse). */
const HOLD_EXPONENT = 0.5;

/** Evidence against H0 past √(1/α) (half-way on the log scale) and not shown not-worse: hold the step. */
function lookingWorse(t: RatioTest): boolean {
  return !t.worse && !t.notWorse && t.eValue >= t.threshold ** HOLD_EXPONENT;
}

function sequentialEvidence(t: RatioTest, alpha: number) {
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
    notWorse: t.notWorse,
    lookingWorse: lookingWorse(t),
  };
}

function testText(t: RatioTest, alpha: number): string {
  return (
    `ratio ${t.estimate === null ? 'n/a' : t.estimate.toFixed(2)} ` +
    `(${((1 - alpha) * 100).toFixed(1)}% CS ${ratioText(t.lower ?? 0)}–${ratioText(t.upper)}), ` +
    `e-value ${t.eValue < 1000 ? t.eValue.toPrecision(3) : t.eValue.toExponential(1)} of ${t.threshold.toFixed(0)}`
  );
}

function judgeErrorRate(
  window: MetricWindow,
  c: VersionSummary,
  b: VersionSummary,
  policy: AnalysisPolicy,
  alpha: number,
): MetricEvidence {
  const { tolerance, max, minIncrease } = policy.errorRate;
  const rho0 = 1 + tolerance;
  const passRatio = policy.errorRate.passRatio ?? Math.max(rho0, 1.5);
  const canaryRate = c.errorRate ?? 0;
  const enough = c.requests >= policy.minRequests;
  const t = ratioTest(
    pairPeriods(window, (p) => p.errors),
    { rho0, passRatio, alpha },
  );
  // Over the same periods as the counts in the head (c and b's errors and requests).
  const cf = failureCounts(window.canary);
  const bf = failureCounts(window.baseline);
  const failures = cf && bf ? { failures: { canary: cf, baseline: bf } } : {};
  const head = `canary ${pct(canaryRate)} (${c.errors}/${c.requests}${failureText(cf)}) vs stable ${b.errorRate === null ? 'n/a' : pct(b.errorRate)} (${b.errors}/${b.requests}${failureText(bf)})`;
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
      detail: `${head}, no baseline traffic: absolute limit ${pct(limit)}`,
      ...failures,
    };
  }
  const limit = Math.min(b.errorRate * rho0, max);
  const ceiling = enough && canaryRate > max;
  const result: VerdictResult =
    t.worse || ceiling ? 'fail' : enough && !lookingWorse(t) ? 'pass' : 'inconclusive';
  const why = t.worse
    ? `shown above ${rho0.toFixed(2)}× stable`
    : ceiling
      ? `above the ${pct(max)} ceiling`
      : lookingWorse(t)
        ? `looks above ${rho0.toFixed(2)}× stable, evidence building`
        : t.notWorse
          ? `shown below ${passRatio.toFixed(2)}× stable`
          : `not shown worse than ${rho0.toFixed(2)}× stable`;
  return {
    metric: 'errorRate',
    result,
    canary: c.errorRate,
    baseline: b.errorRate,
    limit,
    detail: `${head}: ${why}; ${testText(t, alpha)}${mixedNote(window)}`,
    ...failures,
    ...sequentialEvidence(t, alpha),
  };
}

function judgeSlowRequests(
  window: MetricWindow,
  c: VersionSummary,
  b: VersionSummary,
  policy: AnalysisPolicy,
  alpha: number,
  field: 'slow' | 'aboveMedian',
): MetricEvidence {
  const tolerance = policy.latency.slowTolerance ?? 0;
  const rho0 = 1 + tolerance;
  const passRatio = policy.latency.passRatio ?? Math.max(rho0, 1.5);
  const warm = afterWarmup(window, policy);
  const warmCanary = window.canary.filter(warm);
  const warmRequests = warmCanary.reduce((acc, p) => acc + p.requests, 0);
  const enough = c.requests >= policy.minRequests;
  const t = ratioTest(
    pairPeriods(window, (p) => p[field] ?? 0, warm),
    // Shifts of the whole distribution move the share above the median by little (×1.10 latency ≈ ×1.15 share).
    { rho0, passRatio, alpha, guess: field === 'slow' ? 2 : 1.2 },
  );
  const tail = field === 'slow';
  const ceilingMs = policy.latency.p99MaxMs;
  const warmP99 = summarize(warmCanary).p99Ms;
  const ceiling = tail && enough && ceilingMs !== undefined && warmP99 !== null && warmP99 > ceilingMs;
  const warming = warmRequests === 0;
  // Still warming up: latency cannot fail the canary, and it does not hold the step either.
  const result: VerdictResult =
    t.worse || ceiling ? 'fail' : enough && !lookingWorse(t) ? 'pass' : 'inconclusive';
  const threshold = (tail ? window.slowThresholdMs : window.medianThresholdMs) as number;
  const share = (e: number, r: number) => (r > 0 ? pct(e / r) : 'n/a');
  const what = tail ? 'slow share' : 'share above the median';
  const why = warming
    ? `warming up (first ${policy.warmupSeconds ?? DEFAULT_WARMUP_SECONDS} s not judged on latency)`
    : t.worse
      ? `${what} shown above ${rho0.toFixed(2)}× stable`
      : ceiling
        ? `p99 ${warmP99?.toFixed(0)} ms above the ${ceilingMs} ms ceiling`
        : lookingWorse(t)
          ? `${what} looks above ${rho0.toFixed(2)}× stable, evidence building`
          : t.notWorse
            ? `${what} shown below ${passRatio.toFixed(2)}× stable`
            : `${what} not shown worse than ${rho0.toFixed(2)}× stable`;
  return {
    metric: tail ? 'latencyP99' : 'latencyP50',
    result,
    canary: tail ? c.p99Ms : t.canaryRequests > 0 ? t.canaryEvents / t.canaryRequests : null,
    baseline: tail ? b.p99Ms : t.baselineRequests > 0 ? t.baselineEvents / t.baselineRequests : null,
    limit: tail ? (ceilingMs ?? null) : null,
    detail:
      `canary ${share(t.canaryEvents, t.canaryRequests)} (${t.canaryEvents}/${t.canaryRequests}) slower than ${Number(threshold.toFixed(1))} ms ` +
      `vs stable ${share(t.baselineEvents, t.baselineRequests)} (${t.baselineEvents}/${t.baselineRequests}): ${why}; ${testText(t, alpha)}${mixedNote(window)}`,
    ...sequentialEvidence(t, alpha),
  };
}

/** Fallback when the source has no slow-request counts: the canary's p99 against the baseline's (a point check). */
function judgeLatencyP99(
  window: MetricWindow,
  all: VersionSummary,
  all0: VersionSummary,
  policy: AnalysisPolicy,
): MetricEvidence {
  const { p99Tolerance, p99MinIncreaseMs, p99MaxMs } = policy.latency;
  // The canary's p99 after its warm-up, against the baseline over the same periods; during the warm-up latency is
  // not judged (it neither fails nor holds).
  const warmCanary = window.canary.filter(afterWarmup(window, policy));
  const c = summarize(warmCanary);
  const b = warmCanary.length < window.canary.length ? baselineForCanary(warmCanary, window.baseline) : all0;
  if (c.requests === 0 && all.requests > 0) {
    return {
      metric: 'latencyP99',
      result: all.requests >= policy.minRequests ? 'pass' : 'inconclusive',
      canary: all.p99Ms,
      baseline: b.p99Ms,
      limit: null,
      detail: `canary warming up (first ${policy.warmupSeconds ?? DEFAULT_WARMUP_SECONDS} s not judged on latency)`,
    };
  }
  if (c.p99Ms === null) {
    return {
      metric: 'latencyP99',
      result: 'inconclusive',
      canary: null,
      baseline: b.p99Ms,
      limit: null,
      detail: 'no canary latency data',
    };
  }
  let limit = p99MaxMs ?? Number.POSITIVE_INFINITY;
  if (b.p99Ms !== null)
    limit = Math.min(limit, Math.max(b.p99Ms * (1 + p99Tolerance), b.p99Ms + p99MinIncreaseMs));
  const failed = c.p99Ms > limit;
  const enough = all.requests >= policy.minRequests;
  const limitText = Number.isFinite(limit) ? `${limit.toFixed(0)} ms` : 'none';
  return {
    metric: 'latencyP99',
    result: !enough ? 'inconclusive' : failed ? 'fail' : 'pass',
    canary: c.p99Ms,
    baseline: b.p99Ms,
    limit: Number.isFinite(limit) ? limit : null,
    detail: `canary p99 ${c.p99Ms.toFixed(0)} ms vs stable ${b.p99Ms === null ? 'n/a' : `${b.p99Ms.toFixed(0)} ms`}, limit ${limitText}`,
  };
}

/** The share of alpha X-Ray's tests get when the window carries X-Ray statistics (the load balancer's get the rest). */
const XRAY_ALPHA_SHARE = 0.5;

/**
 * X-Ray's statistics through the same sequential tests: failures (faults, throttles) and, with thresholds, slow
 * requests. Traces are sampled, so their count says nothing about minRequests, and the absolute ceilings are the
 * load balancer's guard rails: X-Ray fails the canary, or holds the step while it looks worse, on its sequential
 * tests alone, and never holds it for want of traces.
 */
function judgeXRay(x: Omit<MetricWindow, 'xray'>, policy: AnalysisPolicy, alpha: number): MetricEvidence[] {
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
  const tag = (m: MetricEvidence, metric: MetricEvidence['metric']): MetricEvidence => ({
    ...m,
    metric,
    detail: `X-Ray ${m.detail}`,
  });
  return [
    tag(judgeErrorRate(x, c, b, sequentialOnly, alphaErrors), 'xray.errorRate'),
    ...(slow
      ? [tag(judgeSlowRequests(x, c, b, sequentialOnly, alpha - alphaErrors, 'slow'), 'xray.latency')]
      : []),
  ];
}

/**
 * Guard rail on the canary target group's health (ALB's HealthyHostCount and UnHealthyHostCount). It fails when, in
 * a period where the canary had traffic, every canary target was unhealthy for the whole period (no healthy target
 * seen, at least one unhealthy) while the stable version had a healthy target: the load balancer's own health checks
 * say the canary cannot serve, and since ALB routes to all targets when all are unhealthy (fail open, "Health
 * checks for Application Load Balancer target groups"), its users keep reaching them. It also fails when, in a
 * period where the canary had weight (window.canaryWeightedFrom), no canary target was healthy at all while stable
 * had one, whatever the unhealthy count and the canary's requests: with no target registered (ECS stopped the
 * crashed tasks) ALB answers 503 itself, and those requests are in no per-target-group count (RequestCount counts
 * only requests where a target was chosen, "CloudWatch metrics for your Application Load Balancer"), so the
 * canary's error rate never sees them. Some unhealthy targets are evidence only (a task being replaced). Undefined
 * when the source reports no target health.
 */
function judgeTargetHealth(window: MetricWindow): MetricEvidence | undefined {
  const reported = window.canary.filter(
    (p) => p.unhealthyHosts !== undefined || p.healthyHosts !== undefined,
  );
  if (reported.length === 0) return undefined;
  const baseline = new Map(window.baseline.map((p) => [p.start, p]));
  const weightedFrom = window.canaryWeightedFrom ? Date.parse(window.canaryWeightedFrom) : undefined;
  const stableHealthy = (p: PeriodStats) => baseline.get(p.start)?.healthyHosts;
  const down = reported.filter(
    (p) =>
      p.requests > 0 && p.healthyHosts === 0 && (p.unhealthyHosts ?? 0) >= 1 && (stableHealthy(p) ?? 1) > 0,
  );
  const empty = reported.filter(
    (p) =>
      weightedFrom !== undefined &&
      Date.parse(p.start) >= weightedFrom &&
      p.healthyHosts === 0 &&
      (stableHealthy(p) ?? 0) > 0,
  );
  const worst = Math.max(...reported.map((p) => p.unhealthyHosts ?? 0));
  if (empty.length > 0) {
    return {
      metric: 'targetHealth',
      result: 'fail',
      canary: worst,
      baseline: null,
      limit: 0,
      detail: `no healthy canary target for ${empty.length} whole minute(s) with weight (from ${empty[0]?.start}), stable healthy`,
    };
  }
  if (down.length > 0) {
    return {
      metric: 'targetHealth',
      result: 'fail',
      canary: worst,
      baseline: null,
      limit: 0,
      detail: `every canary target unhealthy for ${down.length} whole minute(s) with traffic (from ${down[0]?.start}), stable healthy`,
    };
  }
  return {
    metric: 'targetHealth',
    result: 'pass',
    canary: worst,
    baseline: null,
    limit: null,
    detail:
      worst > 0 ? `up to ${worst} unhealthy canary target(s), never all of them` : 'canary targets healthy',
  };
}

function judgeAlarms(alarms: readonly AlarmState[]): MetricEvidence {
  const firing = alarms.filter((a) => a.state === 'ALARM').map((a) => a.name);
  return {
    metric: 'alarms',
    result: firing.length > 0 ? 'fail' : 'pass',
    canary: firing.length,
    baseline: null,
    limit: 0,
    detail: firing.length > 0 ? `in ALARM: ${firing.join(', ')}` : `${alarms.length} gating alarm(s) OK`,
  };
}

/**
 * Compare the canary with the concurrent baseline over the window since the canary started.
 *
 * - Error rate: an anytime-valid sequential test (stats/ratio.ts) of "canary error rate > (1 + tolerance) ×
 *   baseline's" on per-period counts, conditioned on each period's total errors: valid at every evaluation, immune
 *   to changes that hit both versions alike and to canary weight changes. The absolute ceiling is a guard rail.
 * - Latency: the same test on slow-request counts (above the baseline's p99) when the source provides them, and on
 *   counts above the baseline's median when it provides those too (whole-distribution shifts); else the p99
 *   comparison. The canary's first warmupSeconds (default 120) are not judged on latency; errors count from the start.
 * - Alarms: a guard rail that fails at any traffic; so does a canary whose targets were all unhealthy for a whole
 *   period with traffic (judgeTargetHealth).
 * - The sequential tests share alpha (Bonferroni), so the whole judge fails an acceptable canary with probability
 *   ≤ alpha however often it runs: with slow-request counts the error-rate test gets ERROR_ALPHA_SHARE (80%) and
 *   the latency tests split the rest evenly; without them (the p99 comparison) the error-rate test gets it all.
 *   With X-Ray statistics in the window the two sources split alpha first (XRAY_ALPHA_SHARE to X-Ray, the rest to
 *   the load balancer's tests), then each splits its share as above.
 * - Hold: a test whose e-value is past √(1/alpha) (the canary looks worse, evidence building) makes the verdict
 *   inconclusive instead of pass, so the bake is extended rather than the step passed. Under onInconclusive
 *   'rollback' a hold that outlasts maxExtensions rolls back with less evidence than 1/alpha: that path is outside
 *   the alpha guarantee (measured in bench/judge: the 'sequential' judge runs the production extension rules).
 * - Below minRequests canary requests nothing passes (inconclusive: the step is extended); a failure needs evidence
 *   (e-value ≥ 1/alpha), never a lack of data.
 * - earlyPass: every sequential test shows the canary not worse (its confidence sequence below passRatio).
 */
export function judge(window: MetricWindow, alarms: readonly AlarmState[], policy: AnalysisPolicy): Verdict {
  const canary = summarize(window.canary);
  const baseline = baselineForCanary(window.canary, window.baseline);
  const alarmEvidence = judgeAlarms(alarms);
  if (alarmEvidence.result === 'fail') {
    return { result: 'fail', reason: alarmEvidence.detail, canary, baseline, metrics: [alarmEvidence] };
  }
  const alphaAll = policy.errorRate.alpha ?? DEFAULT_ALPHA;
  // Two sources judge the same canary: Bonferroni over them too, so the whole judge keeps alpha.
  const alpha = window.xray ? alphaAll * (1 - XRAY_ALPHA_SHARE) : alphaAll;
  const slow = hasCounts(window, 'slow');
  const median = hasCounts(window, 'aboveMedian');
  const latencyTests = (slow ? 1 : 0) + (median ? 1 : 0);
  const health = judgeTargetHealth(window);
  // Bonferroni: the error test gets most of alpha (errors matter most), the latency tests share the rest.
  const alphaErrors = latencyTests > 0 ? alpha * ERROR_ALPHA_SHARE : alpha;
  const alphaLatency = latencyTests > 0 ? (alpha - alphaErrors) / latencyTests : 0;
  const metrics = [
    judgeErrorRate(window, canary, baseline, policy, alphaErrors),
    slow
      ? judgeSlowRequests(window, canary, baseline, policy, alphaLatency, 'slow')
      : judgeLatencyP99(window, canary, baseline, policy),
    ...(median ? [judgeSlowRequests(window, canary, baseline, policy, alphaLatency, 'aboveMedian')] : []),
    ...(health ? [health] : []),
    ...(window.xray
      ? judgeXRay(
          {
            ...window.xray,
            ...(window.weightChangedAt ? { weightChangedAt: window.weightChangedAt } : {}),
          },
          policy,
          alphaAll - alpha,
        )
      : []),
    alarmEvidence,
  ];
  const failed = metrics.filter((m) => m.result === 'fail');
  if (failed.length > 0) {
    return {
      result: 'fail',
      reason: failed.map((m) => `${m.metric}: ${m.detail}`).join('; '),
      canary,
      baseline,
      metrics,
      earlyPass: false,
    };
  }
  if (canary.requests < policy.minRequests) {
    return {
      result: 'inconclusive',
      reason: `not enough canary traffic yet: ${canary.requests} of ${policy.minRequests} requests`,
      canary,
      baseline,
      metrics,
      earlyPass: false,
      lowTraffic: true,
    };
  }
  const unsure = metrics.filter((m) => m.result === 'inconclusive');
  if (unsure.length > 0) {
    return {
      result: 'inconclusive',
      reason: unsure.map((m) => m.detail).join('; '),
      canary,
      baseline,
      metrics,
      earlyPass: false,
    };
  }
  const sequential = metrics.filter((m) => m.notWorse !== undefined);
  const earlyPass = sequential.length > 0 && sequential.every((m) => m.notWorse === true);
  return {
    result: 'pass',
    reason: `${earlyPass ? 'not worse (early pass): ' : ''}${metrics.map((m) => m.detail).join('; ')}`,
    canary,
    baseline,
    metrics,
    earlyPass,
  };
}
