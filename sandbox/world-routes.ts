/**
 * Each service's route in the local world, by traffic kind: a listener (or rule) of the local load balancer, or two
 * weighted records in the local Route 53 (sandbox/route53.ts) with clients that cache their answers for the TTL.
 * The controller's router picks the real router of each kind: the local load balancer's for listeners, the AWS
 * Route 53 adapter over the local Route 53 for weighted records.
 */
import { Route53TrafficRouter } from '../functions/adapters/aws/route53';
import { routerByKind } from '../functions/adapters/aws/routers';
import type { ServiceConfig } from '../functions/core/config';
import { canaryPercent } from '../functions/core/plan';
import type { AlbRoute } from '../functions/core/rollout';
import { configuredTargetGroups } from '../functions/core/routes';
import type { TrafficRouter } from '../functions/ports';
import type { ApiCalls } from './api-calls';
import type { VirtualClock } from './clock';
import { forwardKey, type LocalLoadBalancer } from './load-balancer';
import { type LocalRoute53, ResolvingClients } from './route53';

/** Each service's route as no rollout has touched it: 100% on stable. */
export function createRoutes(
  configs: readonly ServiceConfig[],
  lb: LocalLoadBalancer,
  route53: LocalRoute53,
): void {
  for (const c of configs) {
    const t = c.traffic;
    if (t.kind === 'route53') {
      route53.createRecords(t);
      continue;
    }
    const state = { weights: { [t.stableTargetGroupArn]: 1, [t.canaryTargetGroupArn]: 0 } };
    if (t.ruleArn) {
      if (!lb.hasListener(t.listenerArn)) lb.createListener(t.listenerArn, { weights: {} });
      lb.createRule(t.ruleArn, t.listenerArn, state);
    } else lb.createListener(t.listenerArn, state);
  }
}

/** The controller's router: each route to the router of its kind, every request counted as its API. */
export function controllerRouter(
  alb: TrafficRouter,
  { route53, clock, calls }: { route53: LocalRoute53; clock: VirtualClock; calls: ApiCalls },
): TrafficRouter {
  return routerByKind({
    alb: () => alb as TrafficRouter<AlbRoute>,
    route53: () =>
      new Route53TrafficRouter(
        route53.client((op) => calls.record(`route53:${op}`)),
        { retry: { sleep: (ms) => clock.sleep(ms) } },
      ),
  });
}

/** The canary's share the data plane applies now (the load balancer's, or the records the DNS servers answer with). */
export function appliedCanaryPercent(
  config: ServiceConfig,
  serving: { stable: string; canary: string },
  lb: LocalLoadBalancer,
  route53: LocalRoute53,
): number | undefined {
  const t = config.traffic;
  const weights = t.kind === 'route53' ? route53.weights(t) : lb.appliedState(forwardKey(t))?.weights;
  if (!weights) return undefined;
  return canaryPercent({ stable: weights[serving.stable] ?? 0, canary: weights[serving.canary] ?? 0 });
}

/** How a service's users reach a version: behind weighted records, each client through its resolver's cache. */
export function resolverFor(
  config: ServiceConfig,
  route53: LocalRoute53,
  clock: VirtualClock,
): ((client: number, random: number) => string | undefined) | undefined {
  const t = config.traffic;
  if (t.kind !== 'route53') return undefined;
  const clients = new ResolvingClients(route53, t, clock);
  return (client, random) => clients.resolve(client, random);
}

export { configuredTargetGroups };
