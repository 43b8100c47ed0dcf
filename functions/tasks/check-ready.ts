/**
 * check-ready: one poll of the canary's (or, while promoting, the stable service's) health. The workflow loops
 * Task → Choice → Wait; this task counts the polls and gives up with CanaryNotReady past the configured bound.
 */
import * as z from 'zod';
import { CanaryNotReadyError } from '../core/errors';
import type { Clock, DeployerFor, RolloutStore } from '../ports';
import { rolloutDocSchema, routeSchema } from './lib/inputs';
import { checkpoint } from './lib/procedures';
import { task } from './lib/task';

export interface CheckReadyDeps {
  deployerFor: DeployerFor;
  store: RolloutStore;
  clock: Clock;
}

const input = z.object({
  rollout: rolloutDocSchema,
  route: routeSchema,
  which: z.enum(['canary', 'stable']),
  readiness: z.object({ attempts: z.int().min(0) }).optional(),
});

export function makeCheckReady(deps: CheckReadyDeps) {
  const { deployerFor, store, clock } = deps;
  return task('check-ready input', input, async ({ rollout, route, which, readiness }) => {
    await checkpoint(store, rollout.rolloutId);
    const deployer = deployerFor(rollout.config);
    const health =
      which === 'canary'
        ? await deployer.canaryHealth(rollout.config, route)
        : await deployer.stableHealth(rollout.config, route, rollout.image);
    const attempts = (readiness?.attempts ?? 0) + 1;
    const { pollSeconds, timeoutSeconds } = rollout.config.readiness;
    if (!health.ready && attempts * pollSeconds >= timeoutSeconds) {
      throw new CanaryNotReadyError(`${which} not ready after ${timeoutSeconds}s: ${health.detail}`);
    }
    return {
      ready: health.ready,
      attempts,
      detail: health.detail,
      waitSeconds: clock.workflowSeconds(pollSeconds),
    };
  });
}
