/**
 * Errors with stable names. Step Functions routes Catch, Retry and Choice on the error's `name` (Lambda reports
 * it as `errorType`), so a name here is part of the workflow's contract: never rename one.
 */
export const ErrorName = {
  CanaryFailed: 'CanaryFailed',
  AlarmFired: 'AlarmFired',
  Aborted: 'Aborted',
  Superseded: 'Superseded',
  ApprovalRejected: 'ApprovalRejected',
  ApprovalTimedOut: 'ApprovalTimedOut',
  CanaryNotReady: 'CanaryNotReady',
  ConfigInvalid: 'ConfigInvalid',
  InputInvalid: 'InputInvalid',
  TargetNotFound: 'TargetNotFound',
  LockHeld: 'LockHeld',
  WeightsNotApplied: 'WeightsNotApplied',
  Transient: 'Transient',
  /**
   * The controller's IAM role may not do something. Permanent: the workflow never retries it (a missing
   * permission does not fix itself) and routes it like any other failure (Catch States.ALL → Rollback).
   */
  AccessDenied: 'AccessDenied',
  /**
   * The listener's weights were changed outside the rollout (by a person, infrastructure as code): the canary's
   * evidence no longer means what the plan says, so the rollout rolls back. The image is not at fault.
   */
  TrafficDrifted: 'TrafficDrifted',
  /**
   * A rolled-back rollout's page could not be delivered (PagerDuty answered 429/5xx or could not be reached after
   * the notifier's own retries). Traffic is already on stable: the workflow retries the notification for an hour
   * or more, then records the rollback anyway (statemachine: NotifyRollback).
   */
  PageNotDelivered: 'PageNotDelivered',
  /** A hook answered "fail", or was still "running" at its timeout (core/hooks.ts): the new version is at fault. */
  HookFailed: 'HookFailed',
  /** A hook could not be called (its retries used up): the rollout stops, but the image is not at fault. */
  HookUnavailable: 'HookUnavailable',
  /** The workflow's Rollback itself failed (statemachine: RollbackFailed): traffic needs a person. */
  RollbackFailed: 'RollbackFailed',
} as const;
export type ErrorName = (typeof ErrorName)[keyof typeof ErrorName];

/** The reasons an operator or the controller can stop a rollout from outside the workflow. */
export type AbortReason =
  | typeof ErrorName.AlarmFired
  | typeof ErrorName.Aborted
  | typeof ErrorName.Superseded;

export class CanaryControllerError extends Error {
  constructor(name: ErrorName, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = name;
  }
}

export class CanaryFailedError extends CanaryControllerError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorName.CanaryFailed, message, options);
  }
}

export class RolloutAbortedError extends CanaryControllerError {
  constructor(reason: AbortReason, message: string) {
    super(reason, message);
  }
}

export class PageNotDeliveredError extends CanaryControllerError {
  constructor(message: string) {
    super(ErrorName.PageNotDelivered, message);
  }
}

export class CanaryNotReadyError extends CanaryControllerError {
  constructor(message: string) {
    super(ErrorName.CanaryNotReady, message);
  }
}

export class HookFailedError extends CanaryControllerError {
  constructor(message: string) {
    super(ErrorName.HookFailed, message);
  }
}

export class HookUnavailableError extends CanaryControllerError {
  constructor(message: string) {
    super(ErrorName.HookUnavailable, message);
  }
}

/** A field-level problem found by a schema: `path` names the field, e.g. `steps[2].weight`. */
export interface FieldIssue {
  path: string;
  message: string;
}

function describeIssues(subject: string, issues: FieldIssue[]): string {
  const list = issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join('; ');
  return `${subject} is invalid: ${list}`;
}

export class ConfigInvalidError extends CanaryControllerError {
  readonly issues: FieldIssue[];
  constructor(subject: string, issues: FieldIssue[]) {
    super(ErrorName.ConfigInvalid, describeIssues(subject, issues));
    this.issues = issues;
  }
}

export class InputInvalidError extends CanaryControllerError {
  readonly issues: FieldIssue[];
  constructor(subject: string, issues: FieldIssue[]) {
    super(ErrorName.InputInvalid, describeIssues(subject, issues));
    this.issues = issues;
  }
}

export class TargetNotFoundError extends CanaryControllerError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorName.TargetNotFound, message, options);
  }
}

export class LockHeldError extends CanaryControllerError {
  constructor(
    readonly service: string,
    readonly holder: string,
  ) {
    super(ErrorName.LockHeld, `service ${service} is locked by rollout ${holder}`);
  }
}

/**
 * A task found that its rollout no longer owns the service (its lock passed on, or the rollout is over or rolling
 * back). Named LockHeld, as when Prepare finds the lock taken: the workflow changes nothing more.
 */
export class NotOwnerError extends CanaryControllerError {
  constructor(
    readonly service: string,
    readonly holder: string | undefined,
    message: string,
  ) {
    super(ErrorName.LockHeld, message);
  }
}

export class TrafficDriftedError extends CanaryControllerError {
  constructor(message: string) {
    super(ErrorName.TrafficDrifted, message);
  }
}

export class WeightsNotAppliedError extends CanaryControllerError {
  constructor(message: string) {
    super(ErrorName.WeightsNotApplied, message);
  }
}

/** A failure worth retrying (throttling, 5xx, a dropped connection). The workflow's Retry matches the name. */
export class TransientError extends CanaryControllerError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorName.Transient, message, options);
  }
}

/**
 * A listing some of whose parts could not be read (each part's calls retried first): `found` holds what the parts
 * that answered hold, so a caller can act on those before failing for the rest. Transient: retry the whole.
 */
export class IncompleteListError<T> extends TransientError {
  constructor(
    message: string,
    readonly found: T[],
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * The human-readable message of a caught error as Step Functions hands it over: locally `Cause` is the message;
 * on AWS a Lambda error's `Cause` is the JSON `{"errorType","errorMessage","trace"}`.
 */
export function causeMessage(cause: unknown): string {
  if (typeof cause !== 'string') return '';
  try {
    const parsed: unknown = JSON.parse(cause);
    if (parsed && typeof parsed === 'object' && 'errorMessage' in parsed) {
      return String((parsed as { errorMessage: unknown }).errorMessage);
    }
  } catch {
    // not JSON: the cause is the message itself
  }
  return cause;
}
