/**
 * The sentence every surface leads with, for each kind of verdict: judged by the real judge where a window makes
 * the case, built from evidence where the case needs many minutes of traffic.
 */
import { describe, expect, it } from 'vitest';
import type { AnalysisPolicy } from '../../functions/core/config';
import {
  type AlarmState,
  judge,
  type MetricEvidence,
  type MetricWindow,
  type PeriodStats,
  type Verdict,
} from '../../functions/core/judge';
import type { RolloutRecord } from '../../functions/core/rollout';
import { recordSentence, verdictKind, verdictSentence } from '../../functions/views/headline';
import { validParsedConfig } from '../helpers/config';

const START = Date.parse('2025-03-14T09:30:00Z');
const OK: AlarmState[] = [{ name: 'web-5xx-high', state: 'OK' }];

function policy(): AnalysisPolicy {
  return validParsedConfig({ analysis: { alarms: undefined } }).analysis;
}

/** n one-minute periods from START with the same counts. */
function steady(n: number, requests: number, errors: number): PeriodStats[] {
  return Array.from({ length: n }, (_, i) => ({
    start: new Date(START + i * 60_000).toISOString(),
    requests,
    errors,
    p99Ms: 120,
  }));
}

function window(canary: PeriodStats[], baseline: PeriodStats[]): MetricWindow {
  return {
    from: new Date(START).toISOString(),
    to: new Date(START + canary.length * 60_000).toISOString(),
    periodSeconds: 60,
    canary,
    baseline,
  };
}

/** A verdict whose one deciding check is `m` (the others pass). */
function verdictWith(result: Verdict['result'], reason: Verdict['reason'], m: MetricEvidence): Verdict {
  return {
    result,
    reason,
    minRequests: 200,
    canary: { requests: 4000, errors: 8, errorRate: 0.002, p99Ms: 130 },
    baseline: { requests: 40000, errors: 20, errorRate: 0.0005, p99Ms: 120 },
    metrics: [m],
  };
}

const counts = { canaryEvents: 400, canaryRequests: 4000, baselineEvents: 400, baselineRequests: 40000 };

describe('verdictSentence', () => {
  it('says a pass plainly: no sign the canary is worse, its errors against stable, what to do', () => {
    // Prepare
    const verdict = judge(window(steady(5, 135, 0), steady(5, 2000, 1)), OK, policy());

    // Act
    const sentence = verdictSentence(verdict, 'approve to go to 100%');

    // Assess
    expect(verdict.result).toBe('pass');
    expect(sentence).toBe(
      'No sign the canary is worse: 0 errors in 675 requests against 0.05% on stable; approve to go to 100%',
    );
  });

  it('says an early pass is shown not worse', () => {
    // Prepare
    const verdict: Verdict = { ...judge(window(steady(5, 135, 0), steady(5, 2000, 1)), OK, policy()) };
    verdict.earlyPass = true;

    // Act
    const sentence = verdictSentence(verdict);

    // Assess
    expect(sentence).toMatch(/^The canary is shown not worse: 0 errors in 675 requests .*; nothing to do/);
  });

  it('says a failed error rate: the canary fails more than stable, with the counts', () => {
    // Prepare
    const verdict = judge(window(steady(10, 500, 25), steady(10, 5000, 5)), OK, policy());

    // Act
    const sentence = verdictSentence(verdict);

    // Assess
    expect(verdict.reason).toBe('checkFailed');
    expect(sentence).toBe(
      'The canary fails more requests than stable: 250 errors in 5000 requests against 0.10% on stable; ' +
        'the rollout rolls back to stable; look at the canary before pushing it again',
    );
  });

  it('names the firing alarm', () => {
    // Prepare
    const verdict = judge(
      window(steady(5, 135, 0), steady(5, 2000, 1)),
      [{ name: 'web-5xx-high', state: 'ALARM' }],
      policy(),
    );

    // Act
    const sentence = verdictSentence(verdict);

    // Assess
    expect(verdict.reason).toBe('alarmFiring');
    expect(sentence).toMatch(/^Alarm web-5xx-high is firing; the rollout rolls back to stable/);
  });

  it('says too little traffic is a wait, not a failure', () => {
    // Prepare
    const verdict = judge(window(steady(3, 40, 0), steady(3, 2000, 1)), OK, policy());

    // Act
    const sentence = verdictSentence(verdict);

    // Assess
    expect(verdictKind(verdict)).toBe('lowTraffic');
    expect(sentence).toBe(
      'Too little canary traffic to judge yet: 120 of 200 requests; nothing to do, the step waits for traffic',
    );
  });

  it.each([
    [
      'the error rate above its ceiling',
      {
        metric: 'errorRate',
        reason: 'aboveCeiling',
        facts: { ceiling: 0.05, canarySide: { rate: 0.06, errors: 60, requests: 1000 } },
      },
      "The canary's error rate is above its 5.00% ceiling: 60 errors in 1000 requests",
    ],
    [
      'the error rate without stable traffic',
      {
        metric: 'errorRate',
        reason: 'noBaseline',
        limit: 0.005,
        facts: { canarySide: { rate: 0.01, errors: 10, requests: 1000 } },
      },
      "The canary's error rate is above its 0.50% limit (no stable traffic to compare): 10 errors in 1000 requests",
    ],
    [
      'slow requests',
      { metric: 'latencyP99', reason: 'shownWorse', counts, facts: { thresholdMs: 250 } },
      'The canary is slower than stable: 10.00% of its requests above 250 ms against 1.00% on stable',
    ],
    [
      'the whole latency distribution',
      { metric: 'latencyP50', reason: 'shownWorse', counts, facts: { thresholdMs: 80 } },
      "The canary is slower than stable: 10.00% of its requests above stable's median against 1.00% on stable",
    ],
    [
      'the p99 ceiling',
      { metric: 'latencyP99', reason: 'aboveCeiling', counts, facts: { warmP99Ms: 912, ceiling: 800 } },
      "The canary's p99 of 912 ms is above its 800 ms ceiling",
    ],
    [
      'the p99 comparison',
      { metric: 'latencyP99', reason: 'p99Compared', canary: 300, baseline: 120, limit: 150, facts: {} },
      'The canary is slower than stable: p99 300 ms against 120 ms, above its 150 ms limit',
    ],
    [
      'no healthy target',
      { metric: 'targetHealth', reason: 'noHealthyTarget', facts: { minutes: 2 } },
      'The canary had no healthy target for 2 minutes while it had weight',
    ],
    [
      'every target unhealthy',
      { metric: 'targetHealth', reason: 'allUnhealthy', facts: { minutes: 1 } },
      'Every canary target was unhealthy for 1 minute while serving traffic',
    ],
    [
      "X-Ray's errors",
      {
        metric: 'xray.errorRate',
        reason: 'shownWorse',
        facts: {
          canarySide: { rate: 0.2, errors: 20, requests: 100 },
          baselineSide: { rate: 0.01, errors: 10, requests: 1000 },
        },
      },
      'The canary fails more requests than stable (X-Ray traces): 20 errors in 100 requests against 1.00% on stable',
    ],
  ] as const)('says a failure on %s in plain words first', (_name, check, expected) => {
    // Prepare
    const m = { result: 'fail', canary: null, baseline: null, limit: null, ...check } as MetricEvidence;

    // Act
    const sentence = verdictSentence(verdictWith('fail', 'checkFailed', m));

    // Assess
    expect(sentence).toBe(
      `${expected}; the rollout rolls back to stable; look at the canary before pushing it again`,
    );
  });

  it('says evidence building against the canary holds the step', () => {
    // Prepare
    const m = {
      metric: 'errorRate',
      result: 'inconclusive',
      canary: 0.002,
      baseline: 0.0005,
      limit: 0.01,
      reason: 'lookingWorse',
      lookingWorse: true,
      facts: {},
    } as MetricEvidence;

    // Act
    const sentence = verdictSentence(verdictWith('inconclusive', 'unsettled', m));

    // Assess
    expect(sentence).toBe(
      'The canary may be worse on errors, the evidence is still building; nothing to do yet, the bake goes on',
    );
  });

  it('says a warming canary is not judged yet', () => {
    // Prepare
    const m = {
      metric: 'latencyP99',
      result: 'inconclusive',
      canary: null,
      baseline: null,
      limit: null,
      reason: 'warmingUp',
      facts: { warmupSeconds: 120 },
    } as MetricEvidence;

    // Act
    const sentence = verdictSentence(verdictWith('inconclusive', 'unsettled', m));

    // Assess
    expect(sentence).toMatch(/^Not judged yet: the canary is still warming up; /);
  });

  it('puts no statistics in the sentence: no e-value, no confidence sequence', () => {
    // Prepare
    const verdict = judge(window(steady(10, 500, 25), steady(10, 5000, 5)), OK, policy());

    // Act
    const sentence = verdictSentence(verdict);

    // Assess
    expect(sentence).not.toMatch(/e-value|CS|ratio/);
  });
});

describe('recordSentence', () => {
  const record = (over: Partial<RolloutRecord>): RolloutRecord => ({
    rolloutId: 'web-faec26f150531ab9',
    service: 'web',
    image: { repository: 'acme/web', tag: 'v2', digest: `sha256:${'a'.repeat(64)}` },
    status: 'running',
    alarms: [],
    createdAt: '2025-03-14T09:30:00.000Z',
    updatedAt: '2025-03-14T09:40:00.000Z',
    ...over,
  });

  it('asks for a decision while the rollout waits for approval', () => {
    // Prepare
    const lastVerdict = judge(window(steady(5, 135, 0), steady(5, 2000, 1)), OK, policy());
    const waiting = record({
      lastVerdict,
      wait: { kind: 'approval', step: 1, token: 't', since: '2025-03-14T09:40:00.000Z' },
    });

    // Act
    const sentence = recordSentence(waiting);

    // Assess
    expect(sentence).toBe(
      'No sign the canary is worse: 0 errors in 675 requests against 0.05% on stable; approve to continue ' +
        '(`canary approve web`), or reject to roll back (`canary reject web`)',
    );
  });

  it('says how a rollout ended, naming the image the one way', () => {
    // Act
    const promoted = recordSentence(record({ status: 'promoted' }));
    const rolledBack = recordSentence(
      record({
        status: 'rolledBack',
        outcome: { result: 'rolledBack', reason: 'AlarmFired: web-5xx-high', at: '' },
      }),
    );

    // Assess
    expect(promoted).toBe("acme/web:v2 was promoted and serves all of web's traffic; nothing to do");
    expect(rolledBack).toBe(
      'acme/web:v2 was rolled back, stable serves all traffic (AlarmFired: web-5xx-high); look at the canary before pushing it again',
    );
  });
});
