import { describe, expect, it } from 'vitest';
import { parseServiceConfig, type ServiceConfigInput, stepSpecs } from '../../functions/core/config';
import { BLUE_GREEN_PRESET_NAMES, BLUE_GREEN_PRESETS } from '../../functions/core/config-strategy';
import { ConfigInvalidError } from '../../functions/core/errors';
import { buildPlan, headerRuleOn, stepListProblems, stepWeightOptions } from '../../functions/core/plan';
import { validServiceConfig } from '../helpers/config';

const HEADER_RULE = { header: 'x-canary', values: ['always'], priority: 10 };

/** A blue/green service: the valid config's fields, a header rule, no steps. */
function blueGreen(fields: Partial<ServiceConfigInput> = {}): ServiceConfigInput {
  const { steps: _steps, ...base } = validServiceConfig();
  return {
    ...base,
    traffic: { ...base.traffic, headerRule: HEADER_RULE } as ServiceConfigInput['traffic'],
    strategy: 'blueGreen',
    ...fields,
  };
}

function issues(value: unknown): string[] {
  try {
    parseServiceConfig(value);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigInvalidError);
    return (error as ConfigInvalidError).issues.map((i) => `${i.path}: ${i.message}`);
  }
  throw new Error('expected the config to be rejected');
}

describe('the strategy in the service config', () => {
  it('is canary by default: the configured steps are the plan', () => {
    const config = parseServiceConfig(validServiceConfig());
    expect(config.strategy).toBe('canary');
    expect(buildPlan(stepSpecs(config)).map((s) => s.weight)).toEqual([5, 25, 50, 100]);
  });

  it('plans blue/green as a test step at 0% and a switch to 100% baked in full for the rollback window', () => {
    const config = parseServiceConfig(
      blueGreen({ blueGreen: { testSeconds: 300, approval: true, rollbackWindowSeconds: 1800 } }),
    );
    expect(buildPlan(stepSpecs(config))).toEqual([
      { index: 0, weight: 0, bakeSeconds: 300, approval: true },
      { index: 1, weight: 100, bakeSeconds: 1800, approval: false, earlyPass: false },
    ]);
  });

  it.each(BLUE_GREEN_PRESET_NAMES)('takes the preset %s', (name) => {
    const plan = buildPlan(stepSpecs(parseServiceConfig(blueGreen({ blueGreen: name }))));
    const preset = BLUE_GREEN_PRESETS[name];
    expect(plan.map((s) => [s.weight, s.bakeSeconds])).toEqual([
      [0, preset.testSeconds],
      [100, preset.rollbackWindowSeconds],
    ]);
  });

  it('defaults blue/green to a 10-minute test and an hour-long window', () => {
    const plan = buildPlan(stepSpecs(parseServiceConfig(blueGreen())));
    expect(plan.map((s) => s.bakeSeconds)).toEqual([600, 3600]);
  });

  it('refuses what the strategies do not take, naming the field', () => {
    expect(issues(blueGreen({ steps: 'Canary5Percent10Minutes' }))).toEqual([
      'steps: not with strategy "blueGreen"',
    ]);
    expect(issues({ ...validServiceConfig(), blueGreen: 'BlueGreen5MinutesTest15MinutesWindow' })).toEqual([
      'blueGreen: only with strategy "blueGreen"',
    ]);
    const { steps: _steps, ...noSteps } = validServiceConfig();
    expect(issues(noSteps)).toEqual(['steps: required by strategy "canary"']);
    expect(issues(blueGreen({ traffic: validServiceConfig().traffic }))[0]).toMatch(
      /^traffic\.headerRule: required by strategy "blueGreen"/,
    );
    expect(issues(blueGreen({ strategy: 'rolling' as never }))).toEqual([
      'strategy: Invalid option: expected one of "canary"|"blueGreen"',
    ]);
  });

  it('refuses a bad blue/green field, naming it', () => {
    expect(issues(blueGreen({ blueGreen: 'BlueGreen1Minute' as never }))[0]).toMatch(
      /^blueGreen: must be a preset \(BlueGreen5MinutesTest15MinutesWindow, /,
    );
    expect(issues(blueGreen({ blueGreen: { testSeconds: 60, rollbackWindowSeconds: -1 } }))[0]).toMatch(
      /^blueGreen\.rollbackWindowSeconds: /,
    );
    expect(
      issues(blueGreen({ blueGreen: { testSeconds: 0, approval: true, rollbackWindowSeconds: 60 } })),
    ).toEqual(['blueGreen.testSeconds: an approval needs testSeconds > 0']);
    expect(
      issues(blueGreen({ blueGreen: { testSeconds: 60, rollbackWindowSeconds: 60, window: 1 } as never })),
    ).toEqual(['blueGreen.window: unknown field']);
  });

  it('holds a blue/green plan to the execution limits like any plan', () => {
    const tooLong = blueGreen({
      blueGreen: { testSeconds: 86_400, approval: true, rollbackWindowSeconds: 86_400 },
      approvals: { timeoutSeconds: 7 * 86_400, onTimeout: 'rollback' },
    });
    expect(issues(tooLong).join('\n')).toMatch(/604,800/);
  });
});

describe('the test step', () => {
  it('is 0% only as the first step of a plan, never in configured canary steps', () => {
    const steps = [
      { weight: 0, bakeSeconds: 60 },
      { weight: 100, bakeSeconds: 60 },
    ];
    expect(stepListProblems(steps, { testStep: true })).toEqual([]);
    expect(stepListProblems(steps)).toEqual([
      { index: 0, message: 'weight must be above 0 and at most 100, got 0' },
    ]);
    expect(() =>
      buildPlan([
        { weight: 5, bakeSeconds: 60 },
        { weight: 0, bakeSeconds: 60 },
        { weight: 100, bakeSeconds: 0 },
      ]),
    ).toThrow(/got 0/);
  });

  it('opens the test route: the header rule reaches the canary at 0% only when a test step asks', () => {
    expect(stepWeightOptions({ weight: 0 })).toEqual({ testRoute: true });
    expect(stepWeightOptions({ weight: 5 })).toEqual({});
    expect(headerRuleOn(0, { testRoute: true })).toBe(true);
    expect(headerRuleOn(0)).toBe(false);
    expect(headerRuleOn(25)).toBe(true);
    expect(headerRuleOn(100, { testRoute: true })).toBe(false);
  });
});
