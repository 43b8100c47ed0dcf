/**
 * check-ready: one poll of the canary's health (after Prepare), of the canary's capacity for a step's weight
 * (between set-weight's scale and shift), or, while promoting, of the stable service's health. The workflow loops
 * Task → Choice → Wait; this task counts the polls and gives up with CanaryNotReady past the configured bound
 * (`readiness`, the same for the three loops).
 */

import { capacityPollWait } from '../core/capacity';
import { CanaryNotReadyError } from '../core/errors';
import * as v from '../core/valibot';
import type { CanaryCapacity, CanaryHealth, Clock, DeployerFor, RolloutStore } from '../ports';
import { routedInput } from './lib/inputs';
import { checkpoint } from './lib/procedures';
import { task } from './lib/task';

export interface CheckReadyDeps {
  deployerFor: DeployerFor;
  store: RolloutStore;
  clock: Clock;
}

const input = v.pipe(
  v.object({
    ...routedInput.entries,
    which: v.picklist(['canary', 'stable', 'capacity']),
    /** The traffic share the canary's capacity must serve (`capacity` only). */
    weight: v.optional(v.pipe(v.number(), v.gtValue(0), v.maxValue(100))),
    /** Polls so far; for `capacity`, also the seconds since the scale at which this poll runs. */
    readiness: v.optional(
      v.object({
        attempts: v.pipe(v.int(), v.minValue(0)),
        waited: v.optional(v.pipe(v.number(), v.minValue(0))),
      }),
    ),
  }),
  v.forward(
    v.check(
      (i) => (i.which === 'capacity') === (i.weight !== undefined),
      'weight is required with which "capacity", and only with it',
    ),
    ['weight'],
  ),
);

export function makeCheckReady(deps: CheckReadyDeps) {
  const { deployerFor, store, clock } = deps;
  return task('check-ready input', input, async ({ rollout, route, which, weight, readiness }) => {
    await checkpoint(store, rollout);
    const deployer = deployerFor(rollout.config);
    let health: CanaryHealth | CanaryCapacity;
    if (which === 'capacity') health = await deployer.canaryCapacity(rollout.config, route, weight ?? 100);
    else if (which === 'canary') health = await deployer.canaryHealth(rollout.config, route);
    else health = await deployer.stableHealth(rollout.config, route, rollout.image);
    const attempts = (readiness?.attempts ?? 0) + 1;
    const { ready, detail, ...counts } = health;
    const bound = rollout.config.readiness;
    if (which === 'capacity') {
      // Polls spaced out as time passes (core/capacity.ts), the last one at the timeout.
      const waited = readiness?.waited ?? 0;
      const wait = capacityPollWait(bound, waited);
      if (!ready && wait === 0) {
        throw new CanaryNotReadyError(
          `canary capacity for ${weight}% not ready after ${bound.timeoutSeconds}s: ${detail}`,
        );
      }
      return {
        ready,
        attempts,
        waited: waited + wait,
        detail,
        ...counts,
        waitSeconds: clock.workflowSeconds(wait),
      };
    }
    if (!ready && attempts * bound.pollSeconds >= bound.timeoutSeconds) {
      throw new CanaryNotReadyError(`${which} not ready after ${bound.timeoutSeconds}s: ${detail}`);
    }
    return { ready, attempts, detail, waitSeconds: clock.workflowSeconds(bound.pollSeconds) };
  });
}
