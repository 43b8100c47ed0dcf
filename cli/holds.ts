/**
 * The operator's holds on a rollout: pause and resume (the canary's share held, analyses going on), retry after a
 * pause on failure, and putting traffic on stable at once when an abort comes from someone who may move it.
 */
import { pauseRefusal, resumeRefusal, retryRefusal } from '../functions/core/pause';
import type { RolloutRecord } from '../functions/core/rollout';
import { freeText } from '../functions/core/text';
import type { Executions, TrafficRouter } from '../functions/ports';
import {
  type Decider,
  type DecisionDeps,
  PauseChangedError,
  pauseRollout,
  resumeRollout,
  settleDecision,
  stableAfterAbort,
} from '../functions/tasks/lib/procedures';
import { OperationError, type OperationResult } from './results';

const refuse = (why: string | undefined) => {
  if (why) throw new OperationError(why, 'refused');
};

/** The pause changed since the record was read (a pause on failure landed): nothing was written. */
const refuseChanged = (e: unknown): never => {
  if (e instanceof PauseChangedError) throw new OperationError(e.message, 'refused');
  throw e;
};

export async function pause(
  deps: DecisionDeps,
  record: RolloutRecord,
  decider: Decider,
  reason?: string,
): Promise<OperationResult> {
  refuse(pauseRefusal(record));
  const note = freeText(reason ?? '');
  await pauseRollout(deps, record, { via: decider.via, by: decider.by }, note || undefined).catch(
    refuseChanged,
  );
  const weight = record.canaryPercent ?? 0;
  return {
    ok: true,
    rolloutId: record.rolloutId,
    message: `${record.rolloutId}: paused at ${weight}% from ${decider.by}; analyses go on and can still roll it back, no step moves the canary above ${weight}% until \`canary resume ${record.service}\` (a weight change already under way completes)`,
  };
}

export async function resume(
  deps: DecisionDeps,
  record: RolloutRecord,
  decider: Decider,
): Promise<OperationResult> {
  refuse(resumeRefusal(record));
  await resumeRollout(deps, record, { via: decider.via, by: decider.by }).catch(refuseChanged);
  return {
    ok: true,
    rolloutId: record.rolloutId,
    message: `${record.rolloutId}: resumed from ${decider.by}; the plan goes on from ${record.canaryPercent ?? 0}% at the next analysis`,
  };
}

/** Run the failed step again (SendTaskSuccess on the failure wait): its weight back, its bake, its analyses. */
export async function retry(
  deps: DecisionDeps,
  record: RolloutRecord,
  decider: Decider,
): Promise<OperationResult> {
  refuse(retryRefusal(record));
  const wait = record.wait as NonNullable<RolloutRecord['wait']>;
  const sent = await deps.executions.sendTaskSuccess(wait.token, { retry: true, by: decider.via });
  const message = `step ${wait.step + 1} retried from ${decider.by}`;
  const outcome = await settleDecision(deps, record, wait, sent, { type: 'retried', message }, decider);
  if (!outcome.sent)
    throw new OperationError(`the failure wait of ${record.rolloutId} had already ended`, 'not-waiting');
  const lag =
    outcome.lagging.length > 0
      ? ' (the decision is taken, but the record of the rollout may show it late: do not decide again)'
      : '';
  return {
    ok: true,
    rolloutId: record.rolloutId,
    message: `${record.rolloutId}: ${message}; its weight goes back from 0% and it is judged afresh${lag}`,
  };
}

/**
 * What an abort does to traffic when the caller may move it (a router is given): 100% on stable at once, verified,
 * once the abort is marked (lib/abort.ts orders the two). Without a router, or when the move fails (the caller's
 * role may not change the listener), the workflow's Rollback moves it; the answer says which.
 */
export function stableAtOnce(
  router: TrafficRouter | undefined,
  deps: Pick<DecisionDeps, 'store' | 'clock'> & { executions: Executions },
  record: RolloutRecord,
): { putStableBack?: (marked: boolean) => Promise<void>; said: () => string } {
  const route = record.route;
  if (!router || !route) return { said: () => '' };
  let said = '';
  const stable = stableAfterAbort({ ...deps, router }, record, route);
  return {
    putStableBack: async (marked) => {
      try {
        await stable(marked);
        said = '; 100% is on stable now (verified)';
      } catch (error) {
        said = `; traffic could not be moved from here (${error instanceof Error ? error.name : String(error)}): the rollback moves it`;
      }
    },
    said: () => said,
  };
}
