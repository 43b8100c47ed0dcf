/**
 * Every AWS request the adapters (functions/) and the CLI (cli/) send, checked against AWS's API model of the
 * service (test/contract/model.ts), and a coverage check: every SDK command imported by functions/ or cli/ must be
 * sent here, so a command added without a contract check fails the suite.
 *
 * To cover a new command: add one entry to CASES below that drives the adapter method sending it (the mocks answer
 * as AWS would), and name what it sends in `covers` as "<serviceId> <Operation>" (serviceId: the client's
 * `config.serviceId`, e.g. "Elastic Load Balancing v2 DescribeTargetGroupAttributes", "IAM SimulatePrincipalPolicy",
 * "ECR DescribeRepositories", "XRay GetGroups"). The entry's test fails when the adapter does not send each named
 * request or sends one the model rejects. A service with no model yet: add it to SERVICES in update-models.ts.
 */

import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { CloudWatchClient, DescribeAlarmsCommand, GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DescribeImagesCommand, ECRClient } from '@aws-sdk/client-ecr';
import {
  DescribeServicesCommand,
  type DescribeServicesCommandInput,
  DescribeTaskDefinitionCommand,
  ECSClient,
  RegisterTaskDefinitionCommand,
  UpdateServiceCommand,
} from '@aws-sdk/client-ecs';
import {
  type Action,
  DescribeListenersCommand,
  DescribeRulesCommand,
  DescribeTagsCommand,
  DescribeTargetGroupAttributesCommand,
  DescribeTargetGroupsCommand,
  DescribeTargetHealthCommand,
  ElasticLoadBalancingV2Client,
  type Rule,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { IAMClient, ListRoleTagsCommand } from '@aws-sdk/client-iam';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import {
  ChangeResourceRecordSetsCommand,
  GetChangeCommand,
  ListResourceRecordSetsCommand,
  Route53Client,
} from '@aws-sdk/client-route-53';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import {
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  ListExecutionsCommand,
  SendTaskFailureCommand,
  SendTaskSuccessCommand,
  SFNClient,
  StartExecutionCommand,
  StopExecutionCommand,
} from '@aws-sdk/client-sfn';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { GetGroupsCommand, GetTimeSeriesServiceStatisticsCommand, XRayClient } from '@aws-sdk/client-xray';
import {
  BatchWriteCommand,
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  ScanCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { awsOperations } from '../../cli/aws';
import { FUNCTION_NEEDS } from '../../cli/check/permissions';
import { listXrayGroups } from '../../cli/check/reader';
import { runCheck } from '../../cli/check/run';
import { checkSettings } from '../../cli/check/settings';
import { withStackSettings } from '../../cli/stack';
import { AlbTargetHealth, AlbTrafficRouter } from '../../functions/adapters/aws/alb';
import { CloudWatchMetricSource } from '../../functions/adapters/aws/cloudwatch';
import { CloudWatchAlarmSource } from '../../functions/adapters/aws/cloudwatch-alarms';
import { configItems, DynamoServiceCatalog } from '../../functions/adapters/aws/config-catalog';
import { ConfigPublisher } from '../../functions/adapters/aws/config-publisher';
import {
  DOCUMENT_OPTIONS,
  DynamoRolloutStore,
  dynamoAnalysisStore,
} from '../../functions/adapters/aws/dynamodb';
import { EcsDeployer } from '../../functions/adapters/aws/ecs';
import { EventBridgeStateChanges } from '../../functions/adapters/aws/eventbridge';
import { AwsHookCaller } from '../../functions/adapters/aws/hooks';
import { Route53TrafficRouter } from '../../functions/adapters/aws/route53';
import { SecretCache } from '../../functions/adapters/aws/secretsmanager';
import { StepFunctionsExecutions } from '../../functions/adapters/aws/sfn';
import { SnsNotifier } from '../../functions/adapters/aws/sns';
import { XRayMetricSource } from '../../functions/adapters/aws/xray';
import { stepSpecs } from '../../functions/core/config';
import { customMetrics } from '../../functions/core/custom-metrics';
import { hookRequest } from '../../functions/core/hooks';
import { buildPlan } from '../../functions/core/plan';
import type { RolloutDoc, RolloutRecord } from '../../functions/core/rollout';
import { HEADER_RULE_TAG } from '../../functions/core/route-checks';
import { headerRuleOf } from '../../functions/core/routes';
import { stateChangeOf } from '../../functions/core/state-change';
import { readAsset } from '../../functions/handlers/publish-configs';
import type { RolloutEvent } from '../../functions/ports';
import { CONTROLLER_TAG_KEY } from '../../functions/tasks/registry';
import {
  awsError,
  CANARY_TG,
  DIGEST,
  LISTENER_ARN,
  REGISTRY,
  RULE_ARN,
  route,
  route53Route,
  STABLE_TG,
} from '../adapters/helpers';
import { answerFrom, checkedConfig, cleanAccount, controllerRoles } from '../helpers/check-account';
import { ROUTE, validParsedConfig, validServiceConfig } from '../helpers/config';
import { mockClient, requestOf, verifyContracts } from './mock';
import { describeModel, modelFor, sdkMembersMissingFromModel } from './model';

const region = 'us-east-1';
const clients = {
  elbv2: new ElasticLoadBalancingV2Client({ region }),
  ecs: new ECSClient({ region }),
  cloudwatch: new CloudWatchClient({ region }),
  xray: new XRayClient({ region }),
  sns: new SNSClient({ region }),
  secrets: new SecretsManagerClient({ region }),
  sfn: new SFNClient({ region }),
  iam: new IAMClient({ region }),
  s3: new S3Client({ region }),
  cloudformation: new CloudFormationClient({ region }),
  lambda: new LambdaClient({ region }),
  route53: new Route53Client({ region }),
  // As the handlers build it (functions/handlers/aws.ts).
  doc: DynamoDBDocumentClient.from(new DynamoDBClient({ region }), DOCUMENT_OPTIONS),
};
const mocks = {
  elbv2: mockClient(clients.elbv2),
  ecs: mockClient(clients.ecs),
  cloudwatch: mockClient(clients.cloudwatch),
  xray: mockClient(clients.xray),
  sns: mockClient(clients.sns),
  secrets: mockClient(clients.secrets),
  sfn: mockClient(clients.sfn),
  doc: mockClient(clients.doc),
  iam: mockClient(clients.iam),
  s3: mockClient(clients.s3),
  cloudformation: mockClient(clients.cloudformation),
  lambda: mockClient(clients.lambda),
  route53: mockClient(clients.route53),
  // The CLI builds its own clients (cli/aws.ts): mocked by class.
  ecr: mockClient(ECRClient),
  events: mockClient(EventBridgeClient),
};
const noWait = { retry: { sleep: async () => undefined, random: () => 0.5 } };

const CONFIG = validParsedConfig({
  traffic: { headerRule: { header: 'X-Canary', values: ['always'], priority: 10 }, stickinessSeconds: 300 },
});
const STATE_MACHINE = 'arn:aws:states:us-east-1:123456789012:stateMachine:canary-rollout';
/** The longest service name the config allows: execution names and message groups are built from it. */
const LONGEST_SERVICE = `w${'e'.repeat(39)}`;
const TOKEN = `AQCEAAAAKgAAAAMAAAAAAAAAAX${'x'.repeat(900)}`;

const rollout: RolloutDoc = {
  rolloutId: `${LONGEST_SERVICE}-faec26f150531ab9`,
  service: LONGEST_SERVICE,
  image: { repository: 'acme/web', digest: DIGEST, tag: 'v1.4.2' },
  config: CONFIG,
  plan: buildPlan(stepSpecs(CONFIG)),
  trigger: 'ecr-push',
  requestedAt: '2026-03-14T09:26:53Z',
};
const record: RolloutRecord = {
  rolloutId: rollout.rolloutId,
  service: rollout.service,
  image: rollout.image,
  status: 'running',
  alarms: ['web-5xx-high'],
  createdAt: '2026-03-14T09:26:54Z',
  updatedAt: '2026-03-14T09:26:54Z',
};

function forward(stable: number, canary: number): Action {
  return {
    Type: 'forward',
    Order: 2,
    ForwardConfig: {
      TargetGroups: [
        { TargetGroupArn: STABLE_TG, Weight: stable },
        { TargetGroupArn: CANARY_TG, Weight: canary },
      ],
      TargetGroupStickinessConfig: { Enabled: false },
    },
  };
}
/** An OIDC action in front of the forward, as Describe* returns it (no client secret). */
const OIDC: Action = {
  Type: 'authenticate-oidc',
  Order: 1,
  AuthenticateOidcConfig: {
    Issuer: 'https://idp.example.com',
    AuthorizationEndpoint: 'https://idp.example.com/authorize',
    TokenEndpoint: 'https://idp.example.com/token',
    UserInfoEndpoint: 'https://idp.example.com/userinfo',
    ClientId: 'web-client',
    SessionCookieName: 'AWSELBAuthSessionCookie',
    Scope: 'openid',
    SessionTimeout: 604800,
    OnUnauthenticatedRequest: 'authenticate',
  },
};
const LOAD_BALANCER_ARN = `${LISTENER_ARN.replace(':listener/', ':loadbalancer/').slice(0, LISTENER_ARN.replace(':listener/', ':loadbalancer/').lastIndexOf('/'))}`;
/**
 * A Cognito action in front of the forward: the header rule copies it (CreateRule takes it whole; an OIDC action
 * would need its client secret, so Prepare refuses that route).
 */
const COGNITO: Action = {
  Type: 'authenticate-cognito',
  Order: 1,
  AuthenticateCognitoConfig: {
    UserPoolArn: 'arn:aws:cognito-idp:us-east-1:123456789012:userpool/us-east-1_aBcDeFgHi',
    UserPoolClientId: 'abcdefghijklmnopqrstuvwxy',
    UserPoolDomain: 'shop-auth',
    SessionCookieName: 'AWSELBAuthSessionCookie',
    Scope: 'openid',
    SessionTimeout: 604800,
    OnUnauthenticatedRequest: 'authenticate',
  },
};
const HEADER_RULE_ARN = `${RULE_ARN.slice(0, RULE_ARN.lastIndexOf('/'))}/1a2b3c4d5e6f7a8b`;
/** The route's rule as DescribeRules returns it: legacy Values next to the typed config. */
const routeRule: Rule = {
  RuleArn: RULE_ARN,
  Priority: '20',
  IsDefault: false,
  Conditions: [
    {
      Field: 'host-header',
      Values: ['shop.example.com'],
      HostHeaderConfig: { Values: ['shop.example.com'] },
    },
  ],
  Actions: [OIDC, forward(95, 5)],
};
const headerRule: Rule = {
  RuleArn: HEADER_RULE_ARN,
  Priority: '30',
  IsDefault: false,
  Conditions: [
    { Field: 'http-header', HttpHeaderConfig: { HttpHeaderName: 'X-Canary', Values: ['always'] } },
  ],
  Actions: [{ Type: 'forward', ForwardConfig: { TargetGroups: [{ TargetGroupArn: CANARY_TG, Weight: 1 }] } }],
};

const taskDefinition = {
  taskDefinitionArn: 'arn:aws:ecs:us-east-1:123456789012:task-definition/web:41',
  family: 'web',
  revision: 41,
  status: 'ACTIVE' as const,
  taskRoleArn: 'arn:aws:iam::123456789012:role/web-task',
  executionRoleArn: 'arn:aws:iam::123456789012:role/ecsTaskExecutionRole',
  networkMode: 'awsvpc' as const,
  containerDefinitions: [
    {
      name: 'web',
      image: `${REGISTRY}/acme/web:v1.4.1`,
      cpu: 0,
      essential: true,
      portMappings: [{ containerPort: 8080, hostPort: 8080, protocol: 'tcp' as const, name: 'http' }],
      environment: [{ name: 'PORT', value: '8080' }],
      logConfiguration: {
        logDriver: 'awslogs' as const,
        options: { 'awslogs-group': '/ecs/web', 'awslogs-region': region, 'awslogs-stream-prefix': 'web' },
      },
    },
  ],
  volumes: [],
  placementConstraints: [],
  requiresAttributes: [{ name: 'ecs.capability.task-eni' }],
  compatibilities: ['EC2' as const, 'FARGATE' as const],
  requiresCompatibilities: ['FARGATE' as const],
  cpu: '512',
  memory: '1024',
  runtimePlatform: { cpuArchitecture: 'ARM64' as const, operatingSystemFamily: 'LINUX' as const },
  registeredAt: new Date('2026-03-10T07:58:31Z'),
  registeredBy: 'arn:aws:sts::123456789012:assumed-role/deploy/github-actions',
};

function ecsServices(input: DescribeServicesCommandInput) {
  return {
    services: (input.services ?? []).map((name) => ({
      serviceName: name,
      serviceArn: `arn:aws:ecs:us-east-1:123456789012:service/prod/${name}`,
      status: 'ACTIVE',
      desiredCount: 4,
      runningCount: 4,
      taskDefinition: taskDefinition.taskDefinitionArn,
      deployments: [
        {
          status: 'PRIMARY',
          taskDefinition: taskDefinition.taskDefinitionArn,
          desiredCount: 4,
          runningCount: 4,
          rolloutState: 'COMPLETED' as const,
        },
      ],
    })),
    failures: [],
  };
}

interface Case {
  name: string;
  /** "<serviceId> <Operation>" of every request this case must send. */
  covers: string[];
  run: () => Promise<unknown>;
}

const CASES: Case[] = [
  {
    name: 'Route 53: both weighted records upserted in one change batch, the change followed until INSYNC',
    covers: ['Route 53 ListResourceRecordSets', 'Route 53 ChangeResourceRecordSets', 'Route 53 GetChange'],
    run: async () => {
      // Alias records to two load balancers, the longest SetIdentifier the model allows (128).
      const alias = (id: string, weight: number) => ({
        Name: 'api.example.com.',
        Type: 'A' as const,
        SetIdentifier: id,
        Weight: weight,
        AliasTarget: {
          HostedZoneId: 'Z35SXDOTRQ7X7K',
          DNSName: `${id.slice(0, 20)}.us-east-1.elb.amazonaws.com.`,
          EvaluateTargetHealth: true,
        },
      });
      const [blue, green] = [`b${'l'.repeat(127)}`, 'green'];
      mocks.route53.on(ListResourceRecordSetsCommand).resolves({
        ResourceRecordSets: [alias(blue, 255), alias(green, 0)],
        IsTruncated: false,
        MaxItems: 300,
      });
      const info = { Id: '/change/C2682N5HXP0BZ4', SubmittedAt: new Date('2026-03-14T09:30:00Z') };
      mocks.route53
        .on(ChangeResourceRecordSetsCommand)
        .resolves({ ChangeInfo: { ...info, Status: 'PENDING' } });
      mocks.route53.on(GetChangeCommand).resolves({ ChangeInfo: { ...info, Status: 'INSYNC' } });
      const r = route53Route({ recordType: 'A', stableSetIdentifier: blue, canarySetIdentifier: green });
      await new Route53TrafficRouter(clients.route53, noWait).setWeights(r, 2);
    },
  },
  {
    name: 'Route 53: a truncated listing followed from NextRecordIdentifier; a retry finding the share set polls its own change',
    covers: ['Route 53 ListResourceRecordSets', 'Route 53 ChangeResourceRecordSets', 'Route 53 GetChange'],
    run: async () => {
      const weighted = (id: string, weight: number) => ({
        Name: 'api.example.com.',
        Type: 'CNAME' as const,
        SetIdentifier: id,
        Weight: weight,
        TTL: 60,
        ResourceRecords: [{ Value: `${id}.us-east-1.elb.amazonaws.com` }],
      });
      const page = (records: ReturnType<typeof weighted>[], next?: string) => ({
        ResourceRecordSets: records,
        IsTruncated: next !== undefined,
        MaxItems: 1,
        ...(next ? { NextRecordName: 'api.example.com.', NextRecordType: 'CNAME' as const } : {}),
        ...(next ? { NextRecordIdentifier: next } : {}),
      });
      mocks.route53
        .on(ListResourceRecordSetsCommand)
        .resolvesOnce(page([weighted('blue', 1)], 'green'))
        .resolvesOnce(page([weighted('green', 0)]))
        .resolvesOnce(page([weighted('blue', 9)], 'green'))
        .resolves(page([weighted('green', 1)]));
      const info = { Id: '/change/C2682N5HXP0BZ4', SubmittedAt: new Date('2026-03-14T09:30:00Z') };
      mocks.route53
        .on(ChangeResourceRecordSetsCommand)
        .resolves({ ChangeInfo: { ...info, Status: 'PENDING' } });
      // PENDING through the first attempt's two polls and the retry's first read, then INSYNC.
      const pending = { ChangeInfo: { ...info, Status: 'PENDING' as const } };
      mocks.route53
        .on(GetChangeCommand)
        .resolvesOnce(pending)
        .resolvesOnce(pending)
        .resolvesOnce(pending)
        .resolves({ ChangeInfo: { ...info, Status: 'INSYNC' } });
      const router = new Route53TrafficRouter(clients.route53, { ...noWait, syncTimeoutMs: 1 });
      const r = route53Route({
        recordType: 'CNAME',
        stableSetIdentifier: 'blue',
        canarySetIdentifier: 'green',
      });
      await expect(router.setWeights(r, 10)).rejects.toMatchObject({ name: 'Transient' });
      await router.setWeights(r, 10);
      expect(mocks.route53.commandCalls(ChangeResourceRecordSetsCommand)).toHaveLength(1);
      expect(mocks.route53.commandCalls(GetChangeCommand)).toHaveLength(4);
    },
  },
  {
    name: 'ALB: weights on the listener, the header rule created behind a Cognito action',
    covers: [
      'Elastic Load Balancing v2 DescribeRules',
      'Elastic Load Balancing v2 DescribeListeners',
      'Elastic Load Balancing v2 ModifyListener',
      'Elastic Load Balancing v2 CreateRule',
    ],
    run: async () => {
      mocks.elbv2.on(DescribeListenersCommand).resolves({
        Listeners: [
          {
            ListenerArn: LISTENER_ARN,
            Port: 443,
            Protocol: 'HTTPS',
            DefaultActions: [COGNITO, forward(100, 0)],
          },
        ],
      });
      mocks.elbv2
        .on(DescribeRulesCommand)
        .resolves({ Rules: [{ RuleArn: 'default', IsDefault: true, Priority: 'default' }] });
      const r = route({
        stickinessSeconds: 300,
        headerRule: { header: 'X-Canary', values: ['always', 'beta'], priority: 10 },
      });
      // Tagged with its route and the controller's id, as the deployed functions create it.
      const controllerTag = { Key: CONTROLLER_TAG_KEY, Value: 'Platform' };
      await new AlbTrafficRouter(clients.elbv2, { ...noWait, controllerTag }).setWeights(r, 5);
    },
  },
  {
    name: 'ALB: weights on a listener rule, the header rule modified and moved, then removed at 100%',
    covers: [
      'Elastic Load Balancing v2 ModifyRule',
      'Elastic Load Balancing v2 SetRulePriorities',
      'Elastic Load Balancing v2 DeleteRule',
      'Elastic Load Balancing v2 DescribeTags',
    ],
    run: async () => {
      // The header rule is the controller's own: it carries the tag CreateRule gave it.
      mocks.elbv2.on(DescribeTagsCommand).resolves({
        TagDescriptions: [
          { ResourceArn: HEADER_RULE_ARN, Tags: [{ Key: HEADER_RULE_TAG, Value: RULE_ARN }] },
        ],
      });
      mocks.elbv2.on(DescribeRulesCommand, { RuleArns: [RULE_ARN] }).resolves({ Rules: [routeRule] });
      mocks.elbv2
        .on(DescribeRulesCommand, { ListenerArn: LISTENER_ARN })
        .resolves({ Rules: [routeRule, headerRule] });
      const router = new AlbTrafficRouter(clients.elbv2, noWait);
      const r = route({
        ruleArn: RULE_ARN,
        stickinessSeconds: 300,
        headerRule: { header: 'X-Canary', values: ['always'], priority: 10 },
      });
      await router.setWeights(r, 25);
      await router.setWeights(r, 100);
    },
  },
  {
    name: 'ALB: the first weights on a route that forwards to one target group read its stickiness',
    covers: ['Elastic Load Balancing v2 DescribeTargetGroupAttributes'],
    run: async () => {
      mocks.elbv2.on(DescribeListenersCommand).resolves({
        Listeners: [
          {
            ListenerArn: LISTENER_ARN,
            DefaultActions: [{ Type: 'forward', TargetGroupArn: STABLE_TG }],
          },
        ],
      });
      mocks.elbv2.on(DescribeTargetGroupAttributesCommand).resolves({
        Attributes: [{ Key: 'stickiness.enabled', Value: 'true' }],
      });
      await new AlbTrafficRouter(clients.elbv2, noWait).setWeights(route(), 5);
    },
  },
  {
    name: 'ALB: describe checks both target groups; target health',
    covers: [
      'Elastic Load Balancing v2 DescribeTargetGroups',
      'Elastic Load Balancing v2 DescribeTargetHealth',
    ],
    run: async () => {
      mocks.elbv2.on(DescribeListenersCommand).resolves({
        Listeners: [
          {
            ListenerArn: LISTENER_ARN,
            LoadBalancerArn: LOAD_BALANCER_ARN,
            DefaultActions: [forward(90, 10)],
          },
        ],
      });
      mocks.elbv2.on(DescribeTargetGroupsCommand).resolves({
        TargetGroups: [
          { TargetGroupArn: STABLE_TG, LoadBalancerArns: [LOAD_BALANCER_ARN] },
          { TargetGroupArn: CANARY_TG, LoadBalancerArns: [LOAD_BALANCER_ARN] },
        ],
      });
      mocks.elbv2.on(DescribeTargetHealthCommand).resolves({
        TargetHealthDescriptions: [
          { Target: { Id: '10.0.1.17', Port: 8080 }, TargetHealth: { State: 'healthy' } },
        ],
      });
      await new AlbTrafficRouter(clients.elbv2, noWait).describe(route());
      await new AlbTargetHealth(clients.elbv2, noWait).check(CANARY_TG);
    },
  },
  {
    name: 'CloudWatch: ALB metrics with slow-request counts, baseline thresholds, alarm states',
    covers: ['CloudWatch GetMetricData', 'CloudWatch DescribeAlarms'],
    run: async () => {
      mocks.cloudwatch.on(GetMetricDataCommand).resolves({ MetricDataResults: [] });
      mocks.cloudwatch.on(DescribeAlarmsCommand).resolves({
        MetricAlarms: [{ AlarmName: 'web-5xx-high', StateValue: 'OK' }],
        CompositeAlarms: [{ AlarmName: 'web-health', StateValue: 'OK' }],
      });
      const metrics = new CloudWatchMetricSource(clients.cloudwatch, noWait);
      const from = new Date('2026-03-14T09:30:00Z');
      const to = new Date('2026-03-14T09:40:00Z');
      await metrics.fetch({
        route: route(),
        from,
        to,
        periodSeconds: 60,
        thresholds: { p99Ms: 320, p50Ms: 41.5 },
      });
      await metrics.baselineThresholds({ route: route(), from: new Date('2026-03-14T08:40:10Z'), to });
      await new CloudWatchAlarmSource(clients.cloudwatch, noWait).states(['web-5xx-high', 'web-health']);
    },
  },
  {
    name: 'CloudWatch: custom metrics per version (a metric, metric math, the ECS services) with the ALB metrics',
    covers: ['CloudWatch GetMetricData'],
    run: async () => {
      mocks.cloudwatch.on(GetMetricDataCommand).resolves({ MetricDataResults: [] });
      const config = validParsedConfig({
        analysis: {
          metrics: [
            {
              name: 'orders',
              kind: 'counts',
              direction: 'lowerIsWorse',
              versionDimension: { name: 'Service', canary: 'web-canary', stable: 'web' },
              good: { namespace: 'Shop', metricName: 'OrdersCompleted' },
              total: {
                expression: 'FILL(tried, 0)',
                metrics: { tried: { namespace: 'Shop', metricName: 'OrdersAttempted' } },
              },
            },
          ],
        },
      });
      await new CloudWatchMetricSource(clients.cloudwatch, noWait).fetch({
        route: route(),
        from: new Date('2026-03-14T09:30:00Z'),
        to: new Date('2026-03-14T09:40:00Z'),
        periodSeconds: 60,
        metrics: customMetrics(config),
      });
    },
  },
  {
    name: 'X-Ray: service statistics by entity selector and by group',
    covers: ['XRay GetTimeSeriesServiceStatistics'],
    run: async () => {
      mocks.xray.on(GetTimeSeriesServiceStatisticsCommand).resolves({ TimeSeriesServiceStatistics: [] });
      const source = new XRayMetricSource(
        clients.xray,
        () => ({
          canary: { entitySelectorExpression: 'service("web") { annotation.version = "canary" }' },
          baseline: {
            groupArn: 'arn:aws:xray:us-east-1:123456789012:group/web-stable/ABCDEF1234567890',
            entitySelectorExpression: 'service("web")',
          },
        }),
        noWait,
      );
      await source.fetch({
        route: route(),
        from: new Date('2026-03-14T09:30:00Z'),
        to: new Date('2026-03-14T09:40:00Z'),
        periodSeconds: 300,
      });
    },
  },
  {
    name: 'SNS: a rollback published to a FIFO topic',
    covers: ['SNS Publish'],
    run: async () => {
      mocks.sns.on(PublishCommand).resolves({ MessageId: 'a1b2', SequenceNumber: '1' });
      const event: RolloutEvent = {
        type: 'rollout.rolledBack',
        severity: 'critical',
        service: LONGEST_SERVICE,
        rolloutId: rollout.rolloutId,
        image: `acme/web:${'v'.repeat(128)}`,
        summary: `${LONGEST_SERVICE} rolled back: canary error rate 4.1% vs 0.2%`,
        reason: 'canary error rate 4.1% vs 0.2%',
        step: { index: 2, weight: 25 },
        at: '2026-03-14T09:41:00Z',
        channels: { snsTopicArn: 'arn:aws:sns:us-east-1:123456789012:web-rollouts.fifo' },
      };
      await new SnsNotifier(clients.sns, undefined, noWait).notify(event);
    },
  },
  {
    name: 'Lambda: a hook invoked synchronously, by qualified ARN and by name',
    covers: ['Lambda Invoke'],
    run: async () => {
      mocks.lambda
        .on(InvokeCommand)
        .resolves({ StatusCode: 200, Payload: new TextEncoder().encode('{"status":"pass"}') as never });
      const caller = new AwsHookCaller(clients.lambda);
      const request = hookRequest(
        { rollout, route: { headerRule: headerRuleOf(ROUTE) }, stage: 'beforeTraffic' },
        'smoke',
        1,
        '2026-03-14T09:41:00Z',
      );
      await caller.call(
        { lambda: 'arn:aws:lambda:us-east-1:123456789012:function:web-smoke:live' },
        request,
        25,
      );
      await caller.call({ lambda: 'web-smoke' }, request, 25);
    },
  },
  {
    name: 'Secrets Manager: the PagerDuty routing key',
    covers: ['Secrets Manager GetSecretValue'],
    run: async () => {
      mocks.secrets.on(GetSecretValueCommand).resolves({ SecretString: 'R0ut1ngK3y' });
      await new SecretCache(
        clients.secrets,
        'arn:aws:secretsmanager:us-east-1:123456789012:secret:canary/pagerduty-routing-key-Xk3j9Q',
        noWait,
      ).get();
    },
  },
  {
    name: 'Step Functions: start (already started), stop, task success and failure with long texts',
    covers: [
      'SFN StartExecution',
      'SFN DescribeExecution',
      'SFN StopExecution',
      'SFN SendTaskSuccess',
      'SFN SendTaskFailure',
    ],
    run: async () => {
      mocks.sfn.on(StartExecutionCommand).rejects(awsError('ExecutionAlreadyExists', 400));
      mocks.sfn
        .on(DescribeExecutionCommand)
        .resolves({ input: JSON.stringify({ rollout }), status: 'RUNNING' });
      mocks.sfn.on(StopExecutionCommand).resolves({});
      mocks.sfn.on(SendTaskSuccessCommand).resolves({});
      mocks.sfn.on(SendTaskFailureCommand).resolves({});
      const executions = new StepFunctionsExecutions(clients.sfn, STATE_MACHINE, noWait);
      await executions.start(rollout.rolloutId, { rollout });
      await executions.stop(rollout.rolloutId, `Canary.${'E'.repeat(400)}`, 'ü'.repeat(40_000));
      await executions.sendTaskSuccess(TOKEN, { approved: true });
      await executions.sendTaskFailure(TOKEN, `Rejected${'!'.repeat(300)}`, '🚫'.repeat(20_000));
    },
  },
  {
    name: 'Step Functions: the running executions (every page) and their input',
    covers: ['SFN ListExecutions', 'SFN DescribeExecution'],
    run: async () => {
      const executionArn = `${STATE_MACHINE.replace(':stateMachine:', ':execution:')}:${rollout.rolloutId}`;
      mocks.sfn
        .on(ListExecutionsCommand)
        .resolvesOnce({
          executions: [
            {
              executionArn,
              stateMachineArn: STATE_MACHINE,
              name: rollout.rolloutId,
              status: 'RUNNING',
              startDate: new Date(),
            },
          ],
          nextToken: 'next-page-token',
        })
        .resolvesOnce({ executions: [] });
      mocks.sfn
        .on(DescribeExecutionCommand)
        .resolves({ input: JSON.stringify({ rollout }), status: 'RUNNING' });
      const executions = new StepFunctionsExecutions(clients.sfn, STATE_MACHINE, noWait);
      await executions.running();
    },
  },
  {
    name: 'Step Functions: the state an execution entered last (history newest first, every page)',
    covers: ['SFN GetExecutionHistory'],
    run: async () => {
      mocks.sfn
        .on(GetExecutionHistoryCommand)
        .resolvesOnce({ events: [], nextToken: 'older-events' })
        .resolvesOnce({
          events: [
            {
              id: 9,
              timestamp: new Date(),
              type: 'TaskStateEntered',
              stateEnteredEventDetails: { name: 'PromoteFinish', input: '{}' },
            },
          ],
        });
      const executions = new StepFunctionsExecutions(clients.sfn, STATE_MACHINE, noWait);
      await executions.lastStateEntered(rollout.rolloutId);
    },
  },
  {
    name: 'ECS: the canary deployed from the stable task definition, scaled, promoted',
    covers: [
      'ECS DescribeServices',
      'ECS DescribeTaskDefinition',
      'ECS RegisterTaskDefinition',
      'ECS UpdateService',
    ],
    run: async () => {
      mocks.ecs.on(DescribeServicesCommand).callsFake(ecsServices);
      mocks.ecs.on(DescribeTaskDefinitionCommand).resolves({
        taskDefinition,
        tags: [
          { key: 'team', value: 'shop' },
          { key: 'aws:cloudformation:stack-name', value: 'web' },
        ],
      });
      mocks.ecs.on(RegisterTaskDefinitionCommand).resolves({
        taskDefinition: {
          ...taskDefinition,
          taskDefinitionArn: taskDefinition.taskDefinitionArn.replace(':41', ':42'),
        },
      });
      mocks.ecs.on(UpdateServiceCommand).resolves({});
      const deployer = new EcsDeployer(clients.ecs, clients.elbv2, noWait);
      await deployer.deployCanary(CONFIG, route(), rollout.image, 5);
      await deployer.promoteStable(CONFIG, route(), rollout.image);
      await deployer.scaleDownCanary(CONFIG, route());
    },
  },
  {
    name: "ECS: the canary's capacity for a step (both services, the canary group's target health)",
    covers: ['ECS DescribeServices', 'Elastic Load Balancing v2 DescribeTargetHealth'],
    run: async () => {
      mocks.ecs.on(DescribeServicesCommand).callsFake(ecsServices);
      mocks.elbv2.on(DescribeTargetHealthCommand).resolves({
        TargetHealthDescriptions: [
          { Target: { Id: '10.0.1.17', Port: 8080 }, TargetHealth: { State: 'healthy' } },
          {
            Target: { Id: '10.0.2.23', Port: 8080 },
            TargetHealth: { State: 'initial', Reason: 'Elb.InitialHealthChecking' },
          },
        ],
      });
      await new EcsDeployer(clients.ecs, clients.elbv2, noWait).canaryCapacity(CONFIG, route(), 50);
    },
  },
  {
    name: 'DynamoDB: the lock taken, a pending rollout, released; records listed and written',
    covers: [
      'DynamoDB PutItem',
      'DynamoDB GetItem',
      'DynamoDB UpdateItem',
      'DynamoDB DeleteItem',
      'DynamoDB Query',
    ],
    run: async () => {
      mocks.doc.onAnyCommand().resolves({});
      mocks.doc.on(GetCommand).resolves({
        Item: {
          pk: `SERVICE#${LONGEST_SERVICE}`,
          sk: 'LOCK',
          service: LONGEST_SERVICE,
          rolloutId: rollout.rolloutId,
          acquiredAt: record.createdAt,
        },
      });
      const store = new DynamoRolloutStore(clients.doc, 'canary-rollouts', noWait);
      const at = new Date('2026-03-14T09:26:54Z');
      await store.acquireLock(LONGEST_SERVICE, rollout.rolloutId, at);
      await store.setPending(LONGEST_SERVICE, rollout.rolloutId, rollout);
      await store.putRollout(record);
      const mark = { cause: 'operator', at: at.toISOString(), by: 'bob', via: 'cli', weight: 5 } as const;
      await store.setPause(rollout.rolloutId, mark, 'none', at.toISOString());
      await store.setPause(rollout.rolloutId, undefined, 'operator', at.toISOString());
      await store.listByService(LONGEST_SERVICE, 20);
      await store.releaseLock(LONGEST_SERVICE, rollout.rolloutId, at);
    },
  },
  {
    name: 'DynamoDB: an abort marked only while the rollout holds its service (record and lock read, the mark conditioned on a live status)',
    covers: ['DynamoDB GetItem', 'DynamoDB UpdateItem'],
    run: async () => {
      const items: Record<string, Record<string, unknown>> = {
        [`ROLLOUT#${rollout.rolloutId}`]: { ...record, pk: `ROLLOUT#${rollout.rolloutId}`, sk: 'RECORD' },
        [`SERVICE#${LONGEST_SERVICE}`]: {
          pk: `SERVICE#${LONGEST_SERVICE}`,
          sk: 'LOCK',
          service: LONGEST_SERVICE,
          rolloutId: rollout.rolloutId,
          acquiredAt: record.createdAt,
        },
      };
      mocks.doc.on(GetCommand).callsFake((input) => ({ Item: items[(input.Key as { pk: string }).pk] }));
      mocks.doc.on(UpdateCommand).resolves({ Attributes: items[`ROLLOUT#${rollout.rolloutId}`] });
      const store = new DynamoRolloutStore(clients.doc, 'canary-rollouts', noWait);
      const mark = await store.markAborted(rollout.rolloutId, 'AlarmFired', 'alarm', new Date());
      expect(mark.holds).toBe(true);
      expect(mocks.doc.commandCalls(UpdateCommand)[0]?.args[0].input.ConditionExpression).toBe(
        'attribute_exists(pk) AND #status IN (:live0, :live1, :live2)',
      );
    },
  },
  {
    name: 'DynamoDB: a starting holder renews its lock; a stale lock is released only as it was read',
    covers: ['DynamoDB UpdateItem', 'DynamoDB DeleteItem'],
    run: async () => {
      mocks.doc.onAnyCommand().resolves({});
      const store = new DynamoRolloutStore(clients.doc, 'canary-rollouts', noWait);
      const at = new Date('2026-03-14T09:26:54Z');
      expect(await store.renewLock(LONGEST_SERVICE, rollout.rolloutId, at)).toBe(true);
      expect(await store.releaseStaleLock(LONGEST_SERVICE, rollout.rolloutId, record.createdAt)).toBe(true);
    },
  },
  {
    name: 'DynamoDB: the periods an analysis judged in their own item: stored, read, cleared',
    covers: ['DynamoDB PutItem', 'DynamoDB GetItem', 'DynamoDB DeleteItem'],
    run: async () => {
      const periods = {
        alb: { start: record.createdAt, periodSeconds: 60, canary: [120, 118], baseline: [2280, 2301] },
        custom: {
          orders: {
            start: record.createdAt,
            periodSeconds: 60,
            series: { good: { canary: [9, null], baseline: [171, 170] } },
          },
        },
      };
      mocks.doc.onAnyCommand().resolves({});
      mocks.doc
        .on(GetCommand)
        .resolves({ Item: { pk: `ROLLOUT#${rollout.rolloutId}`, sk: 'PERIODS', periods } });
      const store = dynamoAnalysisStore(clients.doc, 'canary-rollouts', noWait);
      await store.putJudgedPeriods(rollout.rolloutId, periods);
      expect(await store.getJudgedPeriods(rollout.rolloutId)).toEqual(periods);
      await store.clearJudgedPeriods(rollout.rolloutId);
      const key = { pk: `ROLLOUT#${rollout.rolloutId}`, sk: 'PERIODS' };
      expect(mocks.doc.commandCalls(PutCommand)[0]?.args[0].input).toEqual({
        TableName: 'canary-rollouts',
        Item: { ...key, periods },
      });
      // The item analyze wrote last, as the table has it now (everything keyed by pk/sk is read consistently).
      expect(mocks.doc.commandCalls(GetCommand)[0]?.args[0].input).toEqual({
        TableName: 'canary-rollouts',
        Key: key,
        ConsistentRead: true,
      });
      expect(mocks.doc.commandCalls(DeleteCommand)[0]?.args[0].input).toEqual({
        TableName: 'canary-rollouts',
        Key: key,
      });
    },
  },
  {
    name: 'EventBridge: rollout state changes on the controller’s bus, the failed entry sent again',
    covers: ['EventBridge PutEvents'],
    run: async () => {
      mocks.events
        .on(PutEventsCommand)
        .resolvesOnce({
          FailedEntryCount: 1,
          Entries: [{ EventId: 'e-1' }, { ErrorCode: 'InternalFailure' }],
        })
        .resolvesOnce({ FailedEntryCount: 0, Entries: [{ EventId: 'e-2' }] });
      const at = '2026-03-14T09:26:54.000Z';
      const subject = { rolloutId: rollout.rolloutId, service: rollout.service, image: rollout.image };
      await new EventBridgeStateChanges(new EventBridgeClient({ region }), 'canary-controller', noWait).put([
        stateChangeOf(subject, { type: 'started', message: 'started', at, detail: { trigger: 'ecr-push' } }),
        stateChangeOf(subject, { type: 'weight', message: 'step 1', at, detail: { step: 0, weight: 5 } }),
      ]);
    },
  },
  {
    name: 'CLI: start resolves a tag in ECR and puts Deploy Requested on the bus',
    covers: ['ECR DescribeImages', 'EventBridge PutEvents'],
    run: async () => {
      mocks.ecr.on(DescribeImagesCommand).resolves({ imageDetails: [{ imageDigest: DIGEST }] });
      mocks.events.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'e-1' }] });
      const operations = awsOperations(
        {
          TABLE_NAME: 'canary-rollouts',
          STATE_MACHINE_ARN: STATE_MACHINE,
          EVENT_BUS_NAME: 'ops',
          AWS_REGION: region,
          SERVICES_JSON: JSON.stringify([validServiceConfig()]),
        },
        { events: true },
      );
      await operations.start('web', 'v1.4.2');
    },
  },
  {
    name: 'Service configs: the deploy reads its asset and rewrites the table; the catalog reads items and lists them',
    covers: ['S3 GetObject', 'DynamoDB Scan', 'DynamoDB BatchWriteItem', 'DynamoDB GetItem'],
    run: async () => {
      const items = configItems([CONFIG], 'a1b2c3', '2026-03-14T09:26:53.000Z');
      mocks.s3
        .on(GetObjectCommand)
        .resolves({ Body: { transformToString: async () => JSON.stringify([CONFIG]) } as never });
      // The table as Scan reads it: the publisher asks for keys only, the catalog for the service items only.
      const table = [...items, { pk: 'SERVICE#gone' }];
      mocks.doc.on(ScanCommand).callsFake((input) => ({
        Items: input.FilterExpression
          ? table.filter((i) => i.pk.startsWith('SERVICE#') && 'config' in i)
          : table.map(({ pk }) => ({ pk })),
      }));
      mocks.doc
        .on(BatchWriteCommand)
        // DynamoDB hands back part of what was sent as UnprocessedItems.
        .callsFakeOnce((input) => ({
          UnprocessedItems: {
            'canary-service-configs': input.RequestItems['canary-service-configs'].slice(1),
          },
        }))
        .resolves({});
      mocks.doc.on(GetCommand).callsFake((input) => ({ Item: items.find((i) => i.pk === input.Key.pk) }));
      const text = await readAsset(clients.s3, 'cdk-hnb659fds-assets-123456789012-us-east-1', 'a1b2c3.json');
      const publisher = new ConfigPublisher(clients.doc, 'canary-service-configs', noWait);
      await publisher.publish(JSON.parse(text), 'a1b2c3', new Date('2026-03-14T09:26:53Z'));
      const catalog = new DynamoServiceCatalog(clients.doc, 'canary-service-configs', noWait);
      await catalog.byRepository(CONFIG.repository);
      await catalog.list();
    },
  },
  {
    name: 'CLI: --stack finds the settings in the stack’s outputs and the services in its config table',
    covers: ['CloudFormation DescribeStacks', 'DynamoDB Scan'],
    run: async () => {
      mocks.cloudformation.on(DescribeStacksCommand).resolves({
        Stacks: [
          {
            StackName: 'CanaryControllerStack',
            CreationTime: new Date('2026-03-14T09:00:00Z'),
            StackStatus: 'UPDATE_COMPLETE',
            Outputs: [{ OutputKey: 'ServiceConfigTableName', OutputValue: 'canary-service-configs' }],
          },
        ],
      });
      // The catalog's Scan keeps the service items only (its FilterExpression).
      mocks.doc
        .on(ScanCommand)
        .resolves({ Items: configItems([CONFIG], 'a1b2c3', '2026-03-14T09:26:53Z').filter((i) => i.config) });
      await withStackSettings({ AWS_REGION: region }, 'CanaryControllerStack', {
        cloudformation: clients.cloudformation,
        services: (table) => new DynamoServiceCatalog(clients.doc, table, noWait).list(),
      });
    },
  },
  {
    name: 'CLI: check reads a service’s account (Describe*, X-Ray groups) and simulates its roles’ calls',
    covers: [
      'Elastic Load Balancing v2 DescribeListeners',
      'Elastic Load Balancing v2 DescribeRules',
      'Elastic Load Balancing v2 DescribeTargetGroups',
      'Elastic Load Balancing v2 DescribeTargetGroupAttributes',
      'Elastic Load Balancing v2 DescribeTags',
      'ECS DescribeServices',
      'ECS DescribeTaskDefinition',
      'CloudWatch DescribeAlarms',
      'ECR DescribeRepositories',
      'IAM SimulatePrincipalPolicy',
      'IAM ListRoleTags',
      'XRay GetGroups',
      'CloudWatch ListMetrics',
      'Lambda GetFunctionConfiguration',
      'Lambda ListTags',
    ],
    run: async () => {
      const account = cleanAccount();
      account.functions.push({
        FunctionName: 'web-smoke',
        FunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:web-smoke',
      });
      // A header rule from an earlier rollout, so the tags of the rule at its priority are read.
      account.rules.push({
        RuleArn: `${RULE_ARN.slice(0, RULE_ARN.lastIndexOf('/'))}/00000000000000bb`,
        Priority: '10',
        Conditions: [
          { Field: 'http-header', HttpHeaderConfig: { HttpHeaderName: 'x-canary', Values: ['always'] } },
        ],
        Actions: [{ Type: 'forward', TargetGroupArn: CANARY_TG }],
      });
      answerFrom(
        {
          elb: mocks.elbv2,
          ecs: mocks.ecs,
          cloudwatch: mocks.cloudwatch,
          ecr: mocks.ecr,
          iam: mocks.iam,
          lambda: mocks.lambda,
        },
        account,
      );
      mocks.xray.on(GetGroupsCommand).resolves({ Groups: [{ GroupName: 'web-canary' }] });
      // With the controller's tag to look for: the roles' tags are read too.
      mocks.iam
        .on(ListRoleTagsCommand)
        .resolves({ Tags: [{ Key: 'canary-controller', Value: 'Platform' }], IsTruncated: false });
      // A custom metric read through metric math with many dimensions (ListMetrics takes 10 filters at most), and
      // hooks by name and by qualified ARN.
      const dimensions = Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`D${i}`, `v${i}`]));
      const config = {
        ...checkedConfig(),
        analysis: {
          ...checkedConfig().analysis,
          metrics: [
            {
              name: 'orders',
              kind: 'gauge',
              versionDimension: { name: 'Service', canary: 'web-canary', stable: 'web' },
              value: {
                expression: 'done / tried',
                metrics: {
                  done: { namespace: 'Shop', metricName: 'OrdersCompleted', dimensions },
                  tried: { namespace: 'Shop', metricName: 'OrdersAttempted' },
                },
              },
            },
          ],
        },
        hooks: {
          beforeTraffic: [
            { name: 'smoke', lambda: 'web-smoke' },
            { name: 'e2e', lambda: 'arn:aws:lambda:us-east-1:123456789012:function:web-e2e:live' },
          ],
        },
      };
      const settings = checkSettings({
        AWS_REGION: region,
        SERVICES_JSON: JSON.stringify([config]),
        CONTROLLER_ROLES: controllerRoles(Object.keys(FUNCTION_NEEDS)),
        CONTROLLER_TAG: 'Platform',
      });
      const { elbv2, ecs, cloudwatch, iam, xray } = clients;
      await runCheck(settings, {
        elbv2,
        ecs,
        cloudwatch,
        iam,
        xray,
        ecr: new ECRClient({ region }),
        lambdaIn: () => clients.lambda,
      });
      await listXrayGroups(xray);
    },
  },
];

/** "<serviceId> <Operation>" of every request the mocks recorded since the last reset. */
function sent(): Set<string> {
  const out = new Set<string>();
  for (const mock of Object.values(mocks)) {
    for (const call of mock.calls()) {
      const r = requestOf(call.thisValue, call.args[0] as never);
      out.add(`${r.serviceId} ${r.operation}`);
    }
  }
  return out;
}

describe('requests against AWS API models', () => {
  beforeEach(() => {
    for (const mock of Object.values(mocks)) mock.reset();
  });
  afterAll(() => {
    for (const mock of [mocks.ecr, mocks.events]) mock.restore();
  });

  for (const c of CASES) {
    it(c.name, async () => {
      await c.run();
      verifyContracts();
      const requests = sent();
      for (const name of c.covers) expect(requests, `${name} was not sent`).toContain(name);
    });
  }
});

// --- coverage: every command the source imports is checked above -----------------------------------------------

const ROOT = join(import.meta.dirname, '..', '..');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourceFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

/** Value imports of `*Command` from @aws-sdk packages: file, package, command class. */
function importedCommands(): Array<{ file: string; pkg: string; command: string }> {
  const found: Array<{ file: string; pkg: string; command: string }> = [];
  const importRe = /import\s+(type\s+)?\{([^}]*)\}\s+from\s+'(@aws-sdk\/[^']+)'/g;
  for (const file of [...sourceFiles(join(ROOT, 'functions')), ...sourceFiles(join(ROOT, 'cli'))]) {
    for (const m of readFileSync(file, 'utf8').matchAll(importRe)) {
      if (m[1]) continue;
      for (const spec of (m[2] ?? '').split(',').map((s) => s.trim())) {
        if (!spec || spec.startsWith('type ')) continue;
        const name = spec.split(/\s+as\s+/)[0] ?? '';
        if (name.endsWith('Command'))
          found.push({ file: relative(ROOT, file), pkg: m[3] ?? '', command: name });
      }
    }
  }
  return found;
}

/** What a command class sends: the client's serviceId and the operation (a DocumentClient command's DynamoDB one). */
async function requestName(pkg: string, command: string): Promise<string> {
  const mod = (await import(pkg)) as Record<string, unknown>;
  const Command = mod[command] as new (input: object) => object;
  if (pkg === '@aws-sdk/lib-dynamodb') {
    return `DynamoDB ${requestOf(clients.doc, new Command({}) as never).operation}`;
  }
  const clientName = Object.keys(mod).find(
    (k) => k.endsWith('Client') && !k.startsWith('_') && k !== 'Client',
  );
  const Client = mod[clientName ?? ''] as new (config: object) => { config: { serviceId: string } };
  const client = new Client({ region });
  return `${client.config.serviceId} ${requestOf(client, new Command({}) as never).operation}`;
}

describe('contract coverage', () => {
  it('every SDK command imported by functions/ and cli/ is an operation of its model and is checked above', async () => {
    const imported = importedCommands();
    expect(imported.length).toBeGreaterThan(20);
    const covered = new Set(CASES.flatMap((c) => c.covers));
    const problems: string[] = [];
    for (const { file, pkg, command } of imported) {
      const name = await requestName(pkg, command);
      const [serviceId, operation] = [
        name.slice(0, name.lastIndexOf(' ')),
        name.slice(name.lastIndexOf(' ') + 1),
      ];
      if (!modelFor(serviceId).operations[operation])
        problems.push(`${file}: ${command} → ${name} is not in the model`);
      if (!covered.has(name))
        problems.push(
          `${file}: ${command} (${name}) has no entry in CASES of test/contract/requests.test.ts`,
        );
    }
    expect(problems).toEqual([]);
  });

  it("the SDK's input members for each of those commands are in the model (or listed in NEWER_MEMBERS)", async () => {
    const problems: string[] = [];
    for (const { pkg, command } of importedCommands()) {
      const mod = (await import(pkg)) as Record<string, unknown>;
      const sent = new (
        mod[command] as new (
          input: object,
        ) => { schema?: unknown; clientCommand?: { schema?: unknown } }
      )({});
      const name = await requestName(pkg, command);
      const serviceId = name.slice(0, name.lastIndexOf(' '));
      const operation = name.slice(name.lastIndexOf(' ') + 1);
      for (const member of sdkMembersMissingFromModel(
        serviceId,
        operation,
        (sent.clientCommand ?? sent).schema,
      ))
        problems.push(`${pkg} ${command}: ${member} is not in ${describeModel(modelFor(serviceId))}`);
    }
    expect(problems).toEqual([]);
  });
});
