/** Holding a `.waitForTaskToken` wait: the token kept on the rollout record, so others can end the wait. */
import type { RolloutDoc, RolloutRecord, WaitToken } from '../../core/rollout';
import type { RolloutStore } from '../../ports';
import { checkpoint } from './ownership';

/**
 * Store the wait's token on the record of a rollout that still owns its service, and look again: an abort marked
 * between the first check and storing the token would not have seen the token. Returns the record read before
 * the wait was stored, or undefined when a later wait is stored already: this invocation came late (its state
 * timed out or was retried), its token is dead, and the live one is left alone. Throws as checkpoint does.
 */
export async function holdWait(
  store: RolloutStore,
  rollout: Pick<RolloutDoc, 'rolloutId' | 'service'>,
  wait: WaitToken,
): Promise<RolloutRecord | undefined> {
  const record = await checkpoint(store, rollout);
  if (!(await store.setWait(rollout.rolloutId, wait))) return undefined;
  await checkpoint(store, rollout);
  return record;
}
