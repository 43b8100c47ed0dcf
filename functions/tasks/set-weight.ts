/**
 * set-weight, in two phases the workflow calls in turn, with the capacity polls (check-ready `capacity`) between:
 * - `scale`: size the canary for the step and read its capacity once, so a step it is already sized for moves on
 *   at once;
 * - `shift` (also when no phase is given): move the step's share of traffic to the canary, verify the listener
 *   took it, and hand the bake's first wait (one analysis interval, or the whole bake if shorter) and what is left
 *   of it to the workflow. The first step also fixes the rollout's latency thresholds (the stable version's p99
 *   and p50 before the canary takes traffic).
 * The workflow only shifts once the capacity polls found the new tasks running and healthy, so a bigger step never
 * lands on the previous step's task count while new tasks start.
 */

import { capacityPollWait } from '../core/capacity';
import { CanaryControllerError, ErrorName } from '../core/errors';
import { heldWait, waitsOfStep, weightHeld } from '../core/pause';
import { stepWeightOptions } from '../core/plan';
import type { LatencyThresholds, RolloutRecord } from '../core/rollout';
import { nextBakeWait, stepBakeSeconds } from '../core/rules';
import * as v from '../core/valibot';
import type {
  AlarmSource,
  Clock,
  DeployerFor,
  Log,
  MetricSource,
  StateChangeBus,
  StepStore,
  TrafficRouter,
} from '../ports';
import { stepInput } from './lib/inputs';
import { checkpoint, moveTraffic, recordHistory } from './lib/procedures';
import { task } from './lib/task';

export interface SetWeightDeps {
  router: TrafficRouter;
  deployerFor: DeployerFor;
  /** The record, the lock and history (StepStore: no other part of the store). */
  store: StepStore;
  clock: Clock;
  log: Log;
  /** Where the latency thresholds come from; absent: none are stored (the judge compares p99s). */
  metrics?: MetricSource;
  /** Where each history entry is announced as a state-change event; absent: none. */
  events?: StateChangeBus;
  /**
   * The gating alarms' states, read before a retry puts the step's weight back: an alarm that went to ALARM during
   * the pause was only recorded (CloudWatch sends the state change once), so the retry must not ignore it. Absent
   * (tests of other phases only): none are read.
   */
  alarms?: AlarmSource;
}

/** The span before the canary starts over which the stable version's p99 and p50 are taken. */
export const THRESHOLD_SPAN_SECONDS = 30 * 60;

const input = v.object({
  ...stepInput.entries,
  // Absent: an execution started before the workflow had the scale phase (scale and shift at once, as it did).
  phase: v.optional(v.picklist(['scale', 'shift']), 'shift'),
  /** What the last capacity reading found (the scale phase's or check-ready's), kept as the step's evidence. */
  capacity: v.optional(
    v.object({
      attempts: v.pipe(v.int(), v.minValue(0)),
      detail: v.string(),
      healthy: v.optional(v.number()),
      needed: v.optional(v.number()),
    }),
  ),
  /**
   * The step's waits so far, when its weights are written again after drift (RestoreWeight): the bake's next wait
   * comes after the approval wait (core/rollout.ts waitSeq). Absent: the step starts, 0.
   */
  analyses: v.optional(v.pipe(v.int(), v.minValue(0)), 0),
  /**
   * The failed step run again after a pause on failure (RetryStep): its weight back from 0, judged afresh (the
   * analysis window restarts now), and the pause removed once the weight is verified.
   */
  retry: v.optional(v.boolean()),
});

export function makeSetWeight(deps: SetWeightDeps) {
  const { deployerFor, store, clock, log } = deps;
  return task('set-weight input', input, async (args) => {
    const { rollout, route, step, phase, capacity, analyses, retry } = args;
    const record = await checkpoint(store, rollout);
    const deployer = deployerFor(rollout.config);
    if (phase === 'scale') return scaleCanary(deps, deployer, { rollout, route, step });
    if (!retry && weightHeld(record, step.weight)) return holdWeight(deps, args, record);
    if (retry && deps.alarms) await refuseRetryOnAlarm(deps.alarms, rollout.config.analysis.alarms);
    // Thresholds once, from the stable version alone, before the canary takes any traffic.
    const thresholds =
      !record.canaryStartedAt && !record.latencyThresholds && deps.metrics
        ? await latencyThresholds(deps, deps.metrics, { rollout, route })
        : undefined;
    // Capacity first, then traffic: the canary is never asked to take more than it is sized for (already sized by
    // the scale phase, so this changes nothing then; it sizes the canary for an execution without that phase).
    await deployer.scaleCanary(rollout.config, route, step.weight);
    // A retry ends the pause on failure before the share moves: an alarm from here on stops the rollout as usual
    // (on-alarm only records one while the pause holds 100% on stable).
    if (retry && record.paused) await store.updateRollout(rollout.rolloutId, { paused: undefined });
    // A 0% step is test traffic only: the header rule's requests reach the canary, live traffic does not.
    await moveTraffic(deps, rollout, route, step.weight, stepWeightOptions(step));
    const now = clock.now().toISOString();
    // The retried step is judged afresh: the periods judged before the pause are no longer compared.
    if (retry) await store.clearJudgedPeriods(rollout.rolloutId);
    await store.updateRollout(rollout.rolloutId, {
      currentStep: step.index,
      canaryPercent: step.weight,
      updatedAt: now,
      ...(record.canaryStartedAt && !retry ? {} : { canaryStartedAt: now }),
      weightChangedAt: retry ? [now] : [...(record.weightChangedAt ?? []), now],
      // ...and those an earlier release kept on the record.
      ...(retry && record.judgedPeriods ? { judgedPeriods: undefined } : {}),
      ...(thresholds ? { latencyThresholds: thresholds } : {}),
    });
    await recordHistory(deps, rollout, 'weight', `step ${step.index + 1}: ${stepShare(step)}`, {
      step: step.index,
      weight: step.weight,
      ...(capacity
        ? {
            capacity: {
              polls: capacity.attempts,
              detail: capacity.detail,
              ...(capacity.healthy !== undefined ? { healthy: capacity.healthy } : {}),
              ...(capacity.needed !== undefined ? { needed: capacity.needed } : {}),
            },
          }
        : {}),
    });
    log.info('weight set', { rolloutId: rollout.rolloutId, step: step.index, weight: step.weight });
    const sinceCanary =
      record.canaryStartedAt && !retry
        ? (clock.now().getTime() - Date.parse(record.canaryStartedAt)) / 1000
        : 0;
    const policy = rollout.config.analysis;
    const { wait, left } = nextBakeWait(stepBakeSeconds(step.bakeSeconds, policy), policy, sinceCanary);
    return {
      seconds: wait > 0 ? clock.workflowSeconds(wait) : 0,
      bakeLeft: left,
      extensions: 0,
      analyses,
    };
  });
}

type SetWeightInput = v.InferOutput<typeof input>;

/**
 * A retry after a pause on failure with a gating alarm still in ALARM: the canary takes no traffic, the workflow
 * rolls back (AlarmFired) as it does on any alarm.
 */
async function refuseRetryOnAlarm(alarms: AlarmSource, names: readonly string[]): Promise<void> {
  if (names.length === 0) return;
  const firing = (await alarms.states(names)).filter((a) => a.state === 'ALARM').map((a) => a.name);
  if (firing.length > 0) {
    throw new CanaryControllerError(
      ErrorName.AlarmFired,
      `retry refused: alarm ${firing.join(', ')} still in ALARM; rolling back`,
    );
  }
}

/**
 * A person paused the rollout and this step would raise the canary's share: nothing moves. The workflow goes back
 * to the step the canary is on (HeldStep) and bakes it on, judged every interval, until resumed (`held`); before
 * the first step (no share yet) it waits and tries again.
 */
function holdWeight(
  { clock, log }: SetWeightDeps,
  { rollout, step, analyses }: SetWeightInput,
  record: RolloutRecord,
) {
  // Spaced as analyses are, from the canary's start (or, before it took traffic, from the pause): however long a
  // person holds the rollout, the turns stay about 60 + 60 ln(hours) (core/workflow-limits.ts).
  const since = record.canaryStartedAt ?? record.paused?.at;
  const elapsed = since ? Math.max(0, (clock.now().getTime() - Date.parse(since)) / 1000) : 0;
  const wait = heldWait(rollout.config.analysis, elapsed);
  log.info('weight held: paused', {
    rolloutId: rollout.rolloutId,
    step: step.index,
    weight: step.weight,
    held: record.canaryPercent ?? 0,
  });
  return {
    held: true,
    seconds: clock.workflowSeconds(wait),
    bakeLeft: 0,
    extensions: 0,
    // The step the canary is on takes its next wait after the ones it had (lib/wait.ts orders them).
    analyses: step.index > 0 ? Math.max(analyses, waitsOfStep(record.waitOrder, step.index - 1)) : analyses,
  };
}

/** A step's share in the history's words: a 0% step serves the header rule's test traffic only. */
function stepShare(step: SetWeightInput['step']): string {
  return step.weight === 0
    ? 'test traffic only on the canary (0% of live traffic)'
    : `${step.weight}% on the canary`;
}

/** The scale phase: the canary sized for the step, and its capacity read once (the first of the capacity polls). */
async function scaleCanary(
  { clock, log }: SetWeightDeps,
  deployer: ReturnType<DeployerFor>,
  { rollout, route, step }: Pick<SetWeightInput, 'rollout' | 'route' | 'step'>,
) {
  await deployer.scaleCanary(rollout.config, route, step.weight);
  const { ready, detail, ...counts } = await deployer.canaryCapacity(rollout.config, route, step.weight);
  log.info('canary scaled', {
    rolloutId: rollout.rolloutId,
    step: step.index,
    weight: step.weight,
    ready,
    detail,
    ...counts,
  });
  // The first reading of the capacity polls: check-ready counts the polls after it, `waited` seconds from now.
  const wait = capacityPollWait(rollout.config.readiness, 0);
  return {
    ready,
    attempts: 0,
    waited: wait,
    detail,
    ...counts,
    waitSeconds: clock.workflowSeconds(wait),
  };
}

/** The stable version's p99 and p50 over the span before now; undefined when they cannot be read. */
async function latencyThresholds(
  { clock, log }: SetWeightDeps,
  metrics: MetricSource,
  { rollout, route }: Pick<SetWeightInput, 'rollout' | 'route'>,
): Promise<LatencyThresholds | undefined> {
  const to = clock.now();
  const from = new Date(to.getTime() - THRESHOLD_SPAN_SECONDS * 1000);
  try {
    const thresholds = await metrics.baselineThresholds({ route, from, to });
    log.info('latency thresholds', {
      rolloutId: rollout.rolloutId,
      ...(thresholds ?? { p99Ms: null, p50Ms: null }),
    });
    return thresholds;
  } catch (error) {
    // Thresholds only sharpen the latency check: without them the judge compares p99s, so a metrics
    // failure here never blocks the rollout.
    log.warn('latency thresholds unavailable: the analysis compares p99s', {
      rolloutId: rollout.rolloutId,
      error: error instanceof Error ? error.message : String(error),
    });
    return undefined;
  }
}
