/**
 * set-weight: scale the canary for the step, move the step's share of traffic to it, verify the listener took
 * it, and hand the bake's length to the workflow.
 */
import type { Clock, DeployerFor, Log, RolloutStore, TrafficRouter } from '../ports';
import { stepInput } from './lib/inputs';
import { checkpoint, recordHistory, shiftTraffic } from './lib/procedures';
import { task } from './lib/task';

export interface SetWeightDeps {
  router: TrafficRouter;
  deployerFor: DeployerFor;
  store: RolloutStore;
  clock: Clock;
  log: Log;
}

export function makeSetWeight(deps: SetWeightDeps) {
  const { deployerFor, store, clock, log } = deps;
  return task('set-weight input', stepInput, async ({ rollout, route, step }) => {
    const record = await checkpoint(store, rollout.rolloutId);
    // Capacity first, then traffic: the canary is never asked to take more than it is sized for.
    await deployerFor(rollout.config).scaleCanary(rollout.config, route, step.weight);
    await shiftTraffic(deps, route, step.weight);
    const now = clock.now().toISOString();
    await store.updateRollout(rollout.rolloutId, {
      currentStep: step.index,
      canaryPercent: step.weight,
      updatedAt: now,
      ...(record.canaryStartedAt ? {} : { canaryStartedAt: now }),
    });
    await recordHistory(
      deps,
      rollout.rolloutId,
      'weight',
      `step ${step.index + 1}: ${step.weight}% on the canary`,
      {
        step: step.index,
        weight: step.weight,
      },
    );
    log.info('weight set', { rolloutId: rollout.rolloutId, step: step.index, weight: step.weight });
    // An alarm may have put traffic back on stable while this task was moving it: let the workflow roll back.
    await checkpoint(store, rollout.rolloutId);
    return { seconds: step.bakeSeconds > 0 ? clock.workflowSeconds(step.bakeSeconds) : 0, extensions: 0 };
  });
}
