/**
 * CanaryController: everything the controller runs on, from typed service configs validated at
 * synth time by the same schema as the runtime. It composes one part per concern, each in its own module:
 * storage (the rollout table), the service configs (their table, written at deploy time), notifications (topic, key, secrets), functions (one per handler, infra/handlers.ts)
 * with their permissions, the approval endpoint, the workflow (state machine), triggers (rules, the controller's
 * bus, dead-letter queues) and monitoring (alarms, dashboards).
 *
 * The parts create their resources in this construct's scope, with the ids they always had: a resource's logical id
 * is made from its construct path, and CloudFormation replaces a resource whose logical id changes (AWS CDK
 * Developer Guide, "Identifiers and the AWS CDK", logical ID stability). Under a new path a deployed controller
 * would get a new table and secrets (the retained ones orphaned), and its named resources (state machine, bus,
 * dashboards) would fail to replace under the same name.
 */
import { Stack } from 'aws-cdk-lib';
import type * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as events from 'aws-cdk-lib/aws-events';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { parseServiceConfigs, type ServiceConfig, type ServiceConfigInput } from '../functions/core/config';
import { CONTROLLER_EVENT_BUS_NAME } from '../functions/core/events';
import { approvalEndpoint } from './approval-endpoint';
import type { ControllerFunction } from './controller-function';
import { controllerFunctions } from './functions';
import { ANNOUNCE, type EnvVar, HAS_APPROVAL_PAGE, type HandlerSpec, handlerSpecs } from './handlers';
import { Monitoring } from './monitoring';
import { eventBusArn, stateMachineArns } from './names';
import { Notifications } from './notifications';
import { type NotificationChannels, Permissions } from './permissions';
import { ServiceConfigs } from './service-configs';
import { rolloutTable } from './storage';
import { Triggers } from './triggers';
import { rolloutWorkflow } from './workflow';

export { APPROVAL_PAGE, HANDLERS, HAS_APPROVAL_PAGE, type HandlerSpec, handlerSpecs } from './handlers';

export interface CanaryControllerProps {
  /** The services under canary control; validated at synth time (a bad config throws naming the field). */
  readonly services: ServiceConfigInput[];
  /** An existing secret holding the PagerDuty Events v2 routing key; otherwise one is created (set its value after deploy). */
  readonly pagerDutySecretArn?: string;
  /** Subscribed to the topic (rollout notifications and the controller's own alarms). */
  readonly alarmEmail?: string;
  /** Default `<stack name>-rollouts`. Fixed so functions can know the ARN without a dependency cycle. */
  readonly stateMachineName?: string;
  readonly logRetention?: logs.RetentionDays;
  /**
   * The approval page behind an HTTP API (functions/handlers/approval-page.ts) and signed links to it in approval
   * requests. Default: on when the handler exists.
   */
  readonly approvalPage?: boolean;
  /**
   * The controller's own event bus, where `Deploy Requested` starts a rollout (ECR, alarm and Step Functions
   * events stay on the default bus). Default `canary-controller` (the CLI's default EVENT_BUS_NAME).
   */
  readonly eventBusName?: string;
  /**
   * IAM principal ARNs (users or roles, `*` wildcards allowed, other accounts too) that alone may put events on the
   * controller's bus, so alone may start a rollout: every other principal is denied, administrators included.
   * Default: principals of this account that an IAM policy allows `events:PutEvents` on the bus (an explicit grant
   * each), and no principal of another account.
   */
  readonly deployRequesters?: string[];
  /**
   * The value of the `canary-controller` tag on the listeners, route rules, ECS services, task definitions and task
   * roles this controller may change (its IAM names no service ARN). Default: the stack name.
   */
  readonly controllerId?: string;
  /** Services that get a dashboard of their own besides the controller's (each costs by the month). Default none. */
  readonly serviceDashboards?: string[];
}

export class CanaryController extends Construct {
  readonly services: ServiceConfig[];
  readonly functions: Record<string, ControllerFunction>;
  readonly stateMachine: sfn.StateMachine;
  readonly table: dynamodb.Table;
  /** The service configs' table, written at deploy time (infra/service-configs.ts). */
  readonly serviceConfigs: ServiceConfigs;
  readonly topic: sns.Topic;
  readonly topicKey: kms.Key;
  readonly pagerDutySecret: secretsmanager.ISecret;
  readonly approvalSigningSecret?: secretsmanager.Secret;
  readonly approvalApi?: apigwv2.HttpApi;
  /** Where `Deploy Requested` events start rollouts, and who may put them (see `deployRequesters`). */
  readonly eventBus: events.EventBus;
  readonly deadLetterQueues: Record<string, sqs.Queue>;
  readonly dashboards: Record<string, cloudwatch.Dashboard>;
  readonly alarms: cloudwatch.Alarm[];
  /** The value of the `canary-controller` tag on the resources it may change. */
  readonly controllerId: string;

  constructor(scope: Construct, id: string, props: CanaryControllerProps) {
    super(scope, id);
    const stack = Stack.of(this);
    this.controllerId = props.controllerId ?? stack.stackName;
    // Same schema as the runtime: a bad config fails `cdk synth`, naming the field.
    this.services = parseServiceConfigs(props.services);
    const stateMachineName = (props.stateMachineName ?? `${stack.stackName}-rollouts`).slice(0, 80);
    // The controller's own bus, by name: the functions announce there, and its policy names their roles.
    const busName = props.eventBusName ?? CONTROLLER_EVENT_BUS_NAME;
    const approvalPage = props.approvalPage ?? HAS_APPROVAL_PAGE;
    const specs = handlerSpecs(approvalPage);

    this.table = rolloutTable(this);
    this.serviceConfigs = new ServiceConfigs(this, 'ServiceConfigs', {
      services: this.services,
      logRetention: props.logRetention,
    });
    const notifications = new Notifications(this, { ...props, services: this.services, approvalPage });
    this.topic = notifications.topic;
    this.topicKey = notifications.topicKey;
    this.pagerDutySecret = notifications.pagerDutySecret;
    this.approvalSigningSecret = notifications.approvalSigningSecret;
    this.functions = this.functionsOf(specs, notifications.channels, { stateMachineName, busName }, props);
    if (approvalPage) {
      this.approvalApi = approvalEndpoint(this, {
        page: this.functions['approval-page'] as ControllerFunction,
        requestApproval: this.functions['request-approval'] as ControllerFunction,
        logRetention: props.logRetention,
      });
    }
    this.stateMachine = rolloutWorkflow(this, {
      stateMachineName,
      specs,
      functions: this.functions,
      logRetention: props.logRetention,
    });
    const triggers = new Triggers(this, {
      services: this.services,
      functions: this.functions,
      stateMachine: this.stateMachine,
      eventBusName: busName,
      deployRequesters: props.deployRequesters,
      announcers: Object.entries(specs)
        .filter(([, spec]) => spec.env.includes(ANNOUNCE))
        .map(([handler]) => (this.functions[handler] as ControllerFunction).role),
    });
    this.eventBus = triggers.eventBus;
    this.deadLetterQueues = triggers.deadLetterQueues;
    const monitoring = new Monitoring(this, {
      services: this.services,
      functions: this.functions,
      stateMachine: this.stateMachine,
      deadLetterQueues: this.deadLetterQueues,
      topic: this.topic,
      serviceDashboards: props.serviceDashboards,
    });
    this.alarms = monitoring.alarms;
    this.dashboards = monitoring.dashboards;
  }

  /** The handlers' functions, each with the environment its handler reads and the permissions its spec names. */
  private functionsOf(
    specs: Record<string, HandlerSpec>,
    channels: NotificationChannels,
    names: { stateMachineName: string; busName: string },
    props: CanaryControllerProps,
  ): Record<string, ControllerFunction> {
    const stack = Stack.of(this);
    const { stateMachineArn, executionArns } = stateMachineArns(stack, names.stateMachineName);
    const permissions = new Permissions(stack, this.services, {
      tableArn: this.table.tableArn,
      stateMachineArn,
      executionArns,
      eventBusArn: eventBusArn(stack, names.busName),
      channels,
      approvalSigningSecretArn: this.approvalSigningSecret?.secretArn,
      controllerTag: this.controllerId,
    });
    const environment: Record<EnvVar, string> = {
      TABLE_NAME: this.table.tableName,
      STATE_MACHINE_ARN: stateMachineArn,
      SNS_TOPIC_ARN: this.topic.topicArn,
      PAGERDUTY_SECRET_ARN: this.pagerDutySecret.secretArn,
      CONFIG_TABLE_NAME: this.serviceConfigs.table.tableName,
      APPROVAL_SIGNING_SECRET_ARN: this.approvalSigningSecret?.secretArn ?? '',
      EVENT_BUS_NAME: names.busName,
      CONTROLLER_TAG: this.controllerId,
    };
    const functions = controllerFunctions(this, {
      specs,
      environment,
      grant: (fn, spec) => permissions.grant(fn, spec),
      logRetention: props.logRetention,
    });
    this.serviceConfigs.grantReaders(functions, specs);
    permissions.acknowledge(Object.values(functions));
    return functions;
  }
}
