/**
 * reconcile: the safety net for executions that ended without the workflow's own rollback (stopped from the
 * console or by on-alarm, timed out, a rollback that ran out of retries). Puts stable back, notifies, releases the
 * service. When the store cannot be read it works from the execution's input (the rollout document): traffic back
 * on stable unless a newer execution of the service is running, the page, then the record repaired as soon as the
 * store answers (within this invocation, else on Lambda's retry of the event). At the end of any execution,
 * SUCCEEDED included, it also resolves the pause incidents whose resolve PagerDuty did not take (`unresolvedPauses`)
 * and the pause on failure the record still shows: after the last notification nothing else would.
 */
import type { Context } from 'aws-lambda';
import { executionStatusChangeEvent } from '../core/aws-events';
import { ErrorName, PageNotDeliveredError, TransientError } from '../core/errors';
import { openPauseIncidents } from '../core/notification';
import { buildPlan } from '../core/plan';
import { imageLabel, type RolloutDoc, type RolloutRecord } from '../core/rollout';
import { stepSpecs } from '../core/steps';
import type { Notifier, ServiceCatalog, VerdictFreeEvent } from '../ports';
import { type CarriedState, rolloutDocOf as documentOf, type TrafficOutcome } from './lib/inputs';
import {
  channelsOf,
  configuredRoute,
  ensureHolderStarted,
  executionProgress,
  notifyAll,
  notifyPager,
  PAGER,
  type RollbackDeps,
  recordRollback,
  restoreTraffic,
} from './lib/procedures';
import { task } from './lib/task';

export interface ReconcileDeps extends RollbackDeps {
  catalog: ServiceCatalog;
  /** What these send carries no verdict (a refusal, a reconciled rollback). */
  notifiers: readonly Notifier<VerdictFreeEvent>[];
}

/**
 * Whether a FAILED execution ended in the workflow's own RolledBack state: every Task's failure is caught and
 * routed to Rollback, so an execution fails with its original error only after Rollback restored traffic and
 * NotifyRollback ran. RollbackFailed, LockHeld (it never held the service) and the engine's own States.* errors
 * are the other ways to fail.
 */
function rolledBackByWorkflow(status: string, errorName: string): boolean {
  return (
    status === 'FAILED' &&
    errorName !== ErrorName.RollbackFailed &&
    errorName !== ErrorName.LockHeld &&
    !errorName.startsWith('States.')
  );
}

/**
 * What the workflow's Rollback did before the execution failed, as far as the record's repair goes: it sets and
 * verifies 0% again (the lock is still this rollout's, so the listener is too) before it scales anything down.
 */
const WORKFLOW_RESTORED: TrafficOutcome = {
  restored: true,
  routed: false,
  stableRestored: false,
  canaryScaledDown: false,
};

/** Time kept back from the invocation's remaining time when waiting for the store. */
const REPAIR_MARGIN_MS = 10_000;
const REPAIR_MAX_DELAY_MS = 30_000;

export function makeReconcile(deps: ReconcileDeps) {
  const { store, log } = deps;
  return task(
    'Step Functions Execution Status Change event',
    executionStatusChangeEvent,
    async (event, context) => {
      const { name, status, error, cause } = event.detail;
      // A promotion ended: only the pause incidents its notifications left open are this function's concern.
      if (status === 'SUCCEEDED') {
        const promoted = await store.getRollout(name);
        const resolved = promoted && (await resolveLeftOpen(deps, promoted, event.detail.input));
        return { rolloutId: name, action: resolved ? 'resolved' : 'none', status };
      }
      if (!['FAILED', 'TIMED_OUT', 'ABORTED'].includes(status))
        return { rolloutId: name, action: 'none', status };
      const errorName = error ?? status;
      const reason = `execution ${status.toLowerCase()}${cause ? `: ${cause}` : ''}`;
      let record: Awaited<ReturnType<typeof store.getRollout>>;
      try {
        record = await store.getRollout(name);
      } catch (e) {
        log.warn('the rollout store cannot be read; reconciling from the execution input', {
          rolloutId: name,
          error: String(e),
        });
        return withoutStore(deps, name, status, errorName, reason, event.detail.input, context);
      }
      if (!record) return { rolloutId: name, action: 'none', status, detail: 'not a rollout' };
      if (record.status === 'promoted' || record.status === 'rolledBack') {
        // It handed the service over, but the next rollout's start kept failing until its Rollback gave up.
        const lock = await store.getLock(record.service);
        const handedOver =
          lock?.handedOverBy === name && (await ensureHolderStarted(deps, lock, { handedOver: true }));
        const paged = await pageOwed(deps, record, event.detail.input, status);
        const resolved = await resolveLeftOpen(deps, record, event.detail.input);
        if (handedOver) return { rolloutId: name, action: 'handedOver', status, detail: lock.rolloutId };
        const action = resolved ? 'resolved' : paged ? 'paged' : 'none';
        return { rolloutId: name, action, status, detail: record.status };
      }

      const doc = await documentFor(deps, event.detail.input, record);
      if (!doc)
        throw new Error(`cannot reconcile ${name}: no execution input and no config for ${record.service}`);
      log.warn('reconciling an execution that ended without rolling back', { rolloutId: name, status });
      return restoreNotifyRecord(
        deps,
        doc,
        status,
        errorName,
        reason,
        {},
        context,
        openPauseIncidents(record),
      );
    },
  );
}

/** The incidents `keys` resolved on PagerDuty only (nobody paged): whether PagerDuty took them. */
async function resolvedOnPager(
  deps: ReconcileDeps,
  rollout: Pick<RolloutRecord, 'rolloutId' | 'service' | 'image'>,
  doc: RolloutDoc | undefined,
  keys: string[],
  ended: string,
): Promise<boolean> {
  const image = imageLabel(rollout.image);
  const result = await notifyPager(deps, {
    type: 'pause.ended',
    severity: 'info',
    rolloutId: rollout.rolloutId,
    service: rollout.service,
    image,
    summary: `${rollout.service}: the rollout of ${image} ended ${ended}; its pause incidents are resolved`,
    ...(doc ? { channels: channelsOf(doc.config) } : {}),
    at: deps.clock.now().toISOString(),
    resolves: keys,
  });
  return !result.failed.includes(PAGER);
}

/**
 * The rollback's page PagerDuty did not take when this function sent it (`pageOwed` on the recorded rollback), sent
 * again to PagerDuty only (SNS had it), then the mark cleared: whether it was owed. PagerDuty keys the incident by
 * the rollout id (dedup_key), so a page it took after all is not a second incident while it is open.
 * PageNotDelivered when PagerDuty refuses again: Lambda retries the event, then its dead-letter queue keeps it.
 */
async function pageOwed(
  deps: ReconcileDeps,
  record: RolloutRecord,
  input: string | null | undefined,
  status: string,
): Promise<boolean> {
  if (!record.pageOwed) return false;
  const { rolloutId, service } = record;
  const doc = await documentFor(deps, input, record);
  const result = await notifyPager(deps, {
    type: 'rollout.rolledBack',
    severity: 'error',
    rolloutId,
    service,
    image: imageLabel(record.image),
    summary: `${service}: rollout ${rolloutId} ended ${status}; stable restored by the reconciler`,
    reason: record.outcome?.reason ?? `execution ${status.toLowerCase()}`,
    ...(doc ? { channels: channelsOf(doc.config) } : {}),
    at: deps.clock.now().toISOString(),
  });
  if (result.failed.includes(PAGER))
    throw new PageNotDeliveredError(
      `the page of ${rolloutId}'s rollback was not delivered again (${PAGER} failed)`,
    );
  await deps.store.updateRollout(rolloutId, { pageOwed: undefined });
  return true;
}

/**
 * The pause incidents the rollout's notifications may have left open, resolved on PagerDuty only: those it could
 * not resolve (`unresolvedPauses`: PagerDuty refused the resolve, and no notification followed), then cleared from
 * the record, and the pause on failure the record still shows (a notification that could not read the record kept
 * nothing; a resolve repeated is harmless). Whether there were any. PageNotDelivered when PagerDuty refuses again:
 * Lambda retries the event, then its dead-letter queue keeps it.
 */
async function resolveLeftOpen(
  deps: ReconcileDeps,
  record: RolloutRecord,
  input: string | null | undefined,
): Promise<boolean> {
  const keys = openPauseIncidents(record);
  if (keys.length === 0) return false;
  const { rolloutId } = record;
  // The service's own PagerDuty routing key is in its config.
  const doc = await documentFor(deps, input, record);
  if (!(await resolvedOnPager(deps, record, doc, keys, record.status)))
    throw new PageNotDeliveredError(
      `the resolve of the pause incidents of ${rolloutId} was not delivered (${PAGER} failed)`,
    );
  if (record.unresolvedPauses?.length)
    await deps.store.updateRollout(rolloutId, { unresolvedPauses: undefined });
  deps.log.info('resolved the pause incidents left open', { rolloutId, resolved: keys });
  return true;
}

async function documentFor(
  deps: ReconcileDeps,
  input: string | null | undefined,
  record: RolloutRecord,
): Promise<RolloutDoc | undefined> {
  const { rolloutId, service } = record;
  const carried = documentOf(input);
  if (carried) return carried;
  // The event leaves the input out above 248 KB; every state's input carries the document the rollout started with,
  // so the execution's history has it, where the catalog has only the config deployed since.
  const entered = await deps.executions.lastStateEntered(rolloutId).catch(() => undefined);
  const started = documentOf(entered?.input);
  if (started) return started;
  const config = await deps.catalog.byName(service);
  if (!config) return undefined;
  return {
    rolloutId,
    service,
    image: record.image,
    config,
    plan: buildPlan(stepSpecs(config)),
    trigger: 'deploy-requested',
    requestedAt: record.createdAt,
  };
}

/**
 * The store cannot be read. An execution holds its service until its rollback is recorded, so if a newer
 * execution of the service runs, this one handed the service over after recording its rollback: nothing to do.
 * Otherwise nothing else weights the listener: stable back (the route as configured: exact for a deployer that
 * never swaps target groups), the page, then the record once the store answers. How far the rollout got comes
 * from the state the execution entered last: past PromoteFinish it was promoted (no page); in PromoteFinish only
 * the store can tell (wait for it); while promoting, the stable service goes back on what stable ran.
 */
async function withoutStore(
  deps: ReconcileDeps,
  name: string,
  status: string,
  errorName: string,
  reason: string,
  input: string | null | undefined,
  context: Context,
) {
  const { executions } = deps;
  const doc = documentOf(input);
  if (!doc)
    throw new TransientError(`cannot reconcile ${name} without the store: its input is not a rollout`);
  const newer = (await executions.running()).filter(
    (e) => e.name !== name && documentOf(e.input)?.service === doc.service,
  );
  if (newer.length > 0)
    return {
      rolloutId: name,
      action: 'none',
      status,
      detail: `${doc.service} is rolling out ${newer[0]?.name}`,
    };
  if (rolledBackByWorkflow(status, errorName)) {
    // Its Rollback restored traffic and NotifyRollback paged; only the record is left (RecordRollback ran out).
    return recordWhenStoreAnswers(deps, doc, status, errorName, reason, WORKFLOW_RESTORED, context);
  }
  const { phase, carried } = await executionProgress(executions, name);
  if (phase === 'promoted') return { rolloutId: name, action: 'none', status, detail: 'promoted' };
  if (deps.deployerFor(doc.config).swapsTargetGroups) {
    throw new TransientError(
      `${doc.service} swaps target groups on promotion; which one serves stable is in the store, which cannot be read`,
    );
  }
  return restoreNotifyRecord(
    deps,
    doc,
    status,
    errorName,
    reason,
    { ...carried, route: carried.route ?? configuredRoute(doc.config), ...(phase ? { phase } : {}) },
    context,
  );
}

/**
 * Traffic first (verified), then the page (its dedup key is the rollout id, so a repeat is harmless), then the
 * resolve of the pause incidents the record shows open (`pauseKeys`: stopped or timed out while paused, or a
 * resolve PagerDuty did not take), then the record: tried again while this invocation has time; past that, the
 * error makes Lambda retry the event, then the dead-letter queue keeps it. What PagerDuty did not take is kept on
 * the recorded rollback (`pageOwed`, `unresolvedPauses`) and PageNotDelivered thrown: the retried event finds the
 * rollback recorded and sends just that (pageOwed, resolveLeftOpen).
 */
async function restoreNotifyRecord(
  deps: ReconcileDeps,
  doc: RolloutDoc,
  status: string,
  errorName: string,
  reason: string,
  carried: CarriedState,
  context: Context,
  pauseKeys: string[] = [],
) {
  const name = doc.rolloutId;
  const { clock } = deps;
  const traffic = await restoreTraffic(deps, doc, carried);
  if (traffic.promoted) return { rolloutId: name, action: 'none', status, detail: 'promoted' };
  const notified = await notifyAll(deps, {
    type: 'rollout.rolledBack',
    severity: 'error',
    rolloutId: name,
    service: doc.service,
    image: imageLabel(doc.image),
    summary: `${doc.service}: rollout ${name} ended ${status}; stable restored by the reconciler`,
    reason,
    channels: channelsOf(doc.config),
    at: clock.now().toISOString(),
  });
  // The page first, then the resolves apart (a resolve never goes before its rollback's page): what PagerDuty
  // refused is known, and a retry sends only that.
  const pageRefused = notified.failed.includes(PAGER);
  const resolveRefused =
    !pageRefused && pauseKeys.length > 0 && !(await resolvedOnPager(deps, doc, doc, pauseKeys, status));
  // What PagerDuty did not take goes in the rollback's own write: a retried event that finds the rollback
  // recorded finds it owed too.
  const owed = {
    ...(resolveRefused || (pageRefused && pauseKeys.length > 0) ? { unresolvedPauses: pauseKeys } : {}),
    ...(pageRefused ? { pageOwed: true } : {}),
  };
  const recorded = await recordWhenStoreAnswers(deps, doc, status, errorName, reason, traffic, context, owed);
  if (!pageRefused && !resolveRefused) return recorded;
  const what = pageRefused ? 'page of the rollback' : 'resolve of the pause incidents';
  throw new PageNotDeliveredError(
    `the ${what} of ${name} was not delivered (${PAGER} failed); traffic is on stable and the rollback recorded`,
  );
}

/**
 * The record, tried again while this invocation has time; past that, the error makes Lambda retry the event,
 * then the dead-letter queue keeps it.
 */
async function recordWhenStoreAnswers(
  deps: ReconcileDeps,
  doc: RolloutDoc,
  status: string,
  errorName: string,
  reason: string,
  traffic: TrafficOutcome,
  context: Context,
  owed: Pick<RolloutRecord, 'pageOwed' | 'unresolvedPauses'> = {},
) {
  const name = doc.rolloutId;
  const { clock, log } = deps;
  const deadline = clock.now().getTime() + context.getRemainingTimeInMillis() - REPAIR_MARGIN_MS;
  for (let attempt = 0; ; attempt++) {
    try {
      const recorded = await recordRollback(deps, doc, errorName, reason, traffic, owed);
      return {
        rolloutId: name,
        action: 'rolledBack',
        status,
        restored: traffic.restored && recorded.restored,
      };
    } catch (error) {
      const delay = Math.min(REPAIR_MAX_DELAY_MS, 1000 * 2 ** attempt);
      if (clock.now().getTime() + delay > deadline) throw error;
      log.warn('the rollback is not recorded yet; trying the store again', {
        rolloutId: name,
        error: String(error),
      });
      await clock.sleep(delay);
    }
  }
}
