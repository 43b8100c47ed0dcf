/**
 * Users' traffic for every service of a world: one data plane per service, each through that service's own
 * forward action (its listener, or its rule of a shared listener), its share of the requests per second.
 */
import type { ServiceConfig } from '../functions/core/config';
import { forwardKey } from './load-balancer';
import type { LocalRoute53 } from './route53';
import { type Common, type DataPlane, HttpTraffic, ServedCounts, SyntheticTraffic } from './traffic';
import { seededRandom } from './versions';
import { resolverFor } from './world-routes';

export type SharedTrafficOptions = Omit<Common, 'listenerArn' | 'served' | 'rps' | 'random' | 'resolve'> & {
  /** The hosted zones of services behind weighted records. */
  route53?: LocalRoute53;
  /** Requests per second through all the services' listeners together. */
  rps: number;
  random: () => number;
  seed: number;
  kind: 'http' | 'synthetic';
};

/** Several services' data planes as one: what users received is counted once, by target group. */
export class ServicesTraffic implements DataPlane {
  constructor(
    private readonly planes: readonly DataPlane[],
    readonly served: ServedCounts,
  ) {}

  get sent(): number {
    return this.planes.reduce((sum, p) => sum + p.sent, 0);
  }

  async start(): Promise<void> {
    await Promise.all(this.planes.map((p) => p.start()));
  }

  async stop(): Promise<void> {
    await Promise.all(this.planes.map((p) => p.stop()));
  }
}

function plane(
  kind: SharedTrafficOptions['kind'],
  common: Common,
  config: ServiceConfig,
  route53: LocalRoute53 | undefined,
): DataPlane {
  const t = config.traffic;
  if (t.kind === 'route53') {
    // Clients behind resolvers pick their endpoint themselves: synthetic requests straight to it.
    if (!route53) throw new Error(`${config.service}: weighted records need the local Route 53`);
    const resolve = resolverFor(config, route53, common.clock);
    return new SyntheticTraffic({ ...common, ...(resolve ? { resolve } : {}) });
  }
  return kind === 'http'
    ? new HttpTraffic({ ...common, targetGroups: [t.stableTargetGroupArn, t.canaryTargetGroupArn] })
    : new SyntheticTraffic(common);
}

/** The key of a service's weighted forward action: its rule's, its listener's, or its records' name. */
function routeKey(config: ServiceConfig): string {
  const t = config.traffic;
  return t.kind === 'route53' ? `${t.hostedZoneId}/${t.recordName}/${t.recordType}` : forwardKey(t);
}

/** Each service's header rule, if it has one, as its internal users send it (2% of them). */
function headerUsers(config: ServiceConfig): Partial<Common> {
  const header = config.traffic.kind === 'alb' ? config.traffic.headerRule : undefined;
  return header
    ? { internalHeader: { name: header.header, value: header.values[0] ?? '' }, internalShare: 0.02 }
    : {};
}

/**
 * One service: its data plane, exactly as a single-service world has always had it. Several: one plane each, with
 * an equal share of `rps` and randomness of its own (seeded from `seed` and its position), so a service's users do
 * not depend on how many others there are.
 */
export function servicesTraffic(configs: readonly ServiceConfig[], o: SharedTrafficOptions): DataPlane {
  const { kind, seed, rps, random, route53, ...rest } = o;
  const [only] = configs;
  if (configs.length === 1 && only)
    return plane(
      kind,
      { ...rest, rps, random, listenerArn: routeKey(only), ...headerUsers(only) },
      only,
      route53,
    );
  const served = new ServedCounts();
  const planes = configs.map((c, i) =>
    plane(
      kind,
      {
        ...rest,
        served,
        rps: rps / configs.length,
        random: seededRandom(seed * 1_000 + i + 1),
        listenerArn: routeKey(c),
        ...headerUsers(c),
      },
      c,
      route53,
    ),
  );
  return new ServicesTraffic(planes, served);
}
