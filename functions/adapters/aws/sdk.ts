/**
 * What every AWS adapter does with an SDK call: retry throttling (and, for idempotent calls, 5xx and dropped
 * connections) with capped exponential backoff and full jitter, then surface what is left under the stable
 * names the workflow routes on: `Transient` (Step Functions retries it), `TargetNotFound`, `AccessDenied`.
 * The SDK's own retry (SDK_CLIENT_CONFIG) runs first inside each attempt; this layer covers the rest and makes
 * the behaviour testable with mocked clients.
 */
import { CanaryControllerError, ErrorName, TargetNotFoundError, TransientError } from '../../core/errors';

/** Client settings for the handlers that build the clients: the SDK's standard retry (full jitter, capped). */
export const SDK_CLIENT_CONFIG = { maxAttempts: 3, retryMode: 'standard' } as const;

export interface RetryOptions {
  /** Attempts in all, including the first. */
  attempts?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  sleep?: (ms: number) => Promise<void>;
  /** [0, 1): the jitter source (tests pin it). */
  random?: () => number;
}

export interface AdapterOptions {
  retry?: RetryOptions;
}

/**
 * The caller may not do this: named ErrorName.AccessDenied. Permanent (never retried, neither here nor by the
 * workflow): a missing IAM permission does not fix itself. The workflow routes it like any other failure (Catch
 * States.ALL → Rollback).
 */
export class AccessDeniedError extends CanaryControllerError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorName.AccessDenied, message, options);
  }
}

interface SdkErrorShape {
  name?: unknown;
  code?: unknown;
  message?: unknown;
  $fault?: unknown;
  $metadata?: { httpStatusCode?: unknown };
}

export function errorName(error: unknown): string {
  if (error && typeof error === 'object') {
    const e = error as SdkErrorShape;
    if (typeof e.name === 'string' && e.name !== 'Error') return e.name;
    if (typeof e.code === 'string') return e.code;
  }
  return 'Error';
}

function errorMessage(error: unknown): string {
  if (error && typeof error === 'object' && typeof (error as SdkErrorShape).message === 'string') {
    return (error as { message: string }).message;
  }
  return String(error);
}

function httpStatus(error: unknown): number | undefined {
  if (error && typeof error === 'object') {
    const status = (error as SdkErrorShape).$metadata?.httpStatusCode;
    if (typeof status === 'number') return status;
  }
  return undefined;
}

const THROTTLING = new Set([
  'Throttling',
  'ThrottlingException',
  'ThrottledException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'RequestThrottled',
  'RequestThrottledException',
  'ProvisionedThroughputExceededException',
  'TransactionInProgressException',
  'SlowDown',
  'KmsThrottlingException',
  'KMSThrottlingException',
  'PriorRequestNotCompleteException',
  // Route 53: the zone's previous change is still being processed (API_ChangeResourceRecordSets, HTTP 400).
  'PriorRequestNotComplete',
]);

const SERVER = new Set([
  'InternalError',
  'InternalFailure',
  'InternalServerError',
  'InternalServiceError',
  'InternalServiceFault',
  'InternalErrorException',
  'ServerException',
  'ServiceUnavailable',
  'ServiceUnavailableException',
]);

const NETWORK = new Set([
  'TimeoutError',
  'RequestTimeout',
  'RequestTimeoutException',
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
]);

const ACCESS_DENIED = new Set<string>([
  ErrorName.AccessDenied,
  'AccessDeniedException',
  'UnauthorizedOperation',
  'AuthorizationError',
  'AuthorizationErrorException',
  'KmsAccessDeniedException',
  'KMSAccessDeniedException',
]);

function isThrottling(error: unknown): boolean {
  return THROTTLING.has(errorName(error)) || httpStatus(error) === 429;
}

function isServerError(error: unknown): boolean {
  const status = httpStatus(error);
  const fault = error && typeof error === 'object' ? (error as SdkErrorShape).$fault : undefined;
  return SERVER.has(errorName(error)) || (status !== undefined && status >= 500) || fault === 'server';
}

function isNetworkError(error: unknown): boolean {
  if (NETWORK.has(errorName(error))) return true;
  const code = error && typeof error === 'object' ? (error as SdkErrorShape).code : undefined;
  return typeof code === 'string' && NETWORK.has(code);
}

function isAccessDenied(error: unknown): boolean {
  return ACCESS_DENIED.has(errorName(error));
}

function isTransient(error: unknown): boolean {
  return isThrottling(error) || isServerError(error) || isNetworkError(error);
}

/** Capped exponential backoff with full jitter: a random delay in [0, min(cap, base × 2^attempt)). */
export function backoffDelay(
  attempt: number,
  options: Required<Pick<RetryOptions, 'baseDelayMs' | 'maxDelayMs' | 'random'>>,
): number {
  return Math.floor(options.random() * Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** attempt));
}

export const realSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export interface CallOptions {
  /**
   * Safe to send again after a 5xx or a dropped connection (reads, whole-list replacements). Throttling is
   * retried for every call: a throttled request was not executed.
   */
  idempotent?: boolean;
  /** SDK error names that mean "the thing does not exist", with the message for each. */
  notFound?: Readonly<Record<string, string>>;
}

export class AwsCaller {
  private readonly attempts: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;

  constructor(options: RetryOptions = {}) {
    this.attempts = Math.max(1, options.attempts ?? 3);
    this.baseDelayMs = options.baseDelayMs ?? 200;
    this.maxDelayMs = options.maxDelayMs ?? 3000;
    this.sleep = options.sleep ?? realSleep;
    this.random = options.random ?? Math.random;
  }

  /**
   * Run one SDK call. `action` is the IAM action (`elasticloadbalancing:ModifyListener`) and `resource` what it
   * acts on, so a failure says exactly which permission or which ARN is at fault. Errors that are neither
   * transient, access denied nor listed in `notFound` are rethrown unchanged for the adapter to interpret.
   */
  async call<T>(
    action: string,
    resource: string,
    fn: () => Promise<T>,
    options: CallOptions = {},
  ): Promise<T> {
    const idempotent = options.idempotent ?? true;
    for (let attempt = 0; ; attempt++) {
      try {
        return await fn();
      } catch (error) {
        const name = errorName(error);
        const notFound = options.notFound?.[name];
        if (notFound !== undefined) throw new TargetNotFoundError(notFound, { cause: error });
        if (isAccessDenied(error)) {
          throw new AccessDeniedError(
            `${action} on ${resource} was denied (${name}): the controller's role needs ${action} on ${resource}`,
            { cause: error },
          );
        }
        const retryable =
          isThrottling(error) || (idempotent && (isServerError(error) || isNetworkError(error)));
        if (retryable && attempt + 1 < this.attempts) {
          await this.sleep(
            backoffDelay(attempt, {
              baseDelayMs: this.baseDelayMs,
              maxDelayMs: this.maxDelayMs,
              random: this.random,
            }),
          );
          continue;
        }
        if (isTransient(error)) {
          throw new TransientError(
            `${action} on ${resource} failed after ${attempt + 1} attempt(s): ${name}: ${errorMessage(error)}`,
            {
              cause: error,
            },
          );
        }
        throw error;
      }
    }
  }
}
