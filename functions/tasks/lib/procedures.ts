/**
 * Sequences of port calls that more than one task performs. No decisions live here (those are in core); only
 * the order in which the world is changed, which is what the invariants are about.
 */
import type { ServiceConfig } from '../../core/config';
import {
  ErrorName,
  NotOwnerError,
  RolloutAbortedError,
  TrafficDriftedError,
  TransientError,
  WeightsNotAppliedError,
} from '../../core/errors';
import type { HistoryDetail, HistoryEntry, HistoryType } from '../../core/history';
import { albWeights, trafficDrift } from '../../core/plan';
import type {
  DeployedVersion,
  RolloutDoc,
  RolloutRecord,
  RolloutStatus,
  Route,
  ServiceLock,
} from '../../core/rollout';
import { imageLabel, TERMINAL_STATUSES } from '../../core/rollout';
import { quarantines } from '../../core/rules';
import { type StateChangeSubject, stateChangeOf } from '../../core/state-change';
import type {
  Clock,
  DeployerFor,
  Executions,
  Log,
  NotificationChannels,
  Notifier,
  RolloutEvent,
  RolloutStore,
  StateChangeBus,
  TrafficRouter,
} from '../../ports';
import type { CarriedState, TrafficOutcome } from './inputs';

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

/**
 * A rollout's own traffic move (a step's weight, promotion's 100%), so that an alarm or an abort always wins: the
 * stop is recorded first and then puts 100% on stable (on-alarm), while this writes first and then reads the mark
 * (after the write, and whenever the listener does not show the write yet). Whichever order the two run in, either
 * this sees the mark and puts stable back itself, or the stop's write came after this one. ALB has no conditional
 * weight change (ModifyListener and ModifyRule replace the actions), so the order is what keeps it safe. Throws the
 * abort's stable error once stable is back.
 */
export async function moveTraffic(
  deps: { router: TrafficRouter; store: RolloutStore; clock: Clock },
  rollout: Pick<RolloutDoc, 'rolloutId'>,
  route: Route,
  canaryPercent: number,
): Promise<void> {
  const aborted = async () => (await deps.store.getRollout(rollout.rolloutId))?.abort;
  await deps.router.setWeights(route, canaryPercent);
  let verified = false;
  let abort: RolloutRecord['abort'];
  for (let attempt = 0; attempt < VERIFY_ATTEMPTS && !verified && !abort; attempt++) {
    verified = await deps.router.verifyWeights(route, canaryPercent);
    if (!verified) {
      abort = await aborted();
      if (!abort) await deps.clock.sleep(Math.min(VERIFY_BASE_DELAY_MS * 2 ** attempt, 4000));
    }
  }
  abort ??= await aborted();
  if (abort) {
    await shiftTraffic(deps, route, 0);
    await deps.store.updateRollout(rollout.rolloutId, { canaryPercent: 0 });
    throw new RolloutAbortedError(abort.reason, abort.message);
  }
  if (!verified) {
    throw new WeightsNotAppliedError(
      `listener did not report ${canaryPercent}% on the canary after ${VERIFY_ATTEMPTS} checks`,
    );
  }
}

/**
 * Throw TrafficDrifted, naming the weights seen and expected, when the listener no longer gives the canary the share
 * the rollout set (someone changed it by hand, or infrastructure as code put its own weights back). The cheap check
 * first (the one every weight change ends with); the listener is described only to name what changed.
 */
export async function checkDrift(
  deps: { router: TrafficRouter },
  route: Route,
  expectedPercent: number,
): Promise<void> {
  if (await deps.router.verifyWeights(route, expectedPercent)) return;
  const weights = await deps.router.describe(route);
  const drift = trafficDrift(
    weights,
    { stable: route.stableTargetGroupArn, canary: route.canaryTargetGroupArn },
    expectedPercent,
  );
  const set = albWeights(expectedPercent);
  const expected = `${expectedPercent}% on the canary (stable ${set.stable}, canary ${set.canary})`;
  if (!drift) {
    // The weights hold the share; what the weight change also keeps (the testers' header rule) does not.
    throw new TrafficDriftedError(
      `the listener's routing was changed outside the rollout: the weights still give ${expected}, but not the header rule the rollout set`,
    );
  }
  const others = drift.others.map((arn) => `, ${arn} ${weights[arn]}`).join('');
  throw new TrafficDriftedError(
    `the listener's weights were changed outside the rollout: expected ${expected}, found stable ${drift.seen.stable}, canary ${drift.seen.canary}${others} (${drift.seenPercent}% on the canary${drift.others.length > 0 ? ', and traffic to another target group' : ''})`,
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

/** What a task needs to know before it changes anything: the rollout's record and the service's lock. */
export async function ownership(
  store: RolloutStore,
  rollout: Pick<RolloutDoc, 'rolloutId' | 'service'>,
): Promise<{ record: RolloutRecord | undefined; lock: ServiceLock | undefined }> {
  const [lock, record] = await Promise.all([
    store.getLock(rollout.service),
    store.getRollout(rollout.rolloutId),
  ]);
  return { record, lock };
}

/** The statuses in which a rollout's own tasks still move it forward. */
const MOVING: ReadonlySet<RolloutStatus> = new Set(['running', 'promoting']);

/**
 * The record of a rollout that still owns its service, read before any side effect. Throws the abort's stable
 * error if an alarm, an operator or a newer image has asked it to stop, and LockHeld when it no longer owns the
 * service: its lock passed on (it ended and a newer rollout holds the service) or it is over or rolling back.
 * A task retried after its attempt finished the rollout (its response lost) thus changes nothing that a newer
 * rollout owns.
 */
export async function checkpoint(
  store: RolloutStore,
  rollout: Pick<RolloutDoc, 'rolloutId' | 'service'>,
): Promise<RolloutRecord> {
  return stillOwned(rollout, await ownership(store, rollout));
}

/** checkpoint's judgement on what `ownership` read. */
export function stillOwned(
  rollout: Pick<RolloutDoc, 'rolloutId' | 'service'>,
  { record, lock }: { record: RolloutRecord | undefined; lock: ServiceLock | undefined },
): RolloutRecord {
  if (!record) throw new Error(`rollout ${rollout.rolloutId} has no record`);
  if (record.abort) throw new RolloutAbortedError(record.abort.reason, record.abort.message);
  if (lock?.rolloutId !== rollout.rolloutId || !MOVING.has(record.status)) {
    throw new NotOwnerError(
      rollout.service,
      lock?.rolloutId,
      `rollout ${rollout.rolloutId} is ${record.status} and the service's lock is held by ${lock?.rolloutId ?? 'nobody'}: it changes nothing`,
    );
  }
  return record;
}

/** What recording a history entry needs; with `events`, each entry is announced as a state-change event. */
export interface HistoryDeps {
  store: RolloutStore;
  clock: Clock;
  log?: Log;
  events?: StateChangeBus;
}

/**
 * Append an entry to the rollout's history, then announce it (`Canary Rollout State Change`): the one place a
 * rollout's changes are recorded, so every change is an event and none is announced without its record.
 */
export async function recordHistory<T extends HistoryType>(
  deps: HistoryDeps,
  rollout: StateChangeSubject,
  type: T,
  message: string,
  ...[detail]: HistoryDetail<T> extends undefined ? [] : [detail: HistoryDetail<T>]
): Promise<void> {
  // The signature pairs the type with its kind's detail; TypeScript cannot follow that pairing into the object.
  const entry = {
    at: deps.clock.now().toISOString(),
    type,
    message,
    ...(detail ? { detail } : {}),
  } as HistoryEntry;
  await deps.store.appendHistory(rollout.rolloutId, entry);
  await announce(deps, rollout, entry);
}

/**
 * Put a history entry's state-change event on the bus. Never throws: an event is news, not a step of the
 * rollout, so one that cannot be built or put is logged (and counted by the bus adapter) and the task goes on.
 * Returns whether it was put.
 */
export async function announce(
  deps: { events?: StateChangeBus; log?: Log },
  rollout: StateChangeSubject,
  entry: HistoryEntry,
): Promise<boolean> {
  if (!deps.events) return false;
  try {
    await deps.events.put([stateChangeOf(rollout, entry)]);
    return true;
  } catch (error) {
    deps.log?.error('rollout state change event not published', {
      rolloutId: rollout.rolloutId,
      type: entry.type,
      error: String(error),
    });
    return false;
  }
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
  try {
    await startRolloutExecution(deps, pending);
  } catch (error) {
    // Refused for good: it was recorded as rolled back and gave the service back. Anything else is retried.
    if (!startRefused(error)) throw error;
    deps.log.error('the rollout that superseded this one could not start', {
      rolloutId: pending.rolloutId,
      error: String(error),
    });
    return undefined;
  }
  deps.log.info('started the rollout that superseded this one', { rolloutId: pending.rolloutId });
  return pending.rolloutId;
}

/**
 * Start the lock holder's execution if it may never have started: the lock was taken or handed over for it, and
 * the start that follows failed or was never reached. Idempotent: an execution with the same name and input is
 * the same execution (Step Functions API Reference, StartExecution), so a holder already running is left alone.
 * A holder with no record yet is being started by whoever took the lock for it; only the rollout that handed
 * the lock over (`handedOver`), which is that starter, starts it from the beginning. Returns the holder's id when
 * it asked for the start.
 */
export async function ensureHolderStarted(
  deps: { store: RolloutStore; executions: Executions; clock: Clock; log: Log },
  lock: ServiceLock,
  options: { handedOver?: boolean } = {},
): Promise<string | undefined> {
  const doc = lock.doc;
  if (doc?.rolloutId !== lock.rolloutId) return undefined;
  const record = await deps.store.getRollout(lock.rolloutId);
  if (record && TERMINAL_STATUSES.has(record.status)) return undefined;
  if (!record && !options.handedOver) return undefined;
  // With a record, the holder may be running: start it as it is (never the "superseded before it started" path
  // of startRolloutExecution, which would hand its lock over while it runs).
  const started = record ? await startOrGiveBack(deps, doc) : await startRolloutExecution(deps, doc);
  if (!started.alreadyStarted)
    deps.log.warn('started the execution of a lock holder that had none', { rolloutId: lock.rolloutId });
  return lock.rolloutId;
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
  return startOrGiveBack(deps, doc);
}

/**
 * StartExecution errors that mean no execution was started, by this request or by an attempt of it the SDK made
 * before (the request is invalid, refused, or names no state machine: Step Functions API Reference,
 * StartExecution, Errors). Any other failure (throttling, a timeout, a 5xx, a lost response) may follow a start
 * that succeeded.
 */
const START_REFUSED = new Set<string>([
  ErrorName.AccessDenied,
  ErrorName.TargetNotFound,
  'InvalidExecutionInput',
  'InvalidName',
  'InvalidArn',
  'ValidationException',
  'StateMachineDeleting',
]);

export function startRefused(error: unknown): boolean {
  return error instanceof Error && START_REFUSED.has(error.name);
}

/**
 * Start the rollout's execution. Only when Step Functions says it started nothing is the lock given back (to the
 * pending rollout, if any) with the rollout recorded as rolled back; after any other failure the execution may
 * hold the lock, so it keeps it.
 */
async function startOrGiveBack(
  deps: { store: RolloutStore; executions: Executions; clock: Clock },
  doc: RolloutDoc,
): Promise<{ executionArn: string; alreadyStarted: boolean }> {
  try {
    return await deps.executions.start(doc.rolloutId, { rollout: doc });
  } catch (error) {
    if (!startRefused(error)) throw error;
    const at = deps.clock.now().toISOString();
    const reason = `could not start: ${(error as Error).name}: ${(error as Error).message}`;
    await deps.store.updateRollout(doc.rolloutId, {
      status: 'rolledBack',
      updatedAt: at,
      outcome: { result: 'rolledBack', reason, at },
    });
    const next = await deps.store.releaseLock(doc.service, doc.rolloutId, deps.clock.now());
    if (next) await startRolloutExecution(deps, next).catch(() => undefined);
    throw error;
  }
}

export interface RollbackDeps {
  router: TrafficRouter;
  deployerFor: DeployerFor;
  store: RolloutStore;
  executions: Executions;
  clock: Clock;
  log: Log;
  events?: StateChangeBus;
}

export interface RollbackOutcome {
  /** False when this rollout never held the service (it changed nothing, so there was nothing to undo). */
  restored: boolean;
  reason: string;
  errorName: string;
  quarantined: boolean;
  startedNext?: string;
}

/** The route as configured: exact without the store when the deployer never swaps the target groups' roles. */
export function configuredRoute(config: ServiceConfig): Route {
  const t = config.traffic;
  return {
    listenerArn: t.listenerArn,
    ...(t.ruleArn ? { ruleArn: t.ruleArn } : {}),
    stableTargetGroupArn: t.stableTargetGroupArn,
    canaryTargetGroupArn: t.canaryTargetGroupArn,
    ...(t.stickinessSeconds ? { stickinessSeconds: t.stickinessSeconds } : {}),
    ...(t.headerRule ? { headerRule: t.headerRule } : {}),
  };
}

async function readOwnership(
  deps: { store: RolloutStore; log: Log },
  doc: RolloutDoc,
): Promise<{ record: RolloutRecord | undefined; holder: string | undefined } | undefined> {
  try {
    const record = await deps.store.getRollout(doc.rolloutId);
    const lock = await deps.store.getLock(doc.service);
    return { record, holder: lock?.rolloutId };
  } catch (error) {
    deps.log.warn('the rollout store cannot be read; restoring traffic from what the execution carries', {
      rolloutId: doc.rolloutId,
      error: String(error),
    });
    return undefined;
  }
}

/**
 * Put 100% back on stable (verified), restore the stable service if a promotion had updated it, then scale the
 * canary down. Reads the store to learn whether this rollout still holds the service; when the store cannot be
 * read, what the execution carries decides, and nothing is written: restoring traffic never waits for the store.
 * An execution holds its service's lock until its rollback's record is written (recordRollback, after this), so
 * only a promotion that may have finished (`finishing`) can have let the service go: then, without the store,
 * nothing is touched and the caller retries.
 */
export async function restoreTraffic(
  deps: RollbackDeps,
  doc: RolloutDoc,
  carried: CarriedState,
): Promise<TrafficOutcome> {
  const nothing = { routed: false, stableRestored: false, canaryScaledDown: false };
  const known = await readOwnership(deps, doc);
  let route: Route | undefined;
  let previous: DeployedVersion | undefined;
  if (known) {
    const { record, holder } = known;
    if (record?.status === 'promoted') return { restored: false, promoted: true, ...nothing };
    // This execution never took the service, or already gave it back (to a newer rollout, perhaps): touching
    // traffic now would hit another rollout.
    if (!record || holder !== doc.rolloutId) return { restored: false, ...nothing };
    route = record.route ?? carried.route;
    previous = record.stableUpdated ? record.previousStable : undefined;
    await deps.store
      .updateRollout(doc.rolloutId, { status: 'rollingBack', updatedAt: deps.clock.now().toISOString() })
      .catch((error: unknown) =>
        deps.log.warn('could not mark the rollout rolling back', {
          rolloutId: doc.rolloutId,
          error: String(error),
        }),
      );
  } else {
    if (carried.phase === 'finishing') {
      throw new TransientError(
        `the promotion of ${doc.rolloutId} may have finished and released ${doc.service}; whether it still holds the service is in the store, which cannot be read`,
      );
    }
    route = carried.route;
    previous = carried.phase === 'promoting' ? carried.previousStable : undefined;
  }
  const outcome = { restored: true, ...nothing, ...(known ? {} : { storeUnavailable: true }) };
  if (!route) return outcome; // Prepare never returned a route: this rollout never weighted the listener.
  const deployer = deps.deployerFor(doc.config);
  await shiftTraffic(deps, route, 0);
  let stableRestored = false;
  if (previous && !deployer.swapsTargetGroups) {
    await deployer.restoreStable(doc.config, route, previous);
    stableRestored = true;
  }
  await deployer.scaleDownCanary(doc.config, route);
  return { ...outcome, routed: true, stableRestored, canaryScaledDown: true };
}

/**
 * The store's side of a rollback, once traffic is safe and on-call has heard: whatever traffic work could not be
 * done without the store (no route was carried, the stable service updated), the image quarantined when it was at
 * fault, the record marked rolled back, its history, the lock released (handing over to a newer image if one is
 * waiting). Needs the store: the workflow retries it with backoff until the store answers. Idempotent.
 */
export async function recordRollback(
  deps: RollbackDeps,
  doc: RolloutDoc,
  errorName: string,
  reason: string,
  traffic: Pick<TrafficOutcome, 'routed' | 'stableRestored' | 'canaryScaledDown'>,
): Promise<RollbackOutcome> {
  const { store, clock } = deps;
  const record = await store.getRollout(doc.rolloutId);
  const lock = await store.getLock(doc.service);
  if (!record || lock?.rolloutId !== doc.rolloutId) {
    if (record && record.status !== 'rolledBack' && record.status !== 'promoted') {
      await store.updateRollout(doc.rolloutId, {
        status: 'rolledBack',
        updatedAt: clock.now().toISOString(),
        outcome: { result: 'rolledBack', reason, at: clock.now().toISOString() },
      });
    }
    // Handed over, but the start of the next rollout may have failed (this is the retry): finish the hand-over.
    const startedNext =
      lock?.handedOverBy === doc.rolloutId
        ? await ensureHolderStarted(deps, lock, { handedOver: true })
        : undefined;
    return {
      restored: false,
      reason,
      errorName,
      quarantined: false,
      ...(startedNext ? { startedNext } : {}),
    };
  }
  if (record.status === 'promoted') {
    // The promotion finished (a retried task failed after it): nothing to undo; only the service to let go.
    const startedNext = await releaseAndHandOver(deps, doc.service, doc.rolloutId);
    return {
      restored: false,
      reason,
      errorName,
      quarantined: false,
      ...(startedNext ? { startedNext } : {}),
    };
  }

  if (record.route) {
    const deployer = deps.deployerFor(doc.config);
    if (!traffic.routed) await shiftTraffic(deps, record.route, 0);
    if (record.stableUpdated && record.previousStable && !traffic.stableRestored)
      await deployer.restoreStable(doc.config, record.route, record.previousStable);
    if (!traffic.routed || !traffic.canaryScaledDown)
      await deployer.scaleDownCanary(doc.config, record.route);
  }

  const quarantined = quarantines(
    errorName,
    errorName === 'ApprovalRejected' || errorName === 'ApprovalTimedOut'
      ? await store.history(doc.rolloutId)
      : [],
  );
  if (quarantined)
    await store.quarantine(doc.service, doc.image.digest, `${errorName}: ${reason}`, clock.now());
  const at = clock.now().toISOString();
  await store.updateRollout(doc.rolloutId, {
    status: 'rolledBack',
    updatedAt: at,
    ...(record.route ? { canaryPercent: 0 } : {}),
    ...(record.stableUpdated ? { stableUpdated: false } : {}),
    outcome: { result: 'rolledBack', reason: `${errorName}: ${reason}`, at },
  });
  await recordHistory(deps, doc, 'rolledBack', `${imageLabel(doc.image)} rolled back: ${reason}`, {
    error: errorName,
    reason,
    quarantined,
  });
  const startedNext = await releaseAndHandOver(deps, doc.service, doc.rolloutId);
  return { restored: true, reason, errorName, quarantined, ...(startedNext ? { startedNext } : {}) };
}
