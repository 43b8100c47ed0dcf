/**
 * What starts the controller's functions outside the workflow: EventBridge rules for ECR pushes, Deploy Requested
 * (on the controller's own bus), gating alarms and executions that ended abnormally, each with a dead-letter queue.
 */
import { Duration } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import type * as iam from 'aws-cdk-lib/aws-iam';
import { SqsDestination } from 'aws-cdk-lib/aws-lambda-destinations';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import type { ServiceConfig } from '../functions/core/config';
import { CONTROLLER_EVENT_SOURCE } from '../functions/core/events';
import type { ControllerFunction } from './controller-function';
import { deployRequestBus } from './deploy-bus';
import { acknowledge } from './grants';
import { pascal } from './names';

export interface TriggersProps {
  readonly services: ServiceConfig[];
  readonly functions: Record<string, ControllerFunction>;
  readonly stateMachine: sfn.StateMachine;
  /** The controller's own bus (CanaryControllerProps.eventBusName) and who may put Deploy Requested on it. */
  readonly eventBusName: string;
  readonly deployRequesters?: string[];
  /** The roles of the functions that announce state changes on the controller's bus. */
  readonly announcers: readonly iam.IRole[];
}

/** `prefix*` globs become an EventBridge prefix filter, literal tags an exact match; anything else is left to code. */
function tagFilter(tagPattern: string | undefined): string[] | undefined {
  if (tagPattern === undefined) return undefined;
  if (!/[*?[\]{}]/.test(tagPattern)) return [tagPattern];
  const m = /^([^*?[\]{}]+)\*$/.exec(tagPattern);
  return m ? events.Match.prefix(m[1] as string) : undefined;
}

/**
 * The rules and their dead-letter queues, in `scope` (the controller) with the ids a deployed stack has.
 *
 * EventBridge invokes asynchronously: its DLQ keeps events it could not deliver; an event delivered but failing in
 * the function (after Lambda's own two retries) goes to the same queue as the function's on-failure destination,
 * so nothing is dropped silently and the queue's alarm tells someone.
 */
export class Triggers {
  /** Where `Deploy Requested` events start rollouts, and who may put them. */
  readonly eventBus: events.EventBus;
  /** By the function they keep failures of: `StartRollout`, `OnAlarm` (when a service has alarms), `Reconcile`. */
  readonly deadLetterQueues: Record<string, sqs.Queue> = {};

  constructor(
    private readonly scope: Construct,
    props: TriggersProps,
  ) {
    const startRollout = this.deliveredFrom('StartRollout', props.functions['start-rollout']);
    for (const config of props.services) {
      const tags = tagFilter(config.tagPattern);
      new events.Rule(scope, `EcrPush${pascal(config.service)}`, {
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
        targets: [startRollout()],
      });
    }
    this.eventBus = deployRequestBus(scope, {
      name: props.eventBusName,
      deployRequesters: props.deployRequesters,
      announcers: props.announcers,
    });
    new events.Rule(scope, 'DeployRequested', {
      description: "A pipeline asks for a rollout (on the controller's own bus only)",
      eventBus: this.eventBus,
      eventPattern: { source: [CONTROLLER_EVENT_SOURCE], detailType: ['Deploy Requested'] },
      targets: [startRollout()],
    });
    this.alarmRule(props);
    new events.Rule(scope, 'ExecutionEndedAbnormally', {
      description: 'Clean up after rollout executions that failed, timed out or were stopped',
      eventPattern: {
        source: ['aws.states'],
        detailType: ['Step Functions Execution Status Change'],
        detail: {
          stateMachineArn: [props.stateMachine.stateMachineArn],
          status: ['FAILED', 'TIMED_OUT', 'ABORTED'],
        },
      },
      targets: [this.deliveredFrom('Reconcile', props.functions.reconcile)()],
    });
  }

  /** A gating alarm going into ALARM, when any service has gating alarms. */
  private alarmRule(props: TriggersProps) {
    const alarmNames = [...new Set(props.services.flatMap((c) => c.analysis.alarms))].sort();
    if (alarmNames.length === 0) return;
    new events.Rule(this.scope, 'AlarmStateChange', {
      description: 'A gating alarm going into ALARM puts traffic back on stable',
      eventPattern: {
        source: ['aws.cloudwatch'],
        detailType: ['CloudWatch Alarm State Change'],
        detail: { alarmName: alarmNames, state: { value: ['ALARM'] } },
      },
      targets: [this.deliveredFrom('OnAlarm', props.functions['on-alarm'])()],
    });
  }

  /**
   * The function's dead-letter queue `<name>Dlq`, its on-failure destination, and a maker of rule targets that
   * deliver there too.
   */
  private deliveredFrom(name: string, fn: ControllerFunction | undefined): () => targets.LambdaFunction {
    if (!fn) throw new Error(`no ${name} function to trigger`);
    const queue = new sqs.Queue(this.scope, `${name}Dlq`, {
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
    fn.function.configureAsyncInvoke({
      onFailure: new SqsDestination(queue),
      retryAttempts: 2,
      maxEventAge: Duration.hours(1),
    });
    return () =>
      new targets.LambdaFunction(fn.function, {
        deadLetterQueue: queue,
        retryAttempts: 8,
        maxEventAge: Duration.hours(1),
      });
  }
}
