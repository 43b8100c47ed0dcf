/**
 * promote, in three phases the workflow calls in turn (the Flagger model):
 * - `begin`: 100% on the canary (verified), then the stable service rolls onto the new image;
 * - `shiftBack`: once stable is steady, 100% back on the stable target group (verified), and the drain time;
 * - `finish`: with the canary's weight verified at 0, scale it down, release the service, record the outcome.
 * With a deployer that swaps target-group roles, the canary target group simply becomes the stable one.
 */

import { WeightsNotAppliedError } from '../core/errors';
import { imageLabel } from '../core/rollout';
import { drainSeconds } from '../core/routes';
import * as v from '../core/valibot';
import type { DeployerFor } from '../ports';
import { routedInput } from './lib/inputs';
import {
  moveTraffic,
  ownership,
  type RollbackDeps,
  recordHistory,
  releaseAndHandOver,
  shiftTraffic,
  stillOwned,
} from './lib/procedures';
import { task } from './lib/task';

/** Promoting needs what putting traffic back needs (lib/procedures.ts). */
/** A rollback's ports, the deployer in full: a promotion rolls the stable service onto the new image. */
export type PromoteDeps = Omit<RollbackDeps, 'deployerFor'> & { deployerFor: DeployerFor };

const input = v.object({
  ...routedInput.entries,
  phase: v.picklist(['begin', 'shiftBack', 'finish']),
});

export function makePromote(deps: PromoteDeps) {
  const { router, deployerFor, store, clock, log } = deps;
  return task('promote input', input, async ({ rollout, route, phase }) => {
    const owned = await ownership(store, rollout);
    if (phase === 'finish') {
      const { record, lock } = owned;
      if (record?.status === 'promoted') {
        // A retry of an attempt that finished (its response lost): the canary and the outcome are done, and the
        // service may already belong to the next rollout. Only a hand-over the attempt did not reach is left.
        const startedNext =
          lock?.rolloutId === rollout.rolloutId
            ? await releaseAndHandOver(deps, rollout.service, rollout.rolloutId)
            : undefined;
        log.info('already promoted', { rolloutId: rollout.rolloutId });
        return { promoted: true, ...(startedNext ? { startedNext } : {}) };
      }
    }
    stillOwned(rollout, owned);
    const deployer = deployerFor(rollout.config);
    const { config } = rollout;
    const now = () => clock.now().toISOString();

    if (phase === 'begin') {
      await moveTraffic(deps, rollout, route, 100);
      await store.updateRollout(rollout.rolloutId, {
        status: 'promoting',
        canaryPercent: 100,
        updatedAt: now(),
      });
      if (!deployer.swapsTargetGroups) {
        await store.updateRollout(rollout.rolloutId, { stableUpdated: true });
        await deployer.promoteStable(config, route, rollout.image);
      }
      await recordHistory(deps, rollout, 'promoting', `promoting ${imageLabel(rollout.image)}`);
      return {
        readiness: {
          attempts: 0,
          ready: false,
          waitSeconds: clock.workflowSeconds(config.readiness.pollSeconds),
        },
      };
    }

    if (phase === 'shiftBack') {
      if (deployer.swapsTargetGroups) return { seconds: 0 };
      await shiftTraffic(deps, route, 0);
      await store.updateRollout(rollout.rolloutId, { canaryPercent: 0, updatedAt: now() });
      const drain = drainSeconds(config.traffic);
      return { seconds: drain > 0 ? clock.workflowSeconds(drain) : 0 };
    }

    if (deployer.swapsTargetGroups) {
      await store.setServingTargetGroup(rollout.service, route.canaryTargetGroupArn);
    } else {
      // Never scale down what still has weight: read the listener back right before.
      if (!(await router.verifyWeights(route, 0))) {
        throw new WeightsNotAppliedError('the canary still has weight; not scaling it down');
      }
      await deployer.scaleDownCanary(config, route);
    }
    const at = now();
    await store.updateRollout(rollout.rolloutId, {
      status: 'promoted',
      updatedAt: at,
      outcome: { result: 'promoted', reason: 'every step passed', at },
    });
    await recordHistory(deps, rollout, 'promoted', `${imageLabel(rollout.image)} promoted`);
    const startedNext = await releaseAndHandOver(deps, rollout.service, rollout.rolloutId);
    log.info('promoted', { rolloutId: rollout.rolloutId });
    return { promoted: true, ...(startedNext ? { startedNext } : {}) };
  });
}
