/**
 * What the judge reads and what it returns: periods of traffic per version, and a verdict made of numbers and
 * reason codes (functions/views words them for people).
 */
import type { LateMetrics } from './late-metrics';

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

/**
 * One period of one version's custom metric (config `analysis.metrics`): a gauge's value, or a counts metric's good,
 * bad and total events (the two the metric queries). A missing value is no data for the period.
 */
export interface CustomPoint {
  start: string;
  value?: number;
  good?: number;
  bad?: number;
  total?: number;
}

/** A custom metric's periods for both versions, by the metric's name. */
export interface CustomSeries {
  name: string;
  canary: CustomPoint[];
  baseline: CustomPoint[];
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
  /** The custom metrics' periods (config `analysis.metrics` and the ECS deployer's), judged by core/custom-checks.ts. */
  custom?: CustomSeries[];
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

/**
 * Why one check came out as it did.
 * - The sequential tests (error rate, slow shares): shownWorse (e-value past 1/α: fails), aboveCeiling (the
 *   absolute guard rail: fails), lookingWorse (evidence building: holds the step), shownNotWorse (shown below
 *   passRatio), notShownWorse; the error rate's noBaseline (no concurrent stable traffic: judged on
 *   the absolute limit only); warmingUp (latency not judged in the canary's first minutes).
 * - The p99 comparison (no slow-request counts): warmingUp, noLatencyData, p99Compared.
 * - Target health: noHealthyTarget, allUnhealthy (both fail), someUnhealthy, healthy.
 * - Alarms: alarmsFiring, alarmsOk.
 * - Custom metrics (core/custom-checks.ts): the sequential reasons above, lowData (below the metric's minData: holds
 *   the step when critical), noBaseline (no minute both versions served: absolute bounds only), aboveCeiling and
 *   belowFloor (a gauge's max and min).
 */
export type EvidenceReason =
  | 'shownWorse'
  | 'aboveCeiling'
  | 'lookingWorse'
  | 'shownNotWorse'
  | 'notShownWorse'
  | 'noBaseline'
  | 'warmingUp'
  | 'noLatencyData'
  | 'p99Compared'
  | 'noHealthyTarget'
  | 'allUnhealthy'
  | 'someUnhealthy'
  | 'healthy'
  | 'alarmsFiring'
  | 'alarmsOk'
  | 'lowData'
  | 'belowFloor';

/** One version's side of the error-rate check: its rate, its counts and, when the source gives it, what failed. */
export interface RateSide {
  rate: number | null;
  errors: number;
  requests: number;
  failures?: FailureCounts;
}

/** The figures behind a check's reason (each check fills the ones it uses). */
export interface EvidenceFacts {
  /**
   * Sequential tests: the ratio the canary is held to (1 + tolerance) and the one it must be shown below to pass early
   * (its passRatio, else analysis.minimumRegression).
   */
  rho0?: number;
  passRatio?: number;
  /** The absolute ceiling: an error rate (error rate) or a p99 in ms (latency). */
  ceiling?: number;
  /** Error rate: both versions over the whole window. */
  canarySide?: RateSide;
  baselineSide?: RateSide;
  /** Slow shares: the latency the requests are counted above (ms), and the canary's p99 after its warm-up. */
  thresholdMs?: number;
  warmP99Ms?: number | null;
  /** The canary's warm-up (s) not judged on latency. */
  warmupSeconds?: number;
  /** Periods with canary traffic left out of the paired tests because the canary's share changed in them. */
  mixedPeriods?: number;
  /** Target health: the whole minutes the canary could not serve, from when. */
  minutes?: number;
  from?: string;
  /** Alarms: the gating alarms in ALARM, and how many gate the rollout. */
  firing?: string[];
  alarmCount?: number;
  /** Custom metrics: what the metric is, whether it only reports, and the data it has against what it needs. */
  kind?: 'counts' | 'gauge';
  direction?: 'higherIsWorse' | 'lowerIsWorse';
  advisory?: boolean;
  minData?: number;
  data?: number;
  /** Gauges: the absolute floor on the canary's level (belowFloor). */
  floor?: number;
  /**
   * Gauges: the confidence sequence that decided, for the mean per-period difference (positive: worse) between the
   * canary and `factor` × stable's value; null bounds are unbounded (too few periods).
   */
  difference?: {
    factor: number;
    mean: number | null;
    lower: number | null;
    upper: number | null;
    level: number;
  };
}

export interface MetricEvidence {
  metric:
    | 'errorRate'
    | 'latencyP99'
    | 'latencyP50'
    | 'alarms'
    | 'targetHealth'
    | 'xray.errorRate'
    | 'xray.latency'
    | `custom.${string}`;
  result: VerdictResult;
  /** The canary's value and the limit it was held to (same unit as the metric). */
  canary: number | null;
  baseline: number | null;
  limit: number | null;
  /** Why the check came out as it did (views/evidence.ts words it). */
  reason: EvidenceReason;
  /** The figures the reason speaks of, besides the ones above. */
  facts: EvidenceFacts;
  /** Sequential tests only: the counts behind the test (events are errors or slow requests). */
  counts?: { canaryEvents: number; canaryRequests: number; baselineEvents: number; baselineRequests: number };
  /** Error rate only, when the source breaks failures down: what failed, per version. */
  failures?: { canary: FailureCounts; baseline: FailureCounts };
  /**
   * Sequential tests only: estimate of canary rate / baseline rate, and the bounds the two tests give at level 1 − α
   * (each a one-sided confidence sequence): lower is above rho0 exactly when the test shows the canary worse, upper
   * below passRatio exactly when it shows it not worse (stats/ratio.ts).
   */
  estimate?: number | null;
  interval?: { lower: number | null; upper: number | null; level: number };
  /** Sequential tests only: the e-value against "not worse than rho0 ×", and the bar (1/α) that fails it. */
  eValue?: number;
  eThreshold?: number;
  /** Sequential tests only: the e-value against "passRatio × or worse" (the smallest regression that matters). */
  eValueNotWorse?: number;
  /** The evidence says the canary is below passRatio × stable (eValueNotWorse ≥ eThreshold): it may pass early. */
  notWorse?: boolean;
  /**
   * The canary looks worse and the evidence is building (e-value ≥ √(1/α)) but is not conclusive yet: the step is
   * not passed on it (inconclusive → the bake is extended) so that a slow detection is not cut off by the bake's end.
   */
  lookingWorse?: boolean;
}

/**
 * Why a verdict is what it is: an alarm firing (fails at once, judged on alarms alone), a check that failed, too
 * little canary traffic, a check not settled (warming up, no data, evidence building), or a pass (early when every
 * sequential test shows the canary not worse).
 */
export type VerdictReason =
  | 'alarmFiring'
  | 'checkFailed'
  | 'lowTraffic'
  | 'lowData'
  | 'unsettled'
  | 'passed'
  | 'notWorse';

export interface Verdict {
  result: VerdictResult;
  reason: VerdictReason;
  /** The policy's minRequests, the bar lowTraffic speaks of. */
  minRequests: number;
  canary: VersionSummary;
  baseline: VersionSummary;
  metrics: MetricEvidence[];
  /** A pass on positive evidence that the canary is not worse: the step may be promoted before its bake ends. */
  earlyPass?: boolean;
  /**
   * Inconclusive because the canary has not served minRequests yet, or a critical custom metric lacks its minData
   * (reason lowData): wait for traffic, never fail for it.
   */
  lowTraffic?: boolean;
  /** Periods judged by an earlier analysis whose counts have changed since (see core/late-metrics.ts). */
  lateMetrics?: LateMetrics;
}
