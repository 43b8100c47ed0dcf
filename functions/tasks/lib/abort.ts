/**
 * Aborting a rollout from outside its workflow (an alarm, a newer image, an operator): the record is marked (the
 * next task's checkpoint fails with the abort's name), the current wait, if any, is failed with the same name so
 * the workflow takes its Rollback path at once, and the history says why.
 */
import type { AbortReason } from '../../core/errors';
import type { HistoryDetail } from '../../core/history';
import type { RolloutRecord, Route } from '../../core/rollout';
import type { Clock, Executions, RolloutStore, TrafficRouter } from '../../ports';
import { writeAfterDecision } from './after-decision';
import { type HistoryDeps, recordHistory } from './history';
import { shiftTraffic } from './traffic';

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
   * could not be (false; the mark's error is thrown after it). The mark first, then the listener: a task moving
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
  | { status: 'alreadyStopping'; marked: RolloutRecord };

export async function abortRollout(
  deps: AbortDeps,
  record: RolloutRecord,
  request: AbortRequest,
): Promise<AbortOutcome> {
  const { reason, message, entry, putStableBack } = request;
  let marked: RolloutRecord;
  try {
    marked = await deps.store.markAborted(record.rolloutId, reason, message, deps.clock.now());
  } catch (error) {
    await putStableBack?.(false);
    throw error;
  }
  if (request.yieldToEarlier && marked.abort && marked.abort.reason !== reason)
    return { status: 'alreadyStopping', marked };
  await putStableBack?.(true);
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

/**
 * An abort's `putStableBack`: 100% on stable, verified, and the record's share 0 once the abort is marked (the
 * record is left alone when the mark could not be stored).
 */
export function stableAfterAbort(
  deps: { router: TrafficRouter; clock: Clock; store: Pick<RolloutStore, 'updateRollout'> },
  rolloutId: string,
  route: Route,
): (marked: boolean) => Promise<void> {
  return async (marked) => {
    await shiftTraffic(deps, route, 0);
    if (marked) await deps.store.updateRollout(rolloutId, { canaryPercent: 0 });
  };
}
