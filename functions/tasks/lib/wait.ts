/** Holding a `.waitForTaskToken` wait: the token kept on the rollout record, so others can end the wait. */
import { type RolloutDoc, type RolloutRecord, type WaitToken, waitSeq } from '../../core/rollout';
import type { Clock, RolloutStore } from '../../ports';
import { checkpoint } from './ownership';

/** The wait a task starts: its token, its kind, and where it stands (the step, how many analyses came before). */
export interface WaitRequest {
  token: string;
  kind: WaitToken['kind'];
  step: number;
  analyses: number;
}

/**
 * Store the wait's token on the record of a rollout that still owns its service, and look again: an abort marked
 * between the first check and storing the token would not have seen the token. Returns the record read before
 * the wait was stored, or undefined when a later wait is stored already: this invocation came late (its state
 * timed out or was retried), its token is dead, and the live one is left alone. Throws as checkpoint does.
 */
export async function holdWait(
  deps: { store: Pick<RolloutStore, 'getLock' | 'getRollout' | 'setWait'>; clock: Clock },
  rollout: Pick<RolloutDoc, 'rolloutId' | 'service'>,
  { token, kind, step, analyses }: WaitRequest,
): Promise<RolloutRecord | undefined> {
  const since = deps.clock.now().toISOString();
  const record = await checkpoint(deps.store, rollout);
  const wait = { token, kind, step, seq: waitSeq(step, analyses), since };
  if (!(await deps.store.setWait(rollout.rolloutId, wait))) return undefined;
  await checkpoint(deps.store, rollout);
  return record;
}
