/**
 * The hook contract and what the workflow does with each answer. Pure: no I/O, no clock.
 *
 * A hook is called with a HookRequest (the rollout's context) and answers
 * `{ "status": "pass" | "fail" | "running", "message"?: string, "details"?: object }`. "running" means: call again
 * later (a long test in progress); it is called again every pollSeconds until it passes, fails or runs out of
 * timeoutSeconds (then it is unavailable, as a hook that cannot be called: no evidence against the image). A call
 * that fails (the function errs, Lambda throttles or answers 5xx, the endpoint answers 429/5xx or nothing) is
 * retried up to `retries` times; a hook that cannot be called (4xx: no such function, access denied) stops the
 * rollout at once, as one whose retries ran out. Hooks must be idempotent: a call may be repeated (a retried task,
 * a lost answer), with the same rollout id, stage, hook name and step.
 */
import type { HookSpec, HookStage } from './config-hooks';
import type { PlanStep } from './plan';
import type { ImageRef } from './rollout';
import * as v from './valibot';

export const hookAnswerSchema = /* @__PURE__ */ (() =>
  v.object({
    status: v.picklist(['pass', 'fail', 'running']),
    message: v.optional(v.string()),
    details: v.optional(v.unknown()),
  }))();
export type HookAnswer = v.InferOutput<typeof hookAnswerSchema>;

/** A hook's answer as the contract has it, or undefined when the value is not one. */
export function readHookAnswer(value: unknown): HookAnswer | undefined {
  const result = v.safeParse(hookAnswerSchema, value);
  return result.success ? result.output : undefined;
}

/** What a hook is called with. */
export interface HookRequest {
  kind: 'canary-hook';
  version: 1;
  service: string;
  rolloutId: string;
  image: ImageRef;
  stage: HookStage;
  hook: string;
  /** The step about to take traffic (beforeStep), or that baked (afterBake); absent before and after the plan. */
  step?: { index: number; weight: number };
  /**
   * How to reach the canary alone (traffic.headerRule): requests carrying this header and value go to the canary
   * whatever the weights. Absent when the service has no header rule.
   */
  testRoute?: { header: string; value: string };
  /** This call's number for this hook (1 for the first), and when the first call was made. */
  call: number;
  firstCalledAt: string;
}

export interface RequestContext {
  rollout: { rolloutId: string; service: string; image: ImageRef };
  route: { headerRule?: { header: string; values: string[] } | undefined };
  stage: HookStage;
  step?: PlanStep | undefined;
}

export function hookRequest(
  c: RequestContext,
  hook: string,
  call: number,
  firstCalledAt: string,
): HookRequest {
  const rule = c.route.headerRule;
  const value = rule?.values[0];
  return {
    kind: 'canary-hook',
    version: 1,
    service: c.rollout.service,
    rolloutId: c.rollout.rolloutId,
    image: c.rollout.image,
    stage: c.stage,
    hook,
    ...(c.step ? { step: { index: c.step.index, weight: c.step.weight } } : {}),
    ...(rule && value !== undefined ? { testRoute: { header: rule.header, value } } : {}),
    call,
    firstCalledAt,
  };
}

/**
 * The longest one call may take: the calling task's function has 50 s in all (functions/tasks/registry.ts), and
 * a test that takes longer answers "running" and is called again.
 */
export const HOOK_CALL_SECONDS = 25;

/** Rollout seconds between checks that the test route is open, before the first call of a hook before traffic. */
export const TEST_ROUTE_POLL_SECONDS = 5;

/**
 * What one call gave: an answer, or an error (with the wait the callee asked for, when it said; `retry: false` when
 * a retry cannot mend it: no such function or endpoint, access denied).
 */
export type HookOutcome =
  | { kind: 'answer'; answer: HookAnswer }
  | { kind: 'error'; message: string; retryAfterSeconds?: number; retry?: false };

export interface HookProgress {
  /** Calls made so far, this one included. */
  calls: number;
  /** Failed calls in a row before this one. */
  failures: number;
  /** Seconds since the hook's first call. */
  elapsedSeconds: number;
}

export type HookDecision =
  | { kind: 'passed' }
  | { kind: 'failed'; reason: string }
  | { kind: 'unavailable'; reason: string }
  | { kind: 'wait'; seconds: number; failures: number };

/** Seconds the next call may take: at most HOOK_CALL_SECONDS, never past the hook's timeout (at least 1). */
export function callSeconds(spec: Pick<HookSpec, 'timeoutSeconds'>, elapsedSeconds: number): number {
  return Math.max(1, Math.min(HOOK_CALL_SECONDS, spec.timeoutSeconds - elapsedSeconds));
}

/** What the workflow does after one call of a hook. */
export function decideHook(spec: HookSpec, p: HookProgress, outcome: HookOutcome): HookDecision {
  const left = spec.timeoutSeconds - p.elapsedSeconds;
  if (outcome.kind === 'answer') {
    const { status, message } = outcome.answer;
    if (status === 'pass') return { kind: 'passed' };
    if (status === 'fail') return { kind: 'failed', reason: message ?? 'the hook answered fail' };
    // A hook still running at its timeout says nothing against the image (a stuck test harness): unavailable
    // (HookUnavailable, not quarantined), not failed.
    if (left < spec.pollSeconds) {
      return {
        kind: 'unavailable',
        reason: `timed out: still running after ${p.elapsedSeconds} s (timeoutSeconds ${spec.timeoutSeconds})${message ? `: ${message}` : ''}`,
      };
    }
    return { kind: 'wait', seconds: spec.pollSeconds, failures: 0 };
  }
  if (outcome.retry === false) return { kind: 'unavailable', reason: outcome.message };
  const failures = p.failures + 1;
  if (failures > spec.retries) {
    return {
      kind: 'unavailable',
      reason: `${failures} failed call${failures === 1 ? '' : 's'} in a row: ${outcome.message}`,
    };
  }
  // Backoff doubling from 1 s, capped by the poll interval, or the wait the callee asked for.
  const seconds = Math.ceil(outcome.retryAfterSeconds ?? Math.min(spec.pollSeconds, 2 ** (failures - 1)));
  if (seconds > left) {
    return {
      kind: 'unavailable',
      reason: `no answer within timeoutSeconds ${spec.timeoutSeconds}: ${outcome.message}`,
    };
  }
  return { kind: 'wait', seconds, failures };
}

/** At most this much of an answer's message and details is kept as evidence (history entries have a size limit). */
export const EVIDENCE_CHARS = 1000;

/** An answer's message and details, shortened to what the history keeps. */
export function hookEvidence(answer: HookAnswer): { message?: string; details?: string } {
  const cut = (s: string) => (s.length > EVIDENCE_CHARS ? `${s.slice(0, EVIDENCE_CHARS - 1)}…` : s);
  let details: string | undefined;
  if (answer.details !== undefined) {
    try {
      details = cut(JSON.stringify(answer.details));
    } catch {
      details = undefined;
    }
  }
  return {
    ...(answer.message !== undefined ? { message: cut(answer.message) } : {}),
    ...(details !== undefined ? { details } : {}),
  };
}
