/**
 * Sequences of port calls that more than one task performs. No decisions live here (those are in core); only
 * the order in which the world is changed, which is what the invariants are about.
 */
import type { ServiceConfig } from '../../core/config';
import { RolloutAbortedError, WeightsNotAppliedError } from '../../core/errors';
import type { HistoryEntry, RolloutDoc, RolloutRecord, Route } from '../../core/rollout';
import { imageLabel } from '../../core/rollout';
import { quarantines } from '../../core/rules';
import type {
  Clock,
  DeployerFor,
  Executions,
  Log,
  NotificationChannels,
  Notifier,
  RolloutEvent,
  RolloutStore,
  TrafficRouter,
} from '../../ports';

const VERIFY_ATTEMPTS = 10;
const VERIFY_BASE_DELAY_MS = 250;

/** Set the canary's share and wait until the listener reports it; throws WeightsNotApplied otherwise. */
export async function shiftTraffic(
  deps: { router: TrafficRouter; clock: Clock },
  route: Route,
  canaryPercent: number,
): Promise<void> {
  await deps.router.setWeights(route, canaryPercent);
  for (let attempt = 0; attempt < VERIFY_ATTEMPTS; attempt++) {
    if (await deps.router.verifyWeights(route, canaryPercent)) return;
    await deps.clock.sleep(Math.min(VERIFY_BASE_DELAY_MS * 2 ** attempt, 4000));
  }
  throw new WeightsNotAppliedError(
    `listener did not report ${canaryPercent}% on the canary after ${VERIFY_ATTEMPTS} checks`,
  );
}

/** The route of a rollout: the configured one, with the target groups swapped if a promotion swapped them. */
export async function resolveRoute(store: RolloutStore, config: ServiceConfig): Promise<Route> {
  const t = config.traffic;
  const serving = await store.getServingTargetGroup(config.service);
  const swapped = serving === t.canaryTargetGroupArn;
  return {
    listenerArn: t.listenerArn,
    ...(t.ruleArn ? { ruleArn: t.ruleArn } : {}),
    stableTargetGroupArn: swapped ? t.canaryTargetGroupArn : t.stableTargetGroupArn,
    canaryTargetGroupArn: swapped ? t.stableTargetGroupArn : t.canaryTargetGroupArn,
    ...(t.stickinessSeconds ? { stickinessSeconds: t.stickinessSeconds } : {}),
    ...(t.headerRule ? { headerRule: t.headerRule } : {}),
  };
}

/** Throw the abort's stable error if an alarm, an operator or a newer image has asked this rollout to stop. */
export async function checkpoint(store: RolloutStore, rolloutId: string): Promise<RolloutRecord> {
  const record = await store.getRollout(rolloutId);
  if (!record) throw new Error(`rollout ${rolloutId} has no record`);
  if (record.abort) throw new RolloutAbortedError(record.abort.reason, record.abort.message);
  return record;
}

export async function recordHistory(
  deps: { store: RolloutStore; clock: Clock },
  rolloutId: string,
  type: string,
  message: string,
  detail?: HistoryEntry['detail'],
): Promise<void> {
  await deps.store.appendHistory(rolloutId, {
    at: deps.clock.now().toISOString(),
    type,
    message,
    ...(detail ? { detail } : {}),
  });
}

/** A service's own notification channels for its events (undefined when it names none: the defaults apply). */
export function channelsOf(config: ServiceConfig): NotificationChannels | undefined {
  const n = config.notifications;
  const channels: NotificationChannels = {
    ...(n.snsTopicArn ? { snsTopicArn: n.snsTopicArn } : {}),
    ...(n.pagerDuty ? { pagerDutySecretArn: n.pagerDuty.routingKeySecretArn } : {}),
  };
  return Object.keys(channels).length > 0 ? channels : undefined;
}

/**
 * Send to every notifier; one failing never stops the others, nor the caller. Each notifier sends to the event's
 * `channels` (fill them with `channelsOf`) or to its default.
 */
export async function notifyAll(
  deps: { notifiers: readonly Notifier[]; log: Log },
  event: RolloutEvent,
): Promise<{ delivered: string[]; failed: string[] }> {
  const results = await Promise.allSettled(deps.notifiers.map((n) => n.notify(event)));
  const delivered: string[] = [];
  const failed: string[] = [];
  results.forEach((r, i) => {
    const name = deps.notifiers[i]?.name ?? `notifier-${i}`;
    if (r.status === 'fulfilled') delivered.push(name);
    else {
      failed.push(name);
      deps.log.error('notification failed', { notifier: name, event: event.type, error: String(r.reason) });
    }
  });
  return { delivered, failed };
}

/**
 * Release the service's lock and, if a newer image superseded this rollout, start it: the lock passes to it
 * atomically, and the start is idempotent (same name, same input), so a retry after a crash is safe.
 */
export async function releaseAndHandOver(
  deps: { store: RolloutStore; executions: Executions; clock: Clock; log: Log },
  service: string,
  rolloutId: string,
): Promise<string | undefined> {
  const pending = await deps.store.releaseLock(service, rolloutId, deps.clock.now());
  if (!pending) return undefined;
  await startRolloutExecution(deps, pending);
  deps.log.info('started the rollout that superseded this one', { rolloutId: pending.rolloutId });
  return pending.rolloutId;
}

export async function startRolloutExecution(
  deps: { store: RolloutStore; executions: Executions; clock: Clock },
  doc: RolloutDoc,
): Promise<{ executionArn: string; alreadyStarted: boolean }> {
  const now = deps.clock.now().toISOString();
  if (!(await deps.store.getRollout(doc.rolloutId))) {
    await deps.store.putRollout({
      rolloutId: doc.rolloutId,
      service: doc.service,
      image: doc.image,
      status: 'running',
      alarms: doc.config.analysis.alarms,
      createdAt: now,
      updatedAt: now,
    });
  }
  const lock = await deps.store.getLock(doc.service);
  if (lock?.rolloutId === doc.rolloutId && lock.pending) {
    // A newer image arrived before this one started: it never touches traffic; the newer one starts instead.
    await deps.store.updateRollout(doc.rolloutId, {
      status: 'rolledBack',
      updatedAt: now,
      outcome: {
        result: 'rolledBack',
        reason: `Superseded: ${lock.pending.rolloutId} arrived before it started`,
        at: now,
      },
    });
    const next = await deps.store.releaseLock(doc.service, doc.rolloutId, deps.clock.now());
    if (next) return startRolloutExecution(deps, next);
  }
  return deps.executions.start(doc.rolloutId, { rollout: doc });
}

export interface RollbackDeps {
  router: TrafficRouter;
  deployerFor: DeployerFor;
  store: RolloutStore;
  executions: Executions;
  clock: Clock;
  log: Log;
}

export interface RollbackOutcome {
  /** False when this rollout never held the service (it changed nothing, so there was nothing to undo). */
  restored: boolean;
  reason: string;
  errorName: string;
  quarantined: boolean;
  startedNext?: string;
}

/**
 * Put everything back: 100% stable (verified) before anything is scaled down, the stable service restored if a
 * promotion had already updated it, the canary scaled down, the image quarantined when the canary was at fault,
 * the lock released (handing over to a newer image if one is waiting). Idempotent: safe to run again after a
 * partial failure, and by the reconciler after the workflow.
 */
export async function rollBack(
  deps: RollbackDeps,
  doc: RolloutDoc,
  errorName: string,
  reason: string,
): Promise<RollbackOutcome> {
  const { store, clock } = deps;
  const record = await store.getRollout(doc.rolloutId);
  const lock = await store.getLock(doc.service);
  const ownsLock = lock?.rolloutId === doc.rolloutId;
  if (!record || !ownsLock) {
    // This execution never took the service, or already gave it back (to a newer rollout, perhaps): touching
    // traffic now would hit another rollout.
    if (record && record.status !== 'rolledBack' && record.status !== 'promoted') {
      await store.updateRollout(doc.rolloutId, {
        status: 'rolledBack',
        updatedAt: clock.now().toISOString(),
        outcome: { result: 'rolledBack', reason, at: clock.now().toISOString() },
      });
    }
    return { restored: false, reason, errorName, quarantined: false };
  }
  await store.updateRollout(doc.rolloutId, { status: 'rollingBack', updatedAt: clock.now().toISOString() });

  if (record.route) {
    const deployer = deps.deployerFor(doc.config);
    await shiftTraffic(deps, record.route, 0);
    await store.updateRollout(doc.rolloutId, { canaryPercent: 0 });
    if (record.stableUpdated && record.previousStable) {
      await deployer.restoreStable(doc.config, record.route, record.previousStable);
      await store.updateRollout(doc.rolloutId, { stableUpdated: false });
    }
    await deployer.scaleDownCanary(doc.config, record.route);
  }

  const quarantined = quarantines(errorName);
  if (quarantined)
    await store.quarantine(doc.service, doc.image.digest, `${errorName}: ${reason}`, clock.now());
  const at = clock.now().toISOString();
  await store.updateRollout(doc.rolloutId, {
    status: 'rolledBack',
    updatedAt: at,
    outcome: { result: 'rolledBack', reason: `${errorName}: ${reason}`, at },
  });
  await recordHistory(deps, doc.rolloutId, 'rolledBack', `${imageLabel(doc.image)} rolled back: ${reason}`, {
    error: errorName,
    quarantined,
  });
  const startedNext = await releaseAndHandOver(deps, doc.service, doc.rolloutId);
  return { restored: true, reason, errorName, quarantined, ...(startedNext ? { startedNext } : {}) };
}
