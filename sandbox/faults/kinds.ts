/** The faults a schedule can inject, the names AWS gives them, and what a schedule is (see ./index.ts). */
export const LAMBDA_KINDS = [
  'throttle',
  'serviceError',
  'clientTimeout',
  'permanent',
  'timeout',
  'outOfMemory',
  'crashAfterEffect',
  'halfway',
] as const;
/** The store failing at one operation of an invocation, or for a whole stretch of invocations (an outage). */
export const STORE_KINDS = [
  'storeThroughputExceeded',
  'storeThrottling',
  'storeInternalError',
  'storeConditionRaced',
  'storeOutage',
] as const;
/** Events delivered while an invocation runs (before its body, or at one of its store operations). */
const EVENT_KINDS = [
  'duplicatePush',
  'concurrentPush',
  'newerPush',
  'olderPush',
  'alarm',
  'alarmMidTask',
  'duplicateAlarm',
  'drift',
  'reject',
] as const;
/** The rest of the world: Step Functions' API, notifications, metrics, and what arrives after the end. */
const WORLD_KINDS = [
  'sendTaskFails',
  'startExecutionFails',
  'pagerDutyDown',
  'snsDown',
  'metricsMissing',
  'metricsLate',
  'lateRedelivery',
  'lateAlarm',
] as const;
export const FAULT_KINDS = [...LAMBDA_KINDS, ...STORE_KINDS, ...EVENT_KINDS, ...WORLD_KINDS] as const;
/**
 * Route 53's API failing under a service behind weighted records (schedules with `route: 'route53'`), by
 * API_ChangeResourceRecordSets and API_GetChange: Throttling (its request rate), PriorRequestNotComplete (the
 * zone's previous change still being processed), and a change that stays PENDING longer than the router waits.
 */
export const ROUTE53_KINDS = ['route53Throttled', 'route53PriorRequest', 'route53SyncSlow'] as const;
/**
 * Never drawn by a campaign (its schedules stay as they were): analysis number `call` sees the canary fail as a bad
 * image's would though its image is healthy (errors of a dependency that pass), so that a pause on failure can be
 * retried and the rollout promote.
 */
export const SCRIPTED_KINDS = ['metricsBad'] as const;
/** Every kind a schedule may hold. */
export const ALL_FAULT_KINDS = [...FAULT_KINDS, ...ROUTE53_KINDS, ...SCRIPTED_KINDS] as const;
export type FaultKind = (typeof ALL_FAULT_KINDS)[number];
export type LambdaKind = (typeof LAMBDA_KINDS)[number];
export type StoreKind = (typeof STORE_KINDS)[number];

/**
 * What each Lambda kind raises, and whether the function ran first (its side effects applied, its result lost: the
 * worst case for a retry, which must then be idempotent). `halfway` runs up to one of its store operations and
 * stops there: nothing after it happens, as when Lambda stops a function at its timeout.
 */
export const FAULTS: Record<LambdaKind, { error: string; ran: boolean | 'halfway'; what: string }> = {
  throttle: { error: 'Lambda.TooManyRequestsException', ran: false, what: 'Lambda throttled the invocation' },
  serviceError: { error: 'Lambda.ServiceException', ran: false, what: 'Lambda service error' },
  clientTimeout: {
    error: 'Lambda.ClientExecutionTimeoutException',
    ran: true,
    what: 'the invocation ran but its response never came back',
  },
  permanent: { error: 'InjectedFailure', ran: false, what: 'failed for good' },
  timeout: { error: 'Sandbox.Timedout', ran: true, what: 'the function timed out after its side effects' },
  outOfMemory: {
    error: 'Lambda.Unknown',
    ran: false,
    what: 'the function ran out of memory before any effect',
  },
  crashAfterEffect: {
    error: 'Lambda.Unknown',
    ran: true,
    what: 'the function crashed after its side effect',
  },
  halfway: {
    error: 'Sandbox.Timedout',
    ran: 'halfway',
    what: 'the function timed out half-way, part of its side effects applied',
  },
};

/** The DynamoDB error each store kind stands for. */
export const STORE_ERRORS: Record<StoreKind, string> = {
  storeThroughputExceeded: 'ProvisionedThroughputExceededException',
  storeThrottling: 'ThrottlingException',
  storeInternalError: 'InternalServerError',
  storeConditionRaced: 'ConditionalCheckFailedException',
  storeOutage: 'InternalServerError',
};

/** The store's conditional writes (a racing writer makes their condition fail). */
export const CONDITIONAL_OPS = new Set([
  'acquireLock',
  'setPending',
  'releaseLock',
  'setWait',
  'markAborted',
]);

/** The functions the state machine calls (statemachine/canary.asl.json). */
export const TASK_FUNCTIONS = [
  'Prepare',
  'CheckReady',
  'SetWeight',
  'Bake',
  'Analyze',
  'RequestApproval',
  'Promote',
  'Rollback',
  'Notify',
] as const;
/** The entry points: EventBridge's asynchronous invocations, and an operator (CLI or approval page) acting. */
export const ENTRY_POINTS = ['StartRollout', 'OnAlarm', 'Reconcile', 'Operator'] as const;
const FAULTABLE_FUNCTIONS = [...TASK_FUNCTIONS, ...ENTRY_POINTS] as const;
export type FaultableFunction = (typeof FAULTABLE_FUNCTIONS)[number];

export interface Fault {
  fn: FaultableFunction;
  /** The nth invocation of that function in the world (0-based; operators count their attempts). */
  call: number;
  kind: FaultKind;
  /** Which store operation of the invocation (halfway, store kinds, alarmMidTask), or a count (outage span). */
  at?: number;
}

export interface Schedule {
  /** The pushed image v2 serves 5% server errors (the analysis must roll it back). */
  bad: boolean;
  /** How the operator answers approval requests. */
  approveVia: 'cli' | 'page';
  /**
   * Absent: a failed analysis rolls back. Otherwise the service pauses on a failed analysis
   * (analysis.onFailure 'pause') and the operator answers the pause: `retry` the step once (then abort the next
   * pause), `abort`, or nothing until the pause times out (`timeout`).
   */
  onFailure?: 'retry' | 'abort' | 'timeout';
  faults: Fault[];
  /**
   * The plan's strategy: absent, the canary's three steps; 'blueGreen', its test step (with the approval) and its
   * switch to 100% kept for the rollback window. Never generated: a campaign chooses it for all its schedules.
   */
  strategy?: 'blueGreen';
  /** The service's traffic: a listener (default) or two weighted records in Route 53. */
  route?: 'route53';
}

export function named(name: string, message: string): Error {
  const e = new Error(message);
  e.name = name;
  return e;
}

/** What the DynamoDB adapter raises when the table keeps failing with `awsName` (functions/adapters/aws/sdk.ts). */
export function storeError(awsName: string, op: string): Error {
  const cause = named(awsName, `${awsName} (injected)`);
  const e = new Error(
    `dynamodb:${op} on table canary-rollouts failed after 3 attempt(s): ${awsName} (injected)`,
    {
      cause,
    },
  );
  e.name = 'Transient';
  return e;
}
