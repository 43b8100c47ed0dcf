/**
 * The judge's reason codes in words (the judge's own tests check every check's line against its figures): the
 * verdict's and the decision's reasons, X-Ray's lines, and a verdict stored before the judge returned codes.
 */
import { describe, expect, it } from 'vitest';
import { headlines } from '../../cli/output';
import type { MetricEvidence, Verdict } from '../../functions/core/judge';
import { decisionText, evidenceText, verdictText } from '../../functions/views/evidence-text';

const HEALTH: MetricEvidence = {
  metric: 'targetHealth',
  result: 'fail',
  canary: 2,
  baseline: null,
  limit: 0,
  reason: 'allUnhealthy',
  facts: { minutes: 2, from: '2025-03-14T09:31:00.000Z' },
};

function verdict(over: Partial<Verdict> = {}): Verdict {
  const summary = { requests: 1000, errors: 1, errorRate: 0.001, p99Ms: 120 };
  return {
    result: 'fail',
    reason: 'checkFailed',
    minRequests: 200,
    canary: summary,
    baseline: summary,
    metrics: [HEALTH],
    ...over,
  };
}

describe('verdictText', () => {
  it('names each failed check before its line', () => {
    // Act
    const text = verdictText(verdict());

    // Assess
    expect(text).toBe(
      'targetHealth: every canary target unhealthy for 2 whole minute(s) with traffic (from 2025-03-14T09:31:00.000Z), stable healthy',
    );
  });

  it('shows a verdict stored before reason codes by its own words', () => {
    // Prepare
    const stored = {
      ...verdict(),
      reason: 'errorRate: canary 4.00% (40/1000) vs stable 2.00%',
    } as unknown as Verdict;
    const legacy = {
      ...HEALTH,
      reason: undefined,
      detail: 'canary targets healthy',
    } as unknown as MetricEvidence;

    // Act
    const text = verdictText(stored);
    const line = evidenceText(legacy);

    // Assess
    expect(text).toBe('errorRate: canary 4.00% (40/1000) vs stable 2.00%');
    expect(line).toBe('canary targets healthy');
  });
});

describe('decisionText', () => {
  it('says an extension of the bake with its count', () => {
    // Prepare
    const v = verdict({
      result: 'inconclusive',
      reason: 'lowTraffic',
      canary: { ...verdict().canary, requests: 150 },
    });

    // Act
    const text = decisionText(
      { action: 'bakeAgain', because: 'extending', extensions: { used: 1, max: 3 } },
      v,
    );

    // Assess
    expect(text).toBe('not enough canary traffic yet: 150 of 200 requests; extending the bake (2 of 3)');
  });
});

describe('canary status', () => {
  it('leads with one sentence per rollout, cleaned for the terminal', () => {
    // Act
    const text = headlines([
      { service: 'web', headline: 'acme/web:v2 was promoted\u001b[31m; nothing to do' },
    ]);

    // Assess
    expect(text).toBe('web: acme/web:v2 was promoted; nothing to do\n\n');
  });
});
