/** Shared fixtures for the adapter tests: realistic ARNs, SDK-shaped errors, a retry policy that never waits. */
import type { RetryOptions } from '../../functions/adapters/aws/sdk';
import { parseServiceConfig, type ServiceConfigInput } from '../../functions/core/config';
import type { AlbRoute, Route53Route } from '../../functions/core/rollout';

export const ACCOUNT = '123456789012';
export const LISTENER_ARN = `arn:aws:elasticloadbalancing:us-east-1:${ACCOUNT}:listener/app/web/50dc6c495c0c9188/f2f7dc8efc522ab2`;
export const RULE_ARN = `arn:aws:elasticloadbalancing:us-east-1:${ACCOUNT}:listener-rule/app/web/50dc6c495c0c9188/f2f7dc8efc522ab2/9683b2d02a6cabee`;
export const HEADER_RULE_ARN = `arn:aws:elasticloadbalancing:us-east-1:${ACCOUNT}:listener-rule/app/web/50dc6c495c0c9188/f2f7dc8efc522ab2/1a2b3c4d5e6f7a8b`;
export const STABLE_TG = `arn:aws:elasticloadbalancing:us-east-1:${ACCOUNT}:targetgroup/web-stable/73e2d6bc24d8a067`;
export const CANARY_TG = `arn:aws:elasticloadbalancing:us-east-1:${ACCOUNT}:targetgroup/web-canary/2453ed029918f21f`;
export const DIGEST = `sha256:${'ab12'.repeat(16)}`;
export const REGISTRY = `${ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com`;

export function route(extra: Partial<AlbRoute> = {}): AlbRoute {
  return {
    listenerArn: LISTENER_ARN,
    stableTargetGroupArn: STABLE_TG,
    canaryTargetGroupArn: CANARY_TG,
    ...extra,
  };
}

export const HOSTED_ZONE = 'Z0123456789ABCDEFGHIJ';
export const STABLE_LB = `arn:aws:elasticloadbalancing:us-east-1:${ACCOUNT}:loadbalancer/app/web-blue/50dc6c495c0c9188`;
export const CANARY_LB = `arn:aws:elasticloadbalancing:us-east-1:${ACCOUNT}:loadbalancer/app/web-green/6c4b1d2e3f4a5b6c`;

/** Two weighted records of api.example.com, blue (stable) and green (canary), each in front of its own ALB. */
export function route53Route(extra: Partial<Route53Route> = {}): Route53Route {
  return {
    kind: 'route53',
    hostedZoneId: HOSTED_ZONE,
    recordName: 'api.example.com',
    recordType: 'CNAME',
    ttlSeconds: 60,
    stableSetIdentifier: 'blue',
    canarySetIdentifier: 'green',
    stableLoadBalancerArn: STABLE_LB,
    canaryLoadBalancerArn: CANARY_LB,
    stableTargetGroupArn: STABLE_TG,
    canaryTargetGroupArn: CANARY_TG,
    ...extra,
  };
}

/** Sleeps recorded, never taken. */
export function fastRetry(extra: RetryOptions = {}): { retry: RetryOptions; sleeps: number[] } {
  const sleeps: number[] = [];
  return {
    sleeps,
    retry: {
      sleep: async (ms) => {
        sleeps.push(ms);
      },
      random: () => 0.5,
      ...extra,
    },
  };
}

/** An error as the SDK v3 throws it for a service's error code. */
export function awsError(name: string, status: number, message = name): Error {
  return Object.assign(new Error(message), {
    name,
    $fault: status >= 500 ? 'server' : 'client',
    $metadata: {
      httpStatusCode: status,
      requestId: '0b1c2d3e-4f5a-6b7c-8d9e-0f1a2b3c4d5e',
      attempts: 1,
      totalRetryDelay: 0,
    },
  });
}

export const throttling = () => awsError('ThrottlingException', 400, 'Rate exceeded');

/** A valid service config as a user writes it (before parsing). */
export function serviceConfigInput(extra: Partial<ServiceConfigInput> = {}): ServiceConfigInput {
  return {
    service: 'web',
    repository: 'team/web',
    traffic: {
      kind: 'alb',
      listenerArn: LISTENER_ARN,
      stableTargetGroupArn: STABLE_TG,
      canaryTargetGroupArn: CANARY_TG,
    },
    deployer: {
      kind: 'ecs',
      cluster: 'prod',
      stableService: 'web',
      canaryService: 'web-canary',
      container: 'app',
      taskRoleArn: 'arn:aws:iam::123456789012:role/web-task',
      executionRoleArn: 'arn:aws:iam::123456789012:role/web-execution',
    },
    steps: 'Progressive5To100',
    ...extra,
  };
}

export function serviceConfig(extra: Partial<ServiceConfigInput> = {}) {
  return parseServiceConfig(serviceConfigInput(extra));
}
