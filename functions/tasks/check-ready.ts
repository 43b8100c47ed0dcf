/**
 * check-ready: one poll of the canary's health (after Prepare), of the canary's capacity for a step's weight
 * (between set-weight's scale and shift), or, while promoting, of the stable service's health. The workflow loops
 * Task → Choice → Wait; this task counts the polls and gives up with CanaryNotReady past the configured bound
 * (`readiness`, the same for the three loops).
 */
import * as z from 'zod';
import { CanaryNotReadyError } from '../core/errors';
import type { CanaryCapacity, CanaryHealth, Clock, DeployerFor, RolloutStore } from '../ports';
import { rolloutDocSchema, routeSchema } from './lib/inputs';
import { checkpoint } from './lib/procedures';
import { task } from './lib/task';

export interface CheckReadyDeps {
  deployerFor: DeployerFor;
  store: RolloutStore;
  clock: Clock;
}

const input = z
  .object({
    rollout: rolloutDocSchema,
    route: routeSchema,
    which: z.enum(['canary', 'stable', 'capacity']),
    /** The traffic share the canary's capacity must serve (`capacity` only). */
    weight: z.number().gt(0).max(100).optional(),
    readiness: z.object({ attempts: z.int().min(0) }).optional(),
  })
  .refine((i) => (i.which === 'capacity') === (i.weight !== undefined), {
    message: 'weight is required with which "capacity", and only with it',
    path: ['weight'],
  });

export function makeCheckReady(deps: CheckReadyDeps) {
  const { deployerFor, store, clock } = deps;
  return task('check-ready input', input, async ({ rollout, route, which, weight, readiness }) => {
    await checkpoint(store, rollout.rolloutId);
    const deployer = deployerFor(rollout.config);
    let health: CanaryHealth | CanaryCapacity;
    if (which === 'capacity') health = await deployer.canaryCapacity(rollout.config, route, weight ?? 100);
    else if (which === 'canary') health = await deployer.canaryHealth(rollout.config, route);
    else health = await deployer.stableHealth(rollout.config, route, rollout.image);
    const attempts = (readiness?.attempts ?? 0) + 1;
    const { pollSeconds, timeoutSeconds } = rollout.config.readiness;
    if (!health.ready && attempts * pollSeconds >= timeoutSeconds) {
      const what = which === 'capacity' ? `canary capacity for ${weight}%` : which;
      throw new CanaryNotReadyError(`${what} not ready after ${timeoutSeconds}s: ${health.detail}`);
    }
    const { ready, detail, ...counts } = health;
    return { ready, attempts, detail, ...counts, waitSeconds: clock.workflowSeconds(pollSeconds) };
  });
}
