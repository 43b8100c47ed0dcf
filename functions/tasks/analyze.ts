/**
 * analyze: refetch the whole window since the canary started, judge canary against stable (and the gating
 * alarms), and tell the workflow what comes next. Runs every analysis interval of a bake, so a failing verdict
 * (the task fails with CanaryFailed) comes mid-bake and a canary shown not worse may advance before its bake ends.
 */

import type { AnalysisPolicy } from '../core/config';
import { customMetrics } from '../core/custom-metrics';
import { CanaryFailedError, ConfigInvalidError, TrafficDriftedError } from '../core/errors';
import { DEFAULT_METRIC_DELAY_SECONDS, judge, settledEnd, type Verdict } from '../core/judge';
import {
  customPeriodValues,
  type JudgedPeriods,
  lateMetricsNote,
  newerJudgedPeriods,
  periodCounts,
  revisedCustomPeriods,
  revisedPeriods,
} from '../core/late-metrics';
import { heldWait, type PausedAction, whilePaused } from '../core/pause';
import { stepWeightOptions } from '../core/plan';
import { imageLabel, type RolloutRecord } from '../core/rollout';
import { afterAnalysis, decide } from '../core/rules';
import { evidenceSummary } from '../core/state-change';
import * as v from '../core/valibot';
import type {
  AlarmSource,
  AnalysisStore,
  Clock,
  Log,
  MetricSource,
  Notifier,
  RouteReader,
  StateChangeBus,
  StepPassedEvent,
} from '../ports';
import { decisionText } from '../views/evidence-text';
import { stepInput } from './lib/inputs';
import { channelsOf, checkDrift, checkpoint, notifyAll, recordHistory } from './lib/procedures';
import { task } from './lib/task';

export interface AnalyzeDeps {
  metrics: MetricSource;
  /** The X-Ray statistics of a service's `analysis.xray` groups, judged beside `metrics`. */
  xrayFor?: (xray: NonNullable<AnalysisPolicy['xray']>) => MetricSource;
  alarms: AlarmSource;
  /**
   * Reads the listener back: weights changed outside the rollout end it (TrafficDrifted), or under
   * analysis.onDrift 'pause' make the analysis return `drifted` (the workflow waits for approval).
   */
  /** Reads the route's weights for the drift check (never moves them). */
  router: RouteReader;
  /** The record, the lock, the wait and history (AnalysisStore: no other part of the store). */
  store: AnalysisStore;
  /** Its only event is `step.passed` (analyze's handler words that alone). */
  notifiers: readonly Notifier<StepPassedEvent>[];
  clock: Clock;
  log: Log;
  /** Where each history entry is announced as a state-change event; absent: none. */
  events?: StateChangeBus;
}

/** ALB metrics arrive per minute. */
const PERIOD_SECONDS = 60;

const input = v.object({
  ...stepInput.entries,
  extensions: v.pipe(v.int(), v.minValue(0)),
  /** What is left of the step's bake after this analysis, in configured seconds (0: the bake is over). */
  bakeLeft: v.pipe(v.int(), v.minValue(0)),
  /** Analyses of this step before this one (orders the step's waits, core/rollout.ts waitSeq). */
  analyses: v.optional(v.pipe(v.int(), v.minValue(0)), 0),
});

type AnalyzeInput = v.InferOutput<typeof input>;

export function makeAnalyze(deps: AnalyzeDeps) {
  const { store, clock } = deps;
  return task('analyze input', input, async (args) => {
    const { rollout, route, step, extensions, bakeLeft, analyses } = args;
    const record = await checkpoint(store, rollout);
    // Judging a share the rollout did not set would be judging the wrong thing: weights changed by hand roll back,
    // or (analysis.onDrift 'pause') stop the rollout where it is, weights as found, until a person decides.
    try {
      await checkDrift(deps, route, record.canaryPercent ?? step.weight, stepWeightOptions(step));
    } catch (error) {
      if (!(error instanceof TrafficDriftedError) || rollout.config.analysis.onDrift !== 'pause') throw error;
      return pauseOnDrift(deps, args, record, error);
    }
    if (record.wait) await store.clearWait(rollout.rolloutId, record.wait.token);
    const policy = rollout.config.analysis;
    const now = clock.now();
    const from = new Date(record.canaryStartedAt ?? record.createdAt);
    const sinceCanary = (now.getTime() - from.getTime()) / 1000;
    const { verdict, ...judged } = await judgeSinceCanary(deps, args, record, from, now);
    const decision = decide(verdict, step, extensions, policy, bakeLeft);
    // A person's pause, as it stands now that the verdict is in: an advance holds the step (core/pause.ts).
    const paused = (await checkpoint(store, rollout)).paused;
    const action = whilePaused(decision.action, paused, policy.onFailure);
    const reason = `${decisionText(decision, verdict)}${action === 'paused' ? `; held at ${paused?.weight}%: paused by ${paused?.by}` : ''}`;
    await recordAnalysis(deps, args, verdict, { action, reason }, judged, now);
    // Judged and about to act on it: an abort that arrived meanwhile takes precedence over the verdict.
    await checkpoint(store, rollout);

    if (decision.action === 'rollback') throw new CanaryFailedError(reason);
    if (action === 'paused')
      return {
        action,
        seconds: clock.workflowSeconds(heldWait(policy, sinceCanary)),
        bakeLeft,
        extensions,
        analyses: analyses + 1,
      };
    if (decision.action === 'advance') {
      await notifyAll(deps, {
        type: 'step.passed',
        severity: 'info',
        rolloutId: rollout.rolloutId,
        service: rollout.service,
        image: imageLabel(rollout.image),
        summary: `${rollout.service}: step ${step.index + 1} at ${step.weight}% passed`,
        reason,
        step: { index: step.index, weight: step.weight },
        verdict,
        channels: channelsOf(rollout.config),
        at: now.toISOString(),
      });
    }
    const next = afterAnalysis(
      decision.action,
      { bakeLeft, extensions },
      policy,
      rollout.config.approvals.timeoutSeconds,
      sinceCanary,
    );
    return {
      action: decision.action,
      seconds: next.waitSeconds > 0 ? clock.workflowSeconds(next.waitSeconds) : 0,
      bakeLeft: next.bakeLeft,
      extensions: next.extensions,
      analyses: analyses + 1,
    };
  });
}

/**
 * The verdict on the record, the analysis in the history and the log, then the periods judged in their own item:
 * last, so that an analysis that fails before it and is retried compares with the same periods again, and reports
 * the same revisions. A record an earlier release wrote carries its periods itself: the verdict's write removes
 * them once an item holds periods at least as new (written by an earlier analysis, so never lost to a failed put).
 */
async function recordAnalysis(
  deps: AnalyzeDeps,
  { rollout, step }: AnalyzeInput,
  verdict: Verdict,
  /** The decision, its reason in words. */
  decision: { action: PausedAction; reason: string },
  { judgedPeriods, recordPeriodsOutdated }: Omit<Judgement, 'verdict'>,
  now: Date,
): Promise<void> {
  await deps.store.updateRollout(rollout.rolloutId, {
    lastVerdict: verdict,
    updatedAt: now.toISOString(),
    ...(recordPeriodsOutdated ? { judgedPeriods: undefined } : {}),
  });
  await recordHistory(
    deps,
    rollout,
    'analysis',
    `step ${step.index + 1} (${step.weight}%): ${verdict.result} → ${decision.action}`,
    {
      step: step.index,
      weight: step.weight,
      verdict: verdict.result,
      action: decision.action,
      reason: decision.reason,
      canary: verdict.canary,
      baseline: verdict.baseline,
      evidence: evidenceSummary(verdict),
    },
  );
  deps.log.info('analysis', {
    rolloutId: rollout.rolloutId,
    step: step.index,
    verdict: verdict.result,
    action: decision.action,
  });
  await deps.store.putJudgedPeriods(rollout.rolloutId, judgedPeriods);
}

/** Under analysis.onDrift 'pause': the drift recorded, and the rollout held where it is for a person to decide. */
async function pauseOnDrift(
  deps: AnalyzeDeps,
  { rollout, step, extensions, bakeLeft, analyses }: AnalyzeInput,
  record: RolloutRecord,
  error: TrafficDriftedError,
) {
  const { store, clock, log } = deps;
  if (record.wait) await store.clearWait(rollout.rolloutId, record.wait.token);
  await recordHistory(deps, rollout, 'drift', `step ${step.index + 1}: ${error.message}`, {
    step: step.index,
    weight: step.weight,
  });
  log.warn('traffic drifted: waiting for approval', { rolloutId: rollout.rolloutId, step: step.index });
  await checkpoint(store, rollout);
  // Decide routes `drifted` to the approval wait; approving there writes the step's weights again.
  return {
    action: 'drifted' as const,
    drift: error.message,
    seconds: clock.workflowSeconds(rollout.config.approvals.timeoutSeconds),
    bakeLeft,
    extensions,
    analyses: analyses + 1,
  };
}

/** An analysis's verdict, and what it stores for the next one to compare with. */
interface Judgement {
  verdict: Verdict;
  judgedPeriods: JudgedPeriods;
  /** The record carries periods an earlier release judged, no newer than the item's: the verdict's write removes them. */
  recordPeriodsOutdated: boolean;
}

/**
 * The verdict on the settled periods since the canary started (ALB metrics, X-Ray when configured, the gating
 * alarms), with the periods judged before that changed since; and the counts it judged, for the next analysis.
 */
async function judgeSinceCanary(
  deps: AnalyzeDeps,
  { rollout, route }: AnalyzeInput,
  record: RolloutRecord,
  from: Date,
  now: Date,
): Promise<Judgement> {
  const policy = rollout.config.analysis;
  // Only settled periods: metrics arrive late and the newest minute is partial.
  const delaySeconds = policy.metricDelaySeconds ?? DEFAULT_METRIC_DELAY_SECONDS;
  const to = settledEnd(now, PERIOD_SECONDS, delaySeconds);
  const query = {
    route,
    from,
    to,
    periodSeconds: PERIOD_SECONDS,
    ...(record.latencyThresholds ? { thresholds: record.latencyThresholds } : {}),
  };
  const custom = customMetrics(rollout.config);
  const xray = xraySource(deps, policy);
  const [window, xrayWindow, alarmStates, stored] = await Promise.all([
    deps.metrics.fetch(custom.length > 0 ? { ...query, metrics: custom } : query),
    xray?.fetch(query),
    policy.alarms.length > 0 ? deps.alarms.states(policy.alarms) : Promise.resolve([]),
    deps.store.getJudgedPeriods(rollout.rolloutId),
  ]);
  // The canary has had weight since its first SetWeight (steps only raise it, and no analysis runs after); the
  // minutes in which a weight took the listener mix two shares and are not compared.
  const weighted = {
    ...window,
    ...(record.canaryStartedAt ? { canaryWeightedFrom: record.canaryStartedAt } : {}),
    ...(record.weightChangedAt ? { weightChangedAt: record.weightChangedAt } : {}),
  };
  const judged = judge(
    xrayWindow ? { ...weighted, xray: xrayWindow } : weighted,
    alarmStates,
    policy,
    custom,
  );
  // Periods judged before that changed since: judged on the new counts, reported (core/late-metrics.ts). A record
  // an earlier release wrote carries them itself; after a downgrade and an upgrade again, beside an older item.
  const previous = newerJudgedPeriods(stored, record.judgedPeriods);
  const lateMetrics = lateMetricsNote(
    {
      alb: revisedPeriods(previous?.alb, window),
      ...(xrayWindow ? { xray: revisedPeriods(previous?.xray, xrayWindow) } : {}),
      custom: revisedCustomPeriods(previous?.custom, window, custom),
    },
    delaySeconds,
  );
  if (lateMetrics) deps.log.warn('late metrics', { rolloutId: rollout.rolloutId, ...lateMetrics });
  const customValues = customPeriodValues(window, custom);
  return {
    verdict: lateMetrics ? { ...judged, lateMetrics } : judged,
    recordPeriodsOutdated: record.judgedPeriods !== undefined && stored !== undefined && previous === stored,
    judgedPeriods: {
      alb: periodCounts(window),
      ...(xrayWindow ? { xray: periodCounts(xrayWindow) } : {}),
      ...(customValues ? { custom: customValues } : {}),
    },
  };
}

function xraySource(deps: AnalyzeDeps, policy: AnalysisPolicy): MetricSource | undefined {
  if (!policy.xray) return undefined;
  if (!deps.xrayFor) {
    throw new ConfigInvalidError('service config', [
      { path: 'analysis.xray', message: 'this controller has no X-Ray metric source' },
    ]);
  }
  return deps.xrayFor(policy.xray);
}
