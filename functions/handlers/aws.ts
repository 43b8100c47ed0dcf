/**
 * The AWS side of the handlers: SDK clients and adapters, each built on first use and kept for the life of the
 * execution environment (one client per service per cold start), and the real clock.
 */

import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ECSClient } from '@aws-sdk/client-ecs';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { Route53Client } from '@aws-sdk/client-route-53';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SNSClient } from '@aws-sdk/client-sns';
import { XRayClient } from '@aws-sdk/client-xray';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { AlbRouteReader, AlbTrafficRouter } from '../adapters/aws/alb';
import { CloudWatchMetricSource } from '../adapters/aws/cloudwatch';
import { CloudWatchAlarmSource } from '../adapters/aws/cloudwatch-alarms';
import { makeDeployerFor, makeRollbackDeployerFor } from '../adapters/aws/deployers';
import {
  DOCUMENT_OPTIONS,
  DynamoRolloutStore,
  dynamoAnalysisStore,
  dynamoDecisionStore,
  dynamoNotifyStore,
  dynamoStepStore,
  dynamoWaitStore,
} from '../adapters/aws/dynamodb';
import { EventBridgeStateChanges } from '../adapters/aws/eventbridge';
import { AwsHookCaller } from '../adapters/aws/hooks';
import { PagerDutyNotifier, PagerDutyWordedNotifier } from '../adapters/aws/pagerduty';
import { Route53RouteReader, Route53TrafficRouter } from '../adapters/aws/route53';
import { readerByKind, routerByKind } from '../adapters/aws/routers';
import { realSleep, SDK_CLIENT_CONFIG } from '../adapters/aws/sdk';
import { SecretCache } from '../adapters/aws/secretsmanager';
import { StepFunctionsExecutions, StepFunctionsTasks } from '../adapters/aws/sfn';
import { SnsNotifier, SnsWordedNotifier } from '../adapters/aws/sns';
import { groupSelectors, type XRayAnalysis, XRayMetricSource } from '../adapters/aws/xray';
import { CONTROLLER_TAG_KEY } from '../core/controller-tag';
import { OUTCOME_METRICS } from '../core/outcome-metrics';
import type {
  AlarmSource,
  AnalysisStore,
  Clock,
  DecisionStore,
  DeployerFor,
  Executions,
  HookCaller,
  MetricSource,
  Notifier,
  NotifyStore,
  RollbackDeployerFor,
  RolloutStore,
  RouteReader,
  StateChangeBus,
  StepPassedEvent,
  StepStore,
  TaskTokens,
  TrafficRouter,
  VerdictFreeEvent,
  WaitStore,
} from '../ports';
import { STEP_PASSED_WORDING } from '../views/notification';
import { VERDICT_FREE_WORDING } from '../views/notification-message';
import * as env from './env';
import { metrics, traced } from './observability';

/** A value built on first call and the same one after (per cold start). */
export function lazy<T>(make: () => T): () => T {
  let made: { value: T } | undefined;
  return () => {
    made ??= { value: make() };
    return made.value;
  };
}

const clientConfig = () => ({ ...SDK_CLIENT_CONFIG, region: env.region() });

// --- SDK clients ----------------------------------------------------------------------------------------------

type ClientConfig = ReturnType<typeof clientConfig>;

/**
 * A client (traced) built on its first request and the same one after. Its settings are read when a handler asks
 * for it, at cold start (a missing AWS_REGION fails the cold start, naming it); the client itself (its endpoint,
 * credential chain and HTTP handler) is built by the first call that needs it, so an execution environment never
 * builds a client it does not call (a notifier's, when nothing is notified). The adapters use `send` only
 * (functions/adapters/aws/*.ts), which is all the stand-in has.
 */
function onFirstSend<C extends object>(make: (config: ClientConfig) => C): () => C {
  return lazy(() => {
    const config = clientConfig();
    const client = lazy(() => make(config) as unknown as { send: (...args: unknown[]) => unknown });
    return { send: (...args: unknown[]) => client().send(...args) } as unknown as C;
  });
}

// Each client marked pure, so a bundle keeps only the clients its handler's adapters use (esbuild drops the rest;
// test/infra/bundle-contents.test.ts checks it).
const dynamodbClient = (config: ClientConfig) => traced(new DynamoDBClient(config));
export const documentClient = /* @__PURE__ */ onFirstSend((config) =>
  DynamoDBDocumentClient.from(dynamodbClient(config), DOCUMENT_OPTIONS),
);
const sfnClient = /* @__PURE__ */ onFirstSend((config) => traced(new SFNClient(config)));
const elbv2Client = /* @__PURE__ */ onFirstSend((config) => traced(new ElasticLoadBalancingV2Client(config)));
const ecsClient = /* @__PURE__ */ onFirstSend((config) => traced(new ECSClient(config)));
const route53Client = /* @__PURE__ */ onFirstSend((config) => traced(new Route53Client(config)));
const cloudwatchClient = /* @__PURE__ */ onFirstSend((config) => traced(new CloudWatchClient(config)));
const snsClient = /* @__PURE__ */ onFirstSend((config) => traced(new SNSClient(config)));
export const secretsClient = /* @__PURE__ */ onFirstSend((config) =>
  traced(new SecretsManagerClient(config)),
);
// The SDK's own retries stay off: a hook's failed call is retried by the workflow, within the hook's timeout.
const lambdaClient = /* @__PURE__ */ onFirstSend((config) =>
  traced(new LambdaClient({ ...config, maxAttempts: 1 })),
);
/** The Lambda client of a region (a hook function's, when not the controller's own): one per region, per cold start. */
const lambdaClientIn = /* @__PURE__ */ lazy(() => {
  const clients = new Map<string, LambdaClient>();
  return (region: string): Pick<LambdaClient, 'send'> => {
    if (region === env.region()) return lambdaClient();
    let client = clients.get(region);
    if (!client) {
      client = traced(new LambdaClient({ ...clientConfig(), region, maxAttempts: 1 }));
      clients.set(region, client);
    }
    return client;
  };
});
const xrayClient = /* @__PURE__ */ onFirstSend((config) => traced(new XRayClient(config)));
// Short timeouts: a state-change event is news, and a task never waits long for it (announce() never throws).
const eventsClient = /* @__PURE__ */ onFirstSend((config) =>
  traced(
    new EventBridgeClient({
      ...config,
      requestHandler: { connectionTimeout: 1000, requestTimeout: 2000 },
    }),
  ),
);

// --- adapters -------------------------------------------------------------------------------------------------

export const store = /* @__PURE__ */ lazy(
  (): RolloutStore => new DynamoRolloutStore(documentClient(), env.tableName()),
);
/** The parts of the store notify uses (its bundle leaves out the rest). */
export const notifyStore = /* @__PURE__ */ lazy(
  (): NotifyStore => dynamoNotifyStore(documentClient(), env.tableName()),
);
/** The parts of the store analyze uses. */
export const analysisStore = /* @__PURE__ */ lazy(
  (): AnalysisStore => dynamoAnalysisStore(documentClient(), env.tableName()),
);
/** The parts of the store the approval page uses. */
export const decisionStore = /* @__PURE__ */ lazy(
  (): DecisionStore => dynamoDecisionStore(documentClient(), env.tableName()),
);
/** The parts of the store set-weight uses. */
export const stepStore = /* @__PURE__ */ lazy(
  (): StepStore => dynamoStepStore(documentClient(), env.tableName()),
);
/** The parts of the store request-approval uses. */
export const waitStore = /* @__PURE__ */ lazy(
  (): WaitStore => dynamoWaitStore(documentClient(), env.tableName()),
);
export const executions = /* @__PURE__ */ lazy(
  (): Executions => new StepFunctionsExecutions(sfnClient(), env.stateMachineArn()),
);
/** Ending approval waits only (the approval page): its bundle leaves the executions' other calls out. */
export const taskTokens = /* @__PURE__ */ lazy(
  (): TaskTokens => new StepFunctionsTasks(sfnClient(), env.stateMachineArn()),
);
/** The router of each route's `traffic.kind`: ALB listeners, Route 53 weighted records. */
export const router = /* @__PURE__ */ lazy((): TrafficRouter => {
  const tag = env.controllerTag();
  return routerByKind({
    alb: lazy(
      () =>
        new AlbTrafficRouter(elbv2Client(), {
          ...(tag ? { controllerTag: { Key: CONTROLLER_TAG_KEY, Value: tag } } : {}),
        }),
    ),
    route53: lazy(() => new Route53TrafficRouter(route53Client())),
  });
});
/** The routes' weights read, never moved (analyze's drift check): its bundle leaves the writes out. */
export const routeReader = /* @__PURE__ */ lazy(
  (): RouteReader =>
    readerByKind({
      alb: lazy(() => new AlbRouteReader(elbv2Client())),
      route53: lazy(() => new Route53RouteReader(route53Client())),
    }),
);
export const deployerFor = /* @__PURE__ */ lazy(
  (): DeployerFor => makeDeployerFor({ ecs: ecsClient(), elbv2: elbv2Client() }),
);
/** The deployers as far as a rollback uses them: stable put back, the canary scaled down. */
export const rollbackDeployerFor = /* @__PURE__ */ lazy(
  (): RollbackDeployerFor => makeRollbackDeployerFor({ ecs: ecsClient() }),
);
export const metricSource = /* @__PURE__ */ lazy(
  (): MetricSource => new CloudWatchMetricSource(cloudwatchClient()),
);
/** X-Ray statistics of a service's `analysis.xray` groups (one client per cold start, a source per service). */
export const xraySources = /* @__PURE__ */ lazy(
  () =>
    (xray: XRayAnalysis): MetricSource =>
      new XRayMetricSource(xrayClient(), groupSelectors(xray)),
);
/** Teams' hooks: Lambda functions (Invoke, in the function's region) and HTTPS endpoints. */
export const hookCaller = /* @__PURE__ */ lazy(
  (): HookCaller => new AwsHookCaller(lambdaClient(), undefined, lambdaClientIn()),
);
export const alarmSource = /* @__PURE__ */ lazy(
  (): AlarmSource => new CloudWatchAlarmSource(cloudwatchClient()),
);
/**
 * The controller's bus for rollout state changes (EVENT_BUS_NAME); none without it. Events given up on are counted
 * (StateChangeEventsUndelivered), flushed with the invocation's other metrics.
 */
const stateChanges = /* @__PURE__ */ lazy((): StateChangeBus | undefined => {
  const bus = env.eventBusName();
  if (!bus) return undefined;
  return new EventBridgeStateChanges(eventsClient(), bus, {
    onUndelivered: (count) => metrics.addMetric(OUTCOME_METRICS.eventUndelivered, MetricUnit.Count, count),
  });
});
/** The `events` dep of a task that records history: the bus when EVENT_BUS_NAME is set. */
export const announcing = (): { events?: StateChangeBus } => {
  const events = stateChanges();
  return events ? { events } : {};
};

/** The PagerDuty options of the notifiers: the default secret and each service's own, each read once. */
const pagerDutyOptions = () => {
  const secretArn = env.pagerDutySecretArn();
  const secretCache = (arn: string) => new SecretCache(secretsClient(), arn);
  return { ...(secretArn ? { secret: secretCache(secretArn) } : {}), secretFor: secretCache };
};

/**
 * SNS and PagerDuty, always: each event goes to its service's own channels (`notifications` in its config) or to
 * the defaults, SNS_TOPIC_ARN and PAGERDUTY_SECRET_ARN (both optional); a notifier with neither skips the event.
 * Each PagerDuty secret is read once per cold start.
 */
export const notifiers = /* @__PURE__ */ lazy((): readonly Notifier[] => [
  new SnsNotifier(snsClient(), env.snsTopicArn()),
  new PagerDutyNotifier(pagerDutyOptions()),
]);

/**
 * The channels of analyze, whose only event, `step.passed`, is info and resolves no incident: PagerDuty pages only
 * errors and criticals (core/notification.ts `pages`), so SNS alone sends what `notifiers` would, worded as
 * `notifiers` words it, and the bundle leaves out the PagerDuty notifier, its Secrets Manager reads and the other
 * events' sentences.
 */
export const stepPassedNotifiers = /* @__PURE__ */ lazy((): readonly Notifier<StepPassedEvent>[] => [
  new SnsWordedNotifier<StepPassedEvent>(snsClient(), STEP_PASSED_WORDING, env.snsTopicArn()),
]);

/**
 * The same channels for a handler whose events carry no verdict (start-rollout, reconcile): its bundle leaves
 * out the verdicts' sentences and evidence text.
 */
export const verdictFreeNotifiers = /* @__PURE__ */ lazy((): readonly Notifier<VerdictFreeEvent>[] => [
  new SnsWordedNotifier<VerdictFreeEvent>(snsClient(), VERDICT_FREE_WORDING, env.snsTopicArn()),
  new PagerDutyWordedNotifier<VerdictFreeEvent>(pagerDutyOptions(), VERDICT_FREE_WORDING),
]);

// --- time -----------------------------------------------------------------------------------------------------

/**
 * Real time. Workflow seconds are rollout seconds, rounded up to a whole second and never below 1 (Step
 * Functions' smallest timeout).
 */
export const realClock: Clock = {
  now: () => new Date(),
  workflowSeconds: (seconds) => Math.max(1, Math.ceil(seconds)),
  sleep: realSleep,
};

/**
 * The ports of a task that may put traffic back on stable (RollbackDeps: rollback, promote, on-alarm, reconcile),
 * the logger aside.
 */
export const rollbackPorts = () => portsWith(rollbackDeployerFor());
/** rollbackPorts with the given deployers (promote takes the full deployers, nothing built twice). */
export const portsWith = <D>(deployerFor: D) => ({
  router: router(),
  deployerFor,
  store: store(),
  executions: executions(),
  clock: realClock,
  ...announcing(),
});
