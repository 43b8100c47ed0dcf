/**
 * Step plans and ALB weight maths. An ALB forward action takes integer weights 0–999 per target group; traffic
 * splits in proportion to them. Percentages here have one decimal (0.1% steps).
 */
import type { PlanStep } from './plan-step';
import { gcd } from './record-weights';

export interface StepSpec {
  /** 0 only for the first step of a plan: test traffic only (blue/green's test phase, core/config-strategy.ts). */
  weight: number;
  bakeSeconds: number;
  approval?: boolean;
  /** false: the bake is never ended early by a pass (blue/green's rollback window keeps the old version warm). */
  earlyPass?: false;
}

export type { PlanStep } from './plan-step';

export const STEP_PRESETS = /* @__PURE__ */ (() =>
  ({
    /** 5% for 10 minutes, then everything. */
    Canary5Percent10Minutes: [
      { weight: 5, bakeSeconds: 600 },
      { weight: 100, bakeSeconds: 0 },
    ],
    /** 10% for 5 minutes, then everything. */
    Canary10Percent5Minutes: [
      { weight: 10, bakeSeconds: 300 },
      { weight: 100, bakeSeconds: 0 },
    ],
    /** +10% every 3 minutes. */
    Linear10PercentEvery3Minutes: Array.from({ length: 10 }, (_, i) => ({
      weight: (i + 1) * 10,
      bakeSeconds: i === 9 ? 0 : 180,
    })),
    /** 5 → 10 → 25 → 50 → 100, five minutes each, and a final check at 100%. */
    Progressive5To100: [
      { weight: 5, bakeSeconds: 300 },
      { weight: 10, bakeSeconds: 300 },
      { weight: 25, bakeSeconds: 300 },
      { weight: 50, bakeSeconds: 300 },
      { weight: 100, bakeSeconds: 300 },
    ],
  }) as const satisfies Record<string, readonly StepSpec[]>)();

export type StepPresetName = keyof typeof STEP_PRESETS;
export const STEP_PRESET_NAMES = /* @__PURE__ */ (() => Object.keys(STEP_PRESETS) as StepPresetName[])();

/** The longest plan accepted. */
export const MAX_STEPS = 50;

/**
 * Problems with a step list, as messages naming the step; empty when the list is valid. `testStep`: the first step
 * may be 0% (test traffic only), as a blue/green plan's is; a configured list of canary steps may not.
 */
export function stepListProblems(
  steps: readonly StepSpec[],
  { testStep = false } = {},
): { index: number | null; message: string }[] {
  const problems: { index: number | null; message: string }[] = [];
  if (steps.length === 0) return [{ index: null, message: 'at least one step is required' }];
  // Each step adds ~30 events to the execution's history (Step Functions keeps at most 25,000).
  if (steps.length > MAX_STEPS)
    return [{ index: null, message: `at most ${MAX_STEPS} steps, got ${steps.length}` }];
  steps.forEach((step, index) => {
    const testOnly = testStep && index === 0 && step.weight === 0;
    if (!testOnly && !(step.weight > 0 && step.weight <= 100)) {
      problems.push({ index, message: `weight must be above 0 and at most 100, got ${step.weight}` });
    } else if (Math.round(step.weight * 10) !== step.weight * 10) {
      problems.push({ index, message: `weight takes at most one decimal, got ${step.weight}` });
    }
    const previous = steps[index - 1];
    if (previous && step.weight <= previous.weight) {
      problems.push({
        index,
        message: `weights must increase: ${step.weight} follows ${previous.weight}`,
      });
    }
  });
  const last = steps[steps.length - 1];
  if (last && last.weight !== 100) {
    problems.push({ index: steps.length - 1, message: `the last step must be 100, got ${last.weight}` });
  }
  return problems;
}

/** The plan an execution walks; its first step may be 0% (test traffic only, a blue/green plan). */
export function buildPlan(steps: readonly StepSpec[]): PlanStep[] {
  const problems = stepListProblems(steps, { testStep: true });
  if (problems.length > 0) throw new RangeError(problems.map((p) => p.message).join('; '));
  return steps.map((s, index) => ({
    index,
    weight: s.weight,
    bakeSeconds: s.bakeSeconds,
    approval: s.approval ?? false,
    ...(s.earlyPass === false ? { earlyPass: false as const } : {}),
  }));
}

/**
 * Whether the header rule sends its requests to the canary: while the canary has a share below 100%, and at 0% when
 * the weight change asks for the test route (`testRoute`: a plan's test step); 0% otherwise, and 100%, take it away.
 */
export function headerRuleOn(canaryPercent: number, options: { testRoute?: boolean } = {}): boolean {
  return canaryPercent < 100 && (canaryPercent > 0 || options.testRoute === true);
}

/** How a plan step weights the listener: a 0% step is test traffic only (the header rule on: the test route). */
export function stepWeightOptions(step: Pick<PlanStep, 'weight'>): { testRoute?: boolean } {
  return step.weight === 0 ? { testRoute: true } : {};
}

export interface AlbWeights {
  stable: number;
  canary: number;
}

/**
 * Integer ALB weights for a canary percentage, reduced to the smallest exact ratio (5% → 19:1, 0.1% → 999:1).
 * 0% and 100% put weight 1 on one side and 0 on the other, so the listener keeps both target groups.
 */
export function albWeights(canaryPercent: number): AlbWeights {
  if (!(canaryPercent >= 0 && canaryPercent <= 100)) {
    throw new RangeError(`canary percent must be within 0–100, got ${canaryPercent}`);
  }
  const canaryTenths = Math.round(canaryPercent * 10);
  const stableTenths = 1000 - canaryTenths;
  if (canaryTenths === 0) return { stable: 1, canary: 0 };
  if (stableTenths === 0) return { stable: 0, canary: 1 };
  const d = gcd(canaryTenths, stableTenths);
  return { stable: stableTenths / d, canary: canaryTenths / d };
}

/** The canary's share of traffic in percent (one decimal) for a pair of ALB weights. */
export function canaryPercent(weights: AlbWeights): number {
  const total = weights.stable + weights.canary;
  if (total === 0) return 0;
  return Math.round((weights.canary / total) * 1000) / 10;
}

/** The listener's weights disagree with the share the rollout set: someone (or something) else changed them. */
export interface TrafficDrift {
  expectedPercent: number;
  /** The canary's share between the two target groups as the listener shows it. */
  seenPercent: number;
  seen: AlbWeights;
  /** Other target groups the listener now sends traffic to (weight above 0). */
  others: string[];
}

/**
 * Whether the weights a listener shows (by target group ARN) still give the canary the share the rollout set.
 * The same share under other integers (2:2 for 1:1) is no drift; traffic to a third target group is.
 */
export function trafficDrift(
  weights: Readonly<Record<string, number>>,
  targetGroups: { stable: string; canary: string },
  expectedPercent: number,
): TrafficDrift | undefined {
  const seen = { stable: weights[targetGroups.stable] ?? 0, canary: weights[targetGroups.canary] ?? 0 };
  const others = Object.entries(weights)
    .filter(([arn, w]) => arn !== targetGroups.stable && arn !== targetGroups.canary && w > 0)
    .map(([arn]) => arn);
  const seenPercent = canaryPercent(seen);
  const expected = Math.round(expectedPercent * 10) / 10;
  if (others.length === 0 && seen.stable + seen.canary > 0 && seenPercent === expected) return undefined;
  return { expectedPercent: expected, seenPercent, seen, others };
}
