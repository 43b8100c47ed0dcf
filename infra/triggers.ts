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

/**
 * `prefix*` globs become an EventBridge prefix filter, literal tags an exact match; anything else is left to code
 * (start-rollout matches the tag against the config's tagPattern in any case). Plain JSON, as the rule's pattern has it.
 */
function tagFilter(tagPattern: string | undefined): (string | { prefix: string })[] | undefined {
  if (tagPattern === undefined) return undefined;
  if (!/[*?[\]{}]/.test(tagPattern)) return [tagPattern];
  const m = /^([^*?[\]{}]+)\*$/.exec(tagPattern);
  return m ? [{ prefix: m[1] as string }] : undefined;
}

/**
 * EventBridge's quota on an event pattern: 2,048 characters by default (Amazon EventBridge User Guide, "Amazon
 * EventBridge quotas", Event pattern size).
 */
export const EVENT_PATTERN_MAX_CHARS = 2048;

/**
 * The fewest patterns that match every value, each within EventBridge's size quota: `pattern(values)` with as many
 * values as fit, in order. One value too large for a pattern of its own is an error naming it.
 */
export function chunkedPatterns<P>(values: readonly string[], pattern: (values: string[]) => P): P[] {
  const out: P[] = [];
  let chunk: string[] = [];
  const fits = (vs: string[]) => JSON.stringify(pattern(vs)).length <= EVENT_PATTERN_MAX_CHARS;
  for (const value of values) {
    if (fits([...chunk, value])) {
      chunk.push(value);
      continue;
    }
    if (chunk.length === 0)
      throw new Error(`an event pattern for ${value} alone is over ${EVENT_PATTERN_MAX_CHARS} characters`);
    out.push(pattern(chunk));
    chunk = [value];
    if (!fits(chunk))
      throw new Error(`an event pattern for ${value} alone is over ${EVENT_PATTERN_MAX_CHARS} characters`);
  }
  if (chunk.length > 0) out.push(pattern(chunk));
  return out;
}

/** An event pattern as EventBridge reads it (`detail-type`), made from the rule's plain JSON. */
interface RawPattern {
  source: string[];
  'detail-type': string[];
  detail: Record<string, unknown>;
}

const asEventPattern = (p: RawPattern): events.EventPattern => ({
  source: p.source,
  detailType: p['detail-type'],
  detail: p.detail,
});

/**
 * ECR pushes that start rollouts: one pattern per tag filter, matching every repository with that filter (as many
 * as fit in EventBridge's pattern size), never one rule per service.
 */
export function ecrPushPatterns(services: readonly ServiceConfig[]): RawPattern[] {
  const byFilter = new Map<string, Set<string>>();
  for (const c of services) {
    const key = JSON.stringify(tagFilter(c.tagPattern) ?? null);
    byFilter.set(key, (byFilter.get(key) ?? new Set()).add(c.repository));
  }
  return [...byFilter.keys()].sort().flatMap((key) => {
    const tags = JSON.parse(key) as (string | { prefix: string })[] | null;
    return chunkedPatterns([...(byFilter.get(key) ?? [])].sort(), (repositories) => ({
      source: ['aws.ecr'],
      'detail-type': ['ECR Image Action'],
      detail: {
        'action-type': ['PUSH'],
        result: ['SUCCESS'],
        'repository-name': repositories,
        ...(tags ? { 'image-tag': tags } : {}),
      },
    }));
  });
}

/** Gating alarms going into ALARM: the alarm names, as many a pattern as fit. */
export function alarmPatterns(services: readonly ServiceConfig[]): RawPattern[] {
  const names = [...new Set(services.flatMap((c) => c.analysis.alarms))].sort();
  return chunkedPatterns(names, (alarmName) => ({
    source: ['aws.cloudwatch'],
    'detail-type': ['CloudWatch Alarm State Change'],
    detail: { alarmName, state: { value: ['ALARM'] } },
  }));
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
    // The first rule keeps the id a one-service stack had; rules have no names, so re-packing only updates them.
    ecrPushPatterns(props.services).forEach((pattern, i) => {
      const repositories = pattern.detail['repository-name'] as string[];
      new events.Rule(scope, i === 0 ? 'EcrPush' : `EcrPush${i + 1}`, {
        description:
          `ECR push to ${repositories.length === 1 ? repositories[0] : `${repositories.length} repositories`} starts a rollout`.slice(
            0,
            512,
          ),
        eventPattern: asEventPattern(pattern),
        targets: [startRollout()],
      });
    });
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
    // The id a deployed stack has (it once matched abnormal ends only). SUCCEEDED too: after a promotion's last
    // notification, reconcile resolves the pause incidents PagerDuty did not take the resolve of ("EventBridge
    // (CloudWatch Events) for Step Functions execution status changes", Step Functions Developer Guide: an event per
    // status change of a Standard execution, "Execution Succeeded" among the examples).
    new events.Rule(scope, 'ExecutionEndedAbnormally', {
      description:
        'Clean up after rollout executions that failed, timed out or were stopped; resolve pause incidents left open',
      eventPattern: {
        source: ['aws.states'],
        detailType: ['Step Functions Execution Status Change'],
        detail: {
          stateMachineArn: [props.stateMachine.stateMachineArn],
          status: ['SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED'],
        },
      },
      targets: [this.deliveredFrom('Reconcile', props.functions.reconcile)()],
    });
  }

  /** A gating alarm going into ALARM, when any service has gating alarms. */
  private alarmRule(props: TriggersProps) {
    const patterns = alarmPatterns(props.services);
    if (patterns.length === 0) return;
    const target = this.deliveredFrom('OnAlarm', props.functions['on-alarm']);
    patterns.forEach((pattern, i) => {
      new events.Rule(this.scope, i === 0 ? 'AlarmStateChange' : `AlarmStateChange${i + 1}`, {
        description: 'A gating alarm going into ALARM puts traffic back on stable',
        eventPattern: asEventPattern(pattern),
        targets: [target()],
      });
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
