/**
 * What each controller function may do, as IAM statements on its own role: the controller's own resources by the
 * handler's environment (infra/handlers.ts), and the services' load balancers, ECS services and CloudWatch data by
 * its capabilities (routes, deploys, metrics), scoped to what the service configs name. `canary check` simulates
 * the same capabilities against a deployed account (cli/check/permissions.ts; a test holds the two together).
 */
import type { Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { type ServiceConfig, taskDefinitionFamily } from '../functions/core/config';
import { CONTROLLER_EVENT_SOURCE } from '../functions/core/events';
import { STATE_CHANGE_DETAIL_TYPE } from '../functions/core/state-change';
import type { ControllerFunction } from './controller-function';
import { Grants } from './grants';
import { ANNOUNCE, type ExecutionCall, type HandlerSpec } from './handlers';
import { ecsArn, ecsServiceArns, listenerParts } from './names';

/** The controller's own resources a function's grants name. */
export interface ControllerResources {
  readonly tableArn: string;
  readonly stateMachineArn: string;
  /** Every execution of the state machine (`<name>:*`). */
  readonly executionArns: string;
  /** The controller's event bus, by name. */
  readonly eventBusArn: string;
  /** The controller's and the services' notification channels (infra/notifications.ts). */
  readonly channels: NotificationChannels;
  readonly approvalSigningSecretArn?: string;
}

/** Topics, PagerDuty secrets and the customer managed keys of both, as the grants name them. */
export interface NotificationChannels {
  readonly topicArns: string[];
  readonly topicKeyArns: string[];
  readonly secretArns: string[];
  readonly secretKeyArns: string[];
}

const EXECUTIONS_REASON =
  'Executions are named per rollout at run time; only executions of this state machine.';

/**
 * The Step Functions actions of each execution call and the resource type each is authorized on (Service
 * Authorization Reference, AWS Step Functions: ListExecutions acts on the stateMachine resource,
 * GetExecutionHistory on the execution resource).
 */
const EXECUTION_CALLS: Record<ExecutionCall, { actions: string[]; on: 'stateMachine' | 'executions' }> = {
  start: { actions: ['states:StartExecution'], on: 'stateMachine' },
  describe: { actions: ['states:DescribeExecution'], on: 'executions' },
  list: { actions: ['states:ListExecutions'], on: 'stateMachine' },
  history: { actions: ['states:GetExecutionHistory'], on: 'executions' },
  stop: { actions: ['states:StopExecution'], on: 'executions' },
  taskResponse: { actions: ['states:SendTaskSuccess', 'states:SendTaskFailure'], on: 'stateMachine' },
};

/**
 * Grants each function what its handler spec says, and nothing else; `acknowledge` then gives cdk-nag the reason
 * for every wildcard resource, per function.
 */
export class Permissions {
  private readonly grants: Grants;
  private readonly services: ServicePermissions;

  constructor(
    stack: Stack,
    services: ServiceConfig[],
    private readonly resources: ControllerResources,
  ) {
    this.grants = new Grants(stack);
    this.services = new ServicePermissions(stack, this.grants, services);
  }

  grant(fn: ControllerFunction, spec: HandlerSpec) {
    this.store(fn);
    if (spec.env.includes('SNS_TOPIC_ARN')) this.publish(fn);
    if (spec.env.includes('PAGERDUTY_SECRET_ARN')) this.page(fn);
    if (spec.env.includes(ANNOUNCE)) this.announce(fn);
    const signingSecret = this.resources.approvalSigningSecretArn;
    if (spec.env.includes('APPROVAL_SIGNING_SECRET_ARN') && signingSecret) {
      this.allow(fn, ['secretsmanager:GetSecretValue'], [signingSecret]);
    }
    for (const call of spec.executions ?? []) this.execution(fn, call);
    if (spec.routes === 'read') this.services.readRoutes(fn);
    else if (spec.routes) this.services.route(fn);
    if (spec.deploys) this.services.deploy(fn, spec.deploys);
    if (spec.metrics) this.services.metrics(fn, spec.metrics);
  }

  /**
   * X-Ray (active tracing) was added by CDK with Resource "*"; the other wildcards by the statements granted here,
   * each with its reason, all acknowledged together per function.
   */
  acknowledge(functions: ControllerFunction[]) {
    for (const fn of functions) {
      this.grants.reason(
        fn,
        '*',
        'xray:PutTraceSegments/PutTelemetryRecords (active tracing, added by CDK) accept only "*".',
      );
    }
    this.grants.acknowledgeAll();
  }

  private allow(fn: ControllerFunction, actions: string[], resources: string[], wildcardReason?: string) {
    this.grants.allow(fn, new iam.PolicyStatement({ actions, resources }), wildcardReason);
  }

  private store(fn: ControllerFunction) {
    const { tableArn } = this.resources;
    this.allow(
      fn,
      [
        'dynamodb:GetItem',
        'dynamodb:PutItem',
        'dynamodb:UpdateItem',
        'dynamodb:DeleteItem',
        'dynamodb:Query',
      ],
      [tableArn, `${tableArn}/index/*`],
      'The store queries the table\'s own GSIs (active, byService); "index/*" names only indexes of this table.',
    );
  }

  /** Per-service channels (config `notifications`) as well as the defaults, and their customer managed keys. */
  private publish(fn: ControllerFunction) {
    const { topicArns, topicKeyArns } = this.resources.channels;
    this.allow(fn, ['sns:Publish'], topicArns);
    this.allow(fn, ['kms:GenerateDataKey', 'kms:Decrypt'], topicKeyArns);
  }

  private page(fn: ControllerFunction) {
    const { secretArns, secretKeyArns } = this.resources.channels;
    this.allow(fn, ['secretsmanager:GetSecretValue'], secretArns);
    if (secretKeyArns.length > 0) this.allow(fn, ['kms:Decrypt'], secretKeyArns);
  }

  /**
   * Only its own events: the source and detail-type of a state change (EventBridge User Guide, "Using IAM policy
   * conditions in Amazon EventBridge"), never a Deploy Requested.
   */
  private announce(fn: ControllerFunction) {
    this.grants.allow(
      fn,
      new iam.PolicyStatement({
        actions: ['events:PutEvents'],
        resources: [this.resources.eventBusArn],
        conditions: {
          'ForAllValues:StringEquals': {
            'events:source': [CONTROLLER_EVENT_SOURCE],
            'events:detail-type': [STATE_CHANGE_DETAIL_TYPE],
          },
        },
      }),
    );
  }

  private execution(fn: ControllerFunction, call: ExecutionCall) {
    const { actions, on } = EXECUTION_CALLS[call];
    if (on === 'stateMachine') this.allow(fn, actions, [this.resources.stateMachineArn]);
    else this.allow(fn, actions, [this.resources.executionArns], EXECUTIONS_REASON);
  }
}

const RULES_REASON =
  'The header rule is created and deleted at run time, so its ARN is unknown: only rules of the configured ' +
  'listeners (listener-rule/app/<lb>/<id>/<listener>/*).';

/** The IAM statements for the ALB, ECS and CloudWatch, scoped to what the service configs name. */
class ServicePermissions {
  private readonly listenerArns: string[];
  private readonly ruleArns: string[];
  private readonly ecsServiceArns: string[];
  private readonly taskDefinitionArns: string[];
  private readonly passRoleArns: string[];
  private readonly hasAlarms: boolean;
  private readonly xray: boolean;

  constructor(
    stack: Stack,
    private readonly grants: Grants,
    services: ServiceConfig[],
  ) {
    const uniq = (xs: string[]) => [...new Set(xs)].sort();
    this.listenerArns = uniq(services.map((c) => c.traffic.listenerArn));
    this.ruleArns = uniq([
      ...services.map((c) => `${listenerParts(c.traffic.listenerArn).rulePrefix}*`),
      ...services.flatMap((c) => (c.traffic.ruleArn ? [c.traffic.ruleArn] : [])),
    ]);
    const ecs = services.flatMap((c) => (c.deployer.kind === 'ecs' ? [c.deployer] : []));
    this.ecsServiceArns = uniq(ecs.flatMap((d) => ecsServiceArns(stack, d)));
    this.taskDefinitionArns = uniq(
      ecs.map((d) => ecsArn(stack, d.cluster, 'task-definition', `${taskDefinitionFamily(d)}:*`)),
    );
    this.passRoleArns = uniq(ecs.flatMap((d) => [d.taskRoleArn ?? [], d.executionRoleArn ?? []].flat()));
    this.hasAlarms = services.some((c) => c.analysis.alarms.length > 0);
    this.xray = services.some((c) => c.analysis.xray !== undefined);
  }

  /** Read listeners, rules and target groups, never change them. */
  readRoutes(fn: ControllerFunction) {
    this.describeElb(fn);
  }

  private describeElb(fn: ControllerFunction) {
    this.grants.allow(
      fn,
      new iam.PolicyStatement({
        sid: 'ElbDescribe',
        actions: [
          'elasticloadbalancing:DescribeListeners',
          'elasticloadbalancing:DescribeRules',
          'elasticloadbalancing:DescribeTargetGroups',
          'elasticloadbalancing:DescribeTargetHealth',
          'elasticloadbalancing:DescribeTargetGroupAttributes',
          'elasticloadbalancing:DescribeTags',
        ],
        resources: ['*'],
      }),
      'elasticloadbalancing:Describe* actions have no resource-level permissions (IAM requires "*").',
    );
  }

  route(fn: ControllerFunction) {
    this.describeElb(fn);
    this.grants.allow(
      fn,
      new iam.PolicyStatement({
        actions: ['elasticloadbalancing:ModifyListener'],
        resources: this.listenerArns,
      }),
    );
    this.grants.allow(
      fn,
      new iam.PolicyStatement({
        actions: [
          'elasticloadbalancing:ModifyRule',
          'elasticloadbalancing:DeleteRule',
          'elasticloadbalancing:SetRulePriorities',
        ],
        resources: this.ruleArns,
      }),
      RULES_REASON,
    );
    this.grants.allow(
      fn,
      // CreateRule is authorized on the listener as well as on the rule it creates.
      new iam.PolicyStatement({
        actions: ['elasticloadbalancing:CreateRule'],
        resources: [...this.listenerArns, ...this.ruleArns],
      }),
      RULES_REASON,
    );
    this.grants.allow(
      fn,
      // The header rule is tagged as the controller's when it is created (CreateRule with Tags), which ELB
      // authorizes as AddTags too; the condition allows no tagging of existing resources ("ELB API permissions
      // to tag resources during creation", Elastic Load Balancing User Guide).
      new iam.PolicyStatement({
        actions: ['elasticloadbalancing:AddTags'],
        resources: this.ruleArns,
        conditions: { StringEquals: { 'elasticloadbalancing:CreateAction': 'CreateRule' } },
      }),
      RULES_REASON,
    );
  }

  deploy(fn: ControllerFunction, level: 'read' | 'update' | 'register') {
    this.describeElb(fn);
    if (this.ecsServiceArns.length === 0) return;
    this.grants.allow(
      fn,
      new iam.PolicyStatement({
        actions: ['ecs:DescribeServices', ...(level === 'read' ? [] : ['ecs:UpdateService'])],
        resources: this.ecsServiceArns,
      }),
    );
    if (level === 'read') return;
    this.grants.allow(
      fn,
      new iam.PolicyStatement({
        sid: 'EcsTaskDefinitionsDescribe',
        actions: ['ecs:DescribeTaskDefinition'],
        resources: ['*'],
      }),
      'ecs:DescribeTaskDefinition has no resource types in the Service Authorization Reference (IAM requires "*").',
    );
    // The stable task definition's task and execution roles (deployer.taskRoleArn / executionRoleArn), passed only
    // to ECS tasks: RegisterTaskDefinition and UpdateService list iam:PassRole as a dependent action (Service
    // Authorization Reference); a task definition with other roles is refused before registering (adapters/aws/ecs.ts).
    if (this.passRoleArns.length > 0) {
      this.grants.allow(
        fn,
        new iam.PolicyStatement({
          actions: ['iam:PassRole'],
          resources: this.passRoleArns,
          conditions: { StringEquals: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' } },
        }),
      );
    }
    if (level !== 'register') return;
    // Service Authorization Reference (Amazon ECS): RegisterTaskDefinition takes the task-definition resource type,
    // arn:...:task-definition/<family>:<revision>, and so does TagResource (the stable revision's tags are copied).
    const revisionReason =
      'A new revision is numbered by ECS when registered: any revision of the configured families only ' +
      '(deployer.taskDefinitionFamily).';
    this.grants.allow(
      fn,
      new iam.PolicyStatement({
        actions: ['ecs:RegisterTaskDefinition'],
        resources: this.taskDefinitionArns,
      }),
      revisionReason,
    );
    this.grants.allow(
      fn,
      new iam.PolicyStatement({
        actions: ['ecs:TagResource'],
        resources: this.taskDefinitionArns,
        conditions: { StringEquals: { 'ecs:CreateAction': 'RegisterTaskDefinition' } },
      }),
      `${revisionReason} Tagging only while registering (condition ecs:CreateAction = RegisterTaskDefinition).`,
    );
  }

  metrics(fn: ControllerFunction, use: 'baseline' | 'judge') {
    this.grants.allow(
      fn,
      new iam.PolicyStatement({ sid: 'MetricData', actions: ['cloudwatch:GetMetricData'], resources: ['*'] }),
      'cloudwatch:GetMetricData has no resource-level permissions (IAM requires "*").',
    );
    if (use === 'judge' && this.hasAlarms) {
      this.grants.allow(
        fn,
        new iam.PolicyStatement({
          sid: 'GatingAlarms',
          actions: ['cloudwatch:DescribeAlarms'],
          resources: ['*'],
        }),
        'CloudWatch API Reference, DescribeAlarms: information about composite alarms is returned only with ' +
          'cloudwatch:DescribeAlarms scoped to "*" (gating alarms may be composite); the call only reads alarm states.',
      );
    }
    if (use === 'judge' && this.xray) {
      this.grants.allow(
        fn,
        new iam.PolicyStatement({
          sid: 'XRayStatistics',
          actions: ['xray:GetTimeSeriesServiceStatistics'],
          resources: ['*'],
        }),
        'xray:GetTimeSeriesServiceStatistics has no resource-level permissions (Service Authorization Reference, ' +
          'AWS X-Ray: no resource type for the action; only GetGroup and the group write actions take group ARNs).',
      );
    }
  }
}
