/**
 * How a validation message shows a value and names its type, shared by the two validators' English
 * (core/zod.ts for the deploy-time config, core/valibot.ts for what the Lambda handlers check).
 */

/** Units of a length check, by the type of the value checked. */
export const UNITS: Record<string, string> = {
  string: 'characters',
  array: 'items',
  set: 'items',
  map: 'entries',
};

/** A value as a message quotes it: strings in double quotes, bigints with `n`. */
export const shown = (v: unknown) =>
  typeof v === 'string' ? `"${v}"` : typeof v === 'bigint' ? `${v}n` : `${v}`;

/** The type of a value as a message names it (`array`, `null`, `NaN`, a class's name). */
export function received(input: unknown): string {
  if (typeof input === 'number')
    return Number.isNaN(input) ? 'NaN' : Number.isFinite(input) ? 'number' : `${input}`;
  if (input === null) return 'null';
  if (Array.isArray(input)) return 'array';
  const proto = typeof input === 'object' ? Object.getPrototypeOf(input) : Object.prototype;
  return proto && proto !== Object.prototype ? String(proto.constructor?.name) : typeof input;
}

/** `Unrecognized key: "a"`, `Unrecognized keys: "a", "b"`. */
export function unrecognized(keys: readonly string[]): string {
  return `Unrecognized key${keys.length > 1 ? 's' : ''}: ${keys.map(shown).join(', ')}`;
}
