/**
 * Holding a rollout where it is: what a pause changes in the workflow's decisions, and when a pause, a resume or a
 * retry may be asked for. A person's pause (`operator`) stops the canary's share from moving up: an analysis that
 * would advance holds the step instead (it bakes on at its weight, judged every interval, so it can still roll
 * back), and a weight change that would raise the share is held until resumed. A pause on failure (`failure`) has
 * 100% on stable and waits for a retry or an abort (statemachine: HoldOnStable, AwaitRetry). Pure.
 */

import type { AnalysisPolicy } from './config';
import { MAX_ANALYSES_PER_STEP, type PauseMark, type RolloutRecord, TERMINAL_STATUSES } from './rollout';
import { analysisWait, DEFAULT_ANALYSIS_INTERVAL_SECONDS, type NextAction } from './rules';

/**
 * What an analysis does next, with the pauses: `paused` (Decide bakes the step on) while a person holds the
 * rollout; `pauseOnFailure` (recorded; the task fails with CanaryFailed and the workflow holds on stable).
 */
export type PausedAction = NextAction | 'paused' | 'pauseOnFailure';

/**
 * An advance becomes `paused` while a person holds the rollout; a rollback becomes `pauseOnFailure` under
 * analysis.onFailure 'pause'; every other action stands.
 */
export function whilePaused(
  action: NextAction,
  paused: PauseMark | undefined,
  onFailure: 'rollback' | 'pause' = 'rollback',
): PausedAction {
  if (action === 'rollback' && onFailure === 'pause') return 'pauseOnFailure';
  return action === 'advance' && paused?.cause === 'operator' ? 'paused' : action;
}

/** Whether a weight change to `weight` is held: a person paused the rollout and the canary's share would go up. */
export function weightHeld(record: Pick<RolloutRecord, 'paused' | 'canaryPercent'>, weight: number): boolean {
  return record.paused?.cause === 'operator' && weight > (record.canaryPercent ?? 0);
}

/**
 * How many waits step `step` has had, from the last wait stored (its order, core/rollout.ts waitSeq): a wait the
 * step takes again comes after them, so it is stored over the earlier ones (replacesWait). 0 when the last wait
 * was another step's.
 */
export function waitsOfStep(waitOrder: RolloutRecord['waitOrder'], step: number): number {
  const seq = waitOrder?.seq;
  if (seq === undefined || Math.floor(seq / MAX_ANALYSES_PER_STEP) !== step) return 0;
  return (seq % MAX_ANALYSES_PER_STEP) + 1;
}

const stopped = (r: RolloutRecord): string | undefined => {
  if (TERMINAL_STATUSES.has(r.status)) return `${r.rolloutId} has ended (${r.status})`;
  if (r.abort) return `${r.rolloutId} is stopping (${r.abort.reason}: ${r.abort.message})`;
  if (r.status !== 'running') return `${r.rolloutId} is ${r.status}: a pause no longer holds it`;
  return undefined;
};

/** Why `record` cannot be paused by a person now, or undefined when it can. */
export function pauseRefusal(record: RolloutRecord): string | undefined {
  const why = stopped(record);
  if (why) return why;
  const p = record.paused;
  if (p?.cause === 'failure')
    return `${record.rolloutId} is already paused on a failed analysis, 100% on stable: retry or abort it`;
  if (p) return `${record.rolloutId} is already paused at ${p.weight}% (since ${p.at}, by ${p.by})`;
  return undefined;
}

/** Why `record` cannot be resumed now, or undefined when it can. */
export function resumeRefusal(record: RolloutRecord): string | undefined {
  const why = stopped(record);
  if (why) return why;
  if (record.paused?.cause === 'failure')
    return `${record.rolloutId} is paused on a failed analysis: \`canary retry\` runs the step again, \`canary abort\` rolls back`;
  if (!record.paused) return `${record.rolloutId} is not paused`;
  return undefined;
}

/** Why `record` has no failed step to retry now, or undefined when it has (its wait is the failure wait). */
export function retryRefusal(record: RolloutRecord): string | undefined {
  const why = stopped(record);
  if (why) return why;
  if (record.wait?.kind !== 'failure')
    return `${record.rolloutId} is not paused on a failed analysis (${record.paused ? 'paused by a person: use `canary resume`' : record.wait ? `it is in a ${record.wait.kind} wait at step ${record.wait.step + 1}` : `status ${record.status}`})`;
  return undefined;
}

/** The wait before the next analysis of a held step: one analysis interval (spaced as every analysis is). */
export function heldWait(policy: Pick<AnalysisPolicy, 'intervalSeconds'>, elapsedSeconds: number): number {
  return analysisWait(policy.intervalSeconds ?? DEFAULT_ANALYSIS_INTERVAL_SECONDS, elapsedSeconds);
}
