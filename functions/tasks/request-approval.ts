/**
 * request-approval: the start of an approval wait (`.waitForTaskToken`). Keeps the token on the record and asks
 * people to approve; the approval page or the CLI ends the wait, or its timeout does.
 */

import { imageLabel } from '../core/rollout';
import type { Clock, Log, Notifier, RolloutStore } from '../ports';
import { waitInput } from './lib/inputs';
import { checkpoint, notifyAll, recordHistory } from './lib/procedures';
import { task } from './lib/task';

export interface RequestApprovalDeps {
  store: RolloutStore;
  notifiers: readonly Notifier[];
  clock: Clock;
  log: Log;
}

export function makeRequestApproval(deps: RequestApprovalDeps) {
  const { store, clock } = deps;
  return task('request-approval input', waitInput, async ({ token, rollout, step, seconds }) => {
    const record = await checkpoint(store, rollout.rolloutId);
    await store.setWait(rollout.rolloutId, {
      token,
      kind: 'approval',
      step: step.index,
      since: clock.now().toISOString(),
    });
    await checkpoint(store, rollout.rolloutId);
    const consoleUrl = rollout.config.notifications.consoleUrl;
    await recordHistory(
      deps,
      rollout.rolloutId,
      'approval',
      `step ${step.index + 1} (${step.weight}%) waits for approval`,
    );
    await notifyAll(deps, {
      type: 'approval.requested',
      severity: 'warning',
      rolloutId: rollout.rolloutId,
      service: rollout.service,
      image: imageLabel(rollout.image),
      summary: `${rollout.service}: approve step ${step.index + 1} (${step.weight}%) of ${imageLabel(rollout.image)}? (\`canary approve ${rollout.service}\`)`,
      reason: `the step passed analysis and asks for approval; it times out in ${rollout.config.approvals.timeoutSeconds}s (${rollout.config.approvals.onTimeout} on timeout)`,
      step: { index: step.index, weight: step.weight },
      ...(record.lastVerdict ? { verdict: record.lastVerdict } : {}),
      ...(consoleUrl
        ? { links: { rollout: `${consoleUrl.replace(/\/$/, '')}/rollouts/${rollout.rolloutId}` } }
        : {}),
      at: clock.now().toISOString(),
    });
    return { waiting: true, seconds };
  });
}
