/**
 * The TrafficRouter of each traffic kind behind one port: a route is moved by the router of its `kind` (a route
 * without one is an ALB route, as executions started before kinds carry them). An unknown kind is a config error,
 * never a fallback. Each router is built on first use, so a function whose services are all behind listeners
 * never builds a Route 53 client.
 */
import { ConfigInvalidError } from '../../core/errors';
import type { AlbRoute, Route, Route53Route } from '../../core/rollout';
import type { TrafficRouter } from '../../ports';

export interface RoutersByKind {
  alb: () => TrafficRouter<AlbRoute>;
  route53: () => TrafficRouter<Route53Route>;
}

export function routerByKind(routers: RoutersByKind): TrafficRouter {
  const pick = <T>(
    route: Route,
    call: {
      alb: (r: TrafficRouter<AlbRoute>, route: AlbRoute) => T;
      route53: (r: TrafficRouter<Route53Route>, route: Route53Route) => T;
    },
  ): T => {
    const kind: unknown = route.kind ?? 'alb';
    if (kind === 'alb') return call.alb(routers.alb(), route as AlbRoute);
    if (kind === 'route53') return call.route53(routers.route53(), route as Route53Route);
    throw new ConfigInvalidError('traffic', [
      { path: 'kind', message: `unknown traffic kind ${JSON.stringify(kind)}: expected "alb" or "route53"` },
    ]);
  };
  return {
    describe: async (route) =>
      pick(route, { alb: (r, x) => r.describe(x), route53: (r, x) => r.describe(x) }),
    setWeights: async (route, percent, options) =>
      pick(route, {
        alb: (r, x) => r.setWeights(x, percent, options),
        route53: (r, x) => r.setWeights(x, percent, options),
      }),
    verifyWeights: async (route, percent, options) =>
      pick(route, {
        alb: (r, x) => r.verifyWeights(x, percent, options),
        route53: (r, x) => r.verifyWeights(x, percent, options),
      }),
  };
}
