/**
 * run-hook: one call of a stage's hooks (core/hooks.ts has the contract). The workflow loops Task → Choice → Wait
 * over a stage, its progress carried in `$.hook`: which hook, how many calls, failures in a row, since when. A hook
 * that passes moves to the next; one that answers "running" is called again after its pollSeconds; a failed call
 * is retried; a "fail", a timeout or a hook that cannot be called ends the rollout (HookFailed, HookUnavailable →
 * Rollback). One task for every stage: the stage is input, so any strategy can run hooks where it needs them.
 *
 * While the canary has no share (before traffic, before the first step, at a test step), it is reachable through
 * the header rule alone (the test route): opened here, at 0%, and verified before the first call, since ALB changes
 * are not instant. With a share, the test route is sent only while the header rule is on (not at 100%).
 */

import { HookFailedError, HookUnavailableError } from '../core/errors';
import { HOOK_STAGES } from '../core/hook-stages';
import {
  callSeconds,
  decideHook,
  type HookOutcome,
  hookEvidence,
  hookRequest,
  TEST_ROUTE_POLL_SECONDS,
} from '../core/hooks';
import { headerRuleOn } from '../core/plan';
import { planStepSchema } from '../core/plan-step';
import { headerRuleOf } from '../core/routes';
import * as v from '../core/valibot';
import type { Clock, HookCaller, Log, RolloutStore, StateChangeBus, TrafficRouter } from '../ports';
import { routedInput } from './lib/inputs';
import { checkpoint, recordHistory } from './lib/procedures';
import { task } from './lib/task';

export interface RunHookDeps {
  store: RolloutStore;
  clock: Clock;
  router: TrafficRouter;
  hooks: HookCaller;
  log?: Log;
  events?: StateChangeBus;
}

const progressSchema = v.object({
  stage: v.picklist(HOOK_STAGES),
  step: v.optional(planStepSchema),
  /** The hook being called (its place in the stage's list). */
  index: v.optional(v.pipe(v.int(), v.minValue(0)), 0),
  calls: v.optional(v.pipe(v.int(), v.minValue(0)), 0),
  failures: v.optional(v.pipe(v.int(), v.minValue(0)), 0),
  /** When the hook's first call was made (ISO); absent before it. */
  since: v.optional(v.string()),
  /** Whether its "running" was recorded already (recorded once, not at every poll). */
  running: v.optional(v.boolean(), false),
});
type Progress = v.InferOutput<typeof progressSchema>;

const input = v.object({ ...routedInput.entries, hook: progressSchema });

/** What the workflow carries to the next call: `done` ends the stage; else wait `waitSeconds` and call again. */
export type HookProgressOut = Progress & { done: boolean; waitSeconds: number };

const stepLabel = (p: Progress) => (p.step ? ` at step ${p.step.index + 1} (${p.step.weight}%)` : '');

export function makeRunHook(deps: RunHookDeps) {
  const { store, clock, router } = deps;
  return task('run-hook input', input, async ({ rollout, route, hook: p }): Promise<HookProgressOut> => {
    const current = await checkpoint(store, rollout);
    const spec = (rollout.config.hooks?.[p.stage] ?? [])[p.index];
    if (!spec) return { ...p, done: true, waitSeconds: 0 };
    const now = clock.now();
    const since = p.since ?? now.toISOString();
    const elapsed = Math.max(0, Math.round((now.getTime() - Date.parse(since)) / 1000));
    const label = `hook ${spec.name} (${p.stage}${stepLabel(p)})`;
    // The canary's share now: at 0% (before traffic, before the first step, a test step) the header rule reaches
    // it only once opened as the test route; otherwise the rule is on exactly while headerRuleOn says so.
    const share = current.canaryPercent ?? 0;
    const rule = headerRuleOf(route);
    if (share === 0 && rule) {
      const open = await router.verifyWeights(route, 0, { testRoute: true });
      if (!open) {
        if (elapsed >= spec.timeoutSeconds)
          throw new HookUnavailableError(`${label}: the test route (header rule) did not open`);
        await router.setWeights(route, 0, { testRoute: true });
        return { ...p, since, done: false, waitSeconds: clock.workflowSeconds(TEST_ROUTE_POLL_SECONDS) };
      }
    }
    const calls = p.calls + 1;
    // Sent while the header rule reaches the canary: opened above at 0%, on below 100%.
    const headerRule = headerRuleOn(share, { testRoute: true }) ? rule : undefined;
    const request = hookRequest(
      { rollout, route: { headerRule }, stage: p.stage, step: p.step },
      spec.name,
      calls,
      since,
    );
    const outcome = await deps.hooks.call(spec, request, callSeconds(spec, elapsed));
    const decision = decideHook(spec, { calls, failures: p.failures, elapsedSeconds: elapsed }, outcome);
    const record = (status: 'pass' | 'fail' | 'running' | 'unavailable', message: string) =>
      recordHistory(deps, rollout, 'hook', message, {
        stage: p.stage,
        hook: spec.name,
        status,
        calls,
        ...(p.step ? { step: p.step.index, weight: p.step.weight } : {}),
        ...evidenceOf(outcome),
      });
    if (decision.kind === 'passed') {
      await record('pass', `${label} passed${said(outcome)}`);
      const next: Progress = { stage: p.stage, index: p.index + 1, calls: 0, failures: 0, running: false };
      if (p.step) next.step = p.step;
      const more = p.index + 1 < (rollout.config.hooks?.[p.stage]?.length ?? 0);
      return { ...next, done: !more, waitSeconds: 0 };
    }
    if (decision.kind === 'failed') {
      await record('fail', `${label} failed: ${decision.reason}`);
      throw new HookFailedError(`${label} failed: ${decision.reason}`);
    }
    if (decision.kind === 'unavailable') {
      await record('unavailable', `${label} could not be called: ${decision.reason}`);
      throw new HookUnavailableError(`${label} could not be called: ${decision.reason}`);
    }
    const running = outcome.kind === 'answer';
    if (running && !p.running) await record('running', `${label} running${said(outcome)}`);
    else if (!running)
      deps.log?.info('hook call failed; retrying', { hook: spec.name, stage: p.stage, calls });
    return {
      ...p,
      since,
      calls,
      failures: decision.failures,
      running: p.running || running,
      done: false,
      waitSeconds: clock.workflowSeconds(decision.seconds),
    };
  });
}

function said(outcome: HookOutcome): string {
  return outcome.kind === 'answer' && outcome.answer.message
    ? `: ${hookEvidence(outcome.answer).message}`
    : '';
}

function evidenceOf(outcome: HookOutcome): { message?: string; details?: string } {
  if (outcome.kind === 'answer') return hookEvidence(outcome.answer);
  return { message: outcome.message };
}
