/**
 * request-approval: the start of an approval wait (`.waitForTaskToken`). Keeps the token on the record and asks
 * people to approve; the approval page or the CLI ends the wait, or its timeout does.
 */

import { imageLabel } from '../core/rollout';
import * as v from '../core/valibot';
import type { Clock, Log, Notifier, StateChangeBus, WaitStore } from '../ports';
import { waitInput } from './lib/inputs';
import { channelsOf, holdWait, notifyAll, recordHistory } from './lib/procedures';
import { task } from './lib/task';

export interface RequestApprovalDeps {
  /** The record, the lock and the wait token it reads and writes (WaitStore: no other part of the store). */
  store: WaitStore;
  notifiers: readonly Notifier[];
  clock: Clock;
  log: Log;
  /**
   * Builds the approval page's link for this wait (signed, expiring, bound to a hash of the wait token). Without
   * it, notifications carry no approval link (only the CLI hint).
   */
  links?: { approval(rolloutId: string, step: number, waitToken: string): string | Promise<string> };
  /** Where each history entry is announced as a state-change event; absent: none. */
  events?: StateChangeBus;
}

const input = v.object({
  ...waitInput.entries,
  /** The analysis that asked for this wait; `drift` names weights changed outside the rollout (onDrift 'pause'). */
  analysis: v.optional(v.object({ drift: v.optional(v.pipe(v.string(), v.minLength(1))) })),
});

export function makeRequestApproval(deps: RequestApprovalDeps) {
  const { clock } = deps;
  return task(
    'request-approval input',
    input,
    async ({ token, rollout, step, seconds, analyses, analysis }) => {
      const drift = analysis?.drift;
      const record = await holdWait(deps, rollout, {
        token,
        kind: 'approval',
        step: step.index,
        analyses,
      });
      // Not held: a later wait is stored already (this invocation came late); asking people to resolve a dead
      // token would only mislead them.
      if (!record) return { waiting: false, seconds };
      const approvalLink = deps.links
        ? await deps.links.approval(rollout.rolloutId, step.index, token)
        : undefined;
      const consoleUrl = rollout.config.notifications.consoleUrl;
      await recordHistory(
        deps,
        rollout,
        'approval',
        drift
          ? `step ${step.index + 1} (${step.weight}%) waits for approval: ${drift}`
          : `step ${step.index + 1} (${step.weight}%) waits for approval`,
        { step: step.index, weight: step.weight },
      );
      await notifyAll(deps, {
        type: 'approval.requested',
        severity: 'warning',
        rolloutId: rollout.rolloutId,
        service: rollout.service,
        image: imageLabel(rollout.image),
        summary: drift
          ? `${rollout.service}: traffic changed outside the rollout at step ${step.index + 1} (${step.weight}%) of ${imageLabel(rollout.image)}; approve to restore it? (\`canary approve ${rollout.service}\`)`
          : `${rollout.service}: approve step ${step.index + 1} (${step.weight}%) of ${imageLabel(rollout.image)}? (\`canary approve ${rollout.service}\`)`,
        reason: `${drift ? `${drift}; approve to restore the rollout's weights and continue, reject to roll back` : 'the step passed analysis and asks for approval'}; it times out in ${rollout.config.approvals.timeoutSeconds}s (${rollout.config.approvals.onTimeout} on timeout)`,
        step: { index: step.index, weight: step.weight },
        ...(record.lastVerdict ? { verdict: record.lastVerdict } : {}),
        ...(consoleUrl || approvalLink
          ? {
              links: {
                ...(approvalLink ? { approve: approvalLink } : {}),
                ...(consoleUrl
                  ? { report: `${consoleUrl.replace(/\/$/, '')}/rollouts/${rollout.rolloutId}` }
                  : {}),
              },
            }
          : {}),
        channels: channelsOf(rollout.config),
        at: clock.now().toISOString(),
      });
      return { waiting: true, seconds };
    },
  );
}
