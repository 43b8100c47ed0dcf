import { describe, expect, it } from 'vitest';
import type { AnalysisPolicy } from '../../functions/core/config';
import { ErrorName } from '../../functions/core/errors';
import type { HistoryEntry } from '../../functions/core/history';
import type { MetricEvidence, Verdict, VerdictReason, VerdictResult } from '../../functions/core/judge';
import type { PlanStep } from '../../functions/core/plan';
import {
  afterAnalysis,
  analysisWait,
  decide,
  nextBakeWait,
  quarantines,
  stepBakeSeconds,
} from '../../functions/core/rules';
import { decisionText } from '../../functions/views/evidence-text';
import { type ConfigOverrides, validParsedConfig } from '../helpers/config';

function policy(analysis: ConfigOverrides['analysis'] = {}): AnalysisPolicy {
  return validParsedConfig({ analysis }).analysis;
}

const ALARMS_OK: MetricEvidence = {
  metric: 'alarms',
  result: 'pass',
  canary: 0,
  baseline: null,
  limit: 0,
  reason: 'alarmsOk',
  facts: { firing: [], alarmCount: 2 },
};
const ALARM_FIRING: MetricEvidence = {
  ...ALARMS_OK,
  result: 'fail',
  canary: 1,
  reason: 'alarmsFiring',
  facts: { firing: ['web-5xx'], alarmCount: 2 },
};
const NO_LATENCY_DATA: MetricEvidence = {
  metric: 'latencyP99',
  result: 'inconclusive',
  canary: null,
  baseline: null,
  limit: null,
  reason: 'noLatencyData',
  facts: {},
};

const DEFAULT_REASONS: Record<VerdictResult, VerdictReason> = {
  pass: 'passed',
  fail: 'alarmFiring',
  inconclusive: 'unsettled',
};

function verdict(result: VerdictResult, reason: VerdictReason = DEFAULT_REASONS[result]): Verdict {
  const summary = { requests: 1000, errors: 1, errorRate: 0.001, p99Ms: 120 };
  const metrics = { pass: [ALARMS_OK], fail: [ALARM_FIRING], inconclusive: [NO_LATENCY_DATA, ALARMS_OK] }[
    result
  ];
  return { result, reason, minRequests: 200, canary: summary, baseline: summary, metrics };
}

function step(overrides: Partial<PlanStep> = {}): PlanStep {
  return { index: 1, weight: 25, bakeSeconds: 300, approval: false, ...overrides };
}

describe('decide', () => {
  describe('a failed analysis', () => {
    it.each([0, 2, 3, 10])('rolls back, whatever the extensions used (%s)', (used) => {
      // Act
      const decision = decide(verdict('fail'), step(), used, policy({ maxExtensions: 3 }));

      // Assess
      expect(decision).toEqual({ action: 'rollback', because: 'failed' });
      expect(decisionText(decision, verdict('fail'))).toBe('in ALARM: web-5xx');
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
      const first = decide(verdict('inconclusive', 'lowTraffic'), step(), 0, policy({ maxExtensions: 3 }));
      const last = decide(verdict('inconclusive'), step(), 2, policy({ maxExtensions: 3 }));

      // Assess
      expect(first.action).toBe('bakeAgain');
      expect(first).toEqual({ action: 'bakeAgain', because: 'extending', extensions: { used: 0, max: 3 } });
      expect(decisionText(first, verdict('inconclusive', 'lowTraffic'))).toContain(
        'not enough canary traffic yet',
      );
      expect(decisionText(first, verdict('inconclusive'))).toContain('1 of 3');
      expect(last.action).toBe('bakeAgain');
      expect(decisionText(last, verdict('inconclusive'))).toContain('3 of 3');
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
        verdict('inconclusive'),
        step(),
        3,
        policy({ maxExtensions: 3, onInconclusive: 'rollback' }),
      );

      // Assess
      expect(decision.action).toBe('rollback');
      expect(decision.because).toBe('extensionsUsedUp');
      expect(decisionText(decision, verdict('inconclusive'))).toBe(
        'still inconclusive after 3 extension(s): no canary latency data',
      );
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
      expect(decision).toEqual({ action: 'advance', because: 'inconclusiveByPolicy' });
      expect(decisionText(decision, verdict('inconclusive'))).toBe(
        'advancing on inconclusive evidence by policy: no canary latency data',
      );
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
      expect(decisionText(decision, verdict('inconclusive'))).toContain('inconclusive');
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
      const decision = decide(verdict('pass'), step(), 0, policy());

      // Assess
      expect(decision).toEqual({ action: 'advance', because: 'passed' });
      expect(decisionText(decision, verdict('pass'))).toBe('2 gating alarm(s) OK');
    });

    it('advances after extensions were used', () => {
      expect(decide(verdict('pass'), step(), 3, policy({ maxExtensions: 3 })).action).toBe('advance');
    });

    it('waits for approval on a step that asks for it', () => {
      // Act
      const decision = decide(verdict('pass'), step({ approval: true }), 0, policy());

      // Assess
      expect(decision).toEqual({ action: 'awaitApproval', because: 'passed' });
    });
  });
});

describe('decide mid-bake (bake left after this analysis)', () => {
  const earlyPass = (): Verdict => ({ ...verdict('pass', 'notWorse'), earlyPass: true });

  it('rolls back at once on a failing verdict, with most of the bake left', () => {
    const decision = decide(verdict('fail'), step(), 0, policy(), 540);
    expect(decision).toEqual({ action: 'rollback', because: 'failed' });
  });

  it('keeps baking on a plain pass, without counting an extension', () => {
    const decision = decide(verdict('pass'), step(), 0, policy({ maxExtensions: 0 }), 240);
    expect(decision).toEqual({ action: 'keepBaking', because: 'baking', bakeLeftSeconds: 240 });
    expect(decisionText(decision, verdict('pass'))).toBe(
      'pass, 240 s of the bake left: 2 gating alarm(s) OK',
    );
  });

  it('keeps baking on an inconclusive verdict even with no extensions allowed and onInconclusive rollback', () => {
    const decision = decide(
      verdict('inconclusive', 'lowTraffic'),
      step(),
      0,
      policy({ maxExtensions: 0, onInconclusive: 'rollback' }),
      60,
    );
    expect(decision.action).toBe('keepBaking');
  });

  it('advances early when the evidence shows the canary not worse', () => {
    const decision = decide(earlyPass(), step(), 0, policy(), 240);
    expect(decision).toEqual({ action: 'advance', because: 'earlyPass', bakeLeftSeconds: 240 });
    expect(decisionText(decision, earlyPass())).toBe(
      'early pass with 240 s of the bake left: not worse (early pass): 2 gating alarm(s) OK',
    );
  });

  it("keeps baking a step that keeps its whole bake (blue/green's rollback window), even shown not worse", () => {
    const decision = decide(earlyPass(), step({ earlyPass: false }), 0, policy(), 240);
    expect(decision).toEqual({ action: 'keepBaking', because: 'baking', bakeLeftSeconds: 240 });
    // Once its bake is over it advances as any step.
    expect(decide(earlyPass(), step({ earlyPass: false }), 0, policy(), 0).action).toBe('advance');
  });

  it('goes to the approval early on a step that asks for one', () => {
    expect(decide(earlyPass(), step({ approval: true }), 0, policy(), 240).action).toBe('awaitApproval');
  });

  it('bakes in full when the policy turns early pass off', () => {
    expect(decide(earlyPass(), step(), 0, policy({ earlyPass: false }), 240).action).toBe('keepBaking');
  });

  it('decides as at the bake end once nothing is left', () => {
    expect(decide(verdict('pass'), step(), 0, policy(), 0).action).toBe('advance');
    expect(decide(verdict('inconclusive'), step(), 0, policy({ maxExtensions: 2 }), 0).action).toBe(
      'bakeAgain',
    );
  });
});

describe('decide with too little canary traffic', () => {
  const lowTraffic = (): Verdict => ({
    ...verdict('inconclusive', 'lowTraffic'),
    canary: { requests: 150, errors: 0, errorRate: 0, p99Ms: 120 },
    lowTraffic: true,
  });

  it('waits for traffic without using up an extension, even with none left and onInconclusive rollback', () => {
    const decision = decide(
      lowTraffic(),
      step(),
      3,
      policy({ maxExtensions: 3, onInconclusive: 'rollback' }),
    );
    expect(decision.action).toBe('awaitTraffic');
    expect(decision).toEqual({ action: 'awaitTraffic', because: 'awaitingTraffic' });
    expect(decisionText(decision, lowTraffic())).toBe(
      'not enough canary traffic yet: 150 of 200 requests; waiting for traffic',
    );
  });

  it('keeps baking mid-bake as for any other inconclusive verdict', () => {
    expect(decide(lowTraffic(), step(), 0, policy(), 120).action).toBe('keepBaking');
  });

  it('at a 0% step (test traffic only) counts low traffic as inconclusive: extensions, then onInconclusive', () => {
    const test = step({ weight: 0 });
    const p = policy({ maxExtensions: 2, onInconclusive: 'rollback' });
    expect(decide(lowTraffic(), test, 0, p).action).toBe('bakeAgain');
    expect(decide(lowTraffic(), test, 2, p)).toEqual({
      action: 'rollback',
      because: 'extensionsUsedUp',
      extensions: { used: 2, max: 2 },
    });
    const advancing = policy({ maxExtensions: 2, onInconclusive: 'advance' });
    expect(decide(lowTraffic(), test, 2, advancing).action).toBe('advance');
  });

  it('still rolls back an inconclusive verdict that is not about traffic once the extensions are used up', () => {
    const held = decide(
      verdict('inconclusive'),
      step(),
      3,
      policy({ maxExtensions: 3, onInconclusive: 'rollback' }),
    );
    expect(held.action).toBe('rollback');
  });
});

describe('nextBakeWait', () => {
  it('waits one analysis interval and leaves the rest', () => {
    expect(nextBakeWait(300, policy())).toEqual({ wait: 60, left: 240 });
    expect(nextBakeWait(300, policy({ intervalSeconds: 120 }))).toEqual({ wait: 120, left: 180 });
  });

  it('waits what remains when it is shorter than the interval, and nothing for no bake', () => {
    expect(nextBakeWait(45, policy())).toEqual({ wait: 45, left: 0 });
    expect(nextBakeWait(0, policy())).toEqual({ wait: 0, left: 0 });
  });
});

describe('analysisWait: analyses spaced out in long rollouts', () => {
  it('waits the minimum for the first hour, then 1/60 of the time since the canary started', () => {
    expect(analysisWait(60, 0)).toBe(60);
    expect(analysisWait(60, 3600)).toBe(60);
    expect(analysisWait(60, 7200)).toBe(120);
    expect(analysisWait(60, 86_400)).toBe(1440);
    expect(analysisWait(300, 7200)).toBe(300);
  });

  it('keeps a week of analyses far inside the 25,000-event execution history', () => {
    let elapsed = 0;
    let analyses = 0;
    while (elapsed < 7 * 86_400) {
      elapsed += analysisWait(60, elapsed);
      analyses++;
    }
    // ~13 history events per analysis loop (Bake, Analyze, Decide).
    expect(analyses).toBeLessThan(400);
    expect(analyses * 13).toBeLessThan(25_000 / 4);
  });

  it('spaces a bake out the same way, never past what is left of it', () => {
    expect(nextBakeWait(3600, policy(), 7200)).toEqual({ wait: 120, left: 3480 });
    expect(nextBakeWait(90, policy(), 86_400)).toEqual({ wait: 90, left: 0 });
  });
});

describe('afterAnalysis: the wait that follows a decision', () => {
  const loop = { bakeLeft: 240, extensions: 2 };

  it('takes the next slice of the bake, keeping the extension count', () => {
    expect(afterAnalysis('keepBaking', loop, policy(), 3600, 0)).toEqual({
      waitSeconds: 60,
      bakeLeft: 180,
      extensions: 2,
    });
  });

  it('counts an extension but not a wait for traffic; both wait an extension, spaced out late', () => {
    const p = policy({ extensionSeconds: 30 });
    expect(afterAnalysis('bakeAgain', loop, p, 3600, 0)).toEqual({
      waitSeconds: 30,
      bakeLeft: 0,
      extensions: 3,
    });
    expect(afterAnalysis('awaitTraffic', loop, p, 3600, 7200)).toEqual({
      waitSeconds: 120,
      bakeLeft: 0,
      extensions: 2,
    });
  });

  it('waits for the approval timeout, and not at all to advance or roll back', () => {
    expect(afterAnalysis('awaitApproval', loop, policy(), 3600, 0).waitSeconds).toBe(3600);
    expect(afterAnalysis('advance', loop, policy(), 3600, 0)).toEqual({
      waitSeconds: 0,
      bakeLeft: 0,
      extensions: 2,
    });
    expect(afterAnalysis('rollback', loop, policy(), 3600, 0).waitSeconds).toBe(0);
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

  const at = '2026-03-14T09:30:00.000Z';
  const atStep = { step: 0, weight: 5 };
  const summary = { requests: 100, errors: 0, errorRate: 0, p99Ms: 80 };
  const entries = {
    weight: { at, type: 'weight', message: 'weight', detail: atStep },
    drift: { at, type: 'drift', message: 'drift', detail: atStep },
    analysis: {
      at,
      type: 'analysis',
      message: 'analysis',
      detail: {
        ...atStep,
        verdict: 'pass',
        action: 'advance',
        reason: 'ok',
        canary: summary,
        baseline: summary,
      },
    },
  } satisfies Record<string, HistoryEntry>;
  const entry = (type: keyof typeof entries) => entries[type];
  it.each([ErrorName.ApprovalRejected, ErrorName.ApprovalTimedOut])(
    'does not keep the image out after %s while paused for listener drift, and does once the weights were restored',
    (name) => {
      expect(quarantines(name, [entry('weight'), entry('analysis'), entry('drift')])).toBe(false);
      expect(quarantines(name, [entry('weight'), entry('drift'), entry('weight')])).toBe(true);
      expect(quarantines(ErrorName.CanaryFailed, [entry('weight'), entry('drift')])).toBe(true);
    },
  );
});

describe('stepBakeSeconds', () => {
  it('a step bakes its configured time plus the metric delay, so its last analysis judges the whole bake', () => {
    expect(stepBakeSeconds(300, validParsedConfig().analysis)).toBe(420);
    expect(stepBakeSeconds(300, validParsedConfig({ analysis: { metricDelaySeconds: 0 } }).analysis)).toBe(
      300,
    );
    expect(stepBakeSeconds(60, validParsedConfig({ analysis: { metricDelaySeconds: 300 } }).analysis)).toBe(
      360,
    );
    // A step that does not bake is not judged: it does not wait for the delay either.
    expect(stepBakeSeconds(0, validParsedConfig().analysis)).toBe(0);
  });
});
