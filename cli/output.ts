/** How the CLI prints what it read: text without control sequences, JSON with them escaped. */

import { freeText } from '../functions/core/text';
import type { StatusRow } from './results';

/**
 * What the store holds was written by others (reasons, outcomes): shown in a terminal without the escape and
 * control sequences a record might carry (written before reasons were cleaned, or by another tool).
 */
export const terminalSafe = (text: string) => freeText(text, Number.POSITIVE_INFINITY);

/** JSON for scripts, with DEL and the C1 controls escaped too (JSON.stringify leaves them raw): the same value. */
export const toJson = (value: unknown) =>
  JSON.stringify(value).replace(
    /[\u007f-\u009f]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );

/** Rollout rows as a table, and the outcome of each ended one below it. */
export function table(rows: StatusRow[]): string {
  if (rows.length === 0) return 'No rollouts.\n';
  const head = ['SERVICE', 'ROLLOUT', 'IMAGE', 'STATUS', 'STEP', 'CANARY', 'WAITING', 'VERDICT', 'UPDATED'];
  const cells = rows.map((r) =>
    [
      r.service,
      r.rolloutId,
      r.image,
      r.status,
      r.step === null ? '-' : String(r.step + 1),
      r.canaryPercent === null ? '-' : `${r.canaryPercent}%`,
      r.waiting ?? '-',
      r.verdict ?? '-',
      r.updatedAt.replace('T', ' ').slice(0, 19),
    ].map(terminalSafe),
  );
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => (c[i] ?? '').length)));
  const line = (c: string[]) =>
    `${c
      .map((x, i) => x.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd()}\n`;
  const outcomes = rows
    .filter((r) => r.outcome)
    .map((r) => `  ${terminalSafe(r.rolloutId)}: ${terminalSafe(r.outcome ?? '')}\n`)
    .join('');
  return line(head) + cells.map(line).join('') + (outcomes ? `\nOutcomes:\n${outcomes}` : '');
}

/** What `canary status` leads with: one sentence per rollout (what happened, what it means, what to do). */
export const headlines = (rows: readonly { service: string; headline?: string }[]) =>
  rows.length === 0
    ? ''
    : `${rows.map((r) => `${terminalSafe(r.service)}: ${terminalSafe(r.headline ?? '')}\n`).join('')}\n`;
