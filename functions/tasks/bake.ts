/**
 * bake: the start of a `.waitForTaskToken` wait. Keeps the token on the rollout record, so an alarm, an abort or
 * a promote can end the wait; otherwise the wait ends by its timeout and the workflow analyzes.
 */
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
  return task('bake input', waitInput, async ({ token, rollout, step }) => {
    await checkpoint(store, rollout.rolloutId);
    await store.setWait(rollout.rolloutId, {
      token,
      kind: 'bake',
      step: step.index,
      since: clock.now().toISOString(),
    });
    // An abort marked between the first check and storing the token would not have seen the token: look again.
    await checkpoint(store, rollout.rolloutId);
    return { waiting: true };
  });
}
