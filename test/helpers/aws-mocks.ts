/**
 * Shared fixtures for the handler tests (test/handlers/<task>.test.ts, one file per task) through the real adapters
 * with mocked SDK clients: the mocked clients, the Lambda context, the environment, DynamoDB items, ALB listeners,
 * ECS services, and the call timeline.
 * Call `installAwsMockHooks()` once at the top level of a test file.
 */
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DescribeServicesCommand,
  type DescribeServicesCommandInput,
  ECSClient,
  type Service,
  type TaskDefinition,
} from '@aws-sdk/client-ecs';
import {
  type Action,
  DescribeTargetGroupAttributesCommand,
  ElasticLoadBalancingV2Client,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SFNClient } from '@aws-sdk/client-sfn';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import {
  DynamoDBDocumentClient,
  GetCommand,
  type GetCommandInput,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { Context } from 'aws-lambda';
import { afterEach, beforeEach, expect, vi } from 'vitest';
import { configItems } from '../../functions/adapters/aws/config-catalog';
import { ACTIVE_PARTITIONS, activePk } from '../../functions/adapters/aws/dynamodb/table';
import {
  parseServiceConfig,
  type ServiceConfig,
  type ServiceConfigInput,
  stepSpecs,
} from '../../functions/core/config';
import { buildPlan } from '../../functions/core/plan';
import type { RolloutDoc, RolloutRecord, Route } from '../../functions/core/rollout';
import { mockClient } from '../contract/mock';
import {
  ALARMS,
  CANARY_SERVICE,
  CANARY_TG_ARN,
  CONTAINER,
  ECS_CLUSTER,
  IMAGE_DIGEST,
  IMAGE_TAG,
  LISTENER_ARN,
  PAGERDUTY_SECRET_ARN,
  REPOSITORY,
  ROLLOUT_ID,
  SERVICE,
  STABLE_SERVICE,
  STABLE_TG_ARN,
  validParsedConfig,
  validServiceConfig,
} from './config';

export const TABLE = 'canary-rollouts';
/** The service-config table the deploy writes (CONFIG_TABLE_NAME). */
export const CONFIG_TABLE = 'canary-service-configs';
export const STATE_MACHINE_ARN = 'arn:aws:states:us-east-1:123456789012:stateMachine:canary-rollout';
/** The controller's default topic (SNS_TOPIC_ARN) and the service's own (its `notifications.snsTopicArn`). */
export const DEFAULT_TOPIC = 'arn:aws:sns:us-east-1:123456789012:canary-rollouts';
export const SERVICE_TOPIC = 'arn:aws:sns:us-east-1:123456789012:web-rollouts';
export const ROUTING_KEY = 'R0ut1ngK3yF0rTh3W3bS3rv1c3000001';
export const REGISTRY = '123456789012.dkr.ecr.us-east-1.amazonaws.com';
export const STABLE_TASK_DEF = 'arn:aws:ecs:us-east-1:123456789012:task-definition/web:41';
export const CANARY_TASK_DEF = 'arn:aws:ecs:us-east-1:123456789012:task-definition/web:42';
export const STABLE_IMAGE = `${REGISTRY}/${REPOSITORY}:v1.4.1`;
export const CANARY_IMAGE = `${REGISTRY}/${REPOSITORY}@${IMAGE_DIGEST}`;
export const NOW = '2025-03-14T09:40:00.000Z';
export const CREATED = '2025-03-14T09:26:54.000Z';
export const CANARY_STARTED = '2025-03-14T09:35:00.000Z';
export const TASK_TOKEN =
  'AQCEAAAAKgAAAAMAAAAAAAAAAXsLL2ApMMmOkaN7YY0xB4T0cMdC4kbmZEXrRWwjXVzBqfnPuyadeD6ilbqoG1kvS6oJTcQjnuBybpBf7Y4KIeNUeAkACsi9BrjE4q3IiQHYThsNV6N2SnXZSgdzvP4f3zfjFT5uAeqP4M5pNb7uAVXDVm8zcyzsrFebgxM5dAC5UBJ53OoH0SIF7LF5Ia8RNHCgPhG1kqErftN28HvvNQ0ZBcN5z2c2HaNsdK7AhYO7LdPQXO5TDYtYQljiOpFkqd0x6GeB3UxEwqASjkyUEAFdxfaBYJbjEcP0uU1mNs1yAL4Ft9O4WnuHN0aV18TeUXAvFsbuhwWoCJLFLsumMgcDqcrNXG6Pf5fgyd6oCQSF/fEp0ufJP6GoXn7h1MhG2gu8xqhcH8cA/SOZ2BTgbW+A6G8vkQYEfXKVzcoz5pxIwu6rQlhFLAHU1mgsajoO3XukybO0gHsAlUvAlmz3HhBLo+Gu/ANFsIFzk0C2Fr6VdXPfeVl5wZoTTJb+Tc9ftZRtDVY0L/+mYVoShJ+ywc5tOdbE3efl4akqj2XSvcVa8eEH3vF2cdPDzy92+7bzsI5MRjzHT0cWN9xdjoSp/6FF1tbBdrwtkkiRAvZedKbkGqpTVJWMprunnlEKQy5PSafkl2IAj3BBLn/H8QjCw7TlucEYk1Ad9kVN4HLV5IY+jWSQFPULQzYrbsfQH/qqWaf2p2pQ3aBaxxPmjWwXoc9Tfvh5J3pn8X90PtC8c2z4WB3K3KTKHmvxR2KtYA7Ie+pWmrwfWNWLv';

export const SERVICE_CONFIG = validServiceConfig({
  traffic: { stickinessSeconds: 300 },
  notifications: { snsTopicArn: SERVICE_TOPIC },
});
export const CONFIG = validParsedConfig({
  traffic: { stickinessSeconds: 300 },
  notifications: { snsTopicArn: SERVICE_TOPIC },
});

export const doc = mockClient(DynamoDBDocumentClient);
export const ddb = mockClient(DynamoDBClient);
export const sfn = mockClient(SFNClient);
export const elbv2 = mockClient(ElasticLoadBalancingV2Client);
export const ecs = mockClient(ECSClient);
export const cloudwatch = mockClient(CloudWatchClient);
export const sns = mockClient(SNSClient);
export const secrets = mockClient(SecretsManagerClient);
export const MOCKS = { doc, ddb, sfn, elbv2, ecs, cloudwatch, sns, secrets };

export const fetchMock = vi.fn<typeof globalThis.fetch>();

export const context = {
  callbackWaitsForEmptyEventLoop: false,
  functionName: 'canary-test',
  functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:canary-test',
  memoryLimitInMB: '256',
  awsRequestId: 'c6af9ac6-7b61-11e6-9a41-93e812345678',
  logGroupName: '/aws/lambda/canary-test',
  logStreamName: '2025/03/14/[$LATEST]abcdef',
  getRemainingTimeInMillis: () => 60_000,
  done: () => undefined,
  fail: () => undefined,
  succeed: () => undefined,
} as Context;

let servedConfigs: ServiceConfigInput[] = [];

/** The services the config table holds for the next cold start (default: SERVICE_CONFIG alone). */
export function serveConfigs(configs: ServiceConfigInput[]): void {
  servedConfigs = configs;
}

/**
 * A GetItem fake that answers reads of the config table with the served configs' items (as the deploy writes
 * them: validated, defaults filled, sealed; an invalid one unsealed) and hands every other read to `other`.
 */
export function withConfigs(
  other: (input: GetCommandInput) => unknown = () => ({}),
): (input: GetCommandInput) => unknown {
  return (input) => {
    if (input.TableName !== CONFIG_TABLE) return other(input);
    const items = servedConfigs.flatMap((config) => {
      try {
        return configItems([parseServiceConfig(config)], 'test-version', NOW);
      } catch {
        // A config the deploy refuses: served as if written in the table by hand, without the deploy's seal.
        return configItems([config as ServiceConfig], 'test-version', NOW).map(
          ({ seal: _, ...item }) => item,
        );
      }
    });
    const item = items.find((i) => i.pk === (input.Key as { pk: string }).pk);
    return item ? { Item: structuredClone(item) } : {};
  };
}

export function stubEnv(overrides: Record<string, string | undefined> = {}) {
  const base: Record<string, string | undefined> = {
    AWS_REGION: 'us-east-1',
    TABLE_NAME: TABLE,
    STATE_MACHINE_ARN,
    CONFIG_TABLE_NAME: CONFIG_TABLE,
    SNS_TOPIC_ARN: '',
    PAGERDUTY_SECRET_ARN: '',
    POWERTOOLS_TRACE_ENABLED: 'false',
    POWERTOOLS_METRICS_DISABLED: 'true',
    POWERTOOLS_LOG_LEVEL: 'SILENT',
    POWERTOOLS_DEV: 'true',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
  };
  for (const [name, value] of Object.entries({ ...base, ...overrides })) vi.stubEnv(name, value);
}

export type Handler = (event: unknown, context: Context) => Promise<unknown>;

export async function handlerOf(name: string): Promise<Handler> {
  return ((await import(`../../functions/handlers/${name}.ts`)) as { handler: Handler }).handler;
}

// --- fixtures -------------------------------------------------------------------------------------------------

export const rolloutDoc: RolloutDoc = {
  rolloutId: ROLLOUT_ID,
  service: SERVICE,
  image: { repository: REPOSITORY, digest: IMAGE_DIGEST, tag: IMAGE_TAG },
  config: CONFIG,
  plan: buildPlan(stepSpecs(CONFIG)),
  trigger: 'ecr-push',
  requestedAt: '2025-03-14T09:26:53Z',
};

export const route: Route = {
  listenerArn: LISTENER_ARN,
  stableTargetGroupArn: STABLE_TG_ARN,
  canaryTargetGroupArn: CANARY_TG_ARN,
  stickinessSeconds: 300,
};

export const firstStep = rolloutDoc.plan[0] as NonNullable<(typeof rolloutDoc.plan)[0]>;

export function record(extra: Partial<RolloutRecord> = {}): RolloutRecord {
  return {
    rolloutId: ROLLOUT_ID,
    service: SERVICE,
    image: rolloutDoc.image,
    status: 'running',
    alarms: [...ALARMS],
    createdAt: CREATED,
    updatedAt: CREATED,
    ...extra,
  };
}

/** The table's items as DynamoDB holds them (keys included), answering GetItem and UpdateItem by key. */
export function table(items: { lock?: boolean; record?: RolloutRecord }) {
  const stored = new Map<string, Record<string, unknown>>();
  if (items.lock) {
    stored.set(`SERVICE#${SERVICE}|LOCK`, {
      pk: `SERVICE#${SERVICE}`,
      sk: 'LOCK',
      service: SERVICE,
      rolloutId: ROLLOUT_ID,
      acquiredAt: CREATED,
    });
  }
  if (items.record) stored.set(`ROLLOUT#${ROLLOUT_ID}|RECORD`, recordItem(items.record));
  doc.on(GetCommand).callsFake(
    withConfigs((input: GetCommandInput) => {
      const key = input.Key as { pk: string; sk: string };
      const item = stored.get(`${key.pk}|${key.sk}`);
      return item ? { Item: structuredClone(item) } : {};
    }),
  );
  doc
    .on(UpdateCommand)
    .callsFake(() => ({ Attributes: structuredClone(stored.get(`ROLLOUT#${ROLLOUT_ID}|RECORD`)) }));
}

export function recordItem(r: RolloutRecord): Record<string, unknown> {
  return {
    ...structuredClone(r),
    pk: `ROLLOUT#${r.rolloutId}`,
    sk: 'RECORD',
    servicePk: r.service,
    serviceSk: `${r.createdAt}#${r.rolloutId}`,
    activePk: activePk(r.rolloutId),
    activeSk: r.rolloutId,
  };
}

export const getInput = (pk: string, sk: string) => ({
  TableName: TABLE,
  Key: { pk, sk },
  ConsistentRead: true,
});
export const RECORD_KEY = { pk: `ROLLOUT#${ROLLOUT_ID}`, sk: 'RECORD' };

export function updateInput(
  expression: string,
  names: Record<string, string>,
  values: Record<string, unknown>,
): Record<string, unknown> {
  return {
    TableName: TABLE,
    Key: RECORD_KEY,
    UpdateExpression: expression,
    ConditionExpression: 'attribute_exists(pk)',
    ExpressionAttributeNames: names,
    ExpressionAttributeValues: values,
    ReturnValues: 'ALL_NEW',
  };
}

export function historyPut(type: string, message: string, detail?: Record<string, unknown>) {
  return {
    TableName: TABLE,
    Item: {
      at: NOW,
      type,
      message,
      ...(detail ? { detail } : {}),
      pk: `ROLLOUT#${ROLLOUT_ID}`,
      sk: expect.stringMatching(new RegExp(`^HISTORY#${NOW.replaceAll('.', '\\.')}#\\d{6}[0-9a-f]{4}$`)),
    },
    ConditionExpression: 'attribute_not_exists(sk)',
  };
}

/** A DescribeListeners response: the HTTPS listener forwarding to both target groups with these weights. */
export function listener(
  stable: number,
  canary: number,
  stickiness: { Enabled: boolean; DurationSeconds?: number },
) {
  return {
    Listeners: [
      {
        ListenerArn: LISTENER_ARN,
        LoadBalancerArn:
          'arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/web/50dc6c495c0c9188',
        Port: 443,
        Protocol: 'HTTPS' as const,
        Certificates: [
          {
            CertificateArn:
              'arn:aws:acm:us-east-1:123456789012:certificate/3f1b2c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d',
          },
        ],
        SslPolicy: 'ELBSecurityPolicy-TLS13-1-2-2021-06',
        DefaultActions: [forward(stable, canary, stickiness)],
      },
    ],
  };
}

export function forward(
  stable: number,
  canary: number,
  stickiness: { Enabled: boolean; DurationSeconds?: number },
): Action {
  return {
    Type: 'forward',
    Order: 1,
    ForwardConfig: {
      TargetGroups: [
        { TargetGroupArn: STABLE_TG_ARN, Weight: stable },
        { TargetGroupArn: CANARY_TG_ARN, Weight: canary },
      ],
      TargetGroupStickinessConfig: stickiness,
    },
  };
}

export function ecsService(
  name: string,
  desiredCount: number,
  taskDefinition: string,
  targetGroupArn: string,
): Service {
  return {
    serviceArn: `arn:aws:ecs:us-east-1:123456789012:service/${ECS_CLUSTER}/${name}`,
    serviceName: name,
    clusterArn: `arn:aws:ecs:us-east-1:123456789012:cluster/${ECS_CLUSTER}`,
    status: 'ACTIVE',
    desiredCount,
    runningCount: desiredCount,
    pendingCount: 0,
    launchType: 'FARGATE',
    platformVersion: '1.4.0',
    taskDefinition,
    loadBalancers: [{ targetGroupArn, containerName: CONTAINER, containerPort: 8080 }],
    deployments: [
      {
        id: `ecs-svc/${name === STABLE_SERVICE ? '9223370292' : '9223370293'}`,
        status: 'PRIMARY',
        taskDefinition,
        desiredCount,
        runningCount: desiredCount,
        pendingCount: 0,
        failedTasks: 0,
        launchType: 'FARGATE',
        rolloutState: 'COMPLETED',
        rolloutStateReason: 'ECS deployment ecs-svc/9223370292 completed.',
        createdAt: new Date('2025-03-10T08:00:00Z'),
        updatedAt: new Date('2025-03-10T08:04:12Z'),
      },
    ],
    schedulingStrategy: 'REPLICA',
  };
}

/** DescribeServices answering for the services asked about, as ECS does. */
export function services(
  stableDesired: number,
  canaryDesired: number,
  canaryTaskDefinition = STABLE_TASK_DEF,
) {
  const all = [
    ecsService(STABLE_SERVICE, stableDesired, STABLE_TASK_DEF, STABLE_TG_ARN),
    ecsService(CANARY_SERVICE, canaryDesired, canaryTaskDefinition, CANARY_TG_ARN),
  ];
  ecs.on(DescribeServicesCommand).callsFake((input: DescribeServicesCommandInput) => ({
    services: all.filter((s) => input.services?.includes(s.serviceName ?? '')),
    failures: [],
  }));
}

export const containerDefinition = {
  name: CONTAINER,
  image: STABLE_IMAGE,
  cpu: 0,
  portMappings: [
    {
      containerPort: 8080,
      hostPort: 8080,
      protocol: 'tcp' as const,
      name: 'http',
      appProtocol: 'http' as const,
    },
  ],
  essential: true,
  environment: [{ name: 'PORT', value: '8080' }],
  logConfiguration: {
    logDriver: 'awslogs' as const,
    options: { 'awslogs-group': '/ecs/web', 'awslogs-region': 'us-east-1', 'awslogs-stream-prefix': 'web' },
  },
};

export const stableTaskDefinition: TaskDefinition = {
  taskDefinitionArn: STABLE_TASK_DEF,
  containerDefinitions: [containerDefinition],
  family: 'web',
  taskRoleArn: 'arn:aws:iam::123456789012:role/web-task',
  executionRoleArn: 'arn:aws:iam::123456789012:role/ecsTaskExecutionRole',
  networkMode: 'awsvpc',
  revision: 41,
  volumes: [],
  status: 'ACTIVE',
  requiresAttributes: [
    { name: 'com.amazonaws.ecs.capability.logging-driver.awslogs' },
    { name: 'ecs.capability.execution-role-awslogs' },
    { name: 'com.amazonaws.ecs.capability.task-iam-role' },
    { name: 'ecs.capability.task-eni' },
  ],
  placementConstraints: [],
  compatibilities: ['EC2', 'FARGATE'],
  requiresCompatibilities: ['FARGATE'],
  cpu: '512',
  memory: '1024',
  runtimePlatform: { cpuArchitecture: 'ARM64', operatingSystemFamily: 'LINUX' },
  registeredAt: new Date('2025-03-10T07:58:31Z'),
  registeredBy: 'arn:aws:sts::123456789012:assumed-role/deploy/github-actions',
};

/** Every call to any mocked client, in the order made: "client:Command". */
export function timeline(): string[] {
  return Object.entries(MOCKS)
    .flatMap(([client, mock]) =>
      mock.calls().map((call) => ({
        id: (call as unknown as { callId: number }).callId,
        name: `${client}:${call.args[0].constructor.name}`,
      })),
    )
    .sort((a, b) => a.id - b.id)
    .map((c) => c.name);
}

export function installAwsMockHooks(): void {
  beforeEach(() => {
    vi.resetModules();
    vi.useFakeTimers({ toFake: ['Date'], now: new Date(NOW) });
    for (const m of Object.values(MOCKS)) m.reset();
    doc.onAnyCommand().resolves({});
    serveConfigs([SERVICE_CONFIG]);
    doc.on(GetCommand).callsFake(withConfigs());
    ddb.onAnyCommand().resolves({});
    sns.on(PublishCommand).resolves({ MessageId: '5a1d3f0e-8b44-4c3e-9d0a-1f2e3d4c5b6a' });
    secrets.on(GetSecretValueCommand).resolves({
      ARN: PAGERDUTY_SECRET_ARN,
      Name: 'canary/pagerduty-routing-key',
      SecretString: JSON.stringify({ routingKey: ROUTING_KEY }),
      VersionId: 'a1b2c3d4-5678-90ab-cdef-EXAMPLE11111',
      VersionStages: ['AWSCURRENT'],
      CreatedDate: new Date('2025-01-02T10:00:00Z'),
    });
    fetchMock.mockReset();
    fetchMock.mockImplementation(
      async () =>
        new Response(
          JSON.stringify({ status: 'success', message: 'Event processed', dedup_key: ROLLOUT_ID }),
          {
            status: 202,
            headers: { 'content-type': 'application/json' },
          },
        ),
    );
    vi.stubGlobal('fetch', fetchMock);
    // Target stickiness off, as ELB creates a target group.
    elbv2.on(DescribeTargetGroupAttributesCommand).resolves({
      Attributes: [
        { Key: 'stickiness.enabled', Value: 'false' },
        { Key: 'deregistration_delay.timeout_seconds', Value: '300' },
      ],
    });
    stubEnv();
  });

  afterEach(() => {
    vi.useRealTimers();
    vi.unstubAllEnvs();
    vi.unstubAllGlobals();
  });
}

/** Listener stickiness on and off, as DescribeListeners returns it in a forward action. */
export const STICKY = { Enabled: true, DurationSeconds: 300 };
export const OFF = { Enabled: false };
/** The key of the service's lock item. */
export const LOCK_KEY = { pk: `SERVICE#${SERVICE}`, sk: 'LOCK' };

/** The ModifyListener input that sets the listener's default forward action to these weights. */
export function modify(
  stable: number,
  canary: number,
  stickiness: { Enabled: boolean; DurationSeconds?: number },
) {
  return { ListenerArn: LISTENER_ARN, DefaultActions: [forward(stable, canary, stickiness)] };
}

/** listActive's queries: one for each partition key value of the `active` index, the previous release's last. */
export const activeQueries = () =>
  ACTIVE_PARTITIONS.map((partition) => ({
    TableName: TABLE,
    IndexName: 'active',
    KeyConditionExpression: '#activePk = :active',
    ExpressionAttributeNames: { '#activePk': 'activePk' },
    ExpressionAttributeValues: { ':active': partition },
  }));

/** A status change also keeps the `active` index: set while running, removed once the rollout ended. */
export function statusUpdate(names: Record<string, string>, values: Record<string, unknown>, ended: boolean) {
  const sets = Object.keys(names)
    .map((n, i) => `${n} = :v${i}`)
    .join(', ');
  return ended
    ? updateInput(
        `SET ${sets} REMOVE #activePk, #activeSk`,
        { ...names, '#activePk': 'activePk', '#activeSk': 'activeSk' },
        values,
      )
    : updateInput(
        `SET ${sets}, #activePk = if_not_exists(#activePk, :active), #activeSk = :rolloutId`,
        { ...names, '#activePk': 'activePk', '#activeSk': 'activeSk' },
        { ...values, ':active': activePk(ROLLOUT_ID), ':rolloutId': ROLLOUT_ID },
      );
}
