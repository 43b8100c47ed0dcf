/**
 * The one sentence every surface leads with (the approval page, the report, SNS and PagerDuty messages, `canary
 * status`, the sandbox's summary): what happened, what it means, what to do, readable in two seconds. The
 * statistics (confidence sequences, e-values) go below it, in the evidence table or lines.
 */
import { imageLabel, type RolloutRecord } from '../core/rollout';
import type { MetricEvidence, Verdict } from '../core/verdict';
import { customFailedCheck, customName } from './custom-metric-text';
import { pct } from './evidence-text';
import { noAnalysisSentence, type Outcome, outcomeSentence } from './outcome-sentence';

export type { Outcome } from './outcome-sentence';

const ms = (x: number | null | undefined) => (x === null || x === undefined ? 'n/a' : `${Math.round(x)} ms`);
const rate = (x: number | null | undefined) => (x === null || x === undefined ? 'n/a' : pct(x));
const share = (e: number, r: number) => (r > 0 ? pct(e / r) : 'n/a');
const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** What the verdict's kind asks of the reader, when the surface has nothing more precise to say. */
export const DEFAULT_TODO = {
  pass: 'nothing to do, the rollout moves on',
  fail: 'the rollout rolls back to stable; look at the canary before pushing it again',
  lowTraffic: 'nothing to do, the step waits for traffic',
  unsettled: 'nothing to do yet, the bake goes on',
} as const;

export type VerdictKind = keyof typeof DEFAULT_TODO;

/** Which of the four kinds a verdict is (a verdict stored before reason codes goes by its result). */
export function verdictKind(verdict: Pick<Verdict, 'result' | 'reason'>): VerdictKind {
  if (verdict.result === 'pass') return 'pass';
  if (verdict.result === 'fail') return 'fail';
  return verdict.reason === 'lowTraffic' || verdict.reason === 'lowData' ? 'lowTraffic' : 'unsettled';
}

const SOURCE = (m: MetricEvidence) => (m.metric.startsWith('xray.') ? ' (X-Ray traces)' : '');

/** What a failed check says about the canary, in plain words with its main figures. */
function failedCheck(m: MetricEvidence): string {
  const f = m.facts;
  const c = m.counts ?? { canaryEvents: 0, canaryRequests: 0, baselineEvents: 0, baselineRequests: 0 };
  switch (m.metric) {
    case 'errorRate':
    case 'xray.errorRate': {
      const canary = f.canarySide;
      const figures = `${plural(canary?.errors ?? 0, 'error')} in ${plural(canary?.requests ?? 0, 'request')}`;
      if (m.reason === 'aboveCeiling')
        return `The canary's error rate is above its ${rate(f.ceiling)} ceiling${SOURCE(m)}: ${figures}`;
      if (m.reason === 'noBaseline')
        return `The canary's error rate is above its ${rate(m.limit)} limit${SOURCE(m)} (no stable traffic to compare): ${figures}`;
      return `The canary fails more requests than stable${SOURCE(m)}: ${figures} against ${rate(f.baselineSide?.rate)} on stable`;
    }
    case 'latencyP99':
    case 'latencyP50':
    case 'xray.latency': {
      if (m.reason === 'aboveCeiling')
        return `The canary's p99 of ${ms(f.warmP99Ms)} is above its ${ms(f.ceiling)} ceiling`;
      if (m.reason === 'p99Compared')
        return `The canary is slower than stable: p99 ${ms(m.canary)} against ${ms(m.baseline)}, above its ${ms(m.limit)} limit`;
      const above = m.metric === 'latencyP50' ? "stable's median" : `${ms(f.thresholdMs)}`;
      return `The canary is slower than stable${SOURCE(m)}: ${share(c.canaryEvents, c.canaryRequests)} of its requests above ${above} against ${share(c.baselineEvents, c.baselineRequests)} on stable`;
    }
    case 'targetHealth':
      return m.reason === 'noHealthyTarget'
        ? `The canary had no healthy target for ${plural(f.minutes ?? 0, 'minute')} while it had weight`
        : `Every canary target was unhealthy for ${plural(f.minutes ?? 0, 'minute')} while serving traffic`;
    case 'alarms':
      return `Alarm ${(f.firing ?? []).join(', ')} is firing`;
    default:
      return customFailedCheck(m);
  }
}

const CHECK_NAMES: Record<string, string> = {
  errorRate: 'errors',
  latencyP99: 'slow requests',
  latencyP50: 'overall latency',
  alarms: 'alarms',
  targetHealth: 'target health',
  'xray.errorRate': 'errors (X-Ray)',
  'xray.latency': 'slow requests (X-Ray)',
};

/** Why an inconclusive verdict is not settled yet: evidence building against the canary, or nothing to judge. */
function unsettled(verdict: Verdict): string {
  const open = verdict.metrics.filter((m) => m.result === 'inconclusive' && !m.facts?.advisory);
  const building = open.filter((m) => m.lookingWorse === true);
  const name = (m: MetricEvidence) => CHECK_NAMES[m.metric] ?? customName(m);
  if (building.length > 0)
    return `The canary may be worse on ${building.map(name).join(' and ')}, the evidence is still building`;
  const lowData = open.filter((m) => m.reason === 'lowData');
  if (lowData.length > 0) return `Not judged yet: too little data for ${lowData.map(name).join(' and ')}`;
  if (open.some((m) => m.reason === 'warmingUp')) return 'Not judged yet: the canary is still warming up';
  if (open.some((m) => m.reason === 'noLatencyData')) return 'Not judged yet: no canary latency data';
  return 'Not settled yet: no check shows the canary worse or better';
}

/**
 * The sentence for a verdict: what the analysis found, with the figures that matter, then `todo` (what the
 * reader does; by default what the controller does next, for the verdict's kind).
 */
export function verdictSentence(verdict: Verdict | undefined, todo?: string): string {
  if (!verdict) return noAnalysisSentence(todo);
  const kind = verdictKind(verdict);
  const next = todo ?? DEFAULT_TODO[kind];
  const { canary, baseline } = verdict;
  switch (kind) {
    case 'pass': {
      const lead = verdict.earlyPass ? 'The canary is shown not worse' : 'No sign the canary is worse';
      return `${lead}: ${plural(canary.errors, 'error')} in ${plural(canary.requests, 'request')} against ${rate(baseline.errorRate)} on stable; ${next}`;
    }
    case 'fail': {
      const failed = (verdict.metrics ?? []).find(
        (m) => m.result === 'fail' && m.reason !== undefined && !m.facts?.advisory,
      );
      return `${failed ? failedCheck(failed) : 'The canary failed its analysis'}; ${next}`;
    }
    case 'lowTraffic': {
      if (verdict.reason !== 'lowData')
        return `Too little canary traffic to judge yet: ${canary.requests} of ${verdict.minRequests} requests; ${next}`;
      const short = verdict.metrics.filter((m) => m.reason === 'lowData' && m.result === 'inconclusive');
      const what = short.map((m) => `${customName(m)} (${m.facts.data ?? 0} of ${m.facts.minData ?? 0})`);
      return `Too little data to judge yet for ${what.join(' and ')}; ${next}`;
    }
    case 'unsettled':
      return `${unsettled(verdict)}; ${next}`;
  }
}

/**
 * The sentence for a rollout as a whole: how it ended and what to do, or, while it runs, what its last analysis
 * found and what to do about it (the approval wait asks for a decision).
 */
export function rolloutSentence(r: {
  service: string;
  image: string;
  outcome: Outcome;
  reason?: string;
  verdict?: Verdict;
  waitingForApproval?: boolean;
}): string {
  switch (r.outcome) {
    case 'rolledBack':
      // A rollback on the judge's evidence says what the evidence was; any other (an alarm, a person) its reason.
      if (r.verdict?.result === 'fail')
        return verdictSentence(
          r.verdict,
          `${r.image} was rolled back, stable serves all traffic; look at the canary before pushing it again`,
        );
      return outcomeSentence({ ...r, outcome: r.outcome });
    case 'running':
      if (!r.verdict) return `${r.image} is rolling out, no analysis has run yet; nothing to do yet`;
      return verdictSentence(
        r.verdict,
        r.waitingForApproval
          ? `approve to continue (\`canary approve ${r.service}\`), or reject to roll back (\`canary reject ${r.service}\`)`
          : undefined,
      );
    default:
      return outcomeSentence({ ...r, outcome: r.outcome });
  }
}

/** The sentence for a stored rollout (`canary status`): how it ended, or where it is and what to do. */
export function recordSentence(r: RolloutRecord): string {
  const image = imageLabel(r.image);
  if (r.abort && !TERMINAL.has(r.status))
    return `${image} is being stopped (${r.abort.reason}): the rollout rolls back to stable; nothing to do`;
  if (r.status === 'promoting') return `${image} passed every step and is being promoted; nothing to do`;
  if (r.status === 'rollingBack') return `${image} is rolling back to stable; nothing to do`;
  if (r.paused?.cause === 'failure' && !TERMINAL.has(r.status))
    return `${image} failed its analysis and is paused with 100% on stable, the canary kept for investigation: \`canary retry ${r.service}\` runs the step again, \`canary abort ${r.service}\` rolls back`;
  if (r.paused && !TERMINAL.has(r.status))
    return `${image} is paused at ${r.paused.weight}% by ${r.paused.by}: analyses go on and can still roll it back; \`canary resume ${r.service}\` lets the plan go on`;
  const outcome = TERMINAL.has(r.status) ? (r.status as Outcome) : 'running';
  return rolloutSentence({
    service: r.service,
    image,
    outcome,
    ...(r.outcome ? { reason: r.outcome.reason } : {}),
    ...(r.lastVerdict ? { verdict: r.lastVerdict } : {}),
    waitingForApproval: r.wait?.kind === 'approval',
  });
}

const TERMINAL: ReadonlySet<string> = new Set(['promoted', 'rolledBack', 'rollbackFailed']);
