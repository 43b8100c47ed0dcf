import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  albWeights,
  buildPlan,
  canaryPercent,
  STEP_PRESET_NAMES,
  STEP_PRESETS,
  type StepSpec,
  stepListProblems,
} from '../../functions/core/plan';

/** Every percentage with one decimal, 0.0 … 100.0, built from integer tenths so there is no float drift. */
const oneDecimalPercent = fc.integer({ min: 0, max: 1000 }).map((tenths) => tenths / 10);

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

describe('albWeights', () => {
  describe('known percentages', () => {
    it.each([
      [0, { stable: 1, canary: 0 }],
      [0.1, { stable: 999, canary: 1 }],
      [5, { stable: 19, canary: 1 }],
      [10, { stable: 9, canary: 1 }],
      [25, { stable: 3, canary: 1 }],
      [33.3, { stable: 667, canary: 333 }],
      [50, { stable: 1, canary: 1 }],
      [99.9, { stable: 1, canary: 999 }],
      [100, { stable: 0, canary: 1 }],
    ])('%s%% → %o', (percent, expected) => {
      // Act
      const weights = albWeights(percent);

      // Assess
      expect(weights).toEqual(expected);
    });
  });

  describe('for every one-decimal percentage', () => {
    it('round-trips through canaryPercent exactly', () => {
      fc.assert(
        fc.property(oneDecimalPercent, (p) => {
          expect(canaryPercent(albWeights(p))).toBe(p);
        }),
      );
    });

    it('gives integer weights within the ALB range 0–999', () => {
      fc.assert(
        fc.property(oneDecimalPercent, (p) => {
          const { stable, canary } = albWeights(p);
          for (const w of [stable, canary]) {
            expect(Number.isInteger(w)).toBe(true);
            expect(w).toBeGreaterThanOrEqual(0);
            expect(w).toBeLessThanOrEqual(999);
          }
          expect(stable + canary).toBeGreaterThan(0);
        }),
      );
    });

    it('gives the smallest exact ratio (the weights share no factor)', () => {
      fc.assert(
        fc.property(oneDecimalPercent, (p) => {
          const { stable, canary } = albWeights(p);
          expect(gcd(stable, canary)).toBe(1);
          expect(canary * 1000).toBe(Math.round(p * 10) * (stable + canary));
        }),
      );
    });

    it('is checked exhaustively too (all 1001 values)', () => {
      // Act
      const mismatches = Array.from({ length: 1001 }, (_, t) => t / 10).filter(
        (p) => canaryPercent(albWeights(p)) !== p,
      );

      // Assess
      expect(mismatches).toEqual([]);
    });
  });

  describe('out of range', () => {
    it.each([-0.1, -1, 100.1, 1000, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY])(
      'throws a RangeError for %s',
      (percent) => {
        // Act
        const act = () => albWeights(percent);

        // Assess
        expect(act).toThrow(RangeError);
        expect(act).toThrow(/0–100/);
      },
    );
  });
});

describe('canaryPercent', () => {
  it('reads unreduced weights the ALB may report', () => {
    expect(canaryPercent({ stable: 900, canary: 100 })).toBe(10);
    expect(canaryPercent({ stable: 950, canary: 50 })).toBe(5);
    expect(canaryPercent({ stable: 2, canary: 1 })).toBe(33.3);
  });

  it('treats both weights at zero as no canary traffic', () => {
    expect(canaryPercent({ stable: 0, canary: 0 })).toBe(0);
  });

  it('is 0 and 100 at the ends', () => {
    expect(canaryPercent({ stable: 1, canary: 0 })).toBe(0);
    expect(canaryPercent({ stable: 0, canary: 999 })).toBe(100);
  });
});

describe('stepListProblems', () => {
  it.each(STEP_PRESET_NAMES)('finds no problem in the preset %s', (name) => {
    expect(stepListProblems(STEP_PRESETS[name])).toEqual([]);
  });

  it('every preset ends at 100 and its weights round-trip through ALB weights', () => {
    for (const name of STEP_PRESET_NAMES) {
      const steps = STEP_PRESETS[name];
      expect(steps.at(-1)?.weight).toBe(100);
      for (const s of steps) expect(canaryPercent(albWeights(s.weight))).toBe(s.weight);
    }
  });

  it('accepts a valid list', () => {
    // Prepare
    const steps: StepSpec[] = [
      { weight: 0.1, bakeSeconds: 60 },
      { weight: 33.3, bakeSeconds: 60, approval: true },
      { weight: 100, bakeSeconds: 0 },
    ];

    // Act
    const problems = stepListProblems(steps);

    // Assess
    expect(problems).toEqual([]);
  });

  it('accepts any increasing list of one-decimal weights ending at 100', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 1, max: 999 }), { maxLength: 20 }), (tenths) => {
        const steps = [...tenths.sort((a, b) => a - b), 1000].map((t) => ({
          weight: t / 10,
          bakeSeconds: 60,
        }));
        expect(stepListProblems(steps)).toEqual([]);
      }),
    );
  });

  it('rejects an empty list without naming a step', () => {
    expect(stepListProblems([])).toEqual([{ index: null, message: 'at least one step is required' }]);
  });

  it('names a weight that does not increase', () => {
    // Act
    const problems = stepListProblems([
      { weight: 25, bakeSeconds: 60 },
      { weight: 25, bakeSeconds: 60 },
      { weight: 100, bakeSeconds: 0 },
    ]);

    // Assess
    expect(problems).toEqual([{ index: 1, message: 'weights must increase: 25 follows 25' }]);
  });

  it('names the last step when it is not 100', () => {
    // Act
    const problems = stepListProblems([
      { weight: 25, bakeSeconds: 60 },
      { weight: 75, bakeSeconds: 60 },
    ]);

    // Assess
    expect(problems).toEqual([{ index: 1, message: 'the last step must be 100, got 75' }]);
  });

  it.each([0, -10, 100.5, 250, Number.NaN])('names the step with weight %s as out of range', (weight) => {
    // Act
    const problems = stepListProblems([
      { weight, bakeSeconds: 60 },
      { weight: 100, bakeSeconds: 0 },
    ]);

    // Assess
    expect(problems.filter((p) => p.index === 0).map((p) => p.message)).toContainEqual(
      expect.stringMatching(/above 0 and at most 100/),
    );
  });

  it.each([12.25, 0.05, 33.33])('names the step with weight %s as having more than one decimal', (weight) => {
    // Act
    const problems = stepListProblems([
      { weight, bakeSeconds: 60 },
      { weight: 100, bakeSeconds: 0 },
    ]);

    // Assess
    expect(problems).toEqual([{ index: 0, message: `weight takes at most one decimal, got ${weight}` }]);
  });

  it('reports every problem in one pass', () => {
    // Act
    const problems = stepListProblems([
      { weight: 50, bakeSeconds: 60 },
      { weight: 10.55, bakeSeconds: 60 },
      { weight: 90, bakeSeconds: 60 },
    ]);

    // Assess
    expect(problems.map((p) => p.index)).toEqual([1, 1, 2]);
  });
});

describe('buildPlan', () => {
  it('numbers the steps and makes approval explicit', () => {
    // Prepare
    const steps: StepSpec[] = [
      { weight: 10, bakeSeconds: 300 },
      { weight: 50, bakeSeconds: 600, approval: true },
      { weight: 100, bakeSeconds: 0, approval: false },
    ];

    // Act
    const plan = buildPlan(steps);

    // Assess
    expect(plan).toEqual([
      { index: 0, weight: 10, bakeSeconds: 300, approval: false },
      { index: 1, weight: 50, bakeSeconds: 600, approval: true },
      { index: 2, weight: 100, bakeSeconds: 0, approval: false },
    ]);
  });

  it.each(STEP_PRESET_NAMES)('builds the preset %s', (name) => {
    // Act
    const plan = buildPlan(STEP_PRESETS[name]);

    // Assess
    expect(plan.map((s) => s.weight)).toEqual(STEP_PRESETS[name].map((s) => s.weight));
    expect(plan.map((s) => s.index)).toEqual(plan.map((_, i) => i));
  });

  it('throws a RangeError listing the problems of an invalid list', () => {
    // Act
    const act = () =>
      buildPlan([
        { weight: 50, bakeSeconds: 60 },
        { weight: 10, bakeSeconds: 60 },
      ]);

    // Assess
    expect(act).toThrow(RangeError);
    expect(act).toThrow('weights must increase: 10 follows 50; the last step must be 100, got 10');
  });

  it('throws for an empty list', () => {
    expect(() => buildPlan([])).toThrow(/at least one step/);
  });
});
