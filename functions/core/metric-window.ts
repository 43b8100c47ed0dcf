/**
 * The metric window seen from the judge: each version summed up, the baseline weighted as the canary saw it, the
 * periods paired for the sequential tests (leaving out those whose canary share changed), the warm-up cut and
 * which periods are settled.
 */
import type { AnalysisPolicy } from './config';
import type { RatioPeriod } from './stats/ratio';
import type { FailureCounts, MetricWindow, PeriodStats, VersionSummary } from './verdict';

/**
 * The baseline as the canary would have seen it: each period's baseline error rate and p99 weighted by the
 * canary's requests in that period. Pooling the window instead would let anything that changes over time (an
 * incident hitting both versions while the canary's share grows) weigh more on the canary than on the baseline.
 */
export function baselineForCanary(
  canary: readonly PeriodStats[],
  baseline: readonly PeriodStats[],
): VersionSummary {
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
export function failureCounts(periods: readonly PeriodStats[]): FailureCounts | undefined {
  if (!periods.some((p) => p.noResponse !== undefined || p.targetErrors !== undefined)) return undefined;
  const out: FailureCounts = { targetErrors: 0, noResponse: 0, connectionErrors: 0 };
  for (const p of periods) {
    out.noResponse += p.noResponse ?? 0;
    out.targetErrors += p.targetErrors ?? p.errors - (p.noResponse ?? 0);
    out.connectionErrors += p.connectionErrors ?? 0;
  }
  return out;
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

/**
 * Whether the canary's share of the traffic stayed the same over a period (no weight change in [start, end)). The
 * cut is by time, not by the data, like the warm-up: it does not affect the tests' validity.
 */
export function steadyShare(
  window: Pick<MetricWindow, 'weightChangedAt' | 'periodSeconds'>,
): (p: { start: string }) => boolean {
  const changes = (window.weightChangedAt ?? []).map((t) => Date.parse(t));
  const length = window.periodSeconds * 1000;
  return (p) => {
    const start = Date.parse(p.start);
    return !changes.some((t) => t >= start && t < start + length);
  };
}

/** How many periods with canary traffic the paired tests leave out for a weight change. */
export function mixedPeriods(window: Omit<MetricWindow, 'xray'>): number {
  const steady = steadyShare(window);
  return window.canary.filter((p) => p.requests > 0 && !steady(p)).length;
}

/**
 * Per-period counts of one kind of event, canary and baseline side by side (periods matched by start), leaving
 * out the periods whose canary share changed (steadyShare).
 */
export function pairPeriods(
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

export function hasCounts(window: MetricWindow, field: 'slow' | 'aboveMedian'): boolean {
  const threshold = field === 'slow' ? window.slowThresholdMs : window.medianThresholdMs;
  if (threshold === undefined) return false;
  const all = [...window.canary, ...window.baseline].filter((p) => p.requests > 0);
  return all.length > 0 && all.every((p) => typeof p[field] === 'number');
}

/** Default warm-up (s) when the policy does not set analysis.warmupSeconds. */
export const DEFAULT_WARMUP_SECONDS = 120;

/**
 * Periods after the canary's warm-up: latency is judged on these only (a new version is often slow for its first
 * minutes: JIT, caches, connection pools). Errors count from the start. The cut is by time, not by the data, so it
 * does not affect the tests' validity.
 */
export function afterWarmup(window: MetricWindow, policy: AnalysisPolicy): (p: PeriodStats) => boolean {
  const warmup = policy.warmupSeconds ?? DEFAULT_WARMUP_SECONDS;
  const from = Date.parse(window.canary[0]?.start ?? window.from);
  const cut = from + warmup * 1000;
  return (p) => Date.parse(p.start) >= cut;
}
