/** How the CLI prints what it read: text without control sequences, JSON with them escaped. */
import { freeText } from '../functions/core/text';

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

/** What `canary status` leads with: one sentence per rollout (what happened, what it means, what to do). */
export const headlines = (rows: readonly { service: string; headline?: string }[]) =>
  rows.length === 0
    ? ''
    : `${rows.map((r) => `${terminalSafe(r.service)}: ${terminalSafe(r.headline ?? '')}\n`).join('')}\n`;
