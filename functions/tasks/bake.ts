/**
 * bake: the start of a `.waitForTaskToken` wait. Keeps the token on the rollout record, so an alarm, an abort or
 * a promote can end the wait; otherwise the wait ends by its timeout and the workflow analyzes. Also the wait of a
 * rollout paused on a failed analysis (`kind` failure): `canary retry` or `canary abort` ends it, else its timeout.
 */
import type { Clock, RolloutStore } from '../ports';
import { waitInput } from './lib/inputs';
import { holdWait } from './lib/procedures';
import { task } from './lib/task';

export interface BakeDeps {
  store: RolloutStore;
  clock: Clock;
}

export function makeBake(deps: BakeDeps) {
  return task('bake input', waitInput, async ({ token, rollout, step, analyses, kind }) => {
    const held = await holdWait(deps, rollout, { token, kind, step: step.index, analyses });
    // Not held: a later wait is stored already and this token is dead (lib/wait.ts).
    if (!held) return { waiting: false };
    return { waiting: true };
  });
}
