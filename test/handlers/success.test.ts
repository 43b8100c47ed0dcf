/**
 * The Lambda entry points on their success paths, end to end through the real adapters with mocked SDK clients:
 * the exact commands (and inputs) a real rollout causes on ELBv2, ECS, DynamoDB, CloudWatch, Step Functions, SNS
 * and Secrets Manager, in the order that matters (traffic before anything else). Responses follow the shapes of
 * the AWS API references.
 */
import {
  DescribeAlarmsCommand,
  type DescribeAlarmsCommandOutput,
  GetMetricDataCommand,
  type MetricDataResult,
} from '@aws-sdk/client-cloudwatch';
import {
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  RegisterTaskDefinitionCommand,
  UpdateServiceCommand,
} from '@aws-sdk/client-ecs';
import {
  DescribeListenersCommand,
  DescribeTargetGroupsCommand,
  ModifyListenerCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { SendTaskFailureCommand } from '@aws-sdk/client-sfn';
import { PublishCommand } from '@aws-sdk/client-sns';
import {
  DeleteCommand,
  GetCommand,
  type GetCommandInput,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { describe, expect, it, vi } from 'vitest';
import { imageLabel, type RolloutDoc } from '../../functions/core/rollout';
import {
  CANARY_IMAGE,
  CANARY_STARTED,
  CANARY_TASK_DEF,
  CONFIG,
  CREATED,
  cloudwatch,
  containerDefinition,
  context,
  DEFAULT_TOPIC,
  doc,
  ecs,
  ecsService,
  elbv2,
  fetchMock,
  firstStep,
  forward,
  getInput,
  handlerOf,
  historyPut,
  installAwsMockHooks,
  listener,
  NOW,
  RECORD_KEY,
  ROUTING_KEY,
  record,
  recordItem,
  rolloutDoc,
  route,
  SERVICE_CONFIG,
  SERVICE_TOPIC,
  STABLE_IMAGE,
  STABLE_TASK_DEF,
  secrets,
  services,
  sfn,
  sns,
  stableTaskDefinition,
  stubEnv,
  TABLE,
  TASK_TOKEN,
  table,
  timeline,
  updateInput,
} from '../helpers/aws-mocks';
import {
  ALARMS,
  CANARY_SERVICE,
  CANARY_TG_ARN,
  ECS_CLUSTER,
  IMAGE_DIGEST,
  LISTENER_ARN,
  PAGERDUTY_SECRET_ARN,
  ROLLOUT_ID,
  SERVICE,
  STABLE_SERVICE,
  STABLE_TG_ARN,
  validParsedConfig,
  validServiceConfig,
} from '../helpers/config';
import { loadEvent } from '../helpers/fixtures';

installAwsMockHooks();

// --- prepare --------------------------------------------------------------------------------------------------

describe('prepare', () => {
  it('refuses a canary target group of another load balancer before deploying or moving anything', async () => {
    table({ lock: true, record: record() });
    elbv2.on(DescribeListenersCommand).resolves(listener(1, 0, { Enabled: false }));
    elbv2.on(DescribeTargetGroupsCommand).resolves({
      TargetGroups: [
        {
          TargetGroupArn: STABLE_TG_ARN,
          LoadBalancerArns: [
            'arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/web/50dc6c495c0c9188',
          ],
        },
        {
          TargetGroupArn: CANARY_TG_ARN,
          LoadBalancerArns: [
            'arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/api/0a1b2c3d4e5f6a7b',
          ],
        },
      ],
    });

    const handler = await handlerOf('prepare');
    const error = await handler({ rollout: rolloutDoc }, context).catch((e: unknown) => e);

    expect(error).toMatchObject({ name: 'ConfigInvalid' });
    expect((error as Error).message).toContain('traffic.canaryTargetGroupArn');
    expect(timeline().filter((c) => !/:(Get|Query|Describe\w*)Command$/.test(c))).toEqual([]);
  });

  it('checks the route, records what stable runs and deploys the image as the canary sized for 5%', async () => {
    table({ lock: true, record: record() });
    elbv2.on(DescribeListenersCommand).resolves(listener(1, 0, { Enabled: false }));
    elbv2.on(DescribeTargetGroupsCommand).resolves({
      TargetGroups: [STABLE_TG_ARN, CANARY_TG_ARN].map((arn) => ({
        TargetGroupArn: arn,
        TargetGroupName: arn.split('/')[1],
        Protocol: 'HTTP' as const,
        Port: 8080,
        VpcId: 'vpc-0a1b2c3d4e5f60718',
        HealthCheckProtocol: 'HTTP' as const,
        HealthCheckPath: '/healthz',
        TargetType: 'ip' as const,
        LoadBalancerArns: [
          'arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/web/50dc6c495c0c9188',
        ],
        IpAddressType: 'ipv4' as const,
      })),
    });
    services(40, 0);
    ecs.on(DescribeTaskDefinitionCommand).resolves({
      taskDefinition: stableTaskDefinition,
      tags: [
        { key: 'team', value: 'web' },
        { key: 'aws:cloudformation:stack-name', value: 'web-prod' },
      ],
    });
    ecs.on(RegisterTaskDefinitionCommand).resolves({
      taskDefinition: {
        ...stableTaskDefinition,
        taskDefinitionArn: CANARY_TASK_DEF,
        revision: 42,
        containerDefinitions: [{ ...containerDefinition, image: CANARY_IMAGE }],
        registeredAt: new Date(NOW),
      },
      tags: [{ key: 'team', value: 'web' }],
    });
    ecs
      .on(UpdateServiceCommand)
      .resolves({ service: ecsService(CANARY_SERVICE, 2, CANARY_TASK_DEF, CANARY_TG_ARN) });

    const handler = await handlerOf('prepare');
    const result = await handler({ rollout: rolloutDoc }, context);

    // The execution carries the route and what stable ran: a rollback needs no store to put them back.
    expect(result).toEqual({
      route,
      previousStable: { image: STABLE_IMAGE, revision: STABLE_TASK_DEF },
      readiness: { attempts: 0, ready: false, waitSeconds: CONFIG.readiness.pollSeconds },
    });

    // ELBv2: the listener and both target groups exist.
    expect(elbv2.commandCalls(DescribeListenersCommand).map((c) => c.args[0].input)).toEqual([
      { ListenerArns: [LISTENER_ARN] },
    ]);
    expect(elbv2.commandCalls(DescribeTargetGroupsCommand).map((c) => c.args[0].input)).toEqual([
      { TargetGroupArns: [STABLE_TG_ARN, CANARY_TG_ARN] },
    ]);
    expect(elbv2.commandCalls(ModifyListenerCommand)).toHaveLength(0);

    // ECS: what stable runs, then a canary revision of it with the new image, on the canary service.
    expect(ecs.commandCalls(DescribeServicesCommand).map((c) => c.args[0].input)).toEqual([
      { cluster: ECS_CLUSTER, services: [STABLE_SERVICE] },
      { cluster: ECS_CLUSTER, services: [STABLE_SERVICE, CANARY_SERVICE] },
    ]);
    expect(ecs.commandCalls(DescribeTaskDefinitionCommand).map((c) => c.args[0].input)).toEqual([
      { taskDefinition: STABLE_TASK_DEF, include: ['TAGS'] },
      { taskDefinition: STABLE_TASK_DEF, include: ['TAGS'] },
    ]);
    expect(ecs.commandCalls(RegisterTaskDefinitionCommand).map((c) => c.args[0].input)).toEqual([
      {
        family: 'web',
        taskRoleArn: 'arn:aws:iam::123456789012:role/web-task',
        executionRoleArn: 'arn:aws:iam::123456789012:role/ecsTaskExecutionRole',
        networkMode: 'awsvpc',
        containerDefinitions: [{ ...containerDefinition, image: CANARY_IMAGE }],
        volumes: [],
        placementConstraints: [],
        requiresCompatibilities: ['FARGATE'],
        cpu: '512',
        memory: '1024',
        runtimePlatform: { cpuArchitecture: 'ARM64', operatingSystemFamily: 'LINUX' },
        tags: [{ key: 'team', value: 'web' }],
      },
    ]);
    expect(ecs.commandCalls(UpdateServiceCommand).map((c) => c.args[0].input)).toEqual([
      // 5% of the stable service's 40 tasks.
      { cluster: ECS_CLUSTER, service: CANARY_SERVICE, taskDefinition: CANARY_TASK_DEF, desiredCount: 2 },
    ]);

    // DynamoDB: the lock and the record read, the serving target group looked up, the record updated.
    expect(doc.commandCalls(GetCommand).map((c) => c.args[0].input)).toEqual([
      getInput(`SERVICE#${SERVICE}`, 'LOCK'),
      getInput(RECORD_KEY.pk, RECORD_KEY.sk),
      getInput(`SERVICE#${SERVICE}`, 'SERVING'),
    ]);
    expect(doc.commandCalls(UpdateCommand).map((c) => c.args[0].input)).toEqual([
      updateInput(
        'SET #f0 = :v0, #f1 = :v1, #f2 = :v2, #f3 = :v3',
        { '#f0': 'route', '#f1': 'previousStable', '#f2': 'canaryPercent', '#f3': 'updatedAt' },
        {
          ':v0': route,
          ':v1': { image: STABLE_IMAGE, revision: STABLE_TASK_DEF },
          ':v2': 0,
          ':v3': NOW,
        },
      ),
    ]);
    expect(doc.commandCalls(PutCommand).map((c) => c.args[0].input)).toEqual([
      historyPut('prepared', `deploying ${imageLabel(rolloutDoc.image)} as the canary`, {
        weightsFound: { [STABLE_TG_ARN]: 1, [CANARY_TG_ARN]: 0 },
        previousStable: STABLE_IMAGE,
      }),
    ]);

    // The record holds the previous stable before the canary is deployed (a rollback can always restore it).
    expect(timeline()).toEqual([
      'doc:GetCommand',
      'doc:GetCommand',
      'doc:GetCommand',
      'elbv2:DescribeListenersCommand',
      'elbv2:DescribeTargetGroupsCommand',
      'ecs:DescribeServicesCommand',
      'ecs:DescribeTaskDefinitionCommand',
      'doc:UpdateCommand',
      'ecs:DescribeServicesCommand',
      'ecs:DescribeTaskDefinitionCommand',
      'ecs:RegisterTaskDefinitionCommand',
      'ecs:UpdateServiceCommand',
      'doc:PutCommand',
    ]);
    expect(sfn.calls()).toHaveLength(0);
  });
});

// --- set-weight -----------------------------------------------------------------------------------------------

describe('set-weight', () => {
  it('scales the canary, sends it 5% (19:1, sticky), reads the listener back and records the step', async () => {
    table({ lock: true, record: record({ route, canaryPercent: 0 }) });
    // Autoscaling took stable from 20 to 40 tasks since prepare sized the canary at 1.
    services(40, 1, CANARY_TASK_DEF);
    ecs
      .on(UpdateServiceCommand)
      .resolves({ service: ecsService(CANARY_SERVICE, 2, CANARY_TASK_DEF, CANARY_TG_ARN) });
    elbv2
      .on(DescribeListenersCommand)
      .resolvesOnce(listener(1, 0, { Enabled: false }))
      .resolves(listener(19, 1, { Enabled: true, DurationSeconds: 300 }));
    elbv2.on(ModifyListenerCommand).resolves({
      Listeners: listener(19, 1, { Enabled: true, DurationSeconds: 300 }).Listeners,
    });
    // The stable version's p99 and p50 over the 30 minutes before: the rollout's latency thresholds.
    const spanStart = new Date(Date.parse(NOW) - 30 * 60_000);
    cloudwatch.on(GetMetricDataCommand).resolves({
      MetricDataResults: [
        { Id: 'baseline_p99', Timestamps: [spanStart], Values: [0.32], StatusCode: 'Complete' },
        { Id: 'baseline_p50', Timestamps: [spanStart], Values: [0.0855], StatusCode: 'Complete' },
      ],
      Messages: [],
    });

    const handler = await handlerOf('set-weight');
    const result = await handler({ rollout: rolloutDoc, route, step: firstStep }, context);

    // A 300 s bake is judged every 60 s: the first wait is one interval.
    // The 300 s bake and the 120 s metric delay, so the last analysis judges the whole bake; judged every minute.
    expect(result).toEqual({ seconds: 60, bakeLeft: 360, extensions: 0, analyses: 0 });
    expect(ecs.commandCalls(DescribeServicesCommand).map((c) => c.args[0].input)).toEqual([
      { cluster: ECS_CLUSTER, services: [STABLE_SERVICE, CANARY_SERVICE] },
    ]);
    expect(ecs.commandCalls(UpdateServiceCommand).map((c) => c.args[0].input)).toEqual([
      { cluster: ECS_CLUSTER, service: CANARY_SERVICE, desiredCount: 2 },
    ]);
    expect(elbv2.commandCalls(ModifyListenerCommand).map((c) => c.args[0].input)).toEqual([
      {
        ListenerArn: LISTENER_ARN,
        DefaultActions: [
          {
            Type: 'forward',
            Order: 1,
            ForwardConfig: {
              TargetGroups: [
                { TargetGroupArn: STABLE_TG_ARN, Weight: 19 },
                { TargetGroupArn: CANARY_TG_ARN, Weight: 1 },
              ],
              TargetGroupStickinessConfig: { Enabled: true, DurationSeconds: 300 },
            },
          },
        ],
      },
    ]);
    expect(elbv2.commandCalls(DescribeListenersCommand).map((c) => c.args[0].input)).toEqual([
      { ListenerArns: [LISTENER_ARN] },
      { ListenerArns: [LISTENER_ARN] },
    ]);
    const stableLatency = (Stat: string) => ({
      Id: `baseline_${Stat}`,
      MetricStat: {
        Metric: {
          Namespace: 'AWS/ApplicationELB',
          MetricName: 'TargetResponseTime',
          Dimensions: [
            { Name: 'LoadBalancer', Value: 'app/web/50dc6c495c0c9188' },
            { Name: 'TargetGroup', Value: 'targetgroup/web-stable/73e2d6bc24d8a067' },
          ],
        },
        Period: 1800,
        Stat,
      },
      ReturnData: true,
    });
    expect(cloudwatch.commandCalls(GetMetricDataCommand).map((c) => c.args[0].input)).toEqual([
      {
        MetricDataQueries: [stableLatency('p99'), stableLatency('p50')],
        StartTime: spanStart,
        EndTime: new Date(NOW),
        ScanBy: 'TimestampAscending',
      },
    ]);
    expect(doc.commandCalls(UpdateCommand).map((c) => c.args[0].input)).toEqual([
      updateInput(
        'SET #f0 = :v0, #f1 = :v1, #f2 = :v2, #f3 = :v3, #f4 = :v4, #f5 = :v5',
        {
          '#f0': 'currentStep',
          '#f1': 'canaryPercent',
          '#f2': 'updatedAt',
          '#f3': 'canaryStartedAt',
          '#f4': 'weightChangedAt',
          '#f5': 'latencyThresholds',
        },
        {
          ':v0': 0,
          ':v1': 5,
          ':v2': NOW,
          ':v3': NOW,
          ':v4': [NOW],
          ':v5': { p99Ms: 320, p50Ms: 85.5 },
        },
      ),
    ]);
    expect(doc.commandCalls(PutCommand).map((c) => c.args[0].input)).toEqual([
      historyPut('weight', 'step 1: 5% on the canary', { step: 0, weight: 5 }),
    ]);
    // The lock and the record read first; capacity before traffic; the weights verified, and an abort read after the
    // write, before the step is recorded.
    expect(timeline()).toEqual([
      'doc:GetCommand',
      'doc:GetCommand',
      'cloudwatch:GetMetricDataCommand',
      'ecs:DescribeServicesCommand',
      'ecs:UpdateServiceCommand',
      'elbv2:DescribeListenersCommand',
      'elbv2:ModifyListenerCommand',
      'elbv2:DescribeListenersCommand',
      'doc:GetCommand',
      'doc:UpdateCommand',
      'doc:PutCommand',
    ]);
  });
});

// --- on-alarm -------------------------------------------------------------------------------------------------

describe('on-alarm', () => {
  it('marks a gated rollout aborted, puts it back on stable and fails its wait with AlarmFired', async () => {
    const event = loadEvent('cloudwatch/alarm');
    const active = record({
      route,
      currentStep: 0,
      canaryPercent: 5,
      canaryStartedAt: CANARY_STARTED,
      wait: { token: TASK_TOKEN, kind: 'bake', step: 0, since: CANARY_STARTED },
    });
    doc.on(QueryCommand).resolves({ Items: [recordItem(active)], Count: 1, ScannedCount: 1 });
    const message = `alarm web-5xx-high in ALARM: ${event.detail.state.reason}`;
    doc.on(UpdateCommand).resolves({
      Attributes: recordItem({ ...active, abort: { reason: 'AlarmFired', message, at: NOW } }),
    });
    elbv2
      .on(DescribeListenersCommand)
      .resolvesOnce(listener(19, 1, { Enabled: true, DurationSeconds: 300 }))
      .resolves(listener(1, 0, { Enabled: false }));
    elbv2.on(ModifyListenerCommand).resolves({ Listeners: listener(1, 0, { Enabled: false }).Listeners });
    sfn.on(SendTaskFailureCommand).resolves({});

    const handler = await handlerOf('on-alarm');
    const result = await handler(event, context);

    expect(result).toEqual({ alarm: 'web-5xx-high', stopped: [ROLLOUT_ID] });
    expect(doc.commandCalls(QueryCommand).map((c) => c.args[0].input)).toEqual([
      {
        TableName: TABLE,
        IndexName: 'active',
        KeyConditionExpression: '#activePk = :active',
        ExpressionAttributeNames: { '#activePk': 'activePk' },
        ExpressionAttributeValues: { ':active': 'ACTIVE' },
      },
    ]);
    expect(elbv2.commandCalls(ModifyListenerCommand).map((c) => c.args[0].input)).toEqual([
      {
        ListenerArn: LISTENER_ARN,
        DefaultActions: [
          {
            Type: 'forward',
            Order: 1,
            ForwardConfig: {
              TargetGroups: [
                { TargetGroupArn: STABLE_TG_ARN, Weight: 1 },
                { TargetGroupArn: CANARY_TG_ARN, Weight: 0 },
              ],
              // Stickiness off at 100% stable, or sticky clients would stay on the canary.
              TargetGroupStickinessConfig: { Enabled: false },
            },
          },
        ],
      },
    ]);
    expect(doc.commandCalls(UpdateCommand).map((c) => c.args[0].input)).toEqual([
      updateInput(
        'SET #abort = if_not_exists(#abort, :abort)',
        { '#abort': 'abort' },
        { ':abort': { reason: 'AlarmFired', message, at: NOW } },
      ),
      updateInput('SET #f0 = :v0', { '#f0': 'canaryPercent' }, { ':v0': 0 }),
    ]);
    expect(sfn.commandCalls(SendTaskFailureCommand).map((c) => c.args[0].input)).toEqual([
      { taskToken: TASK_TOKEN, error: 'AlarmFired', cause: message },
    ]);
    expect(doc.commandCalls(PutCommand).map((c) => c.args[0].input)).toEqual([
      historyPut('alarm', message, { alarm: 'web-5xx-high' }),
    ]);
    // The abort first (a task moving traffic reads it after its own write), then traffic (verified), then the wait.
    expect(timeline()).toEqual([
      'doc:QueryCommand',
      'doc:UpdateCommand',
      'elbv2:DescribeListenersCommand',
      'elbv2:DescribeTargetGroupAttributesCommand',
      'elbv2:DescribeTargetGroupAttributesCommand',
      'elbv2:ModifyListenerCommand',
      'elbv2:DescribeListenersCommand',
      'doc:UpdateCommand',
      'sfn:SendTaskFailureCommand',
      'doc:PutCommand',
    ]);
    expect(ecs.calls()).toHaveLength(0);
  });
});

// --- reconcile ------------------------------------------------------------------------------------------------

describe('reconcile', () => {
  it('restores stable, scales the canary to 0, releases the lock and notifies the service’s channels', async () => {
    const event = loadEvent('states/failed');
    table({
      lock: true,
      record: record({
        route,
        currentStep: 0,
        canaryPercent: 5,
        canaryStartedAt: CANARY_STARTED,
        previousStable: { image: STABLE_IMAGE, revision: STABLE_TASK_DEF },
      }),
    });
    elbv2
      .on(DescribeListenersCommand)
      .resolvesOnce(listener(19, 1, { Enabled: true, DurationSeconds: 300 }))
      .resolves(listener(1, 0, { Enabled: false }));
    elbv2.on(ModifyListenerCommand).resolves({ Listeners: listener(1, 0, { Enabled: false }).Listeners });
    ecs
      .on(UpdateServiceCommand)
      .resolves({ service: ecsService(CANARY_SERVICE, 0, CANARY_TASK_DEF, CANARY_TG_ARN) });
    // The service names its own PagerDuty secret; the controller has no default.
    const handler = await handlerOf('reconcile');
    const result = await handler(event, context);

    expect(result).toEqual({ rolloutId: ROLLOUT_ID, action: 'rolledBack', status: 'FAILED', restored: true });
    expect(elbv2.commandCalls(ModifyListenerCommand).map((c) => c.args[0].input)).toEqual([
      {
        ListenerArn: LISTENER_ARN,
        DefaultActions: [forward(1, 0, { Enabled: false })],
      },
    ]);
    expect(ecs.commandCalls(UpdateServiceCommand).map((c) => c.args[0].input)).toEqual([
      { cluster: ECS_CLUSTER, service: CANARY_SERVICE, desiredCount: 0 },
    ]);
    const reason = `execution failed: ${event.detail.cause}`;
    expect(doc.commandCalls(UpdateCommand).map((c) => c.args[0].input)).toEqual([
      updateInput(
        'SET #f0 = :v0, #f1 = :v1, #activePk = :active, #activeSk = :rolloutId',
        { '#f0': 'status', '#f1': 'updatedAt', '#activePk': 'activePk', '#activeSk': 'activeSk' },
        { ':v0': 'rollingBack', ':v1': NOW, ':active': 'ACTIVE', ':rolloutId': ROLLOUT_ID },
      ),
      updateInput(
        'SET #f0 = :v0, #f1 = :v1, #f2 = :v2, #f3 = :v3 REMOVE #activePk, #activeSk',
        {
          '#f0': 'status',
          '#f1': 'updatedAt',
          '#f2': 'canaryPercent',
          '#f3': 'outcome',
          '#activePk': 'activePk',
          '#activeSk': 'activeSk',
        },
        {
          ':v0': 'rolledBack',
          ':v1': NOW,
          ':v2': 0,
          ':v3': { result: 'rolledBack', reason: `CanaryFailed: ${reason}`, at: NOW },
        },
      ),
    ]);
    expect(doc.commandCalls(PutCommand).map((c) => c.args[0].input)).toEqual([
      {
        TableName: TABLE,
        Item: {
          pk: `SERVICE#${SERVICE}`,
          sk: `QUARANTINE#${IMAGE_DIGEST}`,
          service: SERVICE,
          digest: IMAGE_DIGEST,
          reason: `CanaryFailed: ${reason}`,
          at: NOW,
        },
      },
      historyPut('rolledBack', `${imageLabel(rolloutDoc.image)} rolled back: ${reason}`, {
        error: 'CanaryFailed',
        reason,
        quarantined: true,
      }),
    ]);
    expect(doc.commandCalls(DeleteCommand).map((c) => c.args[0].input)).toEqual([
      {
        TableName: TABLE,
        Key: { pk: `SERVICE#${SERVICE}`, sk: 'LOCK' },
        ConditionExpression: '#rolloutId = :holder AND attribute_not_exists(#pending)',
        ExpressionAttributeNames: { '#rolloutId': 'rolloutId', '#pending': 'pending' },
        ExpressionAttributeValues: { ':holder': ROLLOUT_ID },
      },
    ]);

    // Notified on the service's own channels (no defaults are configured).
    const published = sns.commandCalls(PublishCommand).map((c) => c.args[0].input);
    expect(published).toHaveLength(1);
    expect(published[0]).toMatchObject({
      TopicArn: SERVICE_TOPIC,
      MessageAttributes: {
        service: { DataType: 'String', StringValue: SERVICE },
        event: { DataType: 'String', StringValue: 'rollout.rolledBack' },
        severity: { DataType: 'String', StringValue: 'error' },
      },
    });
    expect(secrets.commandCalls(GetSecretValueCommand).map((c) => c.args[0].input)).toEqual([
      { SecretId: PAGERDUTY_SECRET_ARN },
    ]);
    expect(fetchMock).toHaveBeenCalledTimes(1);
    const page = JSON.parse(String(fetchMock.mock.calls[0]?.[1]?.body)) as Record<string, unknown>;
    expect(page).toMatchObject({ routing_key: ROUTING_KEY, event_action: 'trigger', dedup_key: ROLLOUT_ID });

    // Traffic back on stable (verified) before the canary is scaled down, then the page, then the store.
    const order = timeline();
    expect(order.indexOf('elbv2:ModifyListenerCommand')).toBeLessThan(
      order.indexOf('ecs:UpdateServiceCommand'),
    );
    expect(order.lastIndexOf('elbv2:DescribeListenersCommand')).toBeLessThan(
      order.indexOf('ecs:UpdateServiceCommand'),
    );
    expect(order.indexOf('ecs:UpdateServiceCommand')).toBeLessThan(order.indexOf('sns:PublishCommand'));
    expect(order.indexOf('sns:PublishCommand')).toBeLessThan(order.indexOf('doc:PutCommand'));
    expect(order.lastIndexOf('doc:PutCommand')).toBeLessThan(order.indexOf('doc:DeleteCommand'));
    expect(sfn.calls()).toHaveLength(0);
  });
});

// --- analyze --------------------------------------------------------------------------------------------------

/** Five one-minute periods, 09:35 to 09:39, as GetMetricData returns them (TimestampAscending). */
const PERIODS = [0, 1, 2, 3, 4].map((i) => new Date(Date.parse(CANARY_STARTED) + i * 60_000));

function series(id: string, label: string, values: number[]): MetricDataResult {
  return { Id: id, Label: label, Timestamps: PERIODS, Values: values, StatusCode: 'Complete' };
}

const ALB = 'app/web/50dc6c495c0c9188';

function queries() {
  const dims = (tg: string) => [
    { Name: 'LoadBalancer', Value: ALB },
    { Name: 'TargetGroup', Value: tg },
  ];
  return (
    [
      ['canary', 'targetgroup/web-canary/2453ed029918f21f'],
      ['baseline', 'targetgroup/web-stable/73e2d6bc24d8a067'],
    ] as const
  ).flatMap(([version, tg]) =>
    (
      [
        ['requests', 'RequestCount', 'Sum'],
        ['target2xx', 'HTTPCode_Target_2XX_Count', 'Sum'],
        ['target3xx', 'HTTPCode_Target_3XX_Count', 'Sum'],
        ['target4xx', 'HTTPCode_Target_4XX_Count', 'Sum'],
        ['target5xx', 'HTTPCode_Target_5XX_Count', 'Sum'],
        ['connectionErrors', 'TargetConnectionErrorCount', 'Sum'],
        ['healthyHosts', 'HealthyHostCount', 'Maximum'],
        ['unhealthyHosts', 'UnHealthyHostCount', 'Minimum'],
        ['p99', 'TargetResponseTime', 'p99'],
      ] as const
    ).map(([key, metric, stat]) => ({
      Id: `${version}_${key}`,
      MetricStat: {
        Metric: { Namespace: 'AWS/ApplicationELB', MetricName: metric, Dimensions: dims(tg) },
        Period: 60,
        Stat: stat,
      },
      ReturnData: true,
    })),
  );
}

function alarm(name: string): NonNullable<DescribeAlarmsCommandOutput['MetricAlarms']>[number] {
  return {
    AlarmName: name,
    AlarmArn: `arn:aws:cloudwatch:us-east-1:123456789012:alarm:${name}`,
    ActionsEnabled: true,
    StateValue: 'OK',
    StateReason:
      'Threshold Crossed: 3 out of the last 3 datapoints were not greater than the threshold (2.0)',
    StateUpdatedTimestamp: new Date('2025-03-13T22:10:04.117Z'),
    Namespace: 'AWS/ApplicationELB',
    MetricName: 'HTTPCode_Target_5XX_Count',
    Period: 60,
    EvaluationPeriods: 3,
    DatapointsToAlarm: 2,
    Threshold: 2,
    ComparisonOperator: 'GreaterThanThreshold',
    TreatMissingData: 'notBreaching',
  };
}

describe('analyze', () => {
  it('fetches the settled window since the canary started and the gating alarms, and passes a healthy canary', async () => {
    table({
      lock: true,
      record: record({ route, currentStep: 0, canaryPercent: 5, canaryStartedAt: CANARY_STARTED }),
    });
    cloudwatch.on(GetMetricDataCommand).resolves({
      MetricDataResults: [
        series('canary_requests', 'RequestCount', [1004, 998, 1012, 987, 1001]),
        series('canary_target2xx', 'HTTPCode_Target_2XX_Count', [1003, 998, 1010, 986, 1001]),
        series('canary_target5xx', 'HTTPCode_Target_5XX_Count', [1, 0, 2, 1, 0]),
        series('canary_p99', 'TargetResponseTime', [0.212, 0.205, 0.219, 0.208, 0.211]),
        series('baseline_requests', 'RequestCount', [19021, 18950, 19102, 18877, 19015]),
        series('baseline_target2xx', 'HTTPCode_Target_2XX_Count', [19002, 18929, 19084, 18857, 18998]),
        series('baseline_target5xx', 'HTTPCode_Target_5XX_Count', [19, 21, 18, 20, 17]),
        series('baseline_p99', 'TargetResponseTime', [0.204, 0.207, 0.201, 0.209, 0.206]),
      ],
      Messages: [],
    });
    cloudwatch.on(DescribeAlarmsCommand).resolves({
      MetricAlarms: ALARMS.map(alarm),
      CompositeAlarms: [],
    });
    // The listener still gives the canary the 5% the rollout set (19:1).
    elbv2.on(DescribeListenersCommand).resolves(listener(19, 1, { Enabled: true, DurationSeconds: 300 }));

    const handler = await handlerOf('analyze');
    const result = await handler(
      { rollout: rolloutDoc, route, step: firstStep, extensions: 0, bakeLeft: 0 },
      context,
    );

    expect(result).toEqual({ action: 'advance', seconds: 0, bakeLeft: 0, extensions: 0, analyses: 1 });
    expect(cloudwatch.commandCalls(GetMetricDataCommand).map((c) => c.args[0].input)).toEqual([
      {
        MetricDataQueries: queries(),
        StartTime: new Date(CANARY_STARTED),
        // Only settled minutes: the default metric delay (120 s) before NOW, on a minute boundary.
        EndTime: new Date(Date.parse(NOW) - 120_000),
        ScanBy: 'TimestampAscending',
      },
    ]);
    expect(cloudwatch.commandCalls(DescribeAlarmsCommand).map((c) => c.args[0].input)).toEqual([
      { AlarmNames: [...ALARMS], AlarmTypes: ['MetricAlarm', 'CompositeAlarm'] },
    ]);
    // The listener read back once (no drift), never changed.
    expect(elbv2.commandCalls(DescribeListenersCommand).map((c) => c.args[0].input)).toEqual([
      { ListenerArns: [LISTENER_ARN] },
    ]);
    expect(elbv2.commandCalls(ModifyListenerCommand)).toHaveLength(0);

    // The verdict is kept on the record, with the evidence it rests on and the counts of the minutes it judged.
    const updates = doc.commandCalls(UpdateCommand).map((c) => c.args[0].input);
    expect(updates).toHaveLength(1);
    expect(updates[0]).toMatchObject({
      TableName: TABLE,
      Key: RECORD_KEY,
      UpdateExpression: 'SET #f0 = :v0, #f1 = :v1, #f2 = :v2',
      ExpressionAttributeNames: { '#f0': 'lastVerdict', '#f1': 'judgedPeriods', '#f2': 'updatedAt' },
    });
    const verdict = updates[0]?.ExpressionAttributeValues?.[':v0'] as Record<string, unknown>;
    expect(updates[0]?.ExpressionAttributeValues?.[':v1']).toMatchObject({
      alb: { periodSeconds: 60, canary: expect.any(Array), baseline: expect.any(Array) },
    });
    expect(updates[0]?.ExpressionAttributeValues?.[':v2']).toBe(NOW);
    expect(verdict).toMatchObject({
      result: 'pass',
      canary: { requests: 3014, errors: 3, noResponse: 0 },
      baseline: { errors: expect.any(Number) },
    });
    expect(
      (verdict.metrics as { metric: string; result: string }[]).map((m) => [m.metric, m.result]),
    ).toEqual([
      ['errorRate', 'pass'],
      ['latencyP99', 'pass'],
      ['alarms', 'pass'],
    ]);

    // step.passed goes to the service's topic; info does not page.
    const published = sns.commandCalls(PublishCommand).map((c) => c.args[0].input);
    expect(published).toHaveLength(1);
    expect(published[0]).toMatchObject({
      TopicArn: SERVICE_TOPIC,
      MessageAttributes: { event: { DataType: 'String', StringValue: 'step.passed' } },
    });
    expect(published[0]?.Message).toContain('Evidence (pass):');
    expect(fetchMock).not.toHaveBeenCalled();
    expect(secrets.calls()).toHaveLength(0);
  });
});

// --- notification channels through the handlers ---------------------------------------------------------------

describe('notification channels', () => {
  it('the service’s own topic wins over SNS_TOPIC_ARN, and the default takes a service that names none', async () => {
    stubEnv({
      SNS_TOPIC_ARN: DEFAULT_TOPIC,
      SERVICES_JSON: JSON.stringify([
        SERVICE_CONFIG,
        validServiceConfig({ service: 'api', repository: 'acme/api', notifications: undefined }),
      ]),
    });
    doc.on(GetCommand).resolves({});
    const handler = await handlerOf('notify');
    const apiConfig = validParsedConfig({ service: 'api', repository: 'acme/api', notifications: undefined });
    const apiDoc: RolloutDoc = {
      ...rolloutDoc,
      rolloutId: 'api-faec26f150531ab9',
      service: 'api',
      image: { ...rolloutDoc.image, repository: 'acme/api' },
      config: apiConfig,
    };

    await handler({ rollout: rolloutDoc, outcome: 'promoted' }, context);
    await handler({ rollout: apiDoc, outcome: 'promoted' }, context);

    expect(sns.commandCalls(PublishCommand).map((c) => c.args[0].input.TopicArn)).toEqual([
      SERVICE_TOPIC,
      DEFAULT_TOPIC,
    ]);
  });

  it('pages with the service’s secret (read once per cold start) and skips SNS when no topic exists', async () => {
    const config = validParsedConfig({ notifications: { snsTopicArn: undefined } });
    doc.on(GetCommand).resolves({});
    const handler = await handlerOf('notify');
    const failed = { rollout: { ...rolloutDoc, config }, outcome: 'rollbackFailed' as const };

    await handler(failed, context);
    await handler(failed, context);

    expect(sns.calls()).toHaveLength(0);
    expect(secrets.commandCalls(GetSecretValueCommand).map((c) => c.args[0].input)).toEqual([
      { SecretId: PAGERDUTY_SECRET_ARN },
    ]);
    expect(fetchMock).toHaveBeenCalledTimes(2);
  });

  it('counts the outcome as a CloudWatch metric (EMF), the count the RollbacksFailed alarm reads', async () => {
    // Metrics on (the other tests turn them off); POWERTOOLS_DEV prints them through the global console.
    stubEnv({ POWERTOOLS_METRICS_DISABLED: 'false' });
    doc.on(GetCommand).resolves({});
    const handler = await handlerOf('notify');
    const lines: string[] = [];
    const printed = vi.spyOn(console, 'log').mockImplementation((line: unknown) => {
      lines.push(String(line));
    });
    try {
      await handler({ rollout: rolloutDoc, outcome: 'rollbackFailed' }, context);
    } finally {
      printed.mockRestore();
    }
    const emf = lines.filter((line) => line.includes('"_aws"')).map((line) => JSON.parse(line));
    const counted = emf.find((m) => 'RollbacksFailed' in m);
    expect(counted).toMatchObject({ RollbacksFailed: 1, service: 'canary-controller' });
    expect(counted._aws.CloudWatchMetrics[0]).toMatchObject({
      Namespace: 'CanaryController',
      Dimensions: [['service']],
      Metrics: [expect.objectContaining({ Name: 'RollbacksFailed', Unit: 'Count' })],
    });
  });

  it('start-rollout refuses a quarantined image on the service’s topic', async () => {
    doc.on(GetCommand).callsFake((input: GetCommandInput) =>
      (input.Key as { sk: string }).sk === `QUARANTINE#${IMAGE_DIGEST}`
        ? {
            Item: {
              pk: `SERVICE#${SERVICE}`,
              sk: `QUARANTINE#${IMAGE_DIGEST}`,
              service: SERVICE,
              digest: IMAGE_DIGEST,
              reason: 'CanaryFailed: errorRate',
              at: CREATED,
            },
          }
        : {},
    );
    const handler = await handlerOf('start-rollout');

    await expect(handler(loadEvent('ecr/push'), context)).resolves.toMatchObject({ status: 'refused' });

    expect(sns.commandCalls(PublishCommand).map((c) => c.args[0].input)).toEqual([
      expect.objectContaining({
        TopicArn: SERVICE_TOPIC,
        MessageAttributes: expect.objectContaining({
          event: { DataType: 'String', StringValue: 'rollout.refused' },
        }),
      }),
    ]);
    expect(sfn.calls()).toHaveLength(0);
  });

  it('request-approval asks on the service’s topic', async () => {
    table({ lock: true, record: record({ route, currentStep: 0, canaryPercent: 5 }) });
    const handler = await handlerOf('request-approval');
    const step = { ...firstStep, approval: true };

    await handler({ token: TASK_TOKEN, rollout: rolloutDoc, step, seconds: 3600 }, context);

    expect(sns.commandCalls(PublishCommand).map((c) => c.args[0].input)).toEqual([
      expect.objectContaining({
        TopicArn: SERVICE_TOPIC,
        MessageAttributes: expect.objectContaining({
          event: { DataType: 'String', StringValue: 'approval.requested' },
        }),
      }),
    ]);
    // A warning does not page.
    expect(fetchMock).not.toHaveBeenCalled();
  });
});
