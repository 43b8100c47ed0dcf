import { describe, expect, it } from 'vitest';
import type { AnalysisPolicy } from '../../functions/core/config';
import { ErrorName } from '../../functions/core/errors';
import type { Verdict, VerdictResult } from '../../functions/core/judge';
import type { PlanStep } from '../../functions/core/plan';
import { decide, quarantines } from '../../functions/core/rules';
import { type ConfigOverrides, validParsedConfig } from '../helpers/config';

function policy(analysis: ConfigOverrides['analysis'] = {}): AnalysisPolicy {
  return validParsedConfig({ analysis }).analysis;
}

function verdict(result: VerdictResult, reason = `the ${result} reason`): Verdict {
  const summary = { requests: 1000, errors: 1, errorRate: 0.001, p99Ms: 120 };
  return { result, reason, canary: summary, baseline: summary, metrics: [] };
}

function step(overrides: Partial<PlanStep> = {}): PlanStep {
  return { index: 1, weight: 25, bakeSeconds: 300, approval: false, ...overrides };
}

describe('decide', () => {
  describe('a failed analysis', () => {
    it.each([0, 2, 3, 10])('rolls back, whatever the extensions used (%s)', (used) => {
      // Act
      const decision = decide(
        verdict('fail', 'errorRate: canary 4%'),
        step(),
        used,
        policy({ maxExtensions: 3 }),
      );

      // Assess
      expect(decision).toEqual({ action: 'rollback', reason: 'errorRate: canary 4%' });
    });

    it('rolls back even on a step that asks for approval and a policy that advances on inconclusive', () => {
      // Act
      const decision = decide(
        verdict('fail'),
        step({ approval: true }),
        0,
        policy({ onInconclusive: 'advance' }),
      );

      // Assess
      expect(decision.action).toBe('rollback');
    });
  });

  describe('an inconclusive analysis', () => {
    it('bakes again while extensions are left, counting them', () => {
      // Act
      const first = decide(
        verdict('inconclusive', 'not enough canary traffic yet'),
        step(),
        0,
        policy({ maxExtensions: 3 }),
      );
      const last = decide(verdict('inconclusive'), step(), 2, policy({ maxExtensions: 3 }));

      // Assess
      expect(first.action).toBe('bakeAgain');
      expect(first.reason).toContain('not enough canary traffic yet');
      expect(first.reason).toContain('1 of 3');
      expect(last.action).toBe('bakeAgain');
      expect(last.reason).toContain('3 of 3');
    });

    it('bakes again on an approval step too (the evidence comes first)', () => {
      // Act
      const decision = decide(verdict('inconclusive'), step({ approval: true }), 0, policy());

      // Assess
      expect(decision.action).toBe('bakeAgain');
    });

    it('rolls back when the extensions are used up and the policy says rollback', () => {
      // Act
      const decision = decide(
        verdict('inconclusive', 'no canary latency data'),
        step(),
        3,
        policy({ maxExtensions: 3, onInconclusive: 'rollback' }),
      );

      // Assess
      expect(decision.action).toBe('rollback');
      expect(decision.reason).toContain('after 3 extension(s)');
      expect(decision.reason).toContain('no canary latency data');
    });

    it('rolls back at once with no extensions allowed', () => {
      // Act
      const decision = decide(verdict('inconclusive'), step(), 0, policy({ maxExtensions: 0 }));

      // Assess
      expect(decision.action).toBe('rollback');
    });

    it('advances when the extensions are used up and the policy says advance', () => {
      // Act
      const decision = decide(
        verdict('inconclusive'),
        step(),
        3,
        policy({ maxExtensions: 3, onInconclusive: 'advance' }),
      );

      // Assess
      expect(decision.action).toBe('advance');
      expect(decision.reason).toContain('inconclusive');
      expect(decision.reason).toContain('policy');
    });

    it('asks for approval instead of advancing on an approval step', () => {
      // Act
      const decision = decide(
        verdict('inconclusive'),
        step({ approval: true }),
        3,
        policy({ maxExtensions: 3, onInconclusive: 'advance' }),
      );

      // Assess
      expect(decision.action).toBe('awaitApproval');
      expect(decision.reason).toContain('inconclusive');
    });

    it('never bakes again beyond the bound', () => {
      for (let used = 0; used <= 6; used++) {
        const decision = decide(verdict('inconclusive'), step(), used, policy({ maxExtensions: 4 }));
        expect(decision.action).toBe(used < 4 ? 'bakeAgain' : 'rollback');
      }
    });
  });

  describe('a passed analysis', () => {
    it('advances', () => {
      // Act
      const decision = decide(verdict('pass', 'all good'), step(), 0, policy());

      // Assess
      expect(decision).toEqual({ action: 'advance', reason: 'all good' });
    });

    it('advances after extensions were used', () => {
      expect(decide(verdict('pass'), step(), 3, policy({ maxExtensions: 3 })).action).toBe('advance');
    });

    it('waits for approval on a step that asks for it', () => {
      // Act
      const decision = decide(verdict('pass', 'all good'), step({ approval: true }), 0, policy());

      // Assess
      expect(decision).toEqual({ action: 'awaitApproval', reason: 'all good' });
    });
  });
});

describe('quarantines', () => {
  it.each([
    ErrorName.CanaryFailed,
    ErrorName.AlarmFired,
    ErrorName.ApprovalRejected,
    ErrorName.ApprovalTimedOut,
    ErrorName.CanaryNotReady,
  ])('keeps the image out after %s', (name) => {
    expect(quarantines(name)).toBe(true);
  });

  it.each([
    ErrorName.Aborted,
    ErrorName.Superseded,
    ErrorName.ConfigInvalid,
    ErrorName.InputInvalid,
    ErrorName.TargetNotFound,
    ErrorName.LockHeld,
    ErrorName.WeightsNotApplied,
    ErrorName.Transient,
    'States.Timeout',
    'States.TaskFailed',
    'Lambda.ServiceException',
    '',
  ])('does not keep the image out after %s (not the image’s fault)', (name) => {
    expect(quarantines(name)).toBe(false);
  });
});
