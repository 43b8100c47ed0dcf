/** Moving a rollout's traffic and checking the listener reports it: the route, weights, verification, drift. */
import type { ServiceConfig } from '../../core/config';
import { RolloutAbortedError, TrafficDriftedError, WeightsNotAppliedError } from '../../core/errors';
import { trafficDrift } from '../../core/plan';
import type { RolloutDoc, RolloutRecord, Route } from '../../core/rollout';
import { configuredTargetGroups, routeLabel, routeOf, routeWeights } from '../../core/routes';
import type { Clock, RolloutStore, RouteReader, TrafficRouter, WeightOptions } from '../../ports';

const VERIFY_ATTEMPTS = 10;
const VERIFY_BASE_DELAY_MS = 250;

/** Set the canary's share and wait until the listener reports it; throws WeightsNotApplied otherwise. */
export async function shiftTraffic(
  deps: { router: TrafficRouter; clock: Clock },
  route: Route,
  canaryPercent: number,
): Promise<void> {
  await deps.router.setWeights(route, canaryPercent);
  for (let attempt = 0; attempt < VERIFY_ATTEMPTS; attempt++) {
    if (await deps.router.verifyWeights(route, canaryPercent)) return;
    await deps.clock.sleep(Math.min(VERIFY_BASE_DELAY_MS * 2 ** attempt, 4000));
  }
  throw new WeightsNotAppliedError(
    `${routeLabel(route)} did not report ${canaryPercent}% on the canary after ${VERIFY_ATTEMPTS} checks`,
  );
}

/**
 * A rollout's own traffic move (a step's weight, promotion's 100%), so that an alarm or an abort always wins: the
 * stop is recorded first and then puts 100% on stable (on-alarm), while this writes first and then reads the mark
 * (after the write, and whenever the listener does not show the write yet). Whichever order the two run in, either
 * this sees the mark and puts stable back itself, or the stop's write came after this one. ALB has no conditional
 * weight change (ModifyListener and ModifyRule replace the actions), so the order is what keeps it safe. Throws the
 * abort's stable error once stable is back.
 */
export async function moveTraffic(
  deps: { router: TrafficRouter; store: Pick<RolloutStore, 'getRollout' | 'updateRollout'>; clock: Clock },
  rollout: Pick<RolloutDoc, 'rolloutId'>,
  route: Route,
  canaryPercent: number,
  options: WeightOptions = {},
): Promise<void> {
  const aborted = async () => (await deps.store.getRollout(rollout.rolloutId))?.abort;
  await deps.router.setWeights(route, canaryPercent, options);
  let verified = false;
  let abort: RolloutRecord['abort'];
  for (let attempt = 0; attempt < VERIFY_ATTEMPTS && !verified && !abort; attempt++) {
    verified = await deps.router.verifyWeights(route, canaryPercent, options);
    if (!verified) {
      abort = await aborted();
      if (!abort) await deps.clock.sleep(Math.min(VERIFY_BASE_DELAY_MS * 2 ** attempt, 4000));
    }
  }
  abort ??= await aborted();
  if (abort) {
    await shiftTraffic(deps, route, 0);
    await deps.store.updateRollout(rollout.rolloutId, { canaryPercent: 0 });
    throw new RolloutAbortedError(abort.reason, abort.message);
  }
  if (!verified) {
    throw new WeightsNotAppliedError(
      `${routeLabel(route)} did not report ${canaryPercent}% on the canary after ${VERIFY_ATTEMPTS} checks`,
    );
  }
}

/**
 * Throw TrafficDrifted, naming the weights seen and expected, when the listener no longer gives the canary the share
 * the rollout set (someone changed it by hand, or infrastructure as code put its own weights back). The cheap check
 * first (the one every weight change ends with); the listener is described only to name what changed.
 */
export async function checkDrift(
  deps: { router: RouteReader },
  route: Route,
  expectedPercent: number,
  options: WeightOptions = {},
): Promise<void> {
  if (await deps.router.verifyWeights(route, expectedPercent, options)) return;
  const weights = await deps.router.describe(route);
  const drift = trafficDrift(
    weights,
    { stable: route.stableTargetGroupArn, canary: route.canaryTargetGroupArn },
    expectedPercent,
  );
  const set = routeWeights(route, expectedPercent);
  const expected = `${expectedPercent}% on the canary (stable ${set.stable}, canary ${set.canary})`;
  if (!drift) {
    // The weights hold the share; what the weight change also keeps (the testers' header rule) does not.
    throw new TrafficDriftedError(
      `the listener's routing was changed outside the rollout: the weights still give ${expected}, but not the header rule the rollout set`,
    );
  }
  const others = drift.others.map((arn) => `, ${arn} ${weights[arn]}`).join('');
  throw new TrafficDriftedError(
    `the ${routeLabel(route)}'s weights were changed outside the rollout: expected ${expected}, found stable ${drift.seen.stable}, canary ${drift.seen.canary}${others} (${drift.seenPercent}% on the canary${drift.others.length > 0 ? ', and traffic to another target group' : ''})`,
  );
}

/** The route of a rollout: the configured one, with the target groups swapped if a promotion swapped them. */
export async function resolveRoute(store: RolloutStore, config: ServiceConfig): Promise<Route> {
  const serving = await store.getServingTargetGroup(config.service);
  return routeOf(config.traffic, serving === configuredTargetGroups(config.traffic).canary);
}

/** The route as configured: exact without the store when the deployer never swaps the target groups' roles. */
export function configuredRoute(config: ServiceConfig): Route {
  return routeOf(config.traffic);
}
