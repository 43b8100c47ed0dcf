/**
 * What the core and the tasks need from the world. Each port has AWS adapters in functions/adapters/aws and
 * local ones in sandbox/. Keep them small: a task should be testable with a fake of a few lines. The store's are in
 * functions/ports-store.ts.
 */
import type { ServiceConfig } from './core/config';
import type { HookSpec } from './core/config-hooks';
import type { CustomMetricConfig } from './core/custom-metrics';
import type { HookOutcome, HookRequest } from './core/hooks';
import type { AlarmState, MetricWindow, Verdict } from './core/judge';
import type { NotificationEvent } from './core/notification';
import type { DeployedVersion, ImageRef, LatencyThresholds, RolloutDoc, Route } from './core/rollout';
import type { RolloutStateChange } from './core/state-change';

export type {
  AbortMark,
  AnalysisStore,
  DecisionStore,
  HistoryPage,
  HistoryStore,
  JudgedPeriodsStore,
  NotifyStore,
  RolloutStore,
  StepStore,
  WaitStore,
} from './ports-store';

/** Weights keyed by target group ARN, as the listener reports them. */
export type TargetGroupWeights = Record<string, number>;

/**
 * `testRoute`: the canary is reachable through the route's header rule even at 0% (a plan's test step: blue/green's
 * test traffic; the test route of hooks before traffic, core/hooks.ts); without it the header rule exists only while
 * the canary has a share below 100%.
 */
export interface WeightOptions {
  testRoute?: boolean;
}

/** Moves traffic between the two versions of one route; one implementation per traffic kind. */
export interface TrafficRouter<R extends Route = Route> {
  /**
   * Throws TargetNotFound when the listener, rule or a target group does not exist, and ConfigInvalid (naming the
   * field and the fix) when the route is one the router could not weight as configured (core/route-checks.ts).
   */
  describe(route: R): Promise<TargetGroupWeights>;
  /**
   * Send `canaryPercent` of traffic to the canary target group, and the header rule's requests too while it shares
   * traffic or `options.testRoute` asks for them at 0% (core/plan.ts headerRuleOn). Not instant: follow with
   * `verifyWeights`.
   */
  setWeights(route: R, canaryPercent: number, options?: WeightOptions): Promise<void>;
  /** True once the listener reports the weights (and header rule) for `canaryPercent` and `options`. */
  verifyWeights(route: R, canaryPercent: number, options?: WeightOptions): Promise<boolean>;
}

/** Reading a route's weights, without moving them: the drift check's router (analyze). */
export type RouteReader<R extends Route = Route> = Pick<TrafficRouter<R>, 'describe' | 'verifyWeights'>;

/** Calls a hook (a Lambda function or an HTTPS endpoint). Never throws for the hook's own failures: they are outcomes. */
export interface HookCaller {
  call(
    hook: Pick<HookSpec, 'lambda' | 'url'>,
    request: HookRequest,
    timeoutSeconds: number,
  ): Promise<HookOutcome>;
}

/** The window a MetricSource reads: [from, to) in periods of periodSeconds, over the route's target groups. */
export interface MetricQuery {
  route: Route;
  from: Date;
  to: Date;
  periodSeconds: number;
  thresholds?: LatencyThresholds;
  /**
   * Custom metrics per version (core/custom-metrics.ts): a source that reads them returns the window's `custom`, one
   * series per metric, in the metrics' order; a source that cannot leaves it out (the judge then has no data for them).
   */
  metrics?: readonly CustomMetricConfig[];
}

/** A span before the canary starts, over which the stable version's latency thresholds are taken. */
export type BaselineQuery = Pick<MetricQuery, 'route' | 'from' | 'to'>;

export interface MetricSource {
  /**
   * Per-period stats for canary and baseline target groups. No traffic is data (zero requests), not an error.
   * With `thresholds`, a source that can count requests above them fills `slow` (target response time strictly
   * above p99Ms) and `aboveMedian` (strictly above p50Ms) for every period of both versions, and sets the window's
   * slowThresholdMs and medianThresholdMs; a source that cannot leaves all of them out.
   */
  fetch(query: MetricQuery): Promise<MetricWindow>;
  /**
   * The stable target group's p99 and p50 target response time (ms) over [from, to), the span before the canary
   * starts; undefined when the stable version had no traffic then (or the source cannot tell).
   */
  baselineThresholds(query: BaselineQuery): Promise<LatencyThresholds | undefined>;
}

export interface AlarmSource {
  states(alarmNames: readonly string[]): Promise<AlarmState[]>;
}

export interface CanaryHealth {
  ready: boolean;
  detail: string;
}

/** Whether the canary can take a traffic share: its tasks for that share running and healthy behind its group. */
export interface CanaryCapacity extends CanaryHealth {
  /** Tasks the share needs; absent when the controller does not size the canary (`none`). */
  needed?: number;
  /** The canary service's desired and running tasks (of its current deployment), when the controller runs it. */
  desired?: number;
  running?: number;
  /** Targets in state `healthy` in the canary target group (draining, initial, unhealthy ones do not count). */
  healthy: number;
}

export interface Deployer {
  /** What the stable service runs now, to restore it if a rollback follows a started promotion. */
  describeStable(config: ServiceConfig, route: Route): Promise<DeployedVersion>;
  /** Run the image as the canary behind the canary target group, sized for `canaryPercent` of the traffic. */
  deployCanary(config: ServiceConfig, route: Route, image: ImageRef, canaryPercent: number): Promise<void>;
  canaryHealth(config: ServiceConfig, route: Route): Promise<CanaryHealth>;
  /** Resize the canary for a traffic share (never below what its current weight needs). */
  scaleCanary(config: ServiceConfig, route: Route, canaryPercent: number): Promise<void>;
  /**
   * Whether the canary's capacity for `canaryPercent` is running and healthy in the canary target group, so the
   * share can move to it. Read-only; the workflow polls it between `scaleCanary` and the weight change.
   */
  canaryCapacity(config: ServiceConfig, route: Route, canaryPercent: number): Promise<CanaryCapacity>;
  /** Roll the stable service onto the image. */
  promoteStable(config: ServiceConfig, route: Route, image: ImageRef): Promise<void>;
  stableHealth(config: ServiceConfig, route: Route, image: ImageRef): Promise<CanaryHealth>;
  /** Put the stable service back on what it ran before. */
  restoreStable(config: ServiceConfig, route: Route, previous: DeployedVersion): Promise<void>;
  /** Only ever called once the canary's weight is verified at 0. */
  scaleDownCanary(config: ServiceConfig, route: Route): Promise<void>;
  /**
   * Whether the two target groups swap roles on promotion (the `none` deployer: the new version keeps serving
   * from the canary target group, which becomes the stable one).
   */
  readonly swapsTargetGroups: boolean;
}

export type Severity = NotificationEvent['severity'];

/**
 * Where a service wants its rollout events (its `notifications` config). A notifier sends to the event's own
 * channel when it has one, else to its default (from the environment), else nowhere.
 */
export interface NotificationChannels {
  snsTopicArn?: string;
  pagerDutySecretArn?: string;
}

/**
 * What every rollout event may say (what core/notification.ts formats), with the judge's whole verdict and the
 * service's channels; each member of RolloutEvent says what its type always carries.
 */
interface RolloutEventBase extends Omit<NotificationEvent, 'type' | 'verdict'> {
  verdict?: Verdict;
  /** The service's own channels; absent: the notifiers' defaults. */
  channels?: NotificationChannels;
}

/** The step an event is about: its index in the plan (from 0) and its share of traffic (%). */
type EventStep = NonNullable<NotificationEvent['step']>;

/** What the controller tells people (SNS, PagerDuty), discriminated by `type`. */
export type RolloutEvent = RolloutEventBase &
  (
    | { type: 'rollout.refused'; reason: string }
    | { type: 'step.passed'; reason: string; step: EventStep; verdict: Verdict }
    | { type: 'approval.requested'; reason: string; step: EventStep }
    | { type: 'rollout.promoted' }
    | { type: 'rollout.rolledBack' }
    /** A failed analysis paused the rollout with 100% on stable (analysis.onFailure 'pause'): pages. */
    | { type: 'rollout.paused' }
    | { type: 'rollback.failed' }
    /** A pause on failure is over (`canary retry`): its incident is resolved; nobody is paged. */
    | { type: 'pause.ended'; resolves: string[] }
  );

/** An event that carries no verdict (a refusal, the reconciler's rollback): worded without the verdicts' text. */
export type VerdictFreeEvent = RolloutEvent & { verdict?: undefined };

/** A passed step's event: the only one analyze sends. */
export type StepPassedEvent = Extract<RolloutEvent, { type: 'step.passed' }>;

/** Sends rollout events of type E (by default any) to a channel. */
export interface Notifier<E extends RolloutEvent = RolloutEvent> {
  readonly name: string;
  notify(event: E): Promise<void>;
}

/**
 * Where rollout state changes are announced (core/state-change.ts): the controller's EventBridge bus, a local bus
 * in the sandbox. Announcing never decides anything: callers log and count a failure and carry on.
 */
export interface StateChangeBus {
  /** Put the events; rejects, naming each event not accepted, once the retryable failures are retried. */
  put(changes: readonly RolloutStateChange[]): Promise<void>;
}

export interface StartedExecution {
  executionArn: string;
  /** True when an execution with this name and input already existed (a duplicate start is a no-op). */
  alreadyStarted: boolean;
}

/** A running execution of the state machine, with the rollout document it was started with. */
export interface RunningExecution {
  name: string;
  /** The execution's input, as JSON (`{ rollout }`). */
  input: string;
  startedAt: string;
}

/** The state an execution entered last, and that state's input (its data at that point, as JSON). */
export interface EnteredState {
  name: string;
  input?: string;
}

/** Ending a `.waitForTaskToken` wait: what the approval page needs of the executions. */
export type TaskTokens = Pick<Executions, 'sendTaskSuccess' | 'sendTaskFailure'>;

export interface Executions {
  start(name: string, input: { rollout: RolloutDoc }): Promise<StartedExecution>;
  stop(executionName: string, error: string, cause: string): Promise<void>;
  isRunning(executionName: string): Promise<boolean>;
  /**
   * The executions running now, newest first, each with its input: what the rollouts are when the store cannot
   * be read. Eventually consistent, as ListExecutions is.
   */
  running(): Promise<RunningExecution[]>;
  /**
   * The state the execution entered last, with its input (GetExecutionHistory, newest first): how far a rollout
   * got when the store cannot say. Undefined for an execution that does not exist.
   */
  lastStateEntered(executionName: string): Promise<EnteredState | undefined>;
  /**
   * Resolve a wait. Returns false when the token is no longer waited on: its state timed out, it was resolved, or
   * its execution stopped, timed out or ended (Step Functions answers TaskTimedOut, InvalidToken, TaskDoesNotExist).
   */
  sendTaskSuccess(token: string, output: unknown): Promise<boolean>;
  sendTaskFailure(token: string, error: string, cause: string): Promise<boolean>;
}

/** What a rollback asks of a deployer: put stable back and scale the canary down (rollback, reconcile). */
export type RollbackDeployer = Pick<Deployer, 'swapsTargetGroups' | 'restoreStable' | 'scaleDownCanary'>;
/** The rollback's deployer for a service's `deployer.kind` (DeployerFor's, as far as a rollback uses it). */
export type RollbackDeployerFor = (config: ServiceConfig) => RollbackDeployer;

/** The deployer for a service's `deployer.kind`; an unknown kind throws ConfigInvalid, never falls back. */
export type DeployerFor = (config: ServiceConfig) => Deployer;

/** Which service a repository or a name belongs to. */
export interface ServiceCatalog {
  byRepository(repository: string): Promise<ServiceConfig | undefined>;
  byName(service: string): Promise<ServiceConfig | undefined>;
}

export interface Clock {
  now(): Date;
  /**
   * Workflow seconds for a span of rollout time: identity on AWS; the sandbox compresses time (a minute of the
   * plan in a second) and never returns less than 1, Step Functions' smallest timeout.
   */
  workflowSeconds(seconds: number): number;
  /** Pause inside a task (polling a control plane that is eventually consistent). */
  sleep(ms: number): Promise<void>;
}

/** The slice of a structured logger the tasks use (Powertools Logger fits). */
export interface Log {
  info(message: string, extra?: Record<string, unknown>): void;
  warn(message: string, extra?: Record<string, unknown>): void;
  error(message: string, extra?: Record<string, unknown>): void;
}
