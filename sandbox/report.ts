/**
 * The rollout report: JSON, and a self-contained HTML page (functions/views/report-html.ts, so the approval page
 * and the CLI draw the same charts), and the summary the sandbox prints: one sentence per rollout saying how it
 * went and what to do, then the table of its steps and figures.
 */
import { type RolloutTrace, traceSentence } from '../functions/views/report-html';

export { renderHtml } from '../functions/views/report-html';

export function summaryLines(traces: readonly RolloutTrace[]): string[] {
  const rows = traces.map(({ summary: s }) => {
    const steps = s.steps.map((x) => `${x.weight}:${x.verdict}`).join(' ');
    return `${s.version.padEnd(8)} ${s.outcome.padEnd(13)} ${steps.padEnd(47)} ${String(s.failedRequestsServed).padStart(13)}  ${(s.alarmToStableMs === null ? '-' : `${s.alarmToStableMs} ms`).padStart(12)}  ${s.reason.slice(0, 90)}`;
  });
  return [
    ...traces.map((t) => `${t.summary.version}: ${traceSentence(t)}`),
    '',
    'version  outcome       steps (weight:verdict)                          failed served  alarm→stable  reason',
    ...rows,
  ];
}
