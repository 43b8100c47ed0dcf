import type { ServiceConfigInput } from '../functions/core/config';
import type { LocalAlarmSpec } from './alarms';
import type { FaultProfile } from './versions';

/** The demo service: an ECS service behind an ALB listener, with a canary target group and a gating alarm. */
export const DEMO_LISTENER =
  'arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/web/50dc6c495c0c9188/f2f7dc8efc522ab2';
export const DEMO_STABLE_TG =
  'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web-stable/73e2d6bc24d8a067';
export const DEMO_CANARY_TG =
  'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web-canary/2453ed029918f21f';
export const DEMO_ALARM = 'web-canary-5xx';

export function demoService(overrides: Partial<ServiceConfigInput> = {}): ServiceConfigInput {
  return {
    service: 'web',
    repository: 'shop/web',
    traffic: {
      kind: 'alb',
      listenerArn: DEMO_LISTENER,
      stableTargetGroupArn: DEMO_STABLE_TG,
      canaryTargetGroupArn: DEMO_CANARY_TG,
      stickinessSeconds: 3600,
      headerRule: { header: 'x-canary', values: ['always'], priority: 10 },
      deregistrationDelaySeconds: 30,
    },
    deployer: {
      kind: 'ecs',
      cluster: 'shop',
      stableService: 'web',
      canaryService: 'web-canary',
      container: 'web',
    },
    steps: [
      { weight: 5, bakeSeconds: 60 },
      { weight: 10, bakeSeconds: 60 },
      { weight: 25, bakeSeconds: 60 },
      { weight: 50, bakeSeconds: 60 },
      { weight: 100, bakeSeconds: 60 },
    ],
    analysis: {
      minRequests: 100,
      maxExtensions: 4,
      extensionSeconds: 30,
      errorRate: { tolerance: 0.5, minIncrease: 0.01, max: 0.05 },
      latency: { p99Tolerance: 0.5, p99MinIncreaseMs: 50 },
      alarms: [DEMO_ALARM],
    },
    approvals: { timeoutSeconds: 300, onTimeout: 'rollback' },
    readiness: { timeoutSeconds: 300, pollSeconds: 10 },
    ...overrides,
  };
}

/** The demo service's two endpoints behind weighted records of api.shop.example (one ALB each). */
export const DEMO_ZONE = 'Z0DEMO5HOPEXAMPLE1';
export const DEMO_STABLE_LB =
  'arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/web-blue/50dc6c495c0c9188';
export const DEMO_CANARY_LB =
  'arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/web-green/6c4b1d2e3f4a5b6c';

/**
 * The demo service's traffic as two weighted records instead of a listener: blue (stable) and green (canary), TTL
 * 30 s, the same target groups (so the alarm and the deployer are the same).
 */
export function demoRoute53Traffic(ttlSeconds = 30): ServiceConfigInput['traffic'] {
  return {
    kind: 'route53',
    hostedZoneId: DEMO_ZONE,
    recordName: 'api.shop.example',
    recordType: 'CNAME',
    ttlSeconds,
    stable: { setIdentifier: 'blue', loadBalancerArn: DEMO_STABLE_LB, targetGroupArn: DEMO_STABLE_TG },
    canary: { setIdentifier: 'green', loadBalancerArn: DEMO_CANARY_LB, targetGroupArn: DEMO_CANARY_TG },
    deregistrationDelaySeconds: 30,
  };
}

export const demoAlarm = (targetGroupArn = DEMO_CANARY_TG): LocalAlarmSpec => ({
  name: DEMO_ALARM,
  targetGroupArn,
  // Over 30% of a 10 s period's canary requests failing: about 17 requests at the 5% step, so v3's 5% errors cross
  // it about once in a few thousand periods (the analysis tells v3 apart), while v4's 50% crosses it at once.
  threshold: 0.3,
  periodSeconds: 10,
  evaluationPeriods: 1,
  minRequests: 15,
});

export const HEALTHY: FaultProfile = { errorRate: 0.001, latencyMs: 8, jitterMs: 3 };
export const SERVER_ERRORS: FaultProfile = { errorRate: 0.05, latencyMs: 8, jitterMs: 3 };
/** Healthy at first, then half its requests fail: the alarm must catch it before the next analysis. */
export const TURNS_BAD: FaultProfile = {
  errorRate: 0.001,
  latencyMs: 8,
  jitterMs: 3,
  badAfterSeconds: 110,
  badErrorRate: 0.5,
};
/**
 * Healthy at first, then its process dies mid-bake and refuses connections: the load balancer answers 502 itself,
 * so no target 5xx is counted and the 5xx alarm stays quiet; the analysis must see the requests without a response.
 */
export const CRASHES: FaultProfile = {
  errorRate: 0.001,
  latencyMs: 8,
  jitterMs: 3,
  crashAfterSeconds: 100,
};

/** Errors and latency as healthy, but a third fewer of its checkouts complete (0.6 against stable's 0.9). */
export const FEWER_ORDERS: FaultProfile = { ...HEALTHY, orderCompletion: 0.6 };

/**
 * The demo app's business metric as a service config declares it (sandbox/app-metrics.ts publishes it): completed
 * orders per attempted order, a drop is a regression (critical), with a 10% tolerance; and the same as orders per
 * request through metric math, reported only.
 */
export const ORDER_METRICS = [
  {
    name: 'orders',
    kind: 'counts',
    direction: 'lowerIsWorse',
    tolerance: 0.1,
    versionDimension: { name: 'Service', canary: 'web-canary', stable: 'web' },
    good: { namespace: 'Shop', metricName: 'OrdersCompleted' },
    total: { namespace: 'Shop', metricName: 'OrdersAttempted' },
  },
  {
    name: 'ordersPerAttempt',
    kind: 'gauge',
    direction: 'lowerIsWorse',
    tolerance: 0.1,
    critical: false,
    versionDimension: { name: 'Service', canary: 'web-canary', stable: 'web' },
    value: {
      expression: 'completed / attempted',
      metrics: {
        completed: { namespace: 'Shop', metricName: 'OrdersCompleted', stat: 'Sum' },
        attempted: { namespace: 'Shop', metricName: 'OrdersAttempted', stat: 'Sum' },
      },
    },
  },
] as const satisfies NonNullable<NonNullable<ServiceConfigInput['analysis']>['metrics']>;

/**
 * Healthy through a blue/green rollout's tests, then half its requests fail a few minutes after the switch: the
 * gating alarm must put the old version, still warm, back at once, within the rollback window.
 */
export const BAD_AFTER_SWITCH: FaultProfile = {
  errorRate: 0.001,
  latencyMs: 8,
  jitterMs: 3,
  badAfterSeconds: 660,
  badErrorRate: 0.5,
};

/** Healthy for users, but its checkout path fails: only a smoke test of that path sees it. */
export const BROKEN_CHECKOUT: FaultProfile = { ...HEALTHY, brokenPaths: ['/checkout'] };

/** The demo service's smoke test, a Lambda function the sandbox runs in-process (sandbox/hooks.ts). */
export const SMOKE_TEST_ARN = 'arn:aws:lambda:us-east-1:123456789012:function:web-smoke-test';
