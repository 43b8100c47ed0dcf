/**
 * The report: its time is the caller's (no clock read), each rollout's section leads with one sentence, and the
 * sandbox's summary leads with the same sentences.
 */
import { describe, expect, it } from 'vitest';
import type { StoredHistoryEntry } from '../../functions/core/history';
import type { RolloutRecord } from '../../functions/core/rollout';
import { renderHtml, traceFromHistory } from '../../functions/views/report-html';
import { summaryLines } from '../../sandbox/report';

const CREATED = '2025-03-14T09:30:00.000Z';

function record(over: Partial<RolloutRecord> = {}): RolloutRecord {
  return {
    rolloutId: 'web-faec26f150531ab9',
    service: 'web',
    image: { repository: 'acme/web', tag: 'v2', digest: `sha256:${'b'.repeat(64)}` },
    status: 'running',
    alarms: [],
    createdAt: CREATED,
    updatedAt: CREATED,
    canaryPercent: 10,
    ...over,
  };
}

const HISTORY: StoredHistoryEntry[] = [
  { at: '2025-03-14T09:31:00.000Z', type: 'weight', message: 'step 1: 10%', detail: { step: 0, weight: 10 } },
];

describe('traceFromHistory', () => {
  it("ends a running rollout's charts at the time the caller gives, not at the machine's clock", () => {
    // Prepare
    const at = (minutes: number) => new Date(Date.parse(CREATED) + minutes * 60_000);

    // Act
    const early = traceFromHistory(record(), HISTORY, undefined, at(5));
    const late = traceFromHistory(record(), HISTORY, undefined, at(50));

    // Assess
    expect(early.toMs).toBe(5 * 60_000);
    expect(late.toMs).toBe(50 * 60_000);
  });

  it("ends an ended rollout's charts at its outcome, whatever the time given", () => {
    // Prepare
    const ended = record({
      status: 'promoted',
      outcome: { result: 'promoted', reason: 'every step passed', at: '2025-03-14T09:45:00.000Z' },
    });

    // Act
    const trace = traceFromHistory(ended, HISTORY, undefined, new Date('2030-01-01T00:00:00Z'));

    // Assess
    expect(trace.toMs).toBe(15 * 60_000);
  });
});

describe('renderHtml', () => {
  it('leads each rollout with one sentence, the image named the one way, before the figures and charts', () => {
    // Prepare
    const ended = record({
      status: 'rolledBack',
      outcome: { result: 'rolledBack', reason: 'AlarmFired: web-5xx-high', at: '2025-03-14T09:45:00.000Z' },
    });
    const trace = traceFromHistory(ended, HISTORY, undefined, new Date('2025-03-14T09:50:00Z'));

    // Act
    const html = renderHtml([trace]);

    // Assess
    const lead =
      'acme/web:v2 was rolled back, stable serves all traffic (AlarmFired: web-5xx-high); look at the canary ' +
      'before pushing it again';
    expect(html).toContain(
      `<h2>acme/web:v2 — <b class="bad">rolled back</b></h2>\n<p class="lead">${lead}</p>`,
    );
    expect(html.indexOf(lead)).toBeLessThan(html.indexOf('<svg'));
  });
});

describe("the sandbox's summary", () => {
  it('leads with one sentence per rollout, then the table', () => {
    // Prepare
    const promoted = record({
      status: 'promoted',
      outcome: { result: 'promoted', reason: 'every step passed', at: '2025-03-14T09:45:00.000Z' },
    });
    const trace = traceFromHistory(promoted, HISTORY, undefined, new Date('2025-03-14T09:50:00Z'));

    // Act
    const lines = summaryLines([trace]);

    // Assess
    expect(lines[0]).toBe("v2: acme/web:v2 was promoted and serves all of web's traffic; nothing to do");
    expect(lines[2]).toMatch(/^version {2}outcome/);
    expect(lines[3]).toMatch(/^v2 {7}promoted/);
  });
});
