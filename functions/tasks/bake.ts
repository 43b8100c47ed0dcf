/**
 * bake: the start of a `.waitForTaskToken` wait. Keeps the token on the rollout record, so an alarm, an abort or
 * a promote can end the wait; otherwise the wait ends by its timeout and the workflow analyzes.
 */
import { waitSeq } from '../core/rollout';
import type { Clock, RolloutStore } from '../ports';
import { waitInput } from './lib/inputs';
import { checkpoint } from './lib/procedures';
import { task } from './lib/task';

export interface BakeDeps {
  store: RolloutStore;
  clock: Clock;
}

export function makeBake(deps: BakeDeps) {
  const { store, clock } = deps;
  return task('bake input', waitInput, async ({ token, rollout, step, analyses }) => {
    const since = clock.now().toISOString();
    await checkpoint(store, rollout);
    const stored = await store.setWait(rollout.rolloutId, {
      token,
      kind: 'bake',
      step: step.index,
      seq: waitSeq(step.index, analyses),
      since,
    });
    // A later wait is stored already: this invocation came late (its state timed out or was retried). Its token is
    // dead; leave the live one alone.
    if (!stored) return { waiting: false };
    // An abort marked between the first check and storing the token would not have seen the token: look again.
    await checkpoint(store, rollout);
    return { waiting: true };
  });
}
