/** Whether a task still owns its rollout, and handing a service's lock over to the rollout waiting for it. */
import { ErrorName, LockHeldError, NotOwnerError, RolloutAbortedError } from '../../core/errors';
import type { RolloutDoc, RolloutRecord, RolloutStatus, ServiceLock } from '../../core/rollout';
import { TERMINAL_STATUSES } from '../../core/rollout';
import type { Clock, Executions, Log, RolloutStore } from '../../ports';

/** What a task needs to know before it changes anything: the rollout's record and the service's lock. */
export async function ownership(
  store: Pick<RolloutStore, 'getLock' | 'getRollout'>,
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
  store: Pick<RolloutStore, 'getLock' | 'getRollout'>,
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
    if (!(await startRolloutExecution(deps, pending))) return undefined;
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
 * A holder with no record yet is started from the beginning only when the caller says it may have no starter left
 * (`handedOver`: the rollout that handed the lock over, or a push now pending on it, whose first delivery may have
 * died after taking the lock); two starters meet at the record, written only if absent. Returns the holder's id
 * when it asked for the start.
 */
export async function ensureHolderStarted(
  deps: { store: RolloutStore; executions: Executions; clock: Clock; log: Log },
  lock: ServiceLock,
  options: { handedOver?: boolean } = {},
): Promise<string | undefined> {
  const doc = lock.doc;
  if (doc?.rolloutId !== lock.rolloutId) return undefined;
  const record = await deps.store.getRollout(lock.rolloutId);
  if (record && TERMINAL_STATUSES.has(record.status)) {
    // Over but still holding: a starter stopped between recording it and handing the service over.
    const next = await finishHandOver(deps, doc, record);
    return next?.executionArn.split(':').at(-1);
  }
  if (!record && !options.handedOver) return undefined;
  // With a record, the holder may be running: start it as it is (never the "superseded before it started" path
  // of startRolloutExecution, which would hand its lock over while it runs).
  const started = record ? await startOrGiveBack(deps, doc) : await startRolloutExecution(deps, doc);
  if (!started) return undefined;
  if (!started.alreadyStarted)
    deps.log.warn('started the execution of a lock holder that had none', { rolloutId: lock.rolloutId });
  return lock.rolloutId;
}

/**
 * Start a rollout that holds its service's lock: its record written first (only if it has none: a second starter of
 * the same rollout never rewrites what the first recorded since), then its execution. Starts nothing, returning
 * undefined, when its record says it is over (superseded before it started, refused, or run to its end: Step
 * Functions would refuse the name of a closed execution anyway, ExecutionAlreadyExists, Step Functions API
 * Reference, StartExecution, `name`) or the lock is no longer its own. A starter that stopped after writing the
 * record finds it running and the lock its own, and starts it: the same name and input start one execution
 * (StartExecution is idempotent for them while it runs).
 */
export async function startRolloutExecution(
  deps: { store: RolloutStore; executions: Executions; clock: Clock },
  doc: RolloutDoc,
): Promise<{ executionArn: string; alreadyStarted: boolean } | undefined> {
  const now = deps.clock.now().toISOString();
  let record = await deps.store.getRollout(doc.rolloutId);
  let created = false;
  if (!record) {
    // The lock renewed before the record is written: a newer push that read no record here and judged the lock
    // stale releases it only as it read it, so it cannot take it from a holder that starts now; a lock already
    // taken that way is not this rollout's any more, and nothing starts.
    if (!(await deps.store.renewLock(doc.service, doc.rolloutId, deps.clock.now())))
      throw new LockHeldError(doc.service, (await deps.store.getLock(doc.service))?.rolloutId ?? '(nobody)');
    const fresh: RolloutRecord = {
      rolloutId: doc.rolloutId,
      service: doc.service,
      image: doc.image,
      status: 'running',
      alarms: doc.config.analysis.alarms,
      createdAt: now,
      updatedAt: now,
    };
    created = await deps.store.putRollout(fresh, { ifAbsent: true });
    record = created ? fresh : await deps.store.getRollout(doc.rolloutId);
  }
  if (!record || TERMINAL_STATUSES.has(record.status)) return finishHandOver(deps, doc, record);
  const lock = await deps.store.getLock(doc.service);
  if (lock?.rolloutId !== doc.rolloutId) return undefined;
  if (lock.pending && !created) {
    // Another starter wrote the record and may have started the execution: it is asked to stop, and rolls back and
    // hands the service over itself.
    const by = `superseded by ${lock.pending.rolloutId}`;
    await deps.store.markAborted(doc.rolloutId, ErrorName.Superseded, by, deps.clock.now());
  } else if (lock.pending) {
    // A newer image arrived before this one started (this starter wrote its record: nothing started it yet): it
    // never touches traffic; the newer one starts instead.
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
    return next ? startRolloutExecution(deps, next) : undefined;
  }
  return startOrGiveBack(deps, doc);
}

/**
 * A rollout found over (superseded before it started, by a starter that may have stopped after it recorded that):
 * the hand-over finished, so that a retried starter completes what the first one began. Still holding the lock, it
 * releases it (to the pending rollout, if any: only releasing is left to a rollout recorded over); having handed it
 * over, it starts the next holder, idempotently. Anything else: nothing.
 */
async function finishHandOver(
  deps: { store: RolloutStore; executions: Executions; clock: Clock },
  doc: RolloutDoc,
  record: RolloutRecord | undefined,
): Promise<{ executionArn: string; alreadyStarted: boolean } | undefined> {
  const lock = await deps.store.getLock(doc.service);
  // Rolled back: its traffic and capacity work are done before that is recorded (lib/rollback.ts recordRollback).
  if (lock?.rolloutId === doc.rolloutId && record?.status === 'rolledBack') {
    const next = await deps.store.releaseLock(doc.service, doc.rolloutId, deps.clock.now());
    return next ? startRolloutExecution(deps, next) : undefined;
  }
  if (lock?.handedOverBy !== doc.rolloutId || lock.doc?.rolloutId !== lock.rolloutId) return undefined;
  return startRolloutExecution(deps, lock.doc);
}

/**
 * StartExecution errors that mean no execution was started, by this request or by an attempt of it the SDK made
 * before (the request is invalid, refused, or names no state machine: Step Functions API Reference,
 * StartExecution, Errors). Any other failure (throttling, a timeout, a 5xx, a lost response) may follow a start
 * that succeeded.
 */
const START_REFUSED = /* @__PURE__ */ (() =>
  new Set<string>([
    ErrorName.AccessDenied,
    ErrorName.TargetNotFound,
    'InvalidExecutionInput',
    'InvalidName',
    'InvalidArn',
    'ValidationException',
    'StateMachineDeleting',
  ]))();

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
): Promise<{ executionArn: string; alreadyStarted: boolean } | undefined> {
  let started: { executionArn: string; alreadyStarted: boolean };
  try {
    started = await deps.executions.start(doc.rolloutId, { rollout: doc });
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
  if (started.alreadyStarted) return started;
  // Another starter may have found this rollout superseded before it started, recorded it as over and handed the
  // service on, between this starter's reads and its start: the execution is stopped before its first task, which
  // reads the record before it changes anything (checkpoint), could act.
  const record = await deps.store.getRollout(doc.rolloutId);
  if (!record || !TERMINAL_STATUSES.has(record.status)) return started;
  await deps.executions.stop(
    doc.rolloutId,
    ErrorName.Superseded,
    `${doc.rolloutId} was recorded as ${record.status} before its execution started`,
  );
  return undefined;
}
