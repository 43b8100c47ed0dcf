/**
 * prepare: check the listener, rule and target groups exist, record the routing found and what stable runs,
 * confirm the service's lock, and deploy the image as the canary, sized for the first step.
 */
import { ConfigInvalidError } from '../core/errors';
import { imageLabel } from '../core/rollout';
import { otherAnsweringRecords } from '../core/routes';
import type { Clock, DeployerFor, Log, RolloutStore, StateChangeBus, TrafficRouter } from '../ports';
import { rolloutInput } from './lib/inputs';
import { checkpoint, recordHistory, resolveRoute } from './lib/procedures';
import { task } from './lib/task';

export interface PrepareDeps {
  router: TrafficRouter;
  deployerFor: DeployerFor;
  store: RolloutStore;
  clock: Clock;
  log: Log;
  /** Where each history entry is announced as a state-change event; absent: none. */
  events?: StateChangeBus;
}

export function makePrepare(deps: PrepareDeps) {
  const { router, deployerFor, store, clock, log } = deps;
  return task('prepare input', rolloutInput, async ({ rollout }) => {
    // LockHeld when another rollout holds the service (the workflow ends without touching it).
    await checkpoint(store, rollout);
    const deployer = deployerFor(rollout.config);
    const route = await resolveRoute(store, rollout.config);
    const found = await router.describe(route);
    const others = otherAnsweringRecords(found);
    if (others.length > 0)
      throw new ConfigInvalidError('traffic', [
        {
          path: 'recordName',
          message: `other records of the name take answers: ${others.join(', ')}; set their weight to 0 or remove them`,
        },
      ]);
    const previousStable = await deployer.describeStable(rollout.config, route);
    await store.updateRollout(rollout.rolloutId, {
      route,
      previousStable,
      canaryPercent: 0,
      updatedAt: clock.now().toISOString(),
    });
    const first = rollout.plan[0];
    await deployer.deployCanary(rollout.config, route, rollout.image, first?.weight ?? 0);
    await recordHistory(deps, rollout, 'prepared', `deploying ${imageLabel(rollout.image)} as the canary`, {
      weightsFound: found,
      previousStable: previousStable.image,
    });
    log.info('prepared', { rolloutId: rollout.rolloutId, weightsFound: found });
    // The execution carries the route and what stable ran, so a rollback never needs the store to put them back.
    return {
      route,
      previousStable,
      readiness: {
        attempts: 0,
        ready: false,
        waitSeconds: clock.workflowSeconds(rollout.config.readiness.pollSeconds),
      },
    };
  });
}
