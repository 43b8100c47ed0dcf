/**
 * What each error name means for a rollout, in one table: whether the image is kept out (quarantined), whether its
 * rollback wakes someone, and how the workflow retries it. The tasks read it; the state machine cannot import it,
 * so a test derives the ASL's Retry lists and compares them with `retry` here (test/unit/error-policy.test.ts).
 */
import { ErrorName } from './errors';

/**
 * - `quarantine`: `always`, the image is at fault; `unlessDrift`, at fault unless the rollout was paused because
 *   a person changed the weights (core/rules.ts quarantines); `never`, the image says nothing.
 * - `rollback`: how a rollback with this error is announced: `page` wakes on-call (severity error); `inform`, a
 *   person chose this outcome (severity warning: worth knowing, not worth waking anyone for).
 * - `retry`: what the workflow does when a task fails with it: `task`, every Task state's Retry (transient);
 *   `never`, not even Rollback and RecordRollback retry it (permanent); `page`, NotifyRollback retries it for an
 *   hour or more; `none`, no Retry names it (Catch routes it).
 */
export interface ErrorPolicy {
  quarantine: 'always' | 'unlessDrift' | 'never';
  rollback: 'page' | 'inform';
  retry: 'task' | 'never' | 'page' | 'none';
}

const failure = (quarantine: ErrorPolicy['quarantine'], rollback: ErrorPolicy['rollback'] = 'page') => ({
  quarantine,
  rollback,
  retry: 'none' as const,
});

export const ERROR_POLICY: Readonly<Record<ErrorName, ErrorPolicy>> = /* @__PURE__ */ (() => ({
  [ErrorName.CanaryFailed]: failure('always'),
  [ErrorName.AlarmFired]: failure('always'),
  [ErrorName.CanaryNotReady]: failure('always'),
  [ErrorName.ApprovalRejected]: failure('unlessDrift', 'inform'),
  [ErrorName.ApprovalTimedOut]: failure('unlessDrift'),
  [ErrorName.Aborted]: failure('never', 'inform'),
  [ErrorName.Superseded]: failure('never', 'inform'),
  [ErrorName.InputInvalid]: failure('never'),
  [ErrorName.TargetNotFound]: failure('never'),
  [ErrorName.LockHeld]: failure('never'),
  [ErrorName.TrafficDrifted]: failure('never'),
  [ErrorName.ConfigInvalid]: { quarantine: 'never', rollback: 'page', retry: 'never' },
  [ErrorName.AccessDenied]: { quarantine: 'never', rollback: 'page', retry: 'never' },
  [ErrorName.Transient]: { quarantine: 'never', rollback: 'page', retry: 'task' },
  [ErrorName.WeightsNotApplied]: { quarantine: 'never', rollback: 'page', retry: 'task' },
  [ErrorName.PageNotDelivered]: { quarantine: 'never', rollback: 'page', retry: 'page' },
  [ErrorName.RollbackFailed]: failure('never'),
  [ErrorName.HookFailed]: failure('always'),
  [ErrorName.HookUnavailable]: failure('never'),
}))();

/**
 * Errors Lambda and Step Functions report for an invocation that may succeed when tried again, retried by every
 * Task state with the names above whose `retry` is `task`. Step Functions developer guide, "Handle Lambda service
 * exceptions" (bp-lambda-serviceexception): Lambda.ClientExecutionTimeoutException, Lambda.ServiceException,
 * Lambda.AWSLambdaException, Lambda.SdkClientException are transient; Lambda.TooManyRequestsException when Lambda
 * hits its invocation limit; Lambda.Unknown for unhandled errors, out of memory and function timeouts. The
 * Runtime.* and Sandbox.Timedout error types of a function that exited are retried the same way. `States.Timeout`
 * is retried except by the waits, which end by it.
 */
export const TRANSIENT_INVOCATION_ERRORS = [
  'Lambda.ServiceException',
  'Lambda.AWSLambdaException',
  'Lambda.SdkClientException',
  'Lambda.TooManyRequestsException',
  'Lambda.ClientExecutionTimeoutException',
  'Lambda.Unknown',
  'Sandbox.Timedout',
  'Runtime.ExitError',
  'Runtime.OutOfMemory',
  'Runtime.NodejsExit',
] as const;

const policyOf = (name: string): ErrorPolicy | undefined =>
  Object.hasOwn(ERROR_POLICY, name) ? ERROR_POLICY[name as ErrorName] : undefined;

/** The controller's error names with a given retry rule, in the table's order. */
export function namesRetried(retry: ErrorPolicy['retry']): ErrorName[] {
  return (Object.keys(ERROR_POLICY) as ErrorName[]).filter((n) => ERROR_POLICY[n].retry === retry);
}

/** How an error name bears on the image: unknown names (AWS's, the engine's) never quarantine. */
export function quarantineRule(errorName: string): ErrorPolicy['quarantine'] {
  return policyOf(errorName)?.quarantine ?? 'never';
}

/** Whether a rollback with this error was chosen by a person (announced, nobody woken). Unknown names page. */
export function rollbackIsDeliberate(errorName: string | undefined): boolean {
  return errorName !== undefined && policyOf(errorName)?.rollback === 'inform';
}
