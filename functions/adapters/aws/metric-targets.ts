/**
 * Where each version's own traffic is measured in AWS/ApplicationELB: the LoadBalancer and TargetGroup dimensions
 * of its requests. Behind one listener both versions share the load balancer; behind weighted records each version
 * has its own load balancer, whose metrics count only what clients resolving to it sent (the share the records'
 * weights give reaches clients only as cached answers expire, so the weights themselves are never the evidence).
 */
import type { Route } from '../../core/rollout';

export interface AlbDimensions {
  loadBalancer: string;
  targetGroup: string;
}

/** `app/<name>/<id>`, the LoadBalancer dimension, from a listener, listener rule or load balancer ARN. */
export function loadBalancerDimension(arn: string): string {
  const match = /:(?:listener(?:-rule)?|loadbalancer)\/(app\/[^/]+\/[^/]+)(?:\/|$)/.exec(arn);
  if (!match?.[1]) throw new RangeError(`not an Application Load Balancer listener ARN: ${arn}`);
  return match[1];
}

/** `targetgroup/<name>/<id>`, the TargetGroup dimension, from a target group ARN. */
export function targetGroupDimension(targetGroupArn: string): string {
  const match = /:(targetgroup\/[^/]+\/[^/]+)$/.exec(targetGroupArn);
  if (!match?.[1]) throw new RangeError(`not a target group ARN: ${targetGroupArn}`);
  return match[1];
}

/** The dimensions of the canary's and the stable version's (baseline's) requests on a route. */
export function versionDimensions(route: Route): { canary: AlbDimensions; baseline: AlbDimensions } {
  const [canaryLb, stableLb] =
    route.kind === 'route53'
      ? [route.canaryLoadBalancerArn, route.stableLoadBalancerArn]
      : [route.listenerArn, route.listenerArn];
  return {
    canary: {
      loadBalancer: loadBalancerDimension(canaryLb),
      targetGroup: targetGroupDimension(route.canaryTargetGroupArn),
    },
    baseline: {
      loadBalancer: loadBalancerDimension(stableLb),
      targetGroup: targetGroupDimension(route.stableTargetGroupArn),
    },
  };
}
