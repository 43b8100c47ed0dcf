/**
 * The approval page's HTML: it leads with one sentence (what the last analysis found, what each button does),
 * the statistics only in the evidence table below it, and escapes everything a record holds.
 */
import { describe, expect, it } from 'vitest';
import type { AnalysisPolicy } from '../../functions/core/config';
import { judge, type PeriodStats } from '../../functions/core/judge';
import type { RolloutRecord } from '../../functions/core/rollout';
import { approvalBody, decidedBody, staleText } from '../../functions/views/approval-page';
import { traceFromHistory } from '../../functions/views/report-html';
import { validParsedConfig } from '../helpers/config';

const START = Date.parse('2025-03-14T09:30:00Z');

function steady(n: number, requests: number, errors: number): PeriodStats[] {
  return Array.from({ length: n }, (_, i) => ({
    start: new Date(START + i * 60_000).toISOString(),
    requests,
    errors,
    p99Ms: 120,
  }));
}

function waiting(over: Partial<RolloutRecord> = {}): RolloutRecord {
  const policy: AnalysisPolicy = validParsedConfig({ analysis: { alarms: undefined } }).analysis;
  const lastVerdict = judge(
    {
      from: new Date(START).toISOString(),
      to: new Date(START + 5 * 60_000).toISOString(),
      periodSeconds: 60,
      canary: steady(5, 135, 0),
      baseline: steady(5, 2000, 1),
    },
    [],
    policy,
  );
  return {
    rolloutId: 'web-faec26f150531ab9',
    service: 'web',
    image: { repository: 'acme/web', tag: 'v2', digest: `sha256:${'c'.repeat(64)}` },
    status: 'running',
    alarms: [],
    createdAt: new Date(START).toISOString(),
    updatedAt: new Date(START).toISOString(),
    canaryPercent: 10,
    lastVerdict,
    wait: { kind: 'approval', step: 0, token: 'token', since: new Date(START).toISOString() },
    ...over,
  };
}

function body(record: RolloutRecord): string {
  const trace = traceFromHistory(record, [], undefined, new Date(START + 10 * 60_000));
  return approvalBody(record, 0, trace, 'link');
}

describe('approvalBody', () => {
  it('leads with one sentence: what the analysis found and what approving does', () => {
    // Act
    const html = body(waiting());

    // Assess
    expect(html).toMatch(
      /^<h1>Approve web step 1\?<\/h1>\n<p class="lead" id="headline">No sign the canary is worse: 0 errors in 675 requests against 0\.05% on stable; approve to continue the rollout of acme\/web:v2 past step 1, or reject to roll back to stable<\/p>\n<table id="rollout">/,
    );
  });

  it('keeps the statistics below the sentence, in the evidence table only', () => {
    // Act
    const html = body(waiting());

    // Assess
    const table = html.indexOf('<table id="evidence">');
    expect(table).toBeGreaterThan(html.indexOf('id="headline"'));
    expect(html.slice(0, table)).not.toMatch(/e-value|CS /);
    expect(html.slice(table)).toMatch(/e-value/);
  });

  it('says so when no analysis has run yet', () => {
    // Act
    const html = body(waiting({ lastVerdict: undefined }));

    // Assess
    expect(html).toContain('<p class="lead" id="headline">No analysis has run yet; approve to continue');
  });

  it('escapes what the record holds', () => {
    // Act
    const html = body(waiting({ service: '<script>x</script>' }));

    // Assess
    expect(html).not.toContain('<script>');
    expect(html).toContain('&#60;script&#62;');
  });
});

describe('the results of a decision', () => {
  it('says what an approval does and warns when its record may lag', () => {
    // Act
    const html = decidedBody('approve', waiting(), 0, true);

    // Assess
    expect(html).toContain(
      '<p id="result">Step 1 of web-faec26f150531ab9 (acme/web:v2) is approved: the rollout continues.</p>',
    );
    expect(html).toContain('id="lag"');
  });

  it('says where a rollout went when its link is stale', () => {
    // Act
    const text = staleText(
      waiting({ wait: { kind: 'bake', step: 2, token: 't', since: new Date(START).toISOString() } }),
      undefined,
      false,
    );

    // Assess
    expect(text).toBe(
      'Rollout web-faec26f150531ab9 of acme/web:v2 is no longer waiting for this approval (status: running, now waiting for bake at step 3).',
    );
  });
});
