/**
 * The steps a service's rollouts walk, from its config: the canary's steps, or blue/green's two. No schema here:
 * start-rollout and the reconciler plan a rollout from a config that was validated when it was published
 * (config.ts, config-strategy.ts validate it).
 */
import { ConfigInvalidError } from './errors';
import { STEP_PRESETS, type StepPresetName, type StepSpec } from './plan';

export interface BlueGreenSpec {
  /** How long the new version is tested on test traffic only (the header rule's requests), judged every interval. */
  testSeconds: number;
  /** Whether a person approves the switch once the tests passed. */
  approval?: boolean;
  /** How long the old version stays warm after the switch; an alarm or a failed analysis meanwhile switches back. */
  rollbackWindowSeconds: number;
}

export const BLUE_GREEN_PRESETS = {
  /** Tested 5 minutes, then switched, the old version kept warm 15 minutes. */
  BlueGreen5MinutesTest15MinutesWindow: { testSeconds: 300, rollbackWindowSeconds: 900 },
  /** Tested 10 minutes, then switched, the old version kept warm an hour. */
  BlueGreen10MinutesTest1HourWindow: { testSeconds: 600, rollbackWindowSeconds: 3600 },
  /** Tested 10 minutes, switched once a person approves, the old version kept warm an hour. */
  BlueGreenApprovalThen1HourWindow: { testSeconds: 600, approval: true, rollbackWindowSeconds: 3600 },
} as const satisfies Record<string, BlueGreenSpec>;

export type BlueGreenPresetName = keyof typeof BLUE_GREEN_PRESETS;
/** The plan of `strategy: 'blueGreen'` without a `blueGreen` field. */
export const DEFAULT_BLUE_GREEN: BlueGreenPresetName = 'BlueGreen10MinutesTest1HourWindow';

/** The message of a canary config without steps (config validation, and a plan asked of such a config). */
export const STEPS_REQUIRED = 'required by strategy "canary"';

/** A blue/green config as its two steps: test traffic only, then all traffic for the rollback window. */
export function blueGreenSteps(blueGreen: BlueGreenPresetName | BlueGreenSpec | undefined): StepSpec[] {
  const spec: BlueGreenSpec =
    typeof blueGreen === 'string' || blueGreen === undefined
      ? BLUE_GREEN_PRESETS[blueGreen ?? DEFAULT_BLUE_GREEN]
      : blueGreen;
  return [
    { weight: 0, bakeSeconds: spec.testSeconds, ...(spec.approval ? { approval: true } : {}) },
    { weight: 100, bakeSeconds: spec.rollbackWindowSeconds, earlyPass: false },
  ];
}

/** The fields of a service config that say its steps. */
export interface StepFields {
  service: string;
  strategy: 'canary' | 'blueGreen';
  steps?: StepPresetName | readonly StepSpec[];
  blueGreen?: BlueGreenPresetName | BlueGreenSpec;
}

/** The steps a service's rollouts walk: its canary steps, or the two steps of its blue/green strategy. */
export function stepSpecs(config: StepFields): readonly StepSpec[] {
  if (config.strategy === 'blueGreen') return blueGreenSteps(config.blueGreen);
  if (config.steps === undefined) {
    throw new ConfigInvalidError(`service config ${config.service}`, [
      { path: 'steps', message: STEPS_REQUIRED },
    ]);
  }
  return typeof config.steps === 'string' ? STEP_PRESETS[config.steps] : config.steps;
}
