/** `canary check`'s output: readable text by default, or JSON. */
import { type Finding, hasErrors, type ServiceReport, type Status } from './findings';

const LABEL: Record<Status, string> = {
  error: 'error',
  warning: 'warning',
  'not-checked': 'not checked',
  ok: 'ok',
};

function count(findings: readonly Finding[], status: Status, noun: string): string | undefined {
  const n = findings.filter((f) => f.status === status).length;
  return n === 0 ? undefined : `${n} ${noun}${n > 1 ? 's' : ''}`;
}

export function checkText(reports: readonly ServiceReport[]): string {
  const label = Math.max(...Object.values(LABEL).map((l) => l.length));
  const check = Math.max(0, ...reports.flatMap((r) => r.findings.map((f) => f.check.length)));
  const indent = ' '.repeat(2 + label + 2 + check + 2);
  const out: string[] = [];
  for (const r of reports) {
    const summary =
      [
        count(r.findings, 'error', 'error'),
        count(r.findings, 'warning', 'warning'),
        count(r.findings, 'not-checked', 'check'),
      ]
        .filter(Boolean)
        .join(', ')
        .replace(/(\d+ checks?)$/, '$1 not run') || 'ready';
    out.push(`${r.service}: ${summary}`);
    for (const f of r.findings) {
      out.push(`  ${LABEL[f.status].padEnd(label)}  ${f.check.padEnd(check)}  ${f.message}`);
      if (f.fix) out.push(`${indent}fix: ${f.fix}`);
    }
    out.push('');
  }
  const failing = reports.filter((r) => r.findings.some((f) => f.status === 'error')).length;
  out.push(
    hasErrors(reports)
      ? `${failing} of ${reports.length} service${reports.length > 1 ? 's' : ''} would fail a rollout: fix the errors above.`
      : `No errors in ${reports.length} service${reports.length > 1 ? 's' : ''}.`,
  );
  return `${out.join('\n')}\n`;
}

export function checkJson(reports: readonly ServiceReport[]): string {
  return `${JSON.stringify({ ok: !hasErrors(reports), services: reports })}\n`;
}
