/**
 * Aborting a rollout from outside its workflow (an alarm, a newer image, an operator): the record is marked (the
 * next task's checkpoint fails with the abort's name), the current wait, if any, is failed with the same name so
 * the workflow takes its Rollback path at once, and the history says why.
 */
import { type AbortReason, NotOwnerError } from '../../core/errors';
import type { HistoryDetail } from '../../core/history';
import { holdsService, type RolloutDoc, type RolloutRecord, type Route } from '../../core/rollout';
import type { AbortMark, Clock, Executions, RolloutStore, TrafficRouter } from '../../ports';
import { writeAfterDecision } from './after-decision';
import { type HistoryDeps, recordHistory } from './history';
import { rolloutDocOf } from './inputs';
import { ownership } from './ownership';
import { executionProgress } from './rollback';
import { shiftTraffic } from './traffic';

/**
 * How long an abort's put-back waits, once the mark is stored, to read the record and the lock again: stable goes
 * back without them past it (as when they cannot be read), since a slow or throttled table (the SDK's and the
 * adapter's retries on top) must not keep traffic on the canary.
 */
export const STABLE_REREAD_BUDGET_MS = 300;

export interface AbortDeps extends HistoryDeps {
  executions: Executions;
}

/** The history entry an abort writes, by who asked for it. */
export type AbortEntry =
  | { type: 'alarm'; detail: HistoryDetail<'alarm'> }
  | { type: 'superseded'; detail: HistoryDetail<'superseded'> }
  | { type: 'aborted'; detail: HistoryDetail<'aborted'> };

export interface AbortRequest {
  reason: AbortReason;
  message: string;
  entry: AbortEntry;
  /**
   * Put 100% back on stable without waiting for the workflow, once the mark is stored (`marked` true) or when it
   * could not be (false; the mark's error is thrown after it); never when the store answers that the rollout no
   * longer holds its service (the listener may be a newer rollout's). The mark first, then the listener: a task moving
   * traffic reads the mark after its own write and puts stable back itself (lib/traffic.ts moveTraffic), so
   * whichever writes last, stable wins.
   */
  putStableBack?: (marked: boolean) => Promise<void>;
  /**
   * `throw` (the default): a failed write after the mark is thrown, for the event to be retried (the abort is
   * idempotent). `settle`: the abort stands once marked; the writes after it are retried, and one that still fails
   * is reported (an operator's abort, answered at once).
   */
  writes?: 'throw' | 'settle';
  /** When the rollout is already stopping for another reason, leave it at that (the first reason wins). */
  yieldToEarlier?: boolean;
}

export type AbortOutcome =
  | { status: 'aborted'; marked: RolloutRecord; waitInterrupted: boolean; historyWritten: boolean }
  | { status: 'alreadyStopping'; marked: RolloutRecord }
  /** The rollout no longer holds its service (it ended; a newer one may own the listener): nothing written or moved. */
  | { status: 'notHolding'; found: RolloutRecord | undefined; why: string };

export async function abortRollout(
  deps: AbortDeps,
  record: RolloutRecord,
  request: AbortRequest,
): Promise<AbortOutcome> {
  const { reason, message, entry, putStableBack } = request;
  let mark: AbortMark;
  try {
    mark = await deps.store.markAborted(record.rolloutId, reason, message, deps.clock.now());
  } catch (error) {
    await putStableBack?.(false);
    throw error;
  }
  if (!mark.holds) return { status: 'notHolding', found: mark.record, why: notHoldingReason(record, mark) };
  const marked = mark.record;
  if (request.yieldToEarlier && marked.abort && marked.abort.reason !== reason)
    return { status: 'alreadyStopping', marked };
  try {
    await putStableBack?.(true);
  } catch (error) {
    // The rollout let its service go after the mark (its rollback ended, maybe handing the service over): nothing
    // was moved, and nothing is left to stop.
    if (error instanceof NotOwnerError) return { status: 'notHolding', found: marked, why: error.message };
    throw error;
  }
  const wait = marked.wait;
  const writes = {
    ...(wait ? { wait: () => deps.executions.sendTaskFailure(wait.token, reason, message) } : {}),
    history: () => recordAbort(deps, record, message, entry),
  };
  if (request.writes !== 'settle') {
    for (const write of Object.values(writes)) await write();
    return { status: 'aborted', marked, waitInterrupted: true, historyWritten: true };
  }
  const failed = await writeAfterDecision(deps.clock, writes, () => undefined);
  return {
    status: 'aborted',
    marked,
    waitInterrupted: !failed.includes('wait'),
    historyWritten: !failed.includes('history'),
  };
}

function recordAbort(deps: HistoryDeps, record: RolloutRecord, message: string, entry: AbortEntry) {
  switch (entry.type) {
    case 'alarm':
      return recordHistory(deps, record, 'alarm', message, entry.detail);
    case 'superseded':
      return recordHistory(deps, record, 'superseded', message, entry.detail);
    case 'aborted':
      return recordHistory(deps, record, 'aborted', message, entry.detail);
  }
}

/** Why an abort found nothing to stop: the rollout's state and who holds its service now. */
function notHoldingReason(
  record: Pick<RolloutRecord, 'rolloutId' | 'service'>,
  mark: { record: RolloutRecord | undefined; holder: string | undefined },
): string {
  const lock = mark.holder
    ? `${record.service}'s lock is held by ${mark.holder}`
    : `${record.service}'s lock is free`;
  return mark.record
    ? `${record.rolloutId} is ${mark.record.status} and ${lock}`
    : `${record.rolloutId} has no record`;
}

/**
 * An abort's `putStableBack`: 100% on stable, verified, and the record's share 0 once the abort is marked, which
 * the store does only while the rollout holds its service. The mark does not keep it holding: a rollout already
 * rolling back may record its end and hand the service over before this runs (a stalled caller, an operator's
 * laptop asleep), so the record and the lock are read again first, for STABLE_REREAD_BUDGET_MS at most, and NotOwner
 * thrown, moving nothing, when it no longer holds the service (abortRollout answers notHolding). When the mark could not be stored (the store failed),
 * the running executions say who holds the service, as they do for on-alarm without the store: traffic is moved
 * only when the rollout's execution is the newest running one of its service and has not promoted; otherwise
 * NotOwner is thrown, naming why, and nothing is moved.
 */
export function stableAfterAbort(
  deps: {
    router: TrafficRouter;
    clock: Clock;
    store: Pick<RolloutStore, 'updateRollout' | 'getRollout' | 'getLock'>;
    executions: Executions;
  },
  record: Pick<RolloutRecord, 'rolloutId' | 'service'>,
  route: Route,
): (marked: boolean) => Promise<void> {
  return async (marked) => {
    if (marked) {
      // Unreadable now, or not read within the budget: the mark was stored a moment ago while it held the service,
      // and stable does not wait on the store.
      const now = await withinBudget(ownership(deps.store, record), STABLE_REREAD_BUDGET_MS).catch(
        () => undefined,
      );
      const holder = now?.lock?.rolloutId;
      if (now && !holdsService(now.record, holder))
        throw new NotOwnerError(
          record.service,
          holder,
          `${notHoldingReason(record, { record: now.record, holder })} since the abort was marked: no traffic was moved`,
        );
    } else {
      const holder = await executionHolding(deps.executions, record.service);
      if (holder !== record.rolloutId)
        throw new NotOwnerError(
          record.service,
          holder,
          `the store could not be written and ${record.rolloutId}'s execution does not hold ${record.service} (${holder ? `${holder} does` : 'no running execution of it has not promoted'}): no traffic was moved`,
        );
    }
    await shiftTraffic(deps, route, 0);
    if (marked) await deps.store.updateRollout(record.rolloutId, { canaryPercent: 0 });
  };
}

/** What `work` answers within `ms`, or undefined past them (it is left to settle on its own). */
function withinBudget<T>(work: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const outOfTime = new Promise<undefined>((resolve) => {
    timer = setTimeout(resolve, ms, undefined);
  });
  return Promise.race([work, outOfTime]).finally(() => clearTimeout(timer));
}

/**
 * Without the store: the newest running execution of `service` holds it (an older one still running has handed
 * it over and is only recording its rollback), unless its PromoteFinish returned (the state it entered last says
 * so). Undefined when none holds it.
 */
async function executionHolding(executions: Executions, service: string): Promise<string | undefined> {
  const newest = (await newestRunning(executions)).get(service);
  if (!newest) return undefined;
  return (await executionProgress(executions, newest.name)).phase === 'promoted' ? undefined : newest.name;
}

/**
 * The newest running execution of each service, with its rollout document (ListExecutions lists the newest
 * first): the one that holds the service unless it promoted (executionProgress says so).
 */
export async function newestRunning(
  executions: Executions,
): Promise<Map<string, { name: string; doc: RolloutDoc }>> {
  const newest = new Map<string, { name: string; doc: RolloutDoc }>();
  for (const e of await executions.running()) {
    const doc = rolloutDocOf(e.input);
    if (doc && !newest.has(doc.service)) newest.set(doc.service, { name: e.name, doc });
  }
  return newest;
}
