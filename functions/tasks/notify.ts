/**
 * notify: tell people how a rollout ended. Every channel is tried; a channel that fails is logged and never
 * blocks the others or the workflow. Rollbacks page (error), a rollback that could not finish pages critical.
 * Each outcome is also counted (the controller's RollbacksFailed alarm reads that count).
 * One exception: when the page of a rollback cannot be delivered (PagerDuty, the channel that wakes someone), the
 * task fails with PageNotDelivered (counted as pageUndelivered) so the workflow retries it; traffic is already on
 * stable, the dedup key (the rollout id) makes a retried page one incident, and the workflow records the rollback
 * once its retries are spent. A failed SNS message alone never fails the task.
 */

import { rollbackIsDeliberate } from '../core/error-policy';
import { causeMessage, ErrorName, PageNotDeliveredError } from '../core/errors';
import type { HistoryEntry } from '../core/history';
import { failurePauseKey, openPauseIncidents, pages } from '../core/notification';
import type { RolloutOutcome } from '../core/outcome-metrics';
import { imageLabel, type RolloutDoc, type RolloutRecord } from '../core/rollout';
import * as v from '../core/valibot';
import type { Clock, Log, Notifier, NotifyStore, RolloutEvent, StateChangeBus } from '../ports';
import { caughtErrorSchema, rolloutDocSchema, trafficOutcomeSchema } from './lib/inputs';
import { announce, channelsOf, notifyAll, notifyPager, PAGER } from './lib/procedures';
import { task } from './lib/task';

export interface NotifyDeps {
  store: NotifyStore;
  notifiers: readonly Notifier[];
  clock: Clock;
  log: Log;
  /** Counts the outcome (a CloudWatch metric in AWS, core/outcome-metrics.ts); optional. */
  countOutcome?: (outcome: RolloutOutcome) => void;
  /** Where each history entry is announced as a state-change event; absent: none. */
  events?: StateChangeBus;
}

const input = v.object({
  rollout: rolloutDocSchema,
  /**
   * `paused`: a failed analysis under analysis.onFailure 'pause' (traffic on stable, the canary kept): pages.
   * `resumed`: `canary retry` ended that pause: its incident is resolved (PagerDuty only).
   */
  outcome: v.picklist(['promoted', 'rolledBack', 'rollbackFailed', 'paused', 'resumed']),
  error: v.optional(caughtErrorSchema),
  /** What the rollback's traffic phase did (absent for a promotion or a rollback that failed). */
  rollback: v.optional(trafficOutcomeSchema),
});

export function makeNotify(deps: NotifyDeps) {
  const { store, clock, log } = deps;
  return task('notify input', input, async ({ rollout, outcome: asked, error, rollback }) => {
    // The record adds the judge's last verdict; when the store cannot be read, the page goes out with what the
    // workflow carries (a page never waits for the store; its dedup key is the rollout id, so a repeat is harmless).
    const record = await store.getRollout(rollout.rolloutId).catch((e: unknown) => {
      log.warn('the rollout store cannot be read; notifying from what the workflow carries', {
        rolloutId: rollout.rolloutId,
        error: String(e),
      });
      return undefined;
    });
    // The incident of a pause on failure the record still shows is resolved once that pause is over: a retry, or
    // the rollout's end (an abort or the pause's timeout roll back). Without the record, nothing to resolve is known.
    const pauseKey = failurePauseKey(record);
    if (asked === 'resumed') return resolvePause(deps, rollout, record, pauseKey);
    // A retried task can fail after the first attempt finished the promotion (its result lost, Lambda.Unknown):
    // the workflow then rolls back a rollout the record shows promoted. Tell what happened; a promotion never pages.
    const outcome = record?.status === 'promoted' || rollback?.promoted ? 'promoted' : asked;
    const label = imageLabel(rollout.image);
    const reason =
      record?.outcome?.reason ?? (error ? `${error.Error}: ${causeMessage(error.Cause)}` : undefined);
    const event = eventFor(outcome, rollout, label, error?.Error);
    // A new pause's own incident stays open; every other one the record shows open is resolved.
    const resolves = outcome === 'paused' ? (record?.unresolvedPauses ?? []) : openPauseIncidents(record);
    if (outcome === 'rollbackFailed')
      await recordRollbackFailed(deps, rollout, record, {
        at: clock.now().toISOString(),
        type: 'rollbackFailed',
        message: event.summary,
        detail: {
          error: error?.Error ?? ErrorName.RollbackFailed,
          reason: reason ?? 'the rollback did not complete',
        },
      });
    const result = await notifyAll(deps, {
      ...event,
      rolloutId: rollout.rolloutId,
      service: rollout.service,
      image: label,
      ...(reason ? { reason } : {}),
      ...(record?.lastVerdict ? { verdict: record.lastVerdict } : {}),
      channels: channelsOf(rollout.config),
      at: clock.now().toISOString(),
      // Each pause its own incident (the same on a retried notification: the pause's time is on the record).
      ...(outcome === 'paused' ? { dedupKey: pauseKey ?? `${rollout.rolloutId}:pause` } : {}),
      ...(resolves.length > 0 ? { resolves } : {}),
    });
    const paging = outcome !== 'promoted' && pages(event.severity);
    if ((paging || resolves.length > 0) && result.failed.includes(PAGER)) {
      if (paging) deps.countOutcome?.('pageUndelivered');
      await keepUnresolved(deps, rollout.rolloutId, record, resolves);
      throw new PageNotDeliveredError(
        paging
          ? `the page for the ${outcome === 'paused' ? 'pause' : 'rollback'} of ${rollout.rolloutId} was not delivered (${PAGER} failed); traffic is on stable`
          : `the resolve of the pause incident of ${rollout.rolloutId} was not delivered (${PAGER} failed); traffic is on stable`,
      );
    }
    if (record?.unresolvedPauses?.length) await forgetUnresolved(deps, rollout.rolloutId, undefined);
    log.info('notified', { rolloutId: rollout.rolloutId, outcome, ...result });
    if (outcome !== 'paused') deps.countOutcome?.(outcome);
    return result;
  });
}

/**
 * `canary retry` ended a pause on failure: its incident is resolved, on PagerDuty only (the history and the
 * state-change events say the step was retried). PageNotDelivered when PagerDuty did not take it, for the
 * workflow to retry.
 */
async function resolvePause(
  deps: NotifyDeps,
  rollout: RolloutDoc,
  record: RolloutRecord | undefined,
  pauseKey: string | undefined,
): Promise<{ delivered: string[]; failed: string[] }> {
  const resolves = openPauseIncidents(record);
  if (!pauseKey) {
    deps.log.info('no pause on failure on the record: no incident to resolve', {
      rolloutId: rollout.rolloutId,
    });
    return { delivered: [], failed: [] };
  }
  const result = await notifyPager(deps, {
    type: 'pause.ended',
    severity: 'info',
    rolloutId: rollout.rolloutId,
    service: rollout.service,
    image: imageLabel(rollout.image),
    summary: `${rollout.service}: the pause of ${imageLabel(rollout.image)} ended: the step is retried`,
    channels: channelsOf(rollout.config),
    at: deps.clock.now().toISOString(),
    resolves,
  });
  if (result.failed.includes(PAGER)) {
    // RetryStep clears the pause: the key stays on the record for the rollout's next notification to resolve.
    await forgetUnresolved(deps, rollout.rolloutId, resolves);
    throw new PageNotDeliveredError(
      `the resolve of the pause incident of ${rollout.rolloutId} was not delivered (${PAGER} failed)`,
    );
  }
  if (record?.unresolvedPauses?.length) await forgetUnresolved(deps, rollout.rolloutId, undefined);
  deps.log.info('resolved the pause incident', { rolloutId: rollout.rolloutId, dedupKey: pauseKey });
  return result;
}

type OutcomeEvent = Pick<
  Extract<
    RolloutEvent,
    { type: 'rollout.promoted' | 'rollout.rolledBack' | 'rollback.failed' | 'rollout.paused' }
  >,
  'type' | 'severity' | 'summary'
>;

/** The event of an outcome: its type, severity (who is woken) and summary. */
function eventFor(
  outcome: Exclude<v.InferOutput<typeof input>['outcome'], 'resumed'>,
  rollout: RolloutDoc,
  label: string,
  errorName: string | undefined,
): OutcomeEvent {
  switch (outcome) {
    case 'promoted':
      return {
        type: 'rollout.promoted',
        severity: 'info',
        summary: `${rollout.service}: ${label} promoted to 100%`,
      };
    case 'rolledBack':
      return {
        type: 'rollout.rolledBack',
        // A person chose this outcome (core/error-policy.ts): worth knowing, not worth waking anyone for.
        severity: rollbackIsDeliberate(errorName) ? 'warning' : 'error',
        summary: `${rollout.service}: ${label} rolled back (${errorName ?? 'failed'})`,
      };
    case 'paused':
      return {
        type: 'rollout.paused',
        severity: 'error',
        summary: `${rollout.service}: ${label} failed its analysis and is paused with 100% on stable, the canary kept for investigation: \`canary retry ${rollout.service}\` runs the step again, \`canary abort ${rollout.service}\` rolls back`,
      };
    case 'rollbackFailed':
      return {
        type: 'rollback.failed',
        severity: 'critical',
        summary: `${rollout.service}: rollback of ${label} did not complete; traffic needs attention`,
      };
  }
}

/** The failed rollback in the history, and announced whether or not the history takes it (the store may be why). */
async function recordRollbackFailed(
  deps: NotifyDeps,
  rollout: RolloutDoc,
  record: RolloutRecord | undefined,
  entry: HistoryEntry,
): Promise<void> {
  await deps.store.appendHistory(rollout.rolloutId, entry).catch((e: unknown) =>
    deps.log.warn('could not record the failed rollback in the history', {
      rolloutId: rollout.rolloutId,
      error: String(e),
    }),
  );
  await announce(deps, record ?? rollout, entry);
}

/**
 * The incidents PagerDuty did not resolve, added to those the record lists (`unresolvedPauses`) so that they are
 * resolved later: by the retried notification, or by reconcile at the execution's end when no notification follows
 * (nothing runs after NotifyPromoted; NotifyRollback's retries may run out).
 */
async function keepUnresolved(
  deps: NotifyDeps,
  rolloutId: string,
  record: RolloutRecord | undefined,
  resolves: string[],
): Promise<void> {
  const listed = record?.unresolvedPauses ?? [];
  const open = [...new Set([...resolves, ...listed])];
  if (open.length > listed.length) await forgetUnresolved(deps, rolloutId, open);
}

/**
 * Keep (`keys`) or clear (undefined) the pause incidents PagerDuty has not resolved. A store that cannot be
 * written is logged: the notification's own outcome stands.
 */
async function forgetUnresolved(deps: NotifyDeps, rolloutId: string, keys: string[] | undefined) {
  await deps.store.updateRollout(rolloutId, { unresolvedPauses: keys }).catch((e: unknown) => {
    deps.log.warn('the unresolved pause incidents could not be recorded', {
      rolloutId,
      unresolvedPauses: keys,
      error: String(e),
    });
  });
}
