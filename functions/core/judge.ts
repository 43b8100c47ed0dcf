import type { AnalysisPolicy } from './config';

/** One period of one version's traffic, as the load balancer reports it. Missing data is zero requests. */
export interface PeriodStats {
  /** ISO start of the period. */
  start: string;
  requests: number;
  /** Server errors (HTTP 5xx from the targets). */
  errors: number;
  /** p99 of the target response time in the period, in ms; null when there was no traffic. */
  p99Ms: number | null;
}

export interface MetricWindow {
  from: string;
  to: string;
  periodSeconds: number;
  canary: PeriodStats[];
  baseline: PeriodStats[];
}

export interface AlarmState {
  name: string;
  state: 'OK' | 'ALARM' | 'INSUFFICIENT_DATA';
}

export type VerdictResult = 'pass' | 'fail' | 'inconclusive';

export interface VersionSummary {
  requests: number;
  errors: number;
  errorRate: number | null;
  p99Ms: number | null;
}

export interface MetricEvidence {
  metric: 'errorRate' | 'latencyP99' | 'alarms';
  result: VerdictResult;
  /** The canary's value and the limit it was held to (same unit as the metric). */
  canary: number | null;
  baseline: number | null;
  limit: number | null;
  detail: string;
}

export interface Verdict {
  result: VerdictResult;
  reason: string;
  canary: VersionSummary;
  baseline: VersionSummary;
  metrics: MetricEvidence[];
}

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
    requests: pooled.requests,
    errors: pooled.errors,
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
  return {
    requests,
    errors,
    errorRate: requests > 0 ? errors / requests : null,
    // A request-weighted mean of per-period p99s: the window's p99 is not derivable from period p99s exactly.
    p99Ms: p99Requests > 0 ? weightedP99 / p99Requests : null,
  };
}

const pct = (x: number) => `${(x * 100).toFixed(2)}%`;

function judgeErrorRate(c: VersionSummary, b: VersionSummary, policy: AnalysisPolicy): MetricEvidence {
  const canaryRate = c.errorRate ?? 0;
  const baselineRate = b.errorRate ?? 0;
  const relativeLimit = Math.max(
    baselineRate * (1 + policy.errorRate.tolerance),
    baselineRate + policy.errorRate.minIncrease,
  );
  const limit = Math.min(relativeLimit, policy.errorRate.max);
  const failed = canaryRate > limit;
  return {
    metric: 'errorRate',
    result: failed ? 'fail' : 'pass',
    canary: canaryRate,
    baseline: b.errorRate,
    limit,
    detail: `canary ${pct(canaryRate)} (${c.errors}/${c.requests}) vs stable ${pct(baselineRate)} (${b.errors}/${b.requests}), limit ${pct(limit)}`,
  };
}

function judgeLatency(c: VersionSummary, b: VersionSummary, policy: AnalysisPolicy): MetricEvidence {
  const { p99Tolerance, p99MinIncreaseMs, p99MaxMs } = policy.latency;
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
  const limitText = Number.isFinite(limit) ? `${limit.toFixed(0)} ms` : 'none';
  return {
    metric: 'latencyP99',
    result: failed ? 'fail' : 'pass',
    canary: c.p99Ms,
    baseline: b.p99Ms,
    limit: Number.isFinite(limit) ? limit : null,
    detail: `canary p99 ${c.p99Ms.toFixed(0)} ms vs stable ${b.p99Ms === null ? 'n/a' : `${b.p99Ms.toFixed(0)} ms`}, limit ${limitText}`,
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
 * Compare the canary with the concurrent baseline over the window since the canary started. Below the
 * minimum canary request count the verdict is inconclusive (the step is extended), never a failure; alarms are
 * a guard rail that fails at any traffic.
 */
export function judge(window: MetricWindow, alarms: readonly AlarmState[], policy: AnalysisPolicy): Verdict {
  const canary = summarize(window.canary);
  const baseline = baselineForCanary(window.canary, window.baseline);
  const alarmEvidence = judgeAlarms(alarms);
  if (alarmEvidence.result === 'fail') {
    return { result: 'fail', reason: alarmEvidence.detail, canary, baseline, metrics: [alarmEvidence] };
  }
  if (canary.requests < policy.minRequests) {
    return {
      result: 'inconclusive',
      reason: `not enough canary traffic yet: ${canary.requests} of ${policy.minRequests} requests`,
      canary,
      baseline,
      metrics: [alarmEvidence],
    };
  }
  const metrics = [
    judgeErrorRate(canary, baseline, policy),
    judgeLatency(canary, baseline, policy),
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
    };
  }
  return { result: 'pass', reason: metrics.map((m) => m.detail).join('; '), canary, baseline, metrics };
}
