import type { AnalysisPolicy } from './config';
import { quarantineRule } from './error-policy';
import type { StoredHistoryEntry } from './history';
import { DEFAULT_METRIC_DELAY_SECONDS, type Verdict } from './judge';
import type { PlanStep } from './plan';

/** What an analysis can tell the workflow to do next (statemachine Decide routes each; rollback fails the task). */
export const NEXT_ACTIONS = [
  'advance',
  'awaitApproval',
  'keepBaking',
  'awaitTraffic',
  'bakeAgain',
  'rollback',
] as const;
export type NextAction = (typeof NEXT_ACTIONS)[number];

/**
 * Why the workflow does what it does next (views/verdict-text.ts words it with the verdict): the verdict failed,
 * an early pass, the bake goes on, waiting for traffic, an extension of the bake, the extensions used up, a pass,
 * or an inconclusive verdict advancing by policy.
 */
export type DecisionReason =
  | 'failed'
  | 'earlyPass'
  | 'baking'
  | 'awaitingTraffic'
  | 'extending'
  | 'extensionsUsedUp'
  | 'passed'
  | 'inconclusiveByPolicy';

export interface Decision {
  action: NextAction;
  because: DecisionReason;
  /** What was left of the bake (s) when the decision came mid-bake. */
  bakeLeftSeconds?: number;
  /** Extensions of the step used before this decision, and how many the policy allows. */
  extensions?: { used: number; max: number };
}

/** Default analysis.intervalSeconds: the load balancer's metric period. */
export const DEFAULT_ANALYSIS_INTERVAL_SECONDS = 60;

/**
 * Analyses are spaced by at least 1/SPACING_DIVISOR of the time since the canary started: every minute for the
 * first hour, then further apart (2 min at hour 2, 24 min at day 1). However long the plan, its bakes, extensions
 * and waits for traffic, an execution then makes about 60 + 60 ln(hours) analyses (about 370 in a week, ~13 history
 * events each), well inside Step Functions' 25,000-event execution history.
 */
export const SPACING_DIVISOR = 60;

/** Seconds until the next analysis: at least `minimumSeconds`, and at least 1/60 of the rollout so far. */
export function analysisWait(minimumSeconds: number, elapsedSeconds: number): number {
  return Math.max(minimumSeconds, Math.ceil(Math.max(0, elapsedSeconds) / SPACING_DIVISOR));
}

/**
 * How long a step bakes, from its weight being set to its last analysis: the configured bake plus the metric delay,
 * so that the last analysis judges the whole configured bake (analyses judge only minutes that ended
 * metricDelaySeconds ago; without this, a bake's last minutes would never be judged before the step advances). A
 * step configured not to bake (0) is not judged and does not wait.
 */
export function stepBakeSeconds(
  bakeSeconds: number,
  policy: Pick<AnalysisPolicy, 'metricDelaySeconds'>,
): number {
  if (bakeSeconds === 0) return 0;
  return bakeSeconds + (policy.metricDelaySeconds ?? DEFAULT_METRIC_DELAY_SECONDS);
}

/**
 * The next wait of a bake with `bakeSeconds` still to go, `elapsedSeconds` after the canary started, and what is
 * left of the bake after that wait (seconds, as configured): a bake is judged every analysis interval (spaced out
 * in long rollouts, see analysisWait), the last wait being what remains.
 */
export function nextBakeWait(
  bakeSeconds: number,
  policy: AnalysisPolicy,
  elapsedSeconds = 0,
): { wait: number; left: number } {
  const interval = analysisWait(policy.intervalSeconds ?? DEFAULT_ANALYSIS_INTERVAL_SECONDS, elapsedSeconds);
  const wait = Math.min(bakeSeconds, interval);
  return { wait, left: bakeSeconds - wait };
}

/** What the workflow carries from one analysis to the next wait. */
export interface BakeLoop {
  /** Seconds (as configured) until the next analysis or the end of the approval wait; 0: no wait. */
  waitSeconds: number;
  /** What is left of the step's bake after that wait. */
  bakeLeft: number;
  /** Extensions of the step used so far. */
  extensions: number;
}

/**
 * The wait that follows an analysis's decision: the next slice of the bake, an extension (counted) or a wait for
 * traffic (not counted), both spaced like the bake (analysisWait), or the approval wait; none to advance or roll back.
 */
export function afterAnalysis(
  action: NextAction,
  loop: { bakeLeft: number; extensions: number },
  policy: AnalysisPolicy,
  approvalSeconds: number,
  elapsedSeconds: number,
): BakeLoop {
  const { extensions } = loop;
  switch (action) {
    case 'keepBaking': {
      const { wait, left } = nextBakeWait(loop.bakeLeft, policy, elapsedSeconds);
      return { waitSeconds: wait, bakeLeft: left, extensions };
    }
    case 'awaitTraffic':
      return { waitSeconds: analysisWait(policy.extensionSeconds, elapsedSeconds), bakeLeft: 0, extensions };
    case 'bakeAgain':
      return {
        waitSeconds: analysisWait(policy.extensionSeconds, elapsedSeconds),
        bakeLeft: 0,
        extensions: extensions + 1,
      };
    case 'awaitApproval':
      return { waitSeconds: approvalSeconds, bakeLeft: 0, extensions };
    case 'advance':
    case 'rollback':
      return { waitSeconds: 0, bakeLeft: 0, extensions };
  }
}

/**
 * What the workflow does after an analysis. `extensionsUsed` counts the inconclusive re-bakes of this step so
 * far; the policy bounds them and says what happens when they run out. `bakeLeftSeconds` is what is left of the
 * step's bake after this analysis (0 once the bake is over, or when a person ended it early).
 *
 * - fail: roll back, whenever it comes (mid-bake too).
 * - mid-bake: advance early on a pass whose evidence shows the canary not worse (policy.earlyPass, default on, and
 *   the step's own earlyPass: blue/green's rollback window is kept in full);
 *   otherwise keep baking (an inconclusive verdict mid-bake is not an extension).
 * - bake over: pass advances; too little canary traffic yet (below minRequests) waits for traffic, one extension
 *   length at a time, without using up extensions: a rollout is never failed for lack of data (the execution's own
 *   timeout bounds the wait), except at a 0% step (test traffic only), where it counts as inconclusive; any other
 *   inconclusive verdict (the canary looks worse, the evidence is building)
 *   extends the bake while extensions are left, then follows onInconclusive.
 */
export function decide(
  verdict: Verdict,
  step: PlanStep,
  extensionsUsed: number,
  policy: AnalysisPolicy,
  bakeLeftSeconds = 0,
): Decision {
  if (verdict.result === 'fail') return { action: 'rollback', because: 'failed' };
  if (bakeLeftSeconds > 0) {
    // A step that keeps its whole bake (blue/green's rollback window: the old version stays warm for all of it)
    // never ends early on a pass.
    const mayPassEarly = policy.earlyPass !== false && step.earlyPass !== false;
    if (verdict.result === 'pass' && verdict.earlyPass === true && mayPassEarly) {
      return { action: step.approval ? 'awaitApproval' : 'advance', because: 'earlyPass', bakeLeftSeconds };
    }
    return { action: 'keepBaking', because: 'baking', bakeLeftSeconds };
  }
  const extensions = { used: extensionsUsed, max: policy.maxExtensions };
  if (verdict.result === 'inconclusive') {
    // A 0% step (blue/green's test step) gets header-rule traffic only, which may never come: there low traffic
    // is inconclusive like any other (extensions, then onInconclusive), so the test route is not held open until
    // the execution times out.
    if (verdict.lowTraffic === true && step.weight > 0)
      return { action: 'awaitTraffic', because: 'awaitingTraffic' };
    if (extensionsUsed < policy.maxExtensions)
      return { action: 'bakeAgain', because: 'extending', extensions };
    if (policy.onInconclusive === 'rollback') {
      return { action: 'rollback', because: 'extensionsUsedUp', extensions };
    }
  }
  const because = verdict.result === 'pass' ? 'passed' : 'inconclusiveByPolicy';
  return { action: step.approval ? 'awaitApproval' : 'advance', because };
}

/**
 * Which rollback reasons keep the image out (quarantine) until someone releases it (core/error-policy.ts). An
 * approval rejected or timed out while the rollout was paused for listener drift (its newest `drift` history entry
 * comes after its newest `weight` entry) says nothing about the image: a person changed the weights, so it is not
 * quarantined.
 */
export function quarantines(errorName: string, history: readonly StoredHistoryEntry[] = []): boolean {
  const rule = quarantineRule(errorName);
  if (rule !== 'unlessDrift') return rule === 'always';
  const last = history.filter((e) => e.type === 'drift' || e.type === 'weight').at(-1);
  return last?.type !== 'drift';
}
