/**
 * The judge's point checks: the p99 comparison (when the source has no slow-request counts) and the guard rails
 * that fail at any traffic, target health and the gating alarms.
 */
import type { AnalysisPolicy } from './config';
import { afterWarmup, baselineForCanary, DEFAULT_WARMUP_SECONDS, summarize } from './metric-window';
import type { AlarmState, MetricEvidence, MetricWindow, PeriodStats, VersionSummary } from './verdict';

/** Fallback when the source has no slow-request counts: the canary's p99 against the baseline's (a point check). */
export function judgeLatencyP99(
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
      reason: 'warmingUp',
      facts: { warmupSeconds: policy.warmupSeconds ?? DEFAULT_WARMUP_SECONDS },
    };
  }
  if (c.p99Ms === null) {
    return {
      metric: 'latencyP99',
      result: 'inconclusive',
      canary: null,
      baseline: b.p99Ms,
      limit: null,
      reason: 'noLatencyData',
      facts: {},
    };
  }
  let limit = p99MaxMs ?? Number.POSITIVE_INFINITY;
  if (b.p99Ms !== null)
    limit = Math.min(limit, Math.max(b.p99Ms * (1 + p99Tolerance), b.p99Ms + p99MinIncreaseMs));
  const failed = c.p99Ms > limit;
  const enough = all.requests >= policy.minRequests;
  return {
    metric: 'latencyP99',
    result: !enough ? 'inconclusive' : failed ? 'fail' : 'pass',
    canary: c.p99Ms,
    baseline: b.p99Ms,
    limit: Number.isFinite(limit) ? limit : null,
    reason: 'p99Compared',
    facts: {},
  };
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
export function judgeTargetHealth(window: MetricWindow): MetricEvidence | undefined {
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
      reason: 'noHealthyTarget',
      facts: { minutes: empty.length, from: empty[0]?.start as string },
    };
  }
  if (down.length > 0) {
    return {
      metric: 'targetHealth',
      result: 'fail',
      canary: worst,
      baseline: null,
      limit: 0,
      reason: 'allUnhealthy',
      facts: { minutes: down.length, from: down[0]?.start as string },
    };
  }
  return {
    metric: 'targetHealth',
    result: 'pass',
    canary: worst,
    baseline: null,
    limit: null,
    reason: worst > 0 ? 'someUnhealthy' : 'healthy',
    facts: {},
  };
}

export function judgeAlarms(alarms: readonly AlarmState[]): MetricEvidence {
  const firing = alarms.filter((a) => a.state === 'ALARM').map((a) => a.name);
  return {
    metric: 'alarms',
    result: firing.length > 0 ? 'fail' : 'pass',
    canary: firing.length,
    baseline: null,
    limit: 0,
    reason: firing.length > 0 ? 'alarmsFiring' : 'alarmsOk',
    facts: { firing, alarmCount: alarms.length },
  };
}
