/**
 * Free text that people give the controller (a rejection or abort reason, a note on an approval) is stored in the
 * rollout's history and shown again in other operators' terminals (`canary history`, `canary status`), in
 * reports, pages, notifications and Step Functions' execution history. `freeText` makes it safe for all of them,
 * once, where it enters: ECMA-48 (ISO 6429) escape and control sequences are removed whole (CSI `ESC [` and its
 * 8-bit form U+009B with their parameters; OSC, DCS, SOS, PM and APC strings up to their BEL/ST terminator, or to
 * the end when unterminated, which is how a hyperlink or a window title would hide its payload; other `ESC`
 * sequences), every remaining C0 and C1 control character and DEL becomes a space, and so do the Unicode
 * characters that reorder or break displayed text (bidirectional overrides and isolates, line and paragraph
 * separators). Runs of spaces become one; the result is trimmed and cut to `maxLength` code points. Letters of any
 * script are kept.
 */

/** How long a reason may be, in code points (Step Functions takes a cause of up to 32,768 characters). */
export const FREE_TEXT_MAX_LENGTH = 500;

const CSI = '(?:\\x1b\\[|\\x9b)[\\x30-\\x3f]*[\\x20-\\x2f]*[\\x40-\\x7e]?';
const STRING = '(?:\\x1b[\\]PX^_]|[\\x90\\x98\\x9d-\\x9f])[^\\x07\\x1b\\x9c]*(?:\\x07|\\x1b\\\\|\\x9c)?';
const OTHER_ESCAPE = '\\x1b[\\x20-\\x2f]*[\\x30-\\x7e]?';
const ESCAPE_SEQUENCES = new RegExp(`${CSI}|${STRING}|${OTHER_ESCAPE}`, 'g');

/** C0, DEL, C1; the bidirectional formatting characters; line and paragraph separators. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it finds
const CONTROLS = /[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]/g;

export function freeText(text: string, maxLength: number = FREE_TEXT_MAX_LENGTH): string {
  const clean = text.replace(ESCAPE_SEQUENCES, '').replace(CONTROLS, ' ').replace(/\s+/g, ' ').trim();
  const points = Array.from(clean);
  return points.length <= maxLength ? clean : points.slice(0, maxLength).join('').trimEnd();
}
