/**
 * What one execution of the state machine can hold: Step Functions keeps at most 25,000 events in a Standard
 * execution's history (the execution fails past it) and the definition stops an execution after its TimeoutSeconds
 * (Step Functions developer guide, "Quotas for Standard Workflows" and "Handling errors": TIMED_OUT). A config is
 * refused when its plan, in the worst case, could not fit either, so no rollout fails for a reason its config alone
 * shows.
 */
import { maxCapacityPolls } from './capacity';
import { HOOK_STAGES, type HookStage } from './hook-stages';
import { DEFAULT_ANALYSIS_INTERVAL_SECONDS, SPACING_DIVISOR, stepBakeSeconds } from './rules';

/** statemachine/canary.asl.json TimeoutSeconds (the definition test holds them equal): a week. */
export const EXECUTION_TIMEOUT_SECONDS = 604_800;
/** Step Functions' history quota for a Standard execution. */
export const HISTORY_EVENT_LIMIT = 25_000;
/**
 * What a plan may use in the worst case; the rest is kept for retries (each retried attempt adds about three
 * events: 5,000 events are more than 1,500 retries) and for an operator's interventions.
 */
export const HISTORY_EVENT_BUDGET = 20_000;

/**
 * History events per state, counted from the definition (a state entered and exited: 2; a Lambda task adds
 * scheduled, started, succeeded/failed: 5; a `.waitForTaskToken` task adds submitted: 6).
 */
export const EVENTS = {
  /**
   * Start, Prepare, the loop's entry, promotion (three tasks, the drain), notification, end; or the rollback path;
   * the choices before traffic and after the last step that look for hooks.
   */
  fixed: 54,
  /**
   * SelectStep, BeforeStepHooks, ScaleCanary, IsCapacityReady, SetWeight, IsWeightHeld, ShouldBake, StepDone,
   * HasNextStep; and HeldStep, SelectHeldStep when a person's pause holds the step's weight change.
   */
  perStep: 28,
  /** AwaitApproval and the choices after it. */
  perApproval: 10,
  /** Bake, AfterBake, AfterBakeHooks, Analyze, Decide. */
  perAnalysis: 17,
  /** A stage's hooks entered (Start<Stage>Hooks). */
  perHookRun: 2,
  /** RunHook, HookDone, WaitForHook: one call of a hook. */
  perHookCall: 9,
  /** CheckReady, IsReady, the Wait. */
  perReadinessPoll: 9,
  /** WaitForCapacity, CheckCapacity, IsCapacityReady: a step's capacity poll (core/capacity.ts bounds them). */
  perCapacityPoll: 9,
} as const;

export interface PlanLimitsInput {
  steps: readonly { bakeSeconds: number; approval?: boolean }[];
  analysis: {
    intervalSeconds?: number;
    maxExtensions: number;
    extensionSeconds: number;
    metricDelaySeconds?: number;
  };
  approvals: { timeoutSeconds: number };
  readiness: { timeoutSeconds: number; pollSeconds: number };
  /** With `ttlSeconds`, weighted records: cached answers expire before the delay starts. */
  traffic: { deregistrationDelaySeconds: number; headerRule?: unknown; ttlSeconds?: number };
  hooks?: Partial<
    Record<HookStage, readonly { timeoutSeconds: number; pollSeconds: number; retries: number }[]>
  >;
}

/**
 * The most analyses an execution can make within `seconds`, when no wait is shorter than `minimumWait`: waits are
 * spaced by at least 1/SPACING_DIVISOR of the time elapsed (rules.ts analysisWait), so the count grows with the
 * logarithm of the duration. Every step may add one shorter wait (the end of its bake).
 */
export function maxAnalyses(seconds: number, minimumWait: number, steps: number): number {
  let elapsed = 0;
  let count = 0;
  while (elapsed < seconds) {
    elapsed += Math.max(minimumWait, Math.ceil(elapsed / SPACING_DIVISOR));
    count++;
  }
  return count + steps;
}

export interface PlanWorstCase {
  /** History events if every step uses its extensions, waits its approvals out and the canary waits for traffic. */
  events: number;
  readinessPolls: number;
  /** Every step's capacity polls, each step waiting out the readiness timeout for its tasks. */
  capacityPolls: number;
  analyses: number;
  /** Seconds the plan takes when every bake runs in full, every extension is used and every approval times out. */
  seconds: number;
  /** History events of the hooks, and the stage that makes the most (`most` of them). */
  hooks: { events: number; most: number; stage: HookStage };
  parts: {
    hooks: number;
    bakes: number;
    extensions: number;
    approvals: number;
    readiness: number;
    capacity: number;
    drain: number;
  };
}

export function planWorstCase(
  plan: PlanLimitsInput,
  timeoutSeconds = EXECUTION_TIMEOUT_SECONDS,
): PlanWorstCase {
  const steps = plan.steps.length;
  const approvalSteps = plan.steps.filter((s) => s.approval).length;
  // The canary's readiness, then the stable service's during promotion.
  const readinessPolls = 2 * Math.ceil(plan.readiness.timeoutSeconds / plan.readiness.pollSeconds);
  const capacityPolls = steps * maxCapacityPolls(plan.readiness);
  const minimumWait = Math.min(
    plan.analysis.intervalSeconds ?? DEFAULT_ANALYSIS_INTERVAL_SECONDS,
    plan.analysis.extensionSeconds,
  );
  const analyses = maxAnalyses(timeoutSeconds, minimumWait, steps);
  // Hooks: each run polled to its timeout, every call retried; afterBake runs before every analysis.
  const runs = { beforeTraffic: 1, beforeStep: steps, afterBake: analyses, afterPromotion: 1 };
  const hooks = { events: 0, seconds: 0, most: 0, stage: 'afterBake' as HookStage };
  for (const stage of HOOK_STAGES) {
    const list = plan.hooks?.[stage] ?? [];
    const testRoute = stage === 'beforeTraffic' && plan.traffic.headerRule !== undefined;
    // A "running" answer every pollSeconds until the timeout, each after up to `retries` failed calls (core/hooks.ts
    // decideHook); before traffic, the test route checked every 5 s (TEST_ROUTE_POLL_SECONDS) within the timeout.
    const calls = list.reduce(
      (k, h) =>
        k +
        (Math.floor(h.timeoutSeconds / h.pollSeconds) + 1) * (h.retries + 1) +
        (testRoute ? Math.ceil(h.timeoutSeconds / 5) : 0),
      0,
    );
    const events = list.length && runs[stage] * (EVENTS.perHookRun + calls * EVENTS.perHookCall);
    hooks.events += events;
    hooks.seconds += runs[stage] * list.reduce((k, h) => k + h.timeoutSeconds, 0);
    if (events > hooks.most) Object.assign(hooks, { most: events, stage });
  }
  const events =
    hooks.events +
    EVENTS.fixed +
    steps * EVENTS.perStep +
    approvalSteps * EVENTS.perApproval +
    analyses * EVENTS.perAnalysis +
    readinessPolls * EVENTS.perReadinessPoll +
    capacityPolls * EVENTS.perCapacityPoll;
  const parts = {
    hooks: hooks.seconds,
    // Each baking step bakes its bakeSeconds plus the metric delay (rules.ts stepBakeSeconds).
    bakes: plan.steps.reduce((sum, s) => sum + stepBakeSeconds(s.bakeSeconds, plan.analysis), 0),
    extensions:
      plan.steps.filter((s) => s.bakeSeconds > 0).length *
      plan.analysis.maxExtensions *
      plan.analysis.extensionSeconds,
    approvals: approvalSteps * plan.approvals.timeoutSeconds,
    readiness: 2 * plan.readiness.timeoutSeconds,
    capacity: steps * plan.readiness.timeoutSeconds,
    drain: plan.traffic.deregistrationDelaySeconds + (plan.traffic.ttlSeconds ?? 0),
  };
  const seconds =
    parts.hooks +
    parts.bakes +
    parts.extensions +
    parts.approvals +
    parts.readiness +
    parts.capacity +
    parts.drain;
  return { events, readinessPolls, capacityPolls, analyses, seconds, hooks, parts };
}

export interface LimitIssue {
  /** The config field to change. */
  path: (string | number)[];
  message: string;
}

const n = (x: number) => x.toLocaleString('en-US');

/** Why a plan cannot fit one execution; empty when it fits. */
export function planLimitIssues(
  plan: PlanLimitsInput,
  timeoutSeconds = EXECUTION_TIMEOUT_SECONDS,
): LimitIssue[] {
  const issues: LimitIssue[] = [];
  const worst = planWorstCase(plan, timeoutSeconds);
  const { hooks } = worst;
  if (worst.events > HISTORY_EVENT_BUDGET && hooks.most > worst.events / 2) {
    issues.push({
      path: ['hooks', hooks.stage],
      message:
        `can make ${n(hooks.most)} of the rollout's ${n(worst.events)} history events, over the ` +
        `${n(HISTORY_EVENT_BUDGET)} it may use: lower timeoutSeconds or retries, or raise pollSeconds`,
    });
  } else if (worst.events > HISTORY_EVENT_BUDGET) {
    const pollEvents = worst.readinessPolls * EVENTS.perReadinessPoll;
    const rest = worst.events - pollEvents;
    const { timeoutSeconds: readinessTimeout, pollSeconds } = plan.readiness;
    const pollsAllowed = Math.floor((HISTORY_EVENT_BUDGET - rest) / EVENTS.perReadinessPoll / 2);
    if (pollEvents > rest && pollsAllowed > 0) {
      issues.push({
        path: ['readiness', 'pollSeconds'],
        message:
          `timeoutSeconds ${n(readinessTimeout)} polled every ${n(pollSeconds)} s makes up to ${n(worst.readinessPolls)} polls ` +
          `(canary and stable), ${n(pollEvents)} history events, and the plan up to ${n(rest)} more: over the ` +
          `${n(HISTORY_EVENT_BUDGET)} an execution may use (Step Functions keeps ${n(HISTORY_EVENT_LIMIT)}); ` +
          `poll every ${n(Math.ceil(readinessTimeout / pollsAllowed))} s or more, or lower readiness.timeoutSeconds`,
      });
    } else {
      issues.push({
        path: ['steps'],
        message:
          `the plan can make up to ${n(worst.events)} history events (${n(plan.steps.length)} steps, up to ` +
          `${n(worst.analyses)} analyses, ${n(worst.readinessPolls)} readiness polls, ${n(worst.capacityPolls)} capacity polls): over the ` +
          `${n(HISTORY_EVENT_BUDGET)} an execution may use (Step Functions keeps ${n(HISTORY_EVENT_LIMIT)}); ` +
          'use fewer steps, a longer analysis.intervalSeconds or analysis.extensionSeconds, or fewer readiness polls',
      });
    }
  }
  if (worst.seconds > timeoutSeconds) {
    const p = worst.parts;
    issues.push({
      path: ['steps'],
      message:
        `the plan can take up to ${n(worst.seconds)} s (bakes ${n(p.bakes)} s, extensions ${n(p.extensions)} s ` +
        `[analysis.maxExtensions × analysis.extensionSeconds per bake], approvals ${n(p.approvals)} s ` +
        `[approvals.timeoutSeconds per approval step], readiness ${n(p.readiness)} s, capacity waits ${n(p.capacity)} s ` +
        `[readiness.timeoutSeconds per step], drain ${n(p.drain)} s${p.hooks ? `, hooks ${n(p.hooks)} s` : ''}): ` +
        `longer than an execution may run (${n(timeoutSeconds)} s), after which it would time out and roll back`,
    });
  }
  return issues;
}
