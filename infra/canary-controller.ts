/**
 * CanaryController: everything the controller runs on (DESIGN.md §8), from typed service configs validated at
 * synth time by the same schema as the runtime.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { ArnFormat, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { SqsDestination } from 'aws-cdk-lib/aws-lambda-destinations';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { ROLLOUT_TABLE_SCHEMA } from '../functions/adapters/aws/dynamodb';
import {
  parseServiceConfigs,
  type ServiceConfig,
  type ServiceConfigInput,
  taskDefinitionFamily,
} from '../functions/core/config';
import { CONTROLLER_EVENT_BUS_NAME, CONTROLLER_EVENT_SOURCE } from '../functions/core/events';
import { METRICS_NAMESPACE, METRICS_SERVICE, OUTCOME_METRICS } from '../functions/core/outcome-metrics';
import { STATE_CHANGE_DETAIL_TYPE } from '../functions/core/state-change';
import { ControllerFunction, REPO_ROOT } from './controller-function';

/** Lambda's limit on all variables together is 4 KB; the rest of the environment needs the remainder. */
export const MAX_SERVICES_JSON_BYTES = 3500;

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
}

/** The handlers and the environment variables each reads (functions/handlers/aws.ts, env.ts). */
type EnvVar =
  | 'TABLE_NAME'
  | 'STATE_MACHINE_ARN'
  | 'SNS_TOPIC_ARN'
  | 'PAGERDUTY_SECRET_ARN'
  | 'SERVICES_JSON'
  | 'APPROVAL_SIGNING_SECRET_ARN'
  | 'EVENT_BUS_NAME';
const NOTIFY: EnvVar[] = ['SNS_TOPIC_ARN', 'PAGERDUTY_SECRET_ARN'];
/** The functions that record a rollout's history announce each entry on the controller's bus. */
const ANNOUNCE: EnvVar = 'EVENT_BUS_NAME';

interface HandlerSpec {
  /** The `${<Name>FunctionArn}` substitution in the ASL, when the state machine invokes it. */
  readonly asl?: string;
  readonly env: EnvVar[];
  readonly timeout: Duration;
  /** ALB listener/rule changes (the traffic router); `read`: only reads them back (analyze's drift check). */
  readonly routes?: boolean | 'read';
  /** Deployer: `read` (health), `update` (scale, promote, restore), `register` (deploy a canary task definition). */
  readonly deploys?: 'read' | 'update' | 'register';
  /**
   * Step Functions: `list` finds the running executions (ListExecutions; with `describe`, their input: how rollouts
   * are found when the store cannot be read); `stop` stops one.
   */
  readonly executions?: ('start' | 'describe' | 'list' | 'history' | 'stop' | 'taskResponse')[];
  /** CloudWatch: `baseline` reads metrics (set-weight's latency thresholds), `judge` also the gating alarms. */
  readonly metrics?: 'baseline' | 'judge';
}

// Task states time out at 60 s (Rollback 300 s): the function gives up first and reports its own error.
const TASK = Duration.seconds(50);
const LONG = Duration.seconds(280);

export const HANDLERS: Record<string, HandlerSpec> = {
  'start-rollout': {
    env: ['TABLE_NAME', 'STATE_MACHINE_ARN', 'SERVICES_JSON', ...NOTIFY, ANNOUNCE],
    timeout: TASK,
    executions: ['start', 'describe', 'taskResponse'],
  },
  prepare: {
    asl: 'Prepare',
    env: ['TABLE_NAME', ANNOUNCE],
    timeout: TASK,
    routes: true,
    deploys: 'register',
  },
  'check-ready': { asl: 'CheckReady', env: ['TABLE_NAME'], timeout: TASK, deploys: 'read' },
  'set-weight': {
    asl: 'SetWeight',
    env: ['TABLE_NAME', ANNOUNCE],
    timeout: TASK,
    routes: true,
    deploys: 'update',
    metrics: 'baseline',
  },
  bake: { asl: 'Bake', env: ['TABLE_NAME'], timeout: TASK },
  analyze: {
    asl: 'Analyze',
    env: ['TABLE_NAME', ...NOTIFY, ANNOUNCE],
    timeout: TASK,
    routes: 'read',
    metrics: 'judge',
  },
  'request-approval': {
    asl: 'RequestApproval',
    env: ['TABLE_NAME', ...NOTIFY, ANNOUNCE],
    timeout: TASK,
  },
  promote: {
    asl: 'Promote',
    env: ['TABLE_NAME', 'STATE_MACHINE_ARN', ANNOUNCE],
    timeout: TASK,
    routes: true,
    deploys: 'update',
    executions: ['start', 'describe'],
  },
  rollback: {
    asl: 'Rollback',
    env: ['TABLE_NAME', 'STATE_MACHINE_ARN', ANNOUNCE],
    timeout: LONG,
    routes: true,
    deploys: 'update',
    executions: ['start', 'describe'],
  },
  notify: { asl: 'Notify', env: ['TABLE_NAME', ...NOTIFY, ANNOUNCE], timeout: TASK },
  'on-alarm': {
    env: ['TABLE_NAME', 'STATE_MACHINE_ARN', ANNOUNCE],
    timeout: TASK,
    routes: true,
    executions: ['taskResponse', 'describe', 'list', 'history', 'stop'],
  },
  reconcile: {
    env: ['TABLE_NAME', 'STATE_MACHINE_ARN', 'SERVICES_JSON', ...NOTIFY, ANNOUNCE],
    timeout: LONG,
    routes: true,
    deploys: 'update',
    executions: ['start', 'describe', 'list', 'history'],
  },
};

/**
 * The approval page (HTTP API, payload v2), when the handler exists: it resolves the approval wait's task token.
 * Below API Gateway's 30 s integration timeout.
 */
export const APPROVAL_PAGE: HandlerSpec = {
  env: ['TABLE_NAME', 'STATE_MACHINE_ARN', 'APPROVAL_SIGNING_SECRET_ARN', ANNOUNCE],
  timeout: Duration.seconds(25),
  executions: ['taskResponse'],
};
export const HAS_APPROVAL_PAGE = existsSync(
  path.join(REPO_ROOT, 'functions', 'handlers', 'approval-page.ts'),
);

/** The handlers to deploy; with the approval page, request-approval also signs links to it. */
export function handlerSpecs(approvalPage: boolean): Record<string, HandlerSpec> {
  if (!approvalPage) return HANDLERS;
  const requestApproval = HANDLERS['request-approval'] as HandlerSpec;
  return {
    ...HANDLERS,
    'request-approval': { ...requestApproval, env: [...requestApproval.env, 'APPROVAL_SIGNING_SECRET_ARN'] },
    'approval-page': APPROVAL_PAGE,
  };
}

const pascal = (name: string) =>
  name
    .split('-')
    .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
    .join('');

/** `app/<name>/<id>` (the LoadBalancer metric dimension) and the listener's rule-ARN prefix. */
function listenerParts(listenerArn: string): { loadBalancer: string; rulePrefix: string } {
  const m = /^(arn:[^:]+:elasticloadbalancing:[^:]+:\d{12}):listener\/(app\/[^/]+\/[^/]+)\/([^/]+)$/.exec(
    listenerArn,
  );
  if (!m) throw new Error(`not an ALB listener ARN: ${listenerArn}`);
  return { loadBalancer: m[2] as string, rulePrefix: `${m[1]}:listener-rule/${m[2]}/${m[3]}/` };
}

/** `targetgroup/<name>/<id>` (the TargetGroup metric dimension). */
const targetGroupDimension = (arn: string) => arn.slice(arn.lastIndexOf(':') + 1);

/** `prefix*` globs become an EventBridge prefix filter, literal tags an exact match; anything else is left to code. */
function tagFilter(tagPattern: string | undefined): string[] | undefined {
  if (tagPattern === undefined) return undefined;
  if (!/[*?[\]{}]/.test(tagPattern)) return [tagPattern];
  const m = /^([^*?[\]{}]+)\*$/.exec(tagPattern);
  return m ? events.Match.prefix(m[1] as string) : undefined;
}

export class CanaryController extends Construct {
  readonly services: ServiceConfig[];
  readonly functions: Record<string, ControllerFunction> = {};
  readonly stateMachine: sfn.StateMachine;
  readonly table: dynamodb.Table;
  readonly topic: sns.Topic;
  readonly topicKey: kms.Key;
  readonly pagerDutySecret: secretsmanager.ISecret;
  readonly approvalSigningSecret?: secretsmanager.Secret;
  readonly approvalApi?: apigwv2.HttpApi;
  /** Where `Deploy Requested` events start rollouts, and who may put them (see `deployRequesters`). */
  readonly eventBus: events.EventBus;
  readonly deadLetterQueues: Record<string, sqs.Queue> = {};
  readonly dashboards: Record<string, cloudwatch.Dashboard> = {};
  readonly alarms: cloudwatch.Alarm[] = [];

  constructor(scope: Construct, id: string, props: CanaryControllerProps) {
    super(scope, id);
    const stack = Stack.of(this);

    // Same schema as the runtime: a bad config fails `cdk synth`, naming the field.
    this.services = parseServiceConfigs(props.services);
    const servicesJson = JSON.stringify(this.services);
    const servicesJsonBytes = Buffer.byteLength(servicesJson);
    if (servicesJsonBytes > MAX_SERVICES_JSON_BYTES) {
      throw new Error(
        `SERVICES_JSON would be ${servicesJsonBytes} bytes, over ${MAX_SERVICES_JSON_BYTES} (Lambda allows 4 KB of ` +
          'environment in all): configure fewer services per CanaryController, or shorten their configs',
      );
    }

    const stateMachineName = (props.stateMachineName ?? `${stack.stackName}-rollouts`).slice(0, 80);
    const stateMachineArn = stack.formatArn({
      service: 'states',
      resource: 'stateMachine',
      resourceName: stateMachineName,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    const executionArns = stack.formatArn({
      service: 'states',
      resource: 'execution',
      resourceName: `${stateMachineName}:*`,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });

    // --- storage and notification ------------------------------------------------------------------------------

    this.table = rolloutTable(this);

    this.topicKey = new kms.Key(this, 'TopicKey', {
      description: 'canary controller notifications topic',
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN,
      policy: topicKeyPolicy(stack),
    });
    this.topic = new sns.Topic(this, 'Topic', {
      displayName: 'Canary controller',
      masterKey: this.topicKey,
      enforceSSL: true,
    });
    // enforceSSL replaces the topic's default policy, so CloudWatch alarm actions are allowed explicitly.
    this.topic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'CloudWatchAlarmsPublish',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [this.topic.topicArn],
        conditions: { StringEquals: { 'aws:SourceAccount': stack.account } },
      }),
    );
    if (props.alarmEmail) this.topic.addSubscription(new subscriptions.EmailSubscription(props.alarmEmail));

    if (props.pagerDutySecretArn) {
      const arn = props.pagerDutySecretArn;
      this.pagerDutySecret = /-[A-Za-z0-9]{6}$/.test(arn)
        ? secretsmanager.Secret.fromSecretCompleteArn(this, 'PagerDutySecret', arn)
        : secretsmanager.Secret.fromSecretPartialArn(this, 'PagerDutySecret', arn);
    } else {
      // A placeholder value is generated; the routing key never appears in the template. Set it after deploy.
      const secret = new secretsmanager.Secret(this, 'PagerDutySecret', {
        description: 'PagerDuty Events v2 routing key for the canary controller (set the value after deploy)',
        removalPolicy: RemovalPolicy.RETAIN,
      });
      acknowledge(secret, [
        {
          id: 'AwsSolutions-SMG4',
          reason:
            'A PagerDuty routing key is issued by PagerDuty; Secrets Manager has nothing to rotate it with.',
        },
      ]);
      this.pagerDutySecret = secret;
    }
    const secretPolicyArn = this.pagerDutySecret.secretFullArn ?? `${this.pagerDutySecret.secretArn}-??????`;

    // --- functions ---------------------------------------------------------------------------------------------

    const approvalPage = props.approvalPage ?? HAS_APPROVAL_PAGE;
    const specs = handlerSpecs(approvalPage);
    if (approvalPage) {
      // Generated by Secrets Manager at deploy time: the key never appears in the template.
      this.approvalSigningSecret = new secretsmanager.Secret(this, 'ApprovalSigningSecret', {
        description: 'HMAC key that signs approval-page links (canary controller)',
        generateSecretString: { passwordLength: 64, excludePunctuation: true },
        removalPolicy: RemovalPolicy.RETAIN,
      });
      acknowledge(this.approvalSigningSecret, [
        {
          id: 'AwsSolutions-SMG4',
          reason:
            'Rotating the link-signing key would invalidate approval links already sent; rotate by hand between ' +
            'rollouts (put a new random value).',
        },
      ]);
    }

    // Per-service channels (config `notifications`) as well as the defaults.
    const topicArns = [
      this.topic.topicArn,
      ...new Set(this.services.flatMap((c) => c.notifications.snsTopicArn ?? [])),
    ];
    const secretArns = [
      secretPolicyArn,
      ...[...new Set(this.services.flatMap((c) => c.notifications.pagerDuty?.routingKeySecretArn ?? []))].map(
        (arn) => (/-[A-Za-z0-9]{6}$/.test(arn) ? arn : `${arn}-??????`),
      ),
    ];

    // Customer managed keys of per-service topics and secrets (config `notifications`), besides the topic key.
    const topicKeyArns = [
      this.topicKey.keyArn,
      ...new Set(this.services.flatMap((c) => c.notifications.snsKmsKeyArn ?? [])),
    ];
    const secretKeyArns = [
      ...new Set(this.services.flatMap((c) => c.notifications.pagerDuty?.kmsKeyArn ?? [])),
    ];

    // The controller's own bus, by name: the functions announce there, and its policy names their roles.
    const busName = props.eventBusName ?? CONTROLLER_EVENT_BUS_NAME;
    const busArn = stack.formatArn({ service: 'events', resource: 'event-bus', resourceName: busName });
    const announcers: iam.IRole[] = [];

    const envValues: Record<EnvVar, string> = {
      TABLE_NAME: this.table.tableName,
      STATE_MACHINE_ARN: stateMachineArn,
      SNS_TOPIC_ARN: this.topic.topicArn,
      PAGERDUTY_SECRET_ARN: this.pagerDutySecret.secretArn,
      SERVICES_JSON: servicesJson,
      APPROVAL_SIGNING_SECRET_ARN: this.approvalSigningSecret?.secretArn ?? '',
      EVENT_BUS_NAME: busName,
    };

    const grants = new Grants(stack);
    const perms = new Permissions(stack, grants, this.services);
    for (const [handler, spec] of Object.entries(specs)) {
      const fn = new ControllerFunction(this, pascal(handler), {
        handler,
        timeout: spec.timeout,
        environment: Object.fromEntries(spec.env.map((v) => [v, envValues[v]])),
        ...(props.logRetention ? { logRetention: props.logRetention } : {}),
      });
      this.functions[handler] = fn;
      grants.allow(
        fn,
        new iam.PolicyStatement({
          actions: [
            'dynamodb:GetItem',
            'dynamodb:PutItem',
            'dynamodb:UpdateItem',
            'dynamodb:DeleteItem',
            'dynamodb:Query',
          ],
          resources: [this.table.tableArn, `${this.table.tableArn}/index/*`],
        }),
        'The store queries the table\'s own GSIs (active, byService); "index/*" names only indexes of this table.',
      );
      if (spec.env.includes('SNS_TOPIC_ARN')) {
        grants.allow(fn, new iam.PolicyStatement({ actions: ['sns:Publish'], resources: topicArns }));
        grants.allow(
          fn,
          new iam.PolicyStatement({
            actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
            resources: topicKeyArns,
          }),
        );
      }
      if (spec.env.includes('PAGERDUTY_SECRET_ARN')) {
        grants.allow(
          fn,
          new iam.PolicyStatement({
            actions: ['secretsmanager:GetSecretValue'],
            resources: secretArns,
          }),
        );
        if (secretKeyArns.length > 0)
          grants.allow(fn, new iam.PolicyStatement({ actions: ['kms:Decrypt'], resources: secretKeyArns }));
      }
      if (spec.env.includes(ANNOUNCE)) {
        // Only its own events: the source and detail-type of a state change (EventBridge User Guide, "Using IAM
        // policy conditions in Amazon EventBridge"), never a Deploy Requested.
        grants.allow(
          fn,
          new iam.PolicyStatement({
            actions: ['events:PutEvents'],
            resources: [busArn],
            conditions: {
              'ForAllValues:StringEquals': {
                'events:source': [CONTROLLER_EVENT_SOURCE],
                'events:detail-type': [STATE_CHANGE_DETAIL_TYPE],
              },
            },
          }),
        );
        announcers.push(fn.role);
      }
      if (spec.env.includes('APPROVAL_SIGNING_SECRET_ARN') && this.approvalSigningSecret) {
        grants.allow(
          fn,
          new iam.PolicyStatement({
            actions: ['secretsmanager:GetSecretValue'],
            resources: [this.approvalSigningSecret.secretArn],
          }),
        );
      }
      for (const s of spec.executions ?? []) {
        if (s === 'start') {
          grants.allow(
            fn,
            new iam.PolicyStatement({ actions: ['states:StartExecution'], resources: [stateMachineArn] }),
          );
        } else if (s === 'describe') {
          grants.allow(
            fn,
            new iam.PolicyStatement({ actions: ['states:DescribeExecution'], resources: [executionArns] }),
            'Executions are named per rollout at run time; only executions of this state machine.',
          );
        } else if (s === 'list') {
          // Service Authorization Reference (Step Functions): ListExecutions acts on the stateMachine resource.
          grants.allow(
            fn,
            new iam.PolicyStatement({ actions: ['states:ListExecutions'], resources: [stateMachineArn] }),
          );
        } else if (s === 'history') {
          // Service Authorization Reference (Step Functions): GetExecutionHistory acts on the execution resource.
          grants.allow(
            fn,
            new iam.PolicyStatement({ actions: ['states:GetExecutionHistory'], resources: [executionArns] }),
            'Executions are named per rollout at run time; only executions of this state machine.',
          );
        } else if (s === 'stop') {
          grants.allow(
            fn,
            new iam.PolicyStatement({ actions: ['states:StopExecution'], resources: [executionArns] }),
            'Executions are named per rollout at run time; only executions of this state machine.',
          );
        } else {
          grants.allow(
            fn,
            new iam.PolicyStatement({
              actions: ['states:SendTaskSuccess', 'states:SendTaskFailure'],
              resources: [stateMachineArn],
            }),
          );
        }
      }
      if (spec.routes === 'read') perms.readRoutes(fn);
      else if (spec.routes) perms.route(fn);
      if (spec.deploys) perms.deploy(fn, spec.deploys);
      if (spec.metrics) perms.metrics(fn, spec.metrics);
      acknowledge(fn, [
        {
          id: 'AwsSolutions-L1',
          reason:
            'Node.js 22 is the runtime the project pins (package.json engines, node_modules/.bin/node) and tests on; ' +
            'it is in AWS support. Moving to a newer runtime is a deliberate change with its own test run.',
        },
      ]);
    }

    // X-Ray (active tracing) was added by CDK with Resource "*"; the other wildcards by the statements above, each
    // with its reason, all acknowledged together per function.
    for (const fn of Object.values(this.functions)) {
      grants.reason(
        fn,
        '*',
        'xray:PutTraceSegments/PutTelemetryRecords (active tracing, added by CDK) accept only "*".',
      );
    }
    grants.acknowledgeAll();

    if (approvalPage) this.approvalApi = this.approvalEndpoint(props.logRetention);

    // --- state machine -----------------------------------------------------------------------------------------

    const definition = readFileSync(path.join(REPO_ROOT, 'statemachine', 'canary.asl.json'), 'utf8');
    const definitionSubstitutions: Record<string, string> = {};
    const invoked: ControllerFunction[] = [];
    for (const [handler, spec] of Object.entries(HANDLERS)) {
      if (!spec.asl) continue;
      const fn = this.functions[handler] as ControllerFunction;
      definitionSubstitutions[`${spec.asl}FunctionArn`] = fn.function.functionArn;
      invoked.push(fn);
    }
    const stateMachineLogs = new logs.LogGroup(this, 'StateMachineLogs', {
      // The vendedlogs prefix keeps Step Functions from growing the account's log resource policy.
      logGroupName: `/aws/vendedlogs/states/${stateMachineName}`,
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      stateMachineName,
      stateMachineType: sfn.StateMachineType.STANDARD,
      definitionBody: sfn.DefinitionBody.fromString(definition),
      definitionSubstitutions,
      tracingEnabled: true,
      logs: {
        destination: stateMachineLogs,
        level: sfn.LogLevel.ALL,
        // Execution data would log the Bake and RequestApproval inputs, which carry task tokens: bearer
        // credentials that end a wait (approve a step). Events and errors are logged; the data is in DynamoDB.
        includeExecutionData: false,
      },
    });
    this.stateMachine.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['lambda:InvokeFunction'],
        resources: invoked.map((f) => f.function.functionArn),
      }),
    );
    acknowledge(this.stateMachine, [
      {
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'Step Functions log delivery (logs:*LogDelivery, DescribeLogGroups...) and X-Ray (PutTraceSegments, ' +
          'PutTelemetryRecords, GetSampling*) accept only Resource "*" (added by CDK for logs and tracing).',
      },
    ]);

    // --- events ------------------------------------------------------------------------------------------------

    const dlq = (name: string) => {
      const queue = new sqs.Queue(this, `${name}Dlq`, {
        encryption: sqs.QueueEncryption.SQS_MANAGED,
        enforceSSL: true,
        retentionPeriod: Duration.days(14),
      });
      acknowledge(queue, [
        {
          id: 'AwsSolutions-SQS3',
          reason:
            'This queue is itself a dead-letter queue (EventBridge target and Lambda on-failure destination); it has ' +
            'no consumer to redrive from.',
        },
      ]);
      this.deadLetterQueues[name] = queue;
      return queue;
    };
    // EventBridge invokes asynchronously: its DLQ keeps events it could not deliver; an event delivered but failing
    // in the function (after Lambda's own two retries) goes to the same queue as the function's on-failure
    // destination, so nothing is dropped silently and the queue's alarm tells someone.
    const asyncFailures = (fn: ControllerFunction, queue: sqs.Queue) =>
      fn.function.configureAsyncInvoke({
        onFailure: new SqsDestination(queue),
        retryAttempts: 2,
        maxEventAge: Duration.hours(1),
      });
    const target = (fn: ControllerFunction, queue: sqs.Queue) =>
      new targets.LambdaFunction(fn.function, {
        deadLetterQueue: queue,
        retryAttempts: 8,
        maxEventAge: Duration.hours(1),
      });

    const startRollout = this.functions['start-rollout'] as ControllerFunction;
    const startDlq = dlq('StartRollout');
    asyncFailures(startRollout, startDlq);
    for (const config of this.services) {
      const tags = tagFilter(config.tagPattern);
      new events.Rule(this, `EcrPush${pascal(config.service)}`, {
        description: `ECR push to ${config.repository} starts a rollout of ${config.service}`,
        eventPattern: {
          source: ['aws.ecr'],
          detailType: ['ECR Image Action'],
          detail: {
            'action-type': ['PUSH'],
            result: ['SUCCESS'],
            'repository-name': [config.repository],
            ...(tags ? { 'image-tag': tags } : {}),
          },
        },
        targets: [target(startRollout, startDlq)],
      });
    }
    this.eventBus = deployRequestBus(this, props, announcers);
    new events.Rule(this, 'DeployRequested', {
      description: "A pipeline asks for a rollout (on the controller's own bus only)",
      eventBus: this.eventBus,
      eventPattern: { source: [CONTROLLER_EVENT_SOURCE], detailType: ['Deploy Requested'] },
      targets: [target(startRollout, startDlq)],
    });

    const alarmNames = [...new Set(this.services.flatMap((c) => c.analysis.alarms))].sort();
    if (alarmNames.length > 0) {
      const onAlarm = this.functions['on-alarm'] as ControllerFunction;
      const onAlarmDlq = dlq('OnAlarm');
      asyncFailures(onAlarm, onAlarmDlq);
      new events.Rule(this, 'AlarmStateChange', {
        description: 'A gating alarm going into ALARM puts traffic back on stable',
        eventPattern: {
          source: ['aws.cloudwatch'],
          detailType: ['CloudWatch Alarm State Change'],
          detail: { alarmName: alarmNames, state: { value: ['ALARM'] } },
        },
        targets: [target(onAlarm, onAlarmDlq)],
      });
    }

    const reconcile = this.functions.reconcile as ControllerFunction;
    const reconcileDlq = dlq('Reconcile');
    asyncFailures(reconcile, reconcileDlq);
    new events.Rule(this, 'ExecutionEndedAbnormally', {
      description: 'Clean up after rollout executions that failed, timed out or were stopped',
      eventPattern: {
        source: ['aws.states'],
        detailType: ['Step Functions Execution Status Change'],
        detail: {
          stateMachineArn: [this.stateMachine.stateMachineArn],
          status: ['FAILED', 'TIMED_OUT', 'ABORTED'],
        },
      },
      targets: [target(reconcile, reconcileDlq)],
    });

    // --- dashboards and the controller's own alarms ------------------------------------------------------------

    const alarmAction = new SnsAction(this.topic);
    const alarm = (id: string, metric: cloudwatch.IMetric, description: string, threshold = 1) => {
      const a = new cloudwatch.Alarm(this, id, {
        metric,
        threshold,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        alarmDescription: description,
      });
      a.addAlarmAction(alarmAction);
      this.alarms.push(a);
      return a;
    };
    for (const [handler, fn] of Object.entries(this.functions)) {
      alarm(
        `${pascal(handler)}Errors`,
        fn.function.metricErrors({ period: Duration.minutes(5) }),
        `canary controller function ${handler} failed`,
      );
    }
    // Not on failed executions: every ordinary rollback ends in the RolledBack Fail state (and pages on its own).
    alarm(
      'RollbacksFailed',
      new cloudwatch.Metric({
        namespace: METRICS_NAMESPACE,
        metricName: OUTCOME_METRICS.rollbackFailed,
        dimensionsMap: { service: METRICS_SERVICE },
        statistic: 'Sum',
        period: Duration.minutes(5),
      }),
      'a rollback did not complete: traffic of that service needs attention',
    );
    // The notify task counts each attempt whose page PagerDuty did not take; the workflow retries it for an hour or
    // more and then records the rollback without it, so this alarm (on the controller's own topic) is what is left.
    alarm(
      'PagesUndelivered',
      new cloudwatch.Metric({
        namespace: METRICS_NAMESPACE,
        metricName: OUTCOME_METRICS.pageUndelivered,
        dimensionsMap: { service: METRICS_SERVICE },
        statistic: 'Sum',
        period: Duration.minutes(5),
      }),
      'the page of a rollback could not be delivered to PagerDuty: the workflow retries it; on-call has not heard',
    );
    // A state-change event EventBridge did not take: rules that route rollouts to chat or tickets missed it.
    alarm(
      'StateChangeEventsUndelivered',
      new cloudwatch.Metric({
        namespace: METRICS_NAMESPACE,
        metricName: OUTCOME_METRICS.eventUndelivered,
        dimensionsMap: { service: METRICS_SERVICE },
        statistic: 'Sum',
        period: Duration.minutes(5),
      }),
      'rollout state-change events could not be put on the controller bus (rules routing them missed some)',
    );
    alarm(
      'ExecutionsTimedOut',
      this.stateMachine.metricTimedOut({ period: Duration.minutes(5) }),
      'rollout executions timed out',
    );
    for (const [name, queue] of Object.entries(this.deadLetterQueues)) {
      alarm(
        `${name}DlqNotEmpty`,
        queue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5), statistic: 'Maximum' }),
        `events for ${name} could not be delivered or failed after retries (dead-letter queue not empty)`,
      );
    }

    const controllerWidgets = [
      new cloudwatch.GraphWidget({
        title: 'Controller function errors',
        left: Object.entries(this.functions).map(([handler, fn]) =>
          fn.function.metricErrors({ label: handler, period: Duration.minutes(1) }),
        ),
        width: 12,
      }),
      new cloudwatch.GraphWidget({
        title: 'Rollout executions',
        left: [
          this.stateMachine.metricSucceeded({ label: 'succeeded', period: Duration.minutes(5) }),
          this.stateMachine.metricFailed({ label: 'failed (incl. rollbacks)', period: Duration.minutes(5) }),
          this.stateMachine.metricTimedOut({ label: 'timed out', period: Duration.minutes(5) }),
        ],
        width: 12,
      }),
    ];
    for (const config of this.services) {
      this.dashboards[config.service] = new cloudwatch.Dashboard(this, `Dashboard${pascal(config.service)}`, {
        dashboardName: `${stack.stackName}-${config.service}`.slice(0, 255),
        widgets: [...serviceWidgets(config), controllerWidgets],
      });
    }
  }

  /** GET/HEAD/POST /approve on an HTTP API, throttled and access-logged, and its URL for request-approval. */
  private approvalEndpoint(retention: logs.RetentionDays | undefined): apigwv2.HttpApi {
    const page = this.functions['approval-page'] as ControllerFunction;
    const api = new apigwv2.HttpApi(this, 'ApprovalApi', {
      description: 'Canary controller approval page (signed links)',
    });
    api.addRoutes({
      path: '/approve',
      methods: [apigwv2.HttpMethod.GET, apigwv2.HttpMethod.HEAD, apigwv2.HttpMethod.POST],
      integration: new HttpLambdaIntegration('ApprovalPage', page.function),
    });
    const accessLogs = new logs.LogGroup(this, 'ApprovalApiAccessLogs', {
      retention: retention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    const stage = api.defaultStage?.node.defaultChild as apigwv2.CfnStage;
    stage.accessLogSettings = {
      destinationArn: accessLogs.logGroupArn,
      // The route, not the path and query: the query carries the signed link.
      format: JSON.stringify({
        requestId: '$context.requestId',
        ip: '$context.identity.sourceIp',
        time: '$context.requestTime',
        route: '$context.routeKey',
        status: '$context.status',
        length: '$context.responseLength',
        error: '$context.integrationErrorMessage',
      }),
    };
    // A human clicks these links: a low limit is plenty and bounds abuse of a public endpoint.
    stage.defaultRouteSettings = { throttlingRateLimit: 5, throttlingBurstLimit: 10 };

    (this.functions['request-approval'] as ControllerFunction).function.addEnvironment(
      'APPROVAL_BASE_URL',
      api.apiEndpoint,
    );
    for (const route of api.node.findAll().filter((c) => c instanceof apigwv2.HttpRoute)) {
      acknowledge(route, [
        {
          id: 'AwsSolutions-APIG4',
          reason:
            'The approval page is opened from a notification by a human without AWS credentials; every request ' +
            'is authorized by an HMAC-signed, expiring link bound to one rollout wait (functions/core/approval-links.ts).',
        },
      ]);
    }
    return api;
  }
}

/**
 * The bus `Deploy Requested` must arrive on: a rollout redeploys an image and supersedes the running one, so who
 * may start one is decided here rather than by whoever may put events on the default bus. Within an account an
 * identity policy or the bus's resource policy may allow PutEvents, and an explicit deny in either wins (IAM User
 * Guide, "Policy evaluation logic"); another account needs the bus's policy to allow it (EventBridge User Guide,
 * "Permissions for event buses in Amazon EventBridge"). aws:PrincipalAccount and aws:PrincipalArn are in every
 * signed request (IAM User Guide, "AWS global condition context keys"); events:source and events:detail-type
 * narrow what a requester may put (EventBridge User Guide, "Using IAM policy conditions in Amazon EventBridge").
 */
function deployRequestBus(
  scope: Construct,
  props: CanaryControllerProps,
  announcers: readonly iam.IRole[],
): events.EventBus {
  const stack = Stack.of(scope);
  const name = props.eventBusName ?? CONTROLLER_EVENT_BUS_NAME;
  const bus = new events.EventBus(scope, 'DeployRequestBus', {
    eventBusName: name,
    description: 'Deploy Requested events that start canary rollouts',
  });
  // From the name: the bus's own ARN attribute would make its policy depend on itself.
  const busArn = stack.formatArn({ service: 'events', resource: 'event-bus', resourceName: name });
  const requesters = props.deployRequesters ?? [];
  for (const arn of requesters)
    if (!/^arn:aws[a-z-]*:(iam|sts)::(\d{12}|\*):[\w+=,.@/*-]+$/.test(arn))
      throw new Error(
        `deployRequesters: "${arn}" is not an IAM principal ARN (arn:aws:iam::<account>:role/<name>)`,
      );
  const putEvents = {
    principals: [new iam.AnyPrincipal()],
    actions: ['events:PutEvents'],
    resources: [busArn],
  };
  const statements =
    requesters.length === 0
      ? [
          new iam.PolicyStatement({
            sid: 'OnlyThisAccount',
            effect: iam.Effect.DENY,
            ...putEvents,
            conditions: { StringNotEquals: { 'aws:PrincipalAccount': stack.account } },
          }),
        ]
      : [
          new iam.PolicyStatement({
            sid: 'DeployRequesters',
            ...putEvents,
            conditions: {
              ArnLike: { 'aws:PrincipalArn': requesters },
              'ForAllValues:StringEquals': {
                'events:source': [CONTROLLER_EVENT_SOURCE],
                'events:detail-type': ['Deploy Requested'],
              },
            },
          }),
          new iam.PolicyStatement({
            sid: 'OnlyDeployRequesters',
            effect: iam.Effect.DENY,
            ...putEvents,
            // The controller's functions announce rollout state changes here (their own policies allow only that).
            conditions: {
              ArnNotLike: { 'aws:PrincipalArn': [...requesters, ...announcers.map((r) => r.roleArn)] },
            },
          }),
        ];
  // The whole policy on the bus itself (AWS::Events::EventBus Policy): created with it, replaced as one.
  (bus.node.defaultChild as events.CfnEventBus).policy = new iam.PolicyDocument({ statements });
  return bus;
}

function rolloutTable(scope: Construct): dynamodb.Table {
  const type = (name: string | undefined) => {
    const def = ROLLOUT_TABLE_SCHEMA.AttributeDefinitions?.find((a) => a.AttributeName === name);
    if (!def || !name) throw new Error(`ROLLOUT_TABLE_SCHEMA: no attribute definition for ${name}`);
    const t = {
      S: dynamodb.AttributeType.STRING,
      N: dynamodb.AttributeType.NUMBER,
      B: dynamodb.AttributeType.BINARY,
    };
    return { name, type: t[def.AttributeType as 'S' | 'N' | 'B'] };
  };
  const keys = (schema: { AttributeName?: string; KeyType?: string }[] | undefined) => ({
    partitionKey: type(schema?.find((k) => k.KeyType === 'HASH')?.AttributeName),
    ...(schema?.some((k) => k.KeyType === 'RANGE')
      ? { sortKey: type(schema.find((k) => k.KeyType === 'RANGE')?.AttributeName) }
      : {}),
  });
  const table = new dynamodb.Table(scope, 'Table', {
    ...keys(ROLLOUT_TABLE_SCHEMA.KeySchema),
    billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
    pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
    encryption: dynamodb.TableEncryption.AWS_MANAGED,
    deletionProtection: true,
    removalPolicy: RemovalPolicy.RETAIN,
  });
  for (const gsi of ROLLOUT_TABLE_SCHEMA.GlobalSecondaryIndexes ?? []) {
    table.addGlobalSecondaryIndex({
      indexName: gsi.IndexName as string,
      ...keys(gsi.KeySchema),
      projectionType: dynamodb.ProjectionType.ALL,
    });
  }
  return table;
}

/**
 * The key policy, written out so it has no `kms:*`: the account administers and uses the key through IAM, and
 * CloudWatch alarms may encrypt messages to the topic.
 */
function topicKeyPolicy(stack: Stack): iam.PolicyDocument {
  return new iam.PolicyDocument({
    statements: [
      new iam.PolicyStatement({
        sid: 'AccountAdministersAndUsesTheKeyThroughIam',
        principals: [new iam.AccountRootPrincipal()],
        actions: [
          'kms:CancelKeyDeletion',
          'kms:CreateAlias',
          'kms:CreateGrant',
          'kms:Decrypt',
          'kms:DeleteAlias',
          'kms:DescribeKey',
          'kms:DisableKey',
          'kms:DisableKeyRotation',
          'kms:EnableKey',
          'kms:EnableKeyRotation',
          'kms:Encrypt',
          'kms:GenerateDataKey',
          'kms:GetKeyPolicy',
          'kms:GetKeyRotationStatus',
          'kms:ListAliases',
          'kms:ListGrants',
          'kms:ListKeyPolicies',
          'kms:ListKeyRotations',
          'kms:ListResourceTags',
          'kms:PutKeyPolicy',
          'kms:ReEncryptFrom',
          'kms:ReEncryptTo',
          'kms:RetireGrant',
          'kms:RevokeGrant',
          'kms:RotateKeyOnDemand',
          'kms:ScheduleKeyDeletion',
          'kms:TagResource',
          'kms:UntagResource',
          'kms:UpdateAlias',
          'kms:UpdateKeyDescription',
        ],
        resources: ['*'],
      }),
      new iam.PolicyStatement({
        sid: 'CloudWatchAlarmsPublishToTheTopic',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
        resources: ['*'],
        conditions: { StringEquals: { 'aws:SourceAccount': stack.account } },
      }),
    ],
  });
}

const RULES_REASON =
  'The header rule is created and deleted at run time, so its ARN is unknown: only rules of the configured ' +
  'listeners (listener-rule/app/<lb>/<id>/<listener>/*).';

/** The IAM statements for the ALB, ECS and CloudWatch, scoped to what the service configs name. */
class Permissions {
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

/**
 * An ECS ARN in the cluster's region and account: those of `cluster` when it is an ARN, else the stack's.
 */
function ecsArn(stack: Stack, cluster: string, resource: string, resourceName: string): string {
  const m = /^arn:([^:]+):ecs:([^:]+):(\d{12}):cluster\//.exec(cluster);
  return m
    ? `arn:${m[1]}:ecs:${m[2]}:${m[3]}:${resource}/${resourceName}`
    : stack.formatArn({ service: 'ecs', resource, resourceName });
}

/**
 * The ARNs a configured ECS service may have: the long `service/<cluster>/<name>` and the short `service/<name>`
 * that services created before the long ARN format keep until migrated (Amazon ECS Developer Guide, "Migrate an
 * Amazon ECS short service ARN to a long ARN": IAM policies name the ARN the service has). The short form cannot
 * name the cluster. A service configured by ARN is that ARN.
 */
function ecsServiceArns(stack: Stack, d: { cluster: string; stableService: string; canaryService: string }) {
  const cluster = d.cluster.slice(d.cluster.lastIndexOf('/') + 1);
  return [d.stableService, d.canaryService].flatMap((s) =>
    s.startsWith('arn:')
      ? [s]
      : [ecsArn(stack, d.cluster, 'service', `${cluster}/${s}`), ecsArn(stack, d.cluster, 'service', s)],
  );
}

/**
 * Add a statement to a role; every wildcard resource in it must come with the reason it cannot be narrower,
 * which becomes the cdk-nag acknowledgment of exactly that finding (`AwsSolutions-IAM5[Resource::...]`).
 */
export class Grants {
  private readonly reasons = new Map<Construct, Map<string, string>>();

  constructor(private readonly stack: Stack) {}

  allow(fn: ControllerFunction, statement: iam.PolicyStatement, wildcardReason?: string) {
    fn.role.addToPrincipalPolicy(statement);
    for (const resource of statement.resources) {
      const rendered = nagRendering(this.stack.resolve(resource));
      if (!rendered.includes('*')) continue;
      if (!wildcardReason) throw new Error(`wildcard resource ${rendered} needs a reason`);
      this.reason(fn, rendered, wildcardReason);
    }
  }

  /** A reason for one wildcard resource as cdk-nag renders it; several statements' reasons are kept together. */
  reason(fn: ControllerFunction, rendered: string, reason: string) {
    const forFn = this.reasons.get(fn) ?? new Map<string, string>();
    const known = forFn.get(rendered);
    forFn.set(
      rendered,
      known === undefined || known.includes(reason) ? (known ?? reason) : `${known} ${reason}`,
    );
    this.reasons.set(fn, forFn);
  }

  acknowledgeAll() {
    for (const [scope, reasons] of this.reasons) {
      acknowledge(
        scope,
        [...reasons].map(([resource, reason]) => ({
          id: `AwsSolutions-IAM5[Resource::${resource}]`,
          reason,
        })),
      );
    }
  }
}

/** A resolved value as cdk-nag prints it in a finding: `{Ref: X}` → `<X>`, `{Fn::GetAtt: [X, Y]}` → `<X.Y>`. */
function nagRendering(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    if (typeof o.Ref === 'string') return `<${o.Ref}>`;
    const att = o['Fn::GetAtt'];
    if (Array.isArray(att)) return `<${att.join('.')}>`;
    const join = o['Fn::Join'];
    if (Array.isArray(join)) {
      const [sep, parts] = join as [string, unknown[]];
      return parts.map(nagRendering).join(sep);
    }
  }
  return JSON.stringify(value);
}

/** cdk-nag v3 acknowledgments (CDK's Validations): one per finding, each with its reason. */
function acknowledge(scope: Construct, rules: { id: string; reason: string }[]) {
  Validations.of(scope).acknowledge(...rules);
}

/** Canary vs stable on the load balancer's metrics, per target group. */
function serviceWidgets(config: ServiceConfig): cloudwatch.IWidget[][] {
  const { loadBalancer } = listenerParts(config.traffic.listenerArn);
  const groups = [
    { label: 'canary', arn: config.traffic.canaryTargetGroupArn },
    { label: 'stable', arn: config.traffic.stableTargetGroupArn },
  ];
  const metric = (name: string, tg: string, statistic: string, label: string) =>
    new cloudwatch.Metric({
      namespace: 'AWS/ApplicationELB',
      metricName: name,
      dimensionsMap: { LoadBalancer: loadBalancer, TargetGroup: targetGroupDimension(tg) },
      statistic,
      period: Duration.minutes(1),
      label,
    });
  const errorRate = (tg: string, label: string) =>
    new cloudwatch.MathExpression({
      // Metric ids are per graph, so each target group's pair is named after it.
      expression: `IF(requests_${label} > 0, 100 * errors_${label} / requests_${label}, 0)`,
      usingMetrics: {
        [`requests_${label}`]: metric('RequestCount', tg, 'Sum', `${label} requests`),
        [`errors_${label}`]: metric('HTTPCode_Target_5XX_Count', tg, 'Sum', `${label} 5xx`),
      },
      label: `${label} 5xx %`,
      period: Duration.minutes(1),
    });
  return [
    [
      new cloudwatch.TextWidget({
        markdown: `# ${config.service}\nRepository \`${config.repository}\`, listener \`${loadBalancer}\``,
        width: 24,
        height: 2,
      }),
    ],
    [
      new cloudwatch.GraphWidget({
        title: 'Requests',
        left: groups.map((g) => metric('RequestCount', g.arn, 'Sum', g.label)),
        width: 8,
      }),
      new cloudwatch.GraphWidget({
        title: 'Target 5xx',
        left: groups.map((g) => metric('HTTPCode_Target_5XX_Count', g.arn, 'Sum', g.label)),
        right: groups.map((g) => errorRate(g.arn, g.label)),
        width: 8,
      }),
      new cloudwatch.GraphWidget({
        title: 'Target response time p99 (s)',
        left: groups.map((g) => metric('TargetResponseTime', g.arn, 'p99', g.label)),
        width: 8,
      }),
    ],
  ];
}
