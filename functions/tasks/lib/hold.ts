/**
 * Pausing on a failed analysis (analysis.onFailure 'pause'): 100% back on stable at once (verified), the canary
 * kept running for investigation, the pause marked on the record and in the history. The workflow then pages and
 * waits for `canary retry` or `canary abort` (statemachine: HoldOnStable, NotifyPaused, AwaitRetry); at the
 * pause's timeout it rolls back fully.
 */
import type { RolloutDoc } from '../../core/rollout';
import { recordHistory } from './history';
import type { CarriedState } from './inputs';
import { checkpoint } from './ownership';
import type { RollbackDeps } from './rollback';
import { shiftTraffic } from './traffic';

/** What the wait for a retry needs: its length (workflow seconds), its order, and when it ends. */
export interface HoldOutcome {
  held: true;
  seconds: number;
  analyses: number;
  until: string;
}

export async function holdOnStable(
  deps: RollbackDeps,
  doc: RolloutDoc,
  carried: CarriedState,
  failure: { reason: string; analyses: number },
): Promise<HoldOutcome> {
  const { store, clock } = deps;
  // A rollout an alarm, an operator or a newer image has stopped meanwhile rolls back instead (the Catch).
  const record = await checkpoint(store, doc);
  const route = record.route ?? carried.route;
  // Never reached after a failed analysis (the canary had weight); without a route the full rollback follows.
  if (!route) throw new Error(`${doc.rolloutId} has no route to put on stable: it rolls back`);
  await shiftTraffic(deps, route, 0);
  const now = clock.now();
  const at = now.toISOString();
  const timeout = doc.config.analysis.pauseTimeoutSeconds;
  const until = new Date(now.getTime() + timeout * 1000).toISOString();
  await store.updateRollout(doc.rolloutId, {
    canaryPercent: 0,
    paused: { cause: 'failure', at, by: 'the workflow', via: 'workflow', reason: failure.reason, weight: 0 },
    weightChangedAt: [...(record.weightChangedAt ?? []), at],
    updatedAt: at,
  });
  const step = record.currentStep ?? 0;
  await recordHistory(
    deps,
    doc,
    'paused',
    `step ${step + 1} failed, paused with 100% on stable and the canary kept until ${until}: ${failure.reason}`,
    { step, weight: 0, cause: 'failure', via: 'workflow', by: 'the workflow', until },
  );
  deps.log.warn('paused on a failed analysis', { rolloutId: doc.rolloutId, step, until });
  return { held: true, seconds: clock.workflowSeconds(timeout), analyses: failure.analyses + 1, until };
}
