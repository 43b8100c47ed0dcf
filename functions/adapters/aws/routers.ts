/**
 * The TrafficRouter of each traffic kind behind one port: a route is moved by the router of its `kind` (a route
 * without one is an ALB route, as executions started before kinds carry them). An unknown kind is a config error,
 * never a fallback. Each router is built on first use, so a function whose services are all behind listeners
 * never builds a Route 53 client.
 */
import { ConfigInvalidError } from '../../core/errors';
import type { AlbRoute, Route, Route53Route } from '../../core/rollout';
import type { RouteReader, TrafficRouter } from '../../ports';

export interface RoutersByKind<A = TrafficRouter<AlbRoute>, R = TrafficRouter<Route53Route>> {
  alb: () => A;
  route53: () => R;
}

/** The result of `call` on the router of the route's kind; an unknown kind is ConfigInvalid. */
function byKind<A, R, T>(
  routers: RoutersByKind<A, R>,
  route: Route,
  call: { alb: (r: A, route: AlbRoute) => T; route53: (r: R, route: Route53Route) => T },
): T {
  const kind: unknown = route.kind ?? 'alb';
  if (kind === 'alb') return call.alb(routers.alb(), route as AlbRoute);
  if (kind === 'route53') return call.route53(routers.route53(), route as Route53Route);
  throw new ConfigInvalidError('traffic', [
    { path: 'kind', message: `unknown traffic kind ${JSON.stringify(kind)}: expected "alb" or "route53"` },
  ]);
}

/** Reading a route's weights through the reader of its kind (the drift check). */
export function readerByKind(
  readers: RoutersByKind<RouteReader<AlbRoute>, RouteReader<Route53Route>>,
): RouteReader {
  return {
    describe: async (route) =>
      byKind(readers, route, { alb: (r, x) => r.describe(x), route53: (r, x) => r.describe(x) }),
    verifyWeights: async (route, percent, options) =>
      byKind(readers, route, {
        alb: (r, x) => r.verifyWeights(x, percent, options),
        route53: (r, x) => r.verifyWeights(x, percent, options),
      }),
  };
}

export function routerByKind(routers: RoutersByKind): TrafficRouter {
  return {
    ...readerByKind(routers),
    setWeights: async (route, percent, options) =>
      byKind(routers, route, {
        alb: (r, x) => r.setWeights(x, percent, options),
        route53: (r, x) => r.setWeights(x, percent, options),
      }),
  };
}
