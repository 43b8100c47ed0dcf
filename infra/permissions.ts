/**
 * What each controller function may do, as IAM statements on its own role: the controller's own resources by the
 * handler's environment (infra/handlers.ts), and the services' load balancers, ECS services and CloudWatch data by
 * its capabilities (routes, deploys, metrics), scoped to what the service configs name. `canary check` simulates
 * the same capabilities against a deployed account (cli/check/permissions.ts; a test holds the two together).
 */
import type { Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { ServiceConfig } from '../functions/core/config';
import { CONTROLLER_EVENT_SOURCE } from '../functions/core/events';
import { HEADER_RULE_TAG } from '../functions/core/route-checks';
import { STATE_CHANGE_DETAIL_TYPE } from '../functions/core/state-change';
import { CONTROLLER_TAG_KEY } from '../functions/tasks/registry';
import type { ControllerFunction } from './controller-function';
import { Grants } from './grants';
import { ANNOUNCE, type ExecutionCall, type HandlerSpec } from './handlers';
import { ecsArnPrefix, listenerParts } from './names';

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
  /** The value of the controller's tag (CONTROLLER_TAG_KEY) on the resources it may change; default the stack name. */
  readonly controllerTag?: string;
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
    this.services = new ServicePermissions(
      stack,
      this.grants,
      services,
      resources.controllerTag ?? stack.stackName,
    );
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

/**
 * The IAM statements for the ALB, ECS and CloudWatch. No service's ARN is named: a change is allowed only on a resource
 * tagged `canary-controller` = this controller's id (aws:ResourceTag, CONTROLLER_TAG_KEY), in the regions and accounts
 * the configs name, so the policies keep one size for 1 or 500 services (IAM allows 10,240 characters of inline policy
 * per role: IAM User Guide, "IAM and AWS STS quotas"). Which actions take which resource types and condition keys is
 * from the Service Authorization Reference ("Actions, resources, and condition keys for AWS Elastic Load Balancing V2",
 * "... for Amazon Elastic Container Service", "... for AWS Identity and Access Management", "... for Amazon
 * CloudWatch", "... for AWS X-Ray"): ELB listeners and rules, ECS services and task definitions and IAM roles all take
 * aws:ResourceTag/${TagKey}; creating actions take aws:RequestTag/${TagKey}.
 */
class ServicePermissions {
  /** `arn:<partition>:elasticloadbalancing:<region>:<account>:` of every configured listener. */
  private readonly elbPrefixes: string[];
  /** `arn:<partition>:ecs:<region>:<account>:` of every configured cluster. */
  private readonly ecsPrefixes: string[];
  /** `arn:<partition>:iam::<account>:` of the accounts whose task and execution roles the configs name. */
  private readonly rolePrefixes: string[];
  private readonly hasEcs: boolean;
  private readonly hasAlarms: boolean;
  private readonly xray: boolean;
  /** Conditions: the resource carries the controller's tag; the request tags what it creates with it. */
  private readonly tagged: Record<string, Record<string, string>>;
  private readonly requestTagged: Record<string, Record<string, string>>;

  constructor(
    stack: Stack,
    private readonly grants: Grants,
    services: ServiceConfig[],
    controllerTag: string,
  ) {
    const uniq = (xs: string[]) => [...new Set(xs)].sort();
    this.elbPrefixes = uniq(services.map((c) => listenerParts(c.traffic.listenerArn).arnPrefix));
    const ecs = services.flatMap((c) => (c.deployer.kind === 'ecs' ? [c.deployer] : []));
    this.hasEcs = ecs.length > 0;
    this.ecsPrefixes = uniq(ecs.map((d) => ecsArnPrefix(stack, d.cluster)));
    this.rolePrefixes = uniq(
      ecs
        .flatMap((d) => [d.taskRoleArn ?? [], d.executionRoleArn ?? []].flat())
        .map((arn) => arn.replace(/role\/.*$/, '')),
    );
    this.hasAlarms = services.some((c) => c.analysis.alarms.length > 0);
    this.xray = services.some((c) => c.analysis.xray !== undefined);
    this.tagged = { StringEquals: { [`aws:ResourceTag/${CONTROLLER_TAG_KEY}`]: controllerTag } };
    this.requestTagged = { StringEquals: { [`aws:RequestTag/${CONTROLLER_TAG_KEY}`]: controllerTag } };
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

  private elb(resource: string) {
    return this.elbPrefixes.map((p) => `${p}${resource}`);
  }

  route(fn: ControllerFunction) {
    this.describeElb(fn);
    const listeners = this.elb('listener/app/*');
    const rules = this.elb('listener-rule/app/*');
    const taggedReason =
      'Any listener or rule of the configured regions and accounts, but only one tagged ' +
      `${CONTROLLER_TAG_KEY} = this controller's id (aws:ResourceTag condition): the policy stays one size for any ` +
      'number of services.';
    this.grants.allow(
      fn,
      // ModifyListener (listener) and ModifyRule (listener-rule): resource types with aws:ResourceTag/${TagKey}. The
      // route rule (traffic.ruleArn) carries the controller's tag like the listener.
      new iam.PolicyStatement({
        sid: 'RouteChange',
        actions: [
          'elasticloadbalancing:ModifyListener',
          'elasticloadbalancing:ModifyRule',
          'elasticloadbalancing:CreateRule',
        ],
        resources: [...listeners, ...rules],
        conditions: this.tagged,
      }),
      taggedReason,
    );
    const headerReason =
      `The header rule is created at run time, so its ARN is unknown: only rules tagged ${HEADER_RULE_TAG} and ` +
      `${CONTROLLER_TAG_KEY} = this controller's id when created (aws:RequestTag), changed or deleted only while ` +
      "they carry both (aws:ResourceTag): never another controller's header rule.";
    this.grants.allow(
      fn,
      // CreateRule is authorized on the listener (tagged, above) and on the rule it creates, which exists only with
      // the tags of the request; tagging on create is authorized as AddTags with elasticloadbalancing:CreateAction
      // ("ELB API permissions to tag resources during creation", Elastic Load Balancing User Guide).
      new iam.PolicyStatement({
        sid: 'HeaderRuleCreate',
        actions: ['elasticloadbalancing:CreateRule', 'elasticloadbalancing:AddTags'],
        resources: rules,
        conditions: {
          StringEquals: {
            'elasticloadbalancing:CreateAction': 'CreateRule',
            ...this.requestTagged.StringEquals,
          },
          Null: { [`aws:RequestTag/${HEADER_RULE_TAG}`]: 'false' },
        },
      }),
      headerReason,
    );
    this.grants.allow(
      fn,
      new iam.PolicyStatement({
        sid: 'HeaderRuleChange',
        actions: [
          'elasticloadbalancing:ModifyRule',
          'elasticloadbalancing:DeleteRule',
          'elasticloadbalancing:SetRulePriorities',
        ],
        resources: rules,
        conditions: {
          ...this.tagged,
          Null: { [`aws:ResourceTag/${HEADER_RULE_TAG}`]: 'false' },
        },
      }),
      headerReason,
    );
  }

  deploy(fn: ControllerFunction, level: 'read' | 'update' | 'register') {
    this.describeElb(fn);
    if (!this.hasEcs) return;
    const taggedReason =
      "Any ECS service of the configured clusters' regions and accounts, but only one tagged " +
      `${CONTROLLER_TAG_KEY} = this controller's id (aws:ResourceTag condition). Long and short service ARNs alike.`;
    // DescribeServices and UpdateService: the service resource type, with aws:ResourceTag/${TagKey}.
    this.grants.allow(
      fn,
      new iam.PolicyStatement({
        sid: level === 'read' ? 'EcsServicesRead' : 'EcsServicesUpdate',
        actions: ['ecs:DescribeServices', ...(level === 'read' ? [] : ['ecs:UpdateService'])],
        resources: this.ecsPrefixes.map((p) => `${p}service/*`),
        conditions: this.tagged,
      }),
      taggedReason,
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
    // The stable task definition's task and execution roles, passed only to ECS tasks: RegisterTaskDefinition and
    // UpdateService list iam:PassRole as a dependent action (Service Authorization Reference); the role resource type
    // takes aws:ResourceTag/${TagKey}, so only roles tagged for this controller.
    if (this.rolePrefixes.length > 0) {
      this.grants.allow(
        fn,
        new iam.PolicyStatement({
          sid: 'EcsTaskRolesPass',
          actions: ['iam:PassRole'],
          resources: this.rolePrefixes.map((p) => `${p}role/*`),
          conditions: {
            StringEquals: {
              'iam:PassedToService': 'ecs-tasks.amazonaws.com',
              ...this.tagged.StringEquals,
            },
          },
        }),
        `Roles named by task definitions at run time: only roles tagged ${CONTROLLER_TAG_KEY} = this controller's id, ` +
          'passed only to ECS tasks.',
      );
    }
    if (level !== 'register') return;
    // RegisterTaskDefinition takes aws:RequestTag/${TagKey}: the stable revision's tags are copied to the canary's
    // (adapters/aws/ecs.ts), so a stable task definition tagged for this controller registers a tagged revision, and
    // registering is tagging (TagResource with ecs:CreateAction = RegisterTaskDefinition).
    const revisionReason =
      'A new revision is numbered by ECS when registered: only revisions registered with the tag ' +
      `${CONTROLLER_TAG_KEY} = this controller's id (aws:RequestTag condition).`;
    const taskDefinitions = this.ecsPrefixes.map((p) => `${p}task-definition/*`);
    this.grants.allow(
      fn,
      new iam.PolicyStatement({
        sid: 'EcsTaskDefinitionsRegister',
        actions: ['ecs:RegisterTaskDefinition'],
        resources: taskDefinitions,
        conditions: this.requestTagged,
      }),
      revisionReason,
    );
    this.grants.allow(
      fn,
      new iam.PolicyStatement({
        sid: 'EcsTaskDefinitionsTagOnRegister',
        actions: ['ecs:TagResource'],
        resources: taskDefinitions,
        conditions: {
          StringEquals: {
            'ecs:CreateAction': 'RegisterTaskDefinition',
            ...this.requestTagged.StringEquals,
          },
        },
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
