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
import { STATE_CHANGE_DETAIL_TYPE } from '../functions/core/state-change';
import type { ControllerFunction } from './controller-function';
import { Grants } from './grants';
import { ANNOUNCE, type ExecutionCall, type HandlerSpec } from './handlers';
import { hookStatements } from './hook-permissions';
import { ServicePermissions } from './service-permissions';

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

  private readonly controllerTag: string;

  constructor(
    private readonly stack: Stack,
    private readonly configs: ServiceConfig[],
    private readonly resources: ControllerResources,
  ) {
    this.controllerTag = resources.controllerTag ?? stack.stackName;
    this.grants = new Grants(stack);
    this.services = new ServicePermissions(stack, this.grants, configs, this.controllerTag);
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
    if (spec.hooks) hookStatements(this.stack, this.grants, fn, this.configs, this.controllerTag);
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
