/**
 * The judge's verdict in words: each check's line (its figures, why it came out as it did, the sequential test's
 * statistics), the verdict's reason, and the reason of the decision taken on it. The judge returns numbers and
 * reason codes (functions/core/verdict.ts); these are the texts the history, the workflow's cause, the
 * notifications and the pages show.
 */
import type { Decision } from '../core/rules';
import type { FailureCounts, MetricEvidence, RateSide, Verdict } from '../core/verdict';
import { boundText, customMetricText, eText, pct, times } from './custom-metric-text';

export { pct };

/** A verdict or evidence stored before the judge returned reason codes carries its words instead. */
type Stored<T> = T & { detail?: string };

function failureText(f: FailureCounts | undefined): string {
  if (!f) return '';
  const connections = f.connectionErrors > 0 ? ` (${f.connectionErrors} failed connections)` : '';
  return `: ${f.targetErrors} target 5xx, ${f.noResponse} without a target response${connections}`;
}

const side = (s: RateSide | undefined) =>
  s
    ? `${s.rate === null ? 'n/a' : pct(s.rate)} (${s.errors}/${s.requests}${failureText(s.failures)})`
    : 'n/a';

/**
 * The sequential test's figures, the ones that decided first: a failure prints the e-value against "not worse than
 * rho0 ×" and the lower bound that test gives (above rho0 exactly when it fails); an early pass the e-value against
 * "passRatio × or worse" and its upper bound (below passRatio exactly when it passes); anything else both e-values.
 * The bounds come from the same two tests at the same level (stats/ratio.ts), so the words never disagree with them.
 */
export function testText(m: MetricEvidence): string {
  const { rho0 = 1, passRatio = 1 } = m.facts;
  const bar = (m.eThreshold ?? 0).toFixed(0);
  const level = `${((m.interval?.level ?? 0) * 100).toFixed(1)}%`;
  const ratio = `ratio ${m.estimate === null || m.estimate === undefined ? 'n/a' : m.estimate.toFixed(2)}`;
  const lower = m.interval?.lower ?? null;
  const upper = m.interval?.upper ?? null;
  const against = `e-value ${eText(m.eValue ?? 0)} of ${bar} against ≤ ${times(rho0)}`;
  const notWorse =
    m.eValueNotWorse === undefined
      ? ''
      : `e-value ${eText(m.eValueNotWorse)} of ${bar} against ≥ ${times(passRatio)}`;
  if (m.reason === 'shownWorse')
    return `${against}, ${ratio} (≥ ${boundText(lower, 'lower', rho0)}× at ${level})`;
  if (m.reason === 'shownNotWorse' && notWorse)
    return `${notWorse}, ${ratio} (≤ ${boundText(upper, 'upper', passRatio)}× at ${level})`;
  const range = `${boundText(lower, 'lower', rho0)}–${boundText(upper, 'upper', passRatio)}×, each bound at ${level}`;
  return `${ratio} (${range}), ${against}${notWorse ? `, ${notWorse}` : ''}`;
}

function mixedNote(m: MetricEvidence): string {
  const mixed = m.facts.mixedPeriods ?? 0;
  if (mixed === 0) return '';
  return `; ${mixed} ${mixed === 1 ? 'minute' : 'minutes'} with a weight change not compared`;
}

/** Why a sequential test came out as it did, `what` naming the measure ('' for the error rate). */
function testWhy(m: MetricEvidence, what: string, ceiling: string): string {
  const { rho0 = 1, passRatio = 1 } = m.facts;
  const subject = what ? `${what} ` : '';
  switch (m.reason) {
    case 'shownWorse':
      return `${subject}shown above ${rho0.toFixed(2)}× stable`;
    case 'aboveCeiling':
      return ceiling;
    case 'lookingWorse':
      return `${subject}looks above ${rho0.toFixed(2)}× stable, evidence building`;
    case 'shownNotWorse':
      return `${subject}shown below ${passRatio.toFixed(2)}× stable (the smallest regression that matters)`;
    default:
      return `${subject}not shown worse than ${rho0.toFixed(2)}× stable`;
  }
}

function errorRateText(m: MetricEvidence): string {
  const { canarySide, baselineSide, ceiling = 1 } = m.facts;
  const head = `canary ${side(canarySide)} vs stable ${side(baselineSide)}`;
  if (m.reason === 'noBaseline') return `${head}, no baseline traffic: absolute limit ${pct(m.limit ?? 0)}`;
  return `${head}: ${testWhy(m, '', `above the ${pct(ceiling)} ceiling`)}; ${testText(m)}${mixedNote(m)}`;
}

function slowShareText(m: MetricEvidence): string {
  const tail = m.metric !== 'latencyP50';
  const { thresholdMs = 0, warmP99Ms = null, warmupSeconds = 0, ceiling } = m.facts;
  const c = m.counts ?? { canaryEvents: 0, canaryRequests: 0, baselineEvents: 0, baselineRequests: 0 };
  const share = (e: number, r: number) => (r > 0 ? pct(e / r) : 'n/a');
  const what = tail ? 'slow share' : 'share above the median';
  const why =
    m.reason === 'warmingUp'
      ? `warming up (first ${warmupSeconds} s not judged on latency)`
      : testWhy(m, what, `p99 ${warmP99Ms?.toFixed(0)} ms above the ${ceiling} ms ceiling`);
  return (
    `canary ${share(c.canaryEvents, c.canaryRequests)} (${c.canaryEvents}/${c.canaryRequests}) slower than ${Number(thresholdMs.toFixed(1))} ms ` +
    `vs stable ${share(c.baselineEvents, c.baselineRequests)} (${c.baselineEvents}/${c.baselineRequests}): ${why}; ${testText(m)}${mixedNote(m)}`
  );
}

function p99Text(m: MetricEvidence): string {
  if (m.reason === 'warmingUp')
    return `canary warming up (first ${m.facts.warmupSeconds} s not judged on latency)`;
  if (m.reason === 'noLatencyData') return 'no canary latency data';
  const limit = m.limit === null ? 'none' : `${m.limit.toFixed(0)} ms`;
  const stable = m.baseline === null ? 'n/a' : `${m.baseline.toFixed(0)} ms`;
  return `canary p99 ${(m.canary ?? 0).toFixed(0)} ms vs stable ${stable}, limit ${limit}`;
}

function healthText(m: MetricEvidence): string {
  const { minutes, from } = m.facts;
  switch (m.reason) {
    case 'noHealthyTarget':
      return `no healthy canary target for ${minutes} whole minute(s) with weight (from ${from}), stable healthy`;
    case 'allUnhealthy':
      return `every canary target unhealthy for ${minutes} whole minute(s) with traffic (from ${from}), stable healthy`;
    case 'someUnhealthy':
      return `up to ${m.canary} unhealthy canary target(s), never all of them`;
    default:
      return 'canary targets healthy';
  }
}

/** One check in words: its figures, why it came out as it did and the test's statistics. */
export function evidenceText(evidence: Stored<MetricEvidence>): string {
  const m = evidence;
  if (m.reason === undefined) return m.detail ?? '';
  switch (m.metric) {
    case 'errorRate':
      return errorRateText(m);
    case 'xray.errorRate':
      return `X-Ray ${errorRateText(m)}`;
    case 'latencyP99':
      // The sequential test on slow-request counts, or the p99 comparison when the source has none.
      return m.eValue === undefined ? p99Text(m) : slowShareText(m);
    case 'latencyP50':
      return slowShareText(m);
    case 'xray.latency':
      return `X-Ray ${slowShareText(m)}`;
    case 'targetHealth':
      return healthText(m);
    case 'alarms':
      return m.reason === 'alarmsFiring'
        ? `in ALARM: ${(m.facts.firing ?? []).join(', ')}`
        : `${m.facts.alarmCount ?? 0} gating alarm(s) OK`;
    default:
      return customMetricText(m);
  }
}

/** The verdict's reason in words: the failed checks, the want of traffic, the unsettled checks, or every check. */
export function verdictText(verdict: Stored<Verdict> & { reason: Verdict['reason'] | string }): string {
  const v = verdict;
  const all = (ms: MetricEvidence[]) => ms.map(evidenceText).join('; ');
  switch (v.reason) {
    case 'alarmFiring':
      return all(v.metrics.filter((m) => m.metric === 'alarms'));
    case 'checkFailed':
      return v.metrics
        .filter((m) => m.result === 'fail' && !m.facts?.advisory)
        .map((m) => `${m.metric}: ${evidenceText(m)}`)
        .join('; ');
    case 'lowTraffic':
      return `not enough canary traffic yet: ${v.canary.requests} of ${v.minRequests} requests`;
    case 'lowData':
      return `not enough data yet: ${v.metrics
        .filter((m) => m.reason === 'lowData' && m.result === 'inconclusive')
        .map((m) => `${m.metric}: ${evidenceText(m)}`)
        .join('; ')}`;
    case 'unsettled':
      return all(v.metrics.filter((m) => m.result === 'inconclusive' && !m.facts?.advisory));
    case 'notWorse':
      return `not worse (early pass): ${all(v.metrics)}`;
    case 'passed':
      return all(v.metrics);
    default:
      // Stored before the judge returned reason codes: its reason is its words.
      return v.reason;
  }
}

/** The reason of the decision taken on a verdict, as the history, the workflow's cause and notifications say it. */
export function decisionText(decision: Decision, verdict: Verdict): string {
  const why = verdictText(verdict);
  const { used = 0, max = 0 } = decision.extensions ?? {};
  switch (decision.because) {
    case 'failed':
    case 'passed':
      return why;
    case 'earlyPass':
      return `early pass with ${decision.bakeLeftSeconds} s of the bake left: ${why}`;
    case 'baking':
      return `${verdict.result}, ${decision.bakeLeftSeconds} s of the bake left: ${why}`;
    case 'awaitingTraffic':
      return `${why}; waiting for traffic`;
    case 'extending':
      return `${why}; extending the bake (${used + 1} of ${max})`;
    case 'extensionsUsedUp':
      return `still inconclusive after ${used} extension(s): ${why}`;
    case 'inconclusiveByPolicy':
      return `advancing on inconclusive evidence by policy: ${why}`;
  }
}
