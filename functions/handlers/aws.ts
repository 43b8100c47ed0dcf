/**
 * The AWS side of the handlers: SDK clients and adapters, each built on first use and kept for the life of the
 * execution environment (one client per service per cold start), and the real clock.
 */
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ECSClient } from '@aws-sdk/client-ecs';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SNSClient } from '@aws-sdk/client-sns';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { AlbTrafficRouter } from '../adapters/aws/alb';
import { StaticServiceCatalog } from '../adapters/aws/catalog';
import { CloudWatchAlarmSource, CloudWatchMetricSource } from '../adapters/aws/cloudwatch';
import { makeDeployerFor } from '../adapters/aws/deployers';
import { DynamoRolloutStore } from '../adapters/aws/dynamodb';
import { PagerDutyNotifier } from '../adapters/aws/pagerduty';
import { realSleep, SDK_CLIENT_CONFIG } from '../adapters/aws/sdk';
import { SecretCache } from '../adapters/aws/secretsmanager';
import { StepFunctionsExecutions } from '../adapters/aws/sfn';
import { SnsNotifier } from '../adapters/aws/sns';
import type {
  AlarmSource,
  Clock,
  DeployerFor,
  Executions,
  MetricSource,
  Notifier,
  RolloutStore,
  ServiceCatalog,
  TrafficRouter,
} from '../ports';
import * as env from './env';
import { traced } from './observability';

/** A value built on first call and the same one after (per cold start). */
export function lazy<T>(make: () => T): () => T {
  let made: { value: T } | undefined;
  return () => {
    made ??= { value: make() };
    return made.value;
  };
}

const clientConfig = () => ({ ...SDK_CLIENT_CONFIG, region: env.region() });

// --- SDK clients ----------------------------------------------------------------------------------------------

const dynamodb = lazy(() => traced(new DynamoDBClient(clientConfig())));

export const clients = {
  dynamodb,
  doc: lazy(() =>
    DynamoDBDocumentClient.from(dynamodb(), { marshallOptions: { removeUndefinedValues: true } }),
  ),
  sfn: lazy(() => traced(new SFNClient(clientConfig()))),
  elbv2: lazy(() => traced(new ElasticLoadBalancingV2Client(clientConfig()))),
  ecs: lazy(() => traced(new ECSClient(clientConfig()))),
  cloudwatch: lazy(() => traced(new CloudWatchClient(clientConfig()))),
  sns: lazy(() => traced(new SNSClient(clientConfig()))),
  secrets: lazy(() => traced(new SecretsManagerClient(clientConfig()))),
};

// --- adapters -------------------------------------------------------------------------------------------------

export const store = lazy((): RolloutStore => new DynamoRolloutStore(clients.doc(), env.tableName()));
export const executions = lazy(
  (): Executions => new StepFunctionsExecutions(clients.sfn(), env.stateMachineArn()),
);
export const router = lazy((): TrafficRouter => new AlbTrafficRouter(clients.elbv2()));
export const deployerFor = lazy(
  (): DeployerFor => makeDeployerFor({ ecs: clients.ecs(), elbv2: clients.elbv2() }),
);
export const metricSource = lazy((): MetricSource => new CloudWatchMetricSource(clients.cloudwatch()));
export const alarmSource = lazy((): AlarmSource => new CloudWatchAlarmSource(clients.cloudwatch()));
export const catalog = lazy((): ServiceCatalog => new StaticServiceCatalog(env.serviceConfigs()));

/**
 * SNS and PagerDuty, always: each event goes to its service's own channels (`notifications` in its config) or to
 * the defaults, SNS_TOPIC_ARN and PAGERDUTY_SECRET_ARN (both optional); a notifier with neither skips the event.
 * Each PagerDuty secret is read once per cold start.
 */
export const notifiers = lazy((): readonly Notifier[] => {
  const topic = env.snsTopicArn();
  const secretArn = env.pagerDutySecretArn();
  const secretCache = (arn: string) => new SecretCache(clients.secrets(), arn);
  return [
    new SnsNotifier(clients.sns(), topic),
    new PagerDutyNotifier({
      ...(secretArn ? { secret: secretCache(secretArn) } : {}),
      secretFor: secretCache,
    }),
  ];
});

// --- time -----------------------------------------------------------------------------------------------------

/**
 * Real time. Workflow seconds are rollout seconds, rounded up to a whole second and never below 1 (Step
 * Functions' smallest timeout).
 */
export const realClock: Clock = {
  now: () => new Date(),
  workflowSeconds: (seconds) => Math.max(1, Math.ceil(seconds)),
  sleep: realSleep,
};
