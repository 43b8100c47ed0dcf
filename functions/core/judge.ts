/**
 * The judge: canary against the concurrent baseline over the window since the canary started. It returns numbers
 * and reason codes (core/verdict.ts); functions/views words them for people. The checks are in
 * sequential-checks.ts and point-checks.ts, the window's arithmetic in metric-window.ts.
 */
import type { AnalysisPolicy } from './config';
import { CUSTOM_ALPHA_SHARE, judgeCustomMetrics } from './custom-checks';
import type { CustomMetricConfig } from './custom-metrics';
import { baselineForCanary, hasCounts, summarize } from './metric-window';
import { judgeAlarms, judgeLatencyP99, judgeTargetHealth } from './point-checks';
import {
  ERROR_ALPHA_SHARE,
  judgeErrorRate,
  judgeSlowRequests,
  judgeXRay,
  XRAY_ALPHA_SHARE,
} from './sequential-checks';
import type { Bet } from './stats/ratio';
import type { AlarmState, MetricEvidence, MetricWindow, Verdict, VersionSummary } from './verdict';

export {
  DEFAULT_METRIC_DELAY_SECONDS,
  settledEnd,
  summarize,
} from './metric-window';
export type {
  AlarmState,
  EvidenceFacts,
  EvidenceReason,
  FailureCounts,
  MetricEvidence,
  MetricWindow,
  PeriodStats,
  RateSide,
  Verdict,
  VerdictReason,
  VerdictResult,
  VersionSummary,
} from './verdict';

/** Default false-rollback level of the whole judge when the policy does not set errorRate.alpha. */
const DEFAULT_ALPHA = 0.01;

/**
 * Every check but the alarms', alpha shared as the judge's comment says: the error rate, the latency (slow shares
 * or the p99 comparison), target health, and X-Ray's tests when the window carries its statistics.
 */
function checks(
  window: MetricWindow,
  canary: VersionSummary,
  baseline: VersionSummary,
  policy: AnalysisPolicy,
  alphaAll: number,
  bets: readonly Bet[] | undefined,
): MetricEvidence[] {
  // Two sources judge the same canary: Bonferroni over them too, so the whole judge keeps alpha.
  const alpha = window.xray ? alphaAll * (1 - XRAY_ALPHA_SHARE) : alphaAll;
  const slow = hasCounts(window, 'slow');
  const median = hasCounts(window, 'aboveMedian');
  const latencyTests = (slow ? 1 : 0) + (median ? 1 : 0);
  const health = judgeTargetHealth(window);
  // Bonferroni: the error test gets most of alpha (errors matter most), the latency tests share the rest.
  const alphaErrors = latencyTests > 0 ? alpha * ERROR_ALPHA_SHARE : alpha;
  const alphaLatency = latencyTests > 0 ? (alpha - alphaErrors) / latencyTests : 0;
  return [
    judgeErrorRate(window, canary, baseline, policy, alphaErrors, bets),
    slow
      ? judgeSlowRequests(window, canary, baseline, policy, alphaLatency, 'slow', bets)
      : judgeLatencyP99(window, canary, baseline, policy),
    ...(median
      ? [judgeSlowRequests(window, canary, baseline, policy, alphaLatency, 'aboveMedian', bets)]
      : []),
    ...(health ? [health] : []),
    ...(window.xray
      ? judgeXRay(
          {
            ...window.xray,
            ...(window.weightChangedAt ? { weightChangedAt: window.weightChangedAt } : {}),
          },
          policy,
          alphaAll - alpha,
          bets,
        )
      : []),
  ];
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
 * - earlyPass: every sequential test shows the canary below its passRatio (analysis.minimumRegression by default).
 * - Custom metrics (core/custom-checks.ts), when the rollout has any: the critical ones share CUSTOM_ALPHA_SHARE of
 *   alpha and judge like the others (a fail fails, missing data or evidence building holds, early pass needs them
 *   shown not worse too); advisory ones are in the evidence only.
 *
 * `bets`: one mixture of alternatives for every sequential test instead of each test's own (stats/ratio.ts BETS, and
 * ABOVE_MEDIAN_BETS for the share above the median): the benchmark passes the previous mixture to compare.
 */
export function judge(
  window: MetricWindow,
  alarms: readonly AlarmState[],
  policy: AnalysisPolicy,
  customMetrics: readonly CustomMetricConfig[] = [],
  bets?: readonly Bet[],
): Verdict {
  const canary = summarize(window.canary);
  const baseline = baselineForCanary(window.canary, window.baseline);
  const { minRequests } = policy;
  const alarmEvidence = judgeAlarms(alarms);
  if (alarmEvidence.result === 'fail') {
    return { result: 'fail', reason: 'alarmFiring', minRequests, canary, baseline, metrics: [alarmEvidence] };
  }
  const alphaAll = policy.errorRate.alpha ?? DEFAULT_ALPHA;
  // Critical custom metrics share CUSTOM_ALPHA_SHARE of alpha (Bonferroni); advisory ones are tested at the same
  // level each but never fail the verdict, so they take none of it.
  const critical = customMetrics.filter((m) => m.critical).length;
  const alphaCustom = (alphaAll * CUSTOM_ALPHA_SHARE) / Math.max(1, critical);
  const metrics = [
    ...checks(
      window,
      canary,
      baseline,
      policy,
      critical > 0 ? alphaAll * (1 - CUSTOM_ALPHA_SHARE) : alphaAll,
      bets,
    ),
    ...judgeCustomMetrics(window, customMetrics, policy, alphaCustom),
    alarmEvidence,
  ];
  const verdict = { minRequests, canary, baseline, metrics, earlyPass: false };
  // Advisory metrics are reported, never judged on.
  const judged = metrics.filter((m) => !m.facts.advisory);
  if (judged.some((m) => m.result === 'fail')) return { ...verdict, result: 'fail', reason: 'checkFailed' };
  if (canary.requests < minRequests) {
    return { ...verdict, result: 'inconclusive', reason: 'lowTraffic', lowTraffic: true };
  }
  const open = judged.filter((m) => m.result === 'inconclusive');
  if (open.some((m) => m.reason !== 'lowData'))
    return { ...verdict, result: 'inconclusive', reason: 'unsettled' };
  // A critical custom metric without its data yet waits for traffic, like too few requests: never a failure for
  // lack of data, and no extension used up.
  if (open.length > 0) return { ...verdict, result: 'inconclusive', reason: 'lowData', lowTraffic: true };
  const sequential = judged.filter((m) => m.notWorse !== undefined);
  const earlyPass = sequential.length > 0 && sequential.every((m) => m.notWorse === true);
  return { ...verdict, result: 'pass', reason: earlyPass ? 'notWorse' : 'passed', earlyPass };
}
