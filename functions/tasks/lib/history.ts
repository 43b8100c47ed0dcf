/** Recording a rollout's history, and announcing each entry as a state-change event. */
import type { HistoryDetail, HistoryEntry, HistoryType } from '../../core/history';
import { type StateChangeSubject, stateChangeOf } from '../../core/state-change';
import type { Clock, Log, RolloutStore, StateChangeBus } from '../../ports';

/** What recording a history entry needs; with `events`, each entry is announced as a state-change event. */
export interface HistoryDeps<S extends Pick<RolloutStore, 'appendHistory'> = RolloutStore> {
  store: S;
  clock: Clock;
  log?: Log;
  events?: StateChangeBus;
}

/**
 * Append an entry to the rollout's history, then announce it (`Canary Rollout State Change`): the one place a
 * rollout's changes are recorded, so every change is an event and none is announced without its record.
 */
export async function recordHistory<T extends HistoryType>(
  deps: HistoryDeps<Pick<RolloutStore, 'appendHistory'>>,
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
