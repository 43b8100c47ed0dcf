/**
 * Fault injection over the real workflow: a schedule makes chosen invocations fail the way AWS fails them, under
 * the names AWS reports, delivers events twice, late, out of order or concurrently, and lets the world misbehave
 * (the store, the listener, metrics, notifications); the controller's invariants (checkInvariants) are checked
 * once everything has settled.
 *
 * The names are AWS's:
 * - Lambda (Step Functions developer guide, "Handle transient Lambda service exceptions", and Lambda's Invoke API
 *   errors): an unhandled error or an out-of-memory exit reaches the state machine as `Lambda.Unknown`, a function
 *   timeout as `Sandbox.Timedout` (its payload's errorType, Lambda developer guide, "Troubleshoot invocation
 *   issues"), never as `States.Timeout` (that one is the Task state's own TimeoutSeconds); a throttled
 *   invocation as `Lambda.TooManyRequestsException`; a Lambda service error as `Lambda.ServiceException`; an invoke
 *   whose response never came back as `Lambda.ClientExecutionTimeoutException`. A function's own (handled) error
 *   keeps its errorType as the name.
 * - DynamoDB (API reference, PutItem / UpdateItem / GetItem errors, and "Error handling with DynamoDB"):
 *   `ProvisionedThroughputExceededException`, `ThrottlingException`, `InternalServerError`,
 *   `ConditionalCheckFailedException`. The store port sees them as the DynamoDB adapter raises them once its own
 *   retries are spent: a `Transient` error naming the DynamoDB error (functions/adapters/aws/sdk.ts).
 * - Step Functions (API reference, SendTaskSuccess / SendTaskFailure / StartExecution, and Common Errors):
 *   `ThrottlingException`, `ServiceUnavailable`; a closed wait answers `TaskTimedOut` (the local engine does).
 * - Asynchronous invocations (Lambda developer guide, "How Lambda handles errors and retries with asynchronous
 *   invocation"): EventBridge invokes start-rollout, on-alarm and reconcile asynchronously; a function error is
 *   retried twice, then the event goes to the on-failure destination (the stack's dead-letter queue, infra:
 *   `configureAsyncInvoke({ retryAttempts: 2, onFailure })`). Here the queue is redriven once the faults are over,
 *   as the operator the queue's alarm pages would.
 */
export { FaultInjector } from './injector';
export { checkInvariants } from './invariants';
export type { AsyncFailure } from './invocations';
export {
  ALL_FAULT_KINDS,
  ENTRY_POINTS,
  FAULT_KINDS,
  type Fault,
  type FaultableFunction,
  type FaultKind,
  LAMBDA_KINDS,
  ROUTE53_KINDS,
  type Schedule,
  STORE_ERRORS,
  STORE_KINDS,
  TASK_FUNCTIONS,
} from './kinds';
export { type Outcome, runSchedule, type ScheduleResult } from './run';
