/**
 * Resolving a wait a person decided (the approval page, the CLI's approve, reject and promote): the decision goes
 * to Step Functions first; once it has it, the decision stands, and the store writes that follow (the wait
 * cleared so nobody is offered it again, the history entry naming who decided which wait) are retried and, when
 * one still fails, reported as lagging, never as "nothing was decided".
 */
import { waitHash } from '../../core/approval-links';
import { ErrorName } from '../../core/errors';
import type { RolloutRecord, WaitToken } from '../../core/rollout';
import type { RolloutStore, TaskTokens } from '../../ports';

/** The part of the store resolving a decision uses. */
type DecisionParts = Pick<RolloutStore, 'clearWait' | 'appendHistory'>;

import { writeAfterDecision } from './after-decision';
import { type HistoryDeps, recordHistory } from './history';

export interface DecisionDeps<S extends DecisionParts = RolloutStore> extends HistoryDeps<S> {
  executions: TaskTokens;
}

/** Where a decision came from: `via` is the surface, `by` who acted there, as the history says it. */
export interface Decider {
  via: 'approval-page' | 'cli';
  by: string;
  /** Called for each store write that still fails after its retries. */
  onLagging?: (write: string, error: unknown) => void;
}

/** A decision Step Functions took or refused: refused when it no longer held the wait (it had ended). */
export type DecisionOutcome = { sent: false } | { sent: true; lagging: string[] };

/**
 * After SendTaskSuccess / SendTaskFailure answered `sent`: a wait Step Functions no longer held is cleared (so it
 * is not offered again); a decision it took is cleared and recorded under `type` with `message`.
 */
export async function settleDecision(
  deps: DecisionDeps<DecisionParts>,
  record: RolloutRecord,
  wait: WaitToken,
  sent: boolean,
  decision: {
    type: 'approved' | 'rejected' | 'promoted-early' | 'promoted-full' | 'retried';
    message: string;
  },
  decider: Decider,
): Promise<DecisionOutcome> {
  const onFailure = decider.onLagging ?? (() => undefined);
  const clearWait = () => deps.store.clearWait(record.rolloutId, wait.token);
  if (!sent) {
    await writeAfterDecision(deps.clock, { clearWait }, onFailure);
    return { sent: false };
  }
  const lagging = await writeAfterDecision(
    deps.clock,
    {
      clearWait,
      history: () =>
        recordHistory(deps, record, decision.type, decision.message, {
          step: wait.step,
          via: decider.via,
          by: decider.by,
          wait: waitHash(wait.token),
        }),
    },
    onFailure,
  );
  return { sent: true, lagging };
}

/**
 * Approve (SendTaskSuccess `{ approved: true }`) or reject (SendTaskFailure ApprovalRejected) the approval wait
 * `wait` of `record`, then settle it. A failure of the send itself is thrown: Step Functions may or may not have
 * taken the decision, and the caller says so.
 */
export async function resolveApproval(
  deps: DecisionDeps<DecisionParts>,
  record: RolloutRecord,
  wait: WaitToken,
  decision: { approve: boolean; message: string },
  decider: Decider,
): Promise<DecisionOutcome> {
  const sent = decision.approve
    ? await deps.executions.sendTaskSuccess(wait.token, { approved: true, by: decider.via })
    : await deps.executions.sendTaskFailure(wait.token, ErrorName.ApprovalRejected, decision.message);
  return settleDecision(
    deps,
    record,
    wait,
    sent,
    { type: decision.approve ? 'approved' : 'rejected', message: decision.message },
    decider,
  );
}
