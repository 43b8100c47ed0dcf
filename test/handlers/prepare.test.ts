/**
 * Workflow task prepare: check the route, record what stable runs, deploy the canary.
 * Through the real handler and adapters with mocked SDK clients (requests checked against AWS's API models).
 */

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
import { GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { imageLabel } from '../../functions/core/rollout';
import {
  CANARY_IMAGE,
  CANARY_TASK_DEF,
  CONFIG,
  containerDefinition,
  context,
  doc,
  ecs,
  ecsService,
  elbv2,
  getInput,
  handlerOf,
  historyPut,
  installAwsMockHooks,
  listener,
  NOW,
  RECORD_KEY,
  record,
  rolloutDoc,
  route,
  STABLE_IMAGE,
  STABLE_TASK_DEF,
  services,
  sfn,
  stableTaskDefinition,
  stubEnv,
  table,
  timeline,
  updateInput,
} from '../helpers/aws-mocks';
import {
  CANARY_SERVICE,
  CANARY_TG_ARN,
  ECS_CLUSTER,
  LISTENER_ARN,
  SERVICE,
  STABLE_SERVICE,
  STABLE_TG_ARN,
} from '../helpers/config';

installAwsMockHooks();

describe('prepare', () => {
  it('refuses a canary target group of another load balancer before deploying or moving anything', async () => {
    // Prepare
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

    // Act
    const handler = await handlerOf('prepare');
    const error = await handler({ rollout: rolloutDoc }, context).catch((e: unknown) => e);

    // Assess
    expect(error).toMatchObject({ name: 'ConfigInvalid' });
    expect((error as Error).message).toContain('traffic.canaryTargetGroupArn');
    expect(timeline().filter((c) => !/:(Get|Query|Describe\w*)Command$/.test(c))).toEqual([]);
  });

  it('checks the route, records what stable runs and deploys the image as the canary sized for 5%', async () => {
    // Prepare
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

    // Act
    const handler = await handlerOf('prepare');
    const result = await handler({ rollout: rolloutDoc }, context);

    // Assess
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

describe('prepare at cold start', () => {
  it('prepare fails the cold start naming AWS_REGION when it is missing', async () => {
    stubEnv({ AWS_REGION: undefined });
    await expect(import('../../functions/handlers/prepare')).rejects.toThrow(/AWS_REGION/);
  });
});
