/**
 * A valid, realistic service config for tests, and the ARNs and image it uses. The event fixtures under
 * test/events use the same service, repository, alarms and digest, so a fixture and this config belong together.
 */
import {
  parseServiceConfig,
  type ServiceConfig,
  type ServiceConfigInput,
  stepSpecs,
} from '../../functions/core/config';
import { buildPlan } from '../../functions/core/plan';
import type { RolloutDoc, Route } from '../../functions/core/rollout';

export const ACCOUNT = '123456789012';
export const REGION = 'us-east-1';
export const SERVICE = 'web';
export const REPOSITORY = 'acme/web';

export const LISTENER_ARN =
  'arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/web/50dc6c495c0c9188/f2f7dc8efc522ab2';
export const LISTENER_RULE_ARN =
  'arn:aws:elasticloadbalancing:us-east-1:123456789012:listener-rule/app/web/50dc6c495c0c9188/f2f7dc8efc522ab2/9683b2d02a6cabee';
export const STABLE_TG_ARN =
  'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web-stable/73e2d6bc24d8a067';
export const CANARY_TG_ARN =
  'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web-canary/2453ed029918f21f';
export const SNS_TOPIC_ARN = 'arn:aws:sns:us-east-1:123456789012:canary-rollouts';
export const PAGERDUTY_SECRET_ARN =
  'arn:aws:secretsmanager:us-east-1:123456789012:secret:canary/pagerduty-routing-key-Xk3j9Q';
export const CONSOLE_URL = 'https://canary.example.com';

export const ECS_CLUSTER = 'prod';
export const STABLE_SERVICE = 'web';
export const CANARY_SERVICE = 'web-canary';
export const CONTAINER = 'web';
export const TASK_ROLE_ARN = 'arn:aws:iam::123456789012:role/web-task';
export const EXECUTION_ROLE_ARN = 'arn:aws:iam::123456789012:role/ecsTaskExecutionRole';

/** The alarms that gate the service; test/events/cloudwatch/*.json are about the first one. */
export const ALARMS = ['web-5xx-high', 'web-p99-latency-high'] as const;

/** The image in test/events/ecr/push.json and controller/deploy-requested.json. */
export const IMAGE_DIGEST = 'sha256:faec26f150531ab99f6b60312b93c35c7f8e64921be8502f4ade927074440c0a';
export const IMAGE_TAG = 'v1.4.2';
/** rolloutIdFor(SERVICE, IMAGE_DIGEST): the execution name in test/events/states/*.json. */
export const ROLLOUT_ID = 'web-faec26f150531ab9';

/** Deep-partial overrides: objects merge, arrays and scalars replace, `undefined` removes the key. */
export type ConfigOverrides = {
  [K in keyof ServiceConfigInput]?: Overrides<ServiceConfigInput[K]> | undefined;
};
type Overrides<T> = T extends readonly unknown[]
  ? T
  : T extends object
    ? { [K in keyof T]?: Overrides<T[K]> | undefined } | T
    : T;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function merge(base: Record<string, unknown>, overrides: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(overrides)) {
    const current = out[key];
    if (value === undefined) delete out[key];
    // A different `kind` (deployer ecs → none) is a different shape: replace rather than merge.
    else if (
      isPlainObject(value) &&
      isPlainObject(current) &&
      !('kind' in value && value.kind !== current.kind)
    ) {
      out[key] = merge(current, value);
    } else out[key] = structuredClone(value);
  }
  return out;
}

/**
 * A valid ServiceConfigInput: ALB listener with stable/canary target groups, an ECS deployer, 5 → 25 → 50 → 100
 * with five-minute bakes, two gating alarms, SNS and PagerDuty. Override any part, e.g.
 * `validServiceConfig({ traffic: { ruleArn: LISTENER_RULE_ARN }, deployer: { kind: 'none' } })`.
 */
export function validServiceConfig(overrides: ConfigOverrides = {}): ServiceConfigInput {
  const base: ServiceConfigInput = {
    service: SERVICE,
    repository: REPOSITORY,
    traffic: {
      kind: 'alb',
      listenerArn: LISTENER_ARN,
      stableTargetGroupArn: STABLE_TG_ARN,
      canaryTargetGroupArn: CANARY_TG_ARN,
    },
    deployer: {
      kind: 'ecs',
      cluster: ECS_CLUSTER,
      stableService: STABLE_SERVICE,
      canaryService: CANARY_SERVICE,
      container: CONTAINER,
      taskRoleArn: TASK_ROLE_ARN,
      executionRoleArn: EXECUTION_ROLE_ARN,
    },
    steps: [
      { weight: 5, bakeSeconds: 300 },
      { weight: 25, bakeSeconds: 300 },
      { weight: 50, bakeSeconds: 300 },
      { weight: 100, bakeSeconds: 0 },
    ],
    analysis: {
      minRequests: 200,
      alarms: [...ALARMS],
    },
    notifications: {
      snsTopicArn: SNS_TOPIC_ARN,
      pagerDuty: { routingKeySecretArn: PAGERDUTY_SECRET_ARN },
      consoleUrl: CONSOLE_URL,
    },
  };
  return merge(base, overrides as Record<string, unknown>) as ServiceConfigInput;
}

/** validServiceConfig(overrides) parsed by the real schema (defaults filled). */
export function validParsedConfig(overrides: ConfigOverrides = {}): ServiceConfig {
  return parseServiceConfig(validServiceConfig(overrides));
}

/** The route of the service in validServiceConfig, as Prepare returns it. */
export const ROUTE: Route = {
  listenerArn: LISTENER_ARN,
  stableTargetGroupArn: STABLE_TG_ARN,
  canaryTargetGroupArn: CANARY_TG_ARN,
};

/** A rollout document of IMAGE_DIGEST for a parsed config, as start-rollout hands it to the workflow. */
export function rolloutDocFor(config: ServiceConfig): RolloutDoc {
  return {
    rolloutId: ROLLOUT_ID,
    service: SERVICE,
    image: { repository: REPOSITORY, digest: IMAGE_DIGEST },
    config,
    plan: buildPlan(stepSpecs(config)),
    trigger: 'ecr-push',
    requestedAt: '2025-03-14T09:26:53Z',
  };
}
