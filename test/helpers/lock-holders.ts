/**
 * Rollouts contending for the `web` service's lock in start-rollout's tests: a holder since `TAKEN` and a rollout
 * pending on it, and the document each carries.
 */
import { buildPlan } from '../../functions/core/plan';
import type { RolloutDoc } from '../../functions/core/rollout';
import { stepSpecs } from '../../functions/core/steps';
import { validParsedConfig } from './config';

export const HOLDER = 'web-00000000000000a1';
export const PENDING = 'web-00000000000000b2';
export const TAKEN = new Date('2025-03-14T09:00:00Z');

/** The document of rollout `rolloutId` of `web`, its image digest `digestByte` repeated, requested at `TAKEN`. */
export function docOf(rolloutId: string, digestByte: string): RolloutDoc {
  const config = validParsedConfig();
  return {
    rolloutId,
    service: 'web',
    image: { repository: 'acme/web', digest: `sha256:${digestByte.repeat(32)}`, tag: 'v1' },
    config,
    plan: buildPlan(stepSpecs(config)),
    trigger: 'ecr-push',
    requestedAt: TAKEN.toISOString(),
  };
}
