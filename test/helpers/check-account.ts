/**
 * A described AWS account for `canary check` tests: a clean account for the test config (validServiceConfig with a
 * rule and a header rule), as plain objects the Describe APIs return, and mocked SDK clients that answer from it
 * the way the APIs do (a not-found error for an unknown ARN, DescribeServices failures for a missing service).
 * Tests structuredClone the clean account and break one thing.
 */
import {
  CloudWatchClient,
  type CompositeAlarm,
  DescribeAlarmsCommand,
  ListMetricsCommand,
  type Metric,
  type MetricAlarm,
} from '@aws-sdk/client-cloudwatch';
import { DescribeRepositoriesCommand, ECRClient, type Repository } from '@aws-sdk/client-ecr';
import {
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  ECSClient,
  type Service,
  type Tag,
  type TaskDefinition,
} from '@aws-sdk/client-ecs';
import {
  DescribeListenersCommand,
  DescribeRulesCommand,
  DescribeTagsCommand,
  DescribeTargetGroupAttributesCommand,
  DescribeTargetGroupsCommand,
  ElasticLoadBalancingV2Client,
  type Tag as ElbTag,
  type Listener,
  type Rule,
  type TargetGroup,
  type TargetGroupAttribute,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import {
  type EvaluationResult,
  IAMClient,
  SimulatePrincipalPolicyCommand,
  type SimulatePrincipalPolicyCommandInput,
  type SimulatePrincipalPolicyCommandOutput,
} from '@aws-sdk/client-iam';
import {
  type FunctionConfiguration,
  GetFunctionConfigurationCommand,
  LambdaClient,
  ListTagsCommand,
} from '@aws-sdk/client-lambda';
import type { ServiceConfigInput } from '../../functions/core/config';
import { mockClient } from '../contract/mock';
import { allows, type Statement, wildcard } from '../infra/policy-evaluator';
import {
  ACCOUNT,
  ALARMS,
  CANARY_SERVICE,
  CANARY_TG_ARN,
  CONTAINER,
  ECS_CLUSTER,
  EXECUTION_ROLE_ARN,
  LISTENER_ARN,
  LISTENER_RULE_ARN,
  REGION,
  REPOSITORY,
  STABLE_SERVICE,
  STABLE_TG_ARN,
  TASK_ROLE_ARN,
  validServiceConfig,
} from './config';

export const LOAD_BALANCER_ARN = `arn:aws:elasticloadbalancing:${REGION}:${ACCOUNT}:loadbalancer/app/web/50dc6c495c0c9188`;
export const OTHER_LOAD_BALANCER_ARN = `arn:aws:elasticloadbalancing:${REGION}:${ACCOUNT}:loadbalancer/app/api/9a1b2c3d4e5f6a7b`;
export const HEADER_RULE_PRIORITY = 10;
export const ROUTE_RULE_PRIORITY = 20;
export const TASK_DEFINITION_ARN = `arn:aws:ecs:${REGION}:${ACCOUNT}:task-definition/web:42`;
export const serviceArn = (name: string) => `arn:aws:ecs:${REGION}:${ACCOUNT}:service/${ECS_CLUSTER}/${name}`;
export const roleArn = (fn: string) => `arn:aws:iam::${ACCOUNT}:role/canary-${fn}`;

/** The service config the account is clean for: a rule route and a header rule before it. */
export function checkedConfig(): ServiceConfigInput {
  return validServiceConfig({
    traffic: {
      ruleArn: LISTENER_RULE_ARN,
      headerRule: { header: 'x-canary', values: ['always'], priority: HEADER_RULE_PRIORITY },
    },
  });
}

export interface AccountFixture {
  listeners: Listener[];
  /** The rules of LISTENER_ARN. */
  rules: Rule[];
  targetGroups: TargetGroup[];
  attributes: Record<string, TargetGroupAttribute[]>;
  /** Tags of rules, by rule ARN. */
  ruleTags: Record<string, ElbTag[]>;
  clusterExists: boolean;
  services: Service[];
  taskDefinitions: { taskDefinition: TaskDefinition; tags: Tag[] }[];
  metricAlarms: MetricAlarm[];
  compositeAlarms: CompositeAlarm[];
  repositories: Repository[];
  /** The metrics ListMetrics lists (those with data in the last two weeks). */
  metrics: Metric[];
  /** The Lambda functions, in any region (their FunctionArn says which). */
  functions: FunctionConfiguration[];
  /** The tags of the functions, by unqualified function ARN (ListTags). */
  functionTags: Record<string, Record<string, string>>;
  /** Simulated calls that IAM does not allow: `<action> <resource>` (or `<action> *`) → its decision. */
  denied: Record<string, 'implicitDeny' | 'explicitDeny'>;
  /**
   * A role's identity-policy statements, by role ARN: its simulated calls are evaluated against them (with the
   * request's context entries) instead of being allowed unless `denied` says otherwise.
   */
  policies: Record<string, Statement[]>;
}

const forward = (weights: [string, number][]) => ({
  Type: 'forward' as const,
  ForwardConfig: { TargetGroups: weights.map(([TargetGroupArn, Weight]) => ({ TargetGroupArn, Weight })) },
});

export function cleanAccount(): AccountFixture {
  const attributes = (): TargetGroupAttribute[] => [
    { Key: 'stickiness.enabled', Value: 'false' },
    { Key: 'stickiness.type', Value: 'lb_cookie' },
    { Key: 'deregistration_delay.timeout_seconds', Value: '300' },
  ];
  const service = (name: string, tg: string): Service => ({
    serviceName: name,
    serviceArn: serviceArn(name),
    clusterArn: `arn:aws:ecs:${REGION}:${ACCOUNT}:cluster/${ECS_CLUSTER}`,
    status: 'ACTIVE',
    taskDefinition: TASK_DEFINITION_ARN,
    desiredCount: name === STABLE_SERVICE ? 4 : 0,
    deploymentController: { type: 'ECS' },
    loadBalancers: [{ targetGroupArn: tg, containerName: CONTAINER, containerPort: 8080 }],
  });
  return {
    listeners: [
      {
        ListenerArn: LISTENER_ARN,
        LoadBalancerArn: LOAD_BALANCER_ARN,
        Port: 443,
        Protocol: 'HTTPS',
        DefaultActions: [{ Type: 'fixed-response', FixedResponseConfig: { StatusCode: '404' } }],
      },
    ],
    rules: [
      {
        RuleArn: LISTENER_RULE_ARN,
        Priority: String(ROUTE_RULE_PRIORITY),
        IsDefault: false,
        Conditions: [{ Field: 'host-header', HostHeaderConfig: { Values: ['shop.example.com'] } }],
        Actions: [
          forward([
            [STABLE_TG_ARN, 1],
            [CANARY_TG_ARN, 0],
          ]),
        ],
      },
      {
        RuleArn: `${LISTENER_RULE_ARN.slice(0, LISTENER_RULE_ARN.lastIndexOf('/'))}/0000000000000def`,
        Priority: 'default',
        IsDefault: true,
        Conditions: [],
        Actions: [{ Type: 'fixed-response', FixedResponseConfig: { StatusCode: '404' } }],
      },
    ],
    targetGroups: [STABLE_TG_ARN, CANARY_TG_ARN].map((arn) => ({
      TargetGroupArn: arn,
      TargetGroupName: arn.split('/')[1],
      Protocol: 'HTTP',
      Port: 8080,
      TargetType: 'ip',
      LoadBalancerArns: [LOAD_BALANCER_ARN],
    })),
    attributes: { [STABLE_TG_ARN]: attributes(), [CANARY_TG_ARN]: attributes() },
    ruleTags: {},
    clusterExists: true,
    services: [service(STABLE_SERVICE, STABLE_TG_ARN), service(CANARY_SERVICE, CANARY_TG_ARN)],
    taskDefinitions: [
      {
        taskDefinition: {
          taskDefinitionArn: TASK_DEFINITION_ARN,
          family: 'web',
          revision: 42,
          taskRoleArn: TASK_ROLE_ARN,
          executionRoleArn: EXECUTION_ROLE_ARN,
          containerDefinitions: [
            {
              name: CONTAINER,
              image: `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com/${REPOSITORY}@sha256:${'1'.repeat(64)}`,
            },
          ],
        },
        tags: [{ key: 'team', value: 'shop' }],
      },
    ],
    metricAlarms: ALARMS.map((name) => ({
      AlarmName: name,
      AlarmArn: `arn:aws:cloudwatch:${REGION}:${ACCOUNT}:alarm:${name}`,
      StateValue: 'OK',
    })),
    compositeAlarms: [],
    repositories: [
      {
        repositoryName: REPOSITORY,
        repositoryArn: `arn:aws:ecr:${REGION}:${ACCOUNT}:repository/${REPOSITORY}`,
        repositoryUri: `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com/${REPOSITORY}`,
      },
    ],
    // The ECS deployer's CPU and memory utilization, per service (AWS/ECS: ClusterName, ServiceName).
    metrics: ['CPUUtilization', 'MemoryUtilization'].flatMap((MetricName) =>
      [STABLE_SERVICE, CANARY_SERVICE].map((service) => ({
        Namespace: 'AWS/ECS',
        MetricName,
        Dimensions: [
          { Name: 'ClusterName', Value: ECS_CLUSTER },
          { Name: 'ServiceName', Value: service },
        ],
      })),
    ),
    functions: [],
    functionTags: {},
    denied: {},
    policies: {},
  };
}

const awsError = (name: string, message: string) =>
  Object.assign(new Error(message), { name, $fault: 'client' });

/** A mocked client of any type (the contract layer's mockClient). */
type Stub = ReturnType<typeof mockClient>;

/** Mocked ELB, ECS, CloudWatch, ECR, IAM and Lambda clients (by class) answering from the fixture; restore() them after. */
export function mockAccount(account: AccountFixture) {
  const stubs = {
    elb: mockClient(ElasticLoadBalancingV2Client) as Stub,
    ecs: mockClient(ECSClient) as Stub,
    cloudwatch: mockClient(CloudWatchClient) as Stub,
    ecr: mockClient(ECRClient) as Stub,
    iam: mockClient(IAMClient) as Stub,
    lambda: mockClient(LambdaClient) as Stub,
  };
  answerFrom(stubs, account);
  return {
    ...stubs,
    restore() {
      for (const m of Object.values(stubs)) m.restore();
    },
  };
}

/** Make the stubs answer from the fixture as the Describe APIs and IAM policy simulation do. */
export function answerFrom(
  stubs: { elb: Stub; ecs: Stub; cloudwatch: Stub; ecr: Stub; iam: Stub; lambda?: Stub },
  account: AccountFixture,
) {
  const { elb, ecs, cloudwatch, ecr, iam, lambda } = stubs;

  elb.on(DescribeListenersCommand).callsFake((input) => {
    const found = account.listeners.filter((l) => input.ListenerArns?.includes(l.ListenerArn ?? ''));
    if (found.length === 0) throw awsError('ListenerNotFoundException', 'One or more listeners not found');
    return { Listeners: found };
  });
  elb.on(DescribeRulesCommand).callsFake((input) => {
    if (input.ListenerArn) {
      if (!account.listeners.some((l) => l.ListenerArn === input.ListenerArn))
        throw awsError('ListenerNotFoundException', 'One or more listeners not found');
      return { Rules: account.rules };
    }
    const found = account.rules.filter((r) => input.RuleArns?.includes(r.RuleArn ?? ''));
    if (found.length === 0) throw awsError('RuleNotFoundException', 'One or more rules not found');
    return { Rules: found };
  });
  elb.on(DescribeTargetGroupsCommand).callsFake((input) => {
    const found = account.targetGroups.filter((g) => input.TargetGroupArns?.includes(g.TargetGroupArn ?? ''));
    if (found.length !== (input.TargetGroupArns ?? []).length)
      throw awsError('TargetGroupNotFoundException', 'One or more target groups not found');
    return { TargetGroups: found };
  });
  elb.on(DescribeTargetGroupAttributesCommand).callsFake((input) => {
    const attributes = account.attributes[input.TargetGroupArn ?? ''];
    if (!attributes) throw awsError('TargetGroupNotFoundException', 'One or more target groups not found');
    return { Attributes: attributes };
  });

  elb.on(DescribeTagsCommand).callsFake((input) => ({
    TagDescriptions: (input.ResourceArns ?? []).map((arn: string) => ({
      ResourceArn: arn,
      Tags: account.ruleTags[arn] ?? [],
    })),
  }));

  ecs.on(DescribeServicesCommand).callsFake((input) => {
    if (!account.clusterExists) throw awsError('ClusterNotFoundException', 'Cluster not found.');
    const names: string[] = input.services ?? [];
    const services = account.services.filter((s) => names.includes(s.serviceName ?? ''));
    const failures = names
      .filter((n) => !services.some((s) => s.serviceName === n))
      .map((n) => ({ arn: serviceArn(n), reason: 'MISSING' }));
    return { services, failures };
  });
  ecs.on(DescribeTaskDefinitionCommand).callsFake((input) => {
    const found = account.taskDefinitions.find(
      (t) => t.taskDefinition.taskDefinitionArn === input.taskDefinition,
    );
    if (!found) throw awsError('ClientException', 'Unable to describe task definition.');
    return found;
  });

  cloudwatch.on(DescribeAlarmsCommand).callsFake((input) => ({
    MetricAlarms: account.metricAlarms.filter((a) => input.AlarmNames?.includes(a.AlarmName ?? '')),
    CompositeAlarms: account.compositeAlarms.filter((a) => input.AlarmNames?.includes(a.AlarmName ?? '')),
  }));

  // ListMetrics: the metrics of the namespace and name that have every dimension filtered on (with its value when
  // given), other dimensions besides (CloudWatch API reference, ListMetrics).
  cloudwatch.on(ListMetricsCommand).callsFake((input) => ({
    Metrics: account.metrics.filter(
      (m) =>
        m.Namespace === input.Namespace &&
        m.MetricName === input.MetricName &&
        (input.Dimensions ?? []).every((f: { Name: string; Value?: string }) =>
          (m.Dimensions ?? []).some(
            (d) => d.Name === f.Name && (f.Value === undefined || d.Value === f.Value),
          ),
        ),
    ),
  }));

  // GetFunctionConfiguration answers in the client's region only: a function of another region is not found there.
  lambda?.on(GetFunctionConfigurationCommand).callsFake(async (input, getClient) => {
    const region = await (getClient() as unknown as LambdaClient).config.region();
    const name: string = input.FunctionName;
    const unqualified = name.startsWith('arn:') ? name.split(':').slice(0, 7).join(':') : name.split(':')[0];
    const arn = unqualified?.startsWith('arn:')
      ? unqualified
      : `arn:aws:lambda:${region}:${ACCOUNT}:function:${unqualified}`;
    const found = account.functions.find((f) => f.FunctionArn === arn && arn.split(':')[3] === region);
    if (!found) throw awsError('ResourceNotFoundException', `Function not found: ${name}`);
    return found;
  });
  // ListTags takes the function's ARN, in the function's region (Lambda API reference, ListTags).
  lambda?.on(ListTagsCommand).callsFake(async (input, getClient) => {
    const region = await (getClient() as unknown as LambdaClient).config.region();
    const arn: string = input.Resource;
    const found = account.functions.find((f) => f.FunctionArn === arn && arn.split(':')[3] === region);
    if (!found) throw awsError('ResourceNotFoundException', `Function not found: ${arn}`);
    return { Tags: account.functionTags[arn] ?? {} };
  });

  ecr.on(DescribeRepositoriesCommand).callsFake((input) => {
    const found = account.repositories.filter((r) => input.repositoryNames?.includes(r.repositoryName ?? ''));
    if (found.length === 0)
      throw awsError(
        'RepositoryNotFoundException',
        `The repository with name '${input.repositoryNames?.[0]}' does not exist`,
      );
    return { repositories: found };
  });

  iam.on(SimulatePrincipalPolicyCommand).callsFake((input) => simulated(account, input));
}

/**
 * IAM policy simulation of one request against the fixture, all in one page: one EvaluationResult per action; with
 * ResourceArns, a ResourceSpecificResult per resource (IAM API reference, SimulatePrincipalPolicy /
 * EvaluationResult).
 */
export function simulated(
  account: AccountFixture,
  input: SimulatePrincipalPolicyCommandInput,
): SimulatePrincipalPolicyCommandOutput {
  const resources: string[] = input.ResourceArns ?? [];
  const policy = account.policies[input.PolicySourceArn ?? ''];
  const context: Record<string, string | string[]> = Object.fromEntries(
    (input.ContextEntries ?? []).map((e) => [
      e.ContextKeyName ?? '',
      e.ContextKeyValues?.length === 1 ? (e.ContextKeyValues[0] as string) : (e.ContextKeyValues ?? []),
    ]),
  );
  const decide = (action: string, resource: string) =>
    account.denied[`${action} ${resource}`] ??
    (!policy || allows(policy, { action, resource, context }) ? 'allowed' : 'implicitDeny');
  // MissingContextValues: the keys the role's policies test on this call that the request did not give.
  const missing = (action: string, resource: string) =>
    decide(action, resource) === 'allowed' ? [] : missingContext(policy ?? [], action, resource, context);
  const results: EvaluationResult[] = (input.ActionNames ?? []).map((action: string) =>
    resources.length === 0
      ? { EvalActionName: action, EvalResourceName: '*', EvalDecision: decide(action, '*') }
      : {
          EvalActionName: action,
          EvalResourceName: resources[0],
          EvalDecision: resources.every((r) => decide(action, r) === 'allowed') ? 'allowed' : 'implicitDeny',
          ResourceSpecificResults: resources.map((r) => ({
            EvalResourceName: r,
            EvalResourceDecision: decide(action, r),
            ...(missing(action, r).length > 0 ? { MissingContextValues: missing(action, r) } : {}),
          })),
        },
  );
  return { EvaluationResults: results, IsTruncated: false, $metadata: {} };
}

/**
 * The condition keys of the statements that name the action and resource and that the request context lacks (IAM API
 * reference, ResourceSpecificResult: MissingContextValues, the context keys required by the input policies that the
 * request did not provide).
 */
function missingContext(
  statements: readonly Statement[],
  action: string,
  resource: string,
  context: Record<string, unknown>,
): string[] {
  const list = <T>(v: T | T[]): T[] => (Array.isArray(v) ? v : [v]);
  const keys = statements
    .filter(
      (s) =>
        list(s.Action).some((a) => wildcard(a, action, true)) &&
        list(s.Resource as string | string[]).some((r) => typeof r === 'string' && wildcard(r, resource)),
    )
    .flatMap((s) => Object.values(s.Condition ?? {}).flatMap((keys) => Object.keys(keys)));
  return [...new Set(keys)].filter((k) => !(k in context)).sort();
}

/** CONTROLLER_ROLES as the stack's output has it: every function's role. */
export function controllerRoles(functions: readonly string[]): string {
  return JSON.stringify(Object.fromEntries(functions.map((fn) => [fn, roleArn(fn)])));
}
