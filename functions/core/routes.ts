/** A rollout's route from its service's traffic config, and the integer weights a share takes on each kind. */
import type { TrafficConfig } from './config';
import type { AlbTrafficConfig } from './config-route';
import { type AlbWeights, albWeights } from './plan';
import { recordWeights } from './record-weights';
import type { Route } from './rollout';

/** The header rule of a route: only listeners have one (weighted records send every request by DNS). */
export function headerRuleOf(route: Route): { header: string; values: string[] } | undefined {
  return route.kind === 'route53' ? undefined : route.headerRule;
}

/** The two target groups of a traffic config, as configured: the stable one and the canary one. */
export function configuredTargetGroups(t: TrafficConfig): { stable: string; canary: string } {
  return t.kind === 'route53'
    ? { stable: t.stable.targetGroupArn, canary: t.canary.targetGroupArn }
    : { stable: t.stableTargetGroupArn, canary: t.canaryTargetGroupArn };
}

/**
 * The route of a traffic config; `swapped` when a promotion by a deployer that swaps roles left the configured
 * canary serving as stable (then the canary's record and load balancer are stable's too).
 */
export function routeOf(t: TrafficConfig, swapped = false): Route {
  if (t.kind === 'route53') {
    const [stable, canary] = swapped ? [t.canary, t.stable] : [t.stable, t.canary];
    return {
      kind: 'route53',
      hostedZoneId: t.hostedZoneId,
      recordName: t.recordName,
      recordType: t.recordType,
      ttlSeconds: t.ttlSeconds,
      stableSetIdentifier: stable.setIdentifier,
      canarySetIdentifier: canary.setIdentifier,
      stableLoadBalancerArn: stable.loadBalancerArn,
      canaryLoadBalancerArn: canary.loadBalancerArn,
      stableTargetGroupArn: stable.targetGroupArn,
      canaryTargetGroupArn: canary.targetGroupArn,
    };
  }
  return {
    listenerArn: t.listenerArn,
    ...(t.ruleArn ? { ruleArn: t.ruleArn } : {}),
    stableTargetGroupArn: swapped ? t.canaryTargetGroupArn : t.stableTargetGroupArn,
    canaryTargetGroupArn: swapped ? t.stableTargetGroupArn : t.canaryTargetGroupArn,
    ...(t.stickinessSeconds ? { stickinessSeconds: t.stickinessSeconds } : {}),
    ...(t.headerRule ? { headerRule: t.headerRule } : {}),
  };
}

/** The integer weights a canary share takes on the route's kind: ALB 0–999, Route 53 records 0–255. */
export function routeWeights(route: Route, canaryPercent: number): AlbWeights {
  return route.kind === 'route53' ? recordWeights(canaryPercent) : albWeights(canaryPercent);
}

/** What a route weights, for messages: the listener (or rule), or the records of a name. */
export function routeLabel(route: Route): string {
  return route.kind === 'route53' ? `weighted records ${route.recordName} ${route.recordType}` : 'listener';
}

/** The traffic of a service behind a listener; throws for weighted records (for code that only knows listeners). */
export function albTraffic(t: TrafficConfig): AlbTrafficConfig {
  if (t.kind !== 'alb') throw new TypeError(`traffic.kind is ${t.kind}, not alb`);
  return t;
}

/**
 * How long after the canary's weight went to 0 it may still take requests: the deregistration delay, and for
 * weighted records first the TTL, for which resolvers keep answering with the cached record.
 */
export function drainSeconds(t: TrafficConfig): number {
  return t.kind === 'route53' ? t.ttlSeconds + t.deregistrationDelaySeconds : t.deregistrationDelaySeconds;
}

/**
 * Other records of a weighted group that take answers (weight above 0), as a router's describe names them
 * (`SetIdentifier <id>`): with one, no share between stable and canary can be held, and a rollback could not put
 * all traffic on stable. Prepare refuses such a group, and `canary check` says so.
 */
export function otherAnsweringRecords(weights: Record<string, number>): string[] {
  return Object.entries(weights)
    .filter(([key, w]) => key.startsWith('SetIdentifier ') && w > 0)
    .map(([key, w]) => `${key.slice('SetIdentifier '.length)} (weight ${w})`);
}
