/**
 * The controller's schemas are written with zod/mini: functions instead of methods, so a Lambda bundle keeps only
 * the checks the schemas use (about 35 KB against about 95 KB for the full `zod`, whose methods keep everything).
 * zod/mini sets no locale: the English messages are written here (zod's own English locale words every string
 * format and type there is, which every bundle would carry), the same wording for the checks the schemas use.
 * Every schema module imports zod through this one.
 */
import { config, type core } from 'zod/mini';
import { received, shown, UNITS, unrecognized } from './messages';

type RawIssue = core.$ZodRawIssue;

/** How the string formats the schemas check are named (a pattern and its friends are worded below). */
const FORMATS: Record<string, string> = { datetime: 'ISO datetime', url: 'URL', email: 'email address' };

function bound(issue: RawIssue & { code: 'too_big' | 'too_small' }): string {
  const big = issue.code === 'too_big';
  const limit = big ? issue.maximum : issue.minimum;
  const adj = issue.exact ? 'exactly ' : `${big ? '<' : '>'}${issue.inclusive ? '=' : ''}`;
  const unit = UNITS[issue.origin ?? ''];
  return `Too ${big ? 'big' : 'small'}: expected ${issue.origin ?? 'value'} to ${unit ? 'have' : 'be'} ${adj}${limit}${unit ? ` ${unit}` : ''}`;
}

function format(issue: RawIssue & { code: 'invalid_format' }): string {
  const i = issue as {
    format: string;
    prefix?: string;
    suffix?: string;
    includes?: string;
    pattern?: RegExp;
  };
  if (i.format === 'starts_with') return `Invalid string: must start with "${i.prefix}"`;
  if (i.format === 'ends_with') return `Invalid string: must end with "${i.suffix}"`;
  if (i.format === 'includes') return `Invalid string: must include "${i.includes}"`;
  if (i.format === 'regex') return `Invalid string: must match pattern ${i.pattern}`;
  return `Invalid ${FORMATS[i.format] ?? i.format}`;
}

/** What is wrong, in English; the path naming the field is added by core/validation.ts. */
export function englishMessage(issue: RawIssue): string {
  switch (issue.code) {
    case 'invalid_type':
      return `Invalid input: expected ${issue.expected}, received ${received(issue.input)}`;
    case 'invalid_value':
      return issue.values.length === 1
        ? `Invalid input: expected ${shown(issue.values[0])}`
        : `Invalid option: expected one of ${issue.values.map(shown).join('|')}`;
    case 'too_big':
    case 'too_small':
      return bound(issue);
    case 'invalid_format':
      return format(issue);
    case 'not_multiple_of':
      return `Invalid number: must be a multiple of ${issue.divisor}`;
    case 'unrecognized_keys':
      return unrecognized(issue.keys);
    case 'invalid_key':
    case 'invalid_element':
      return `Invalid ${issue.code === 'invalid_key' ? 'key' : 'value'} in ${issue.origin}`;
    case 'invalid_union': {
      const options = (issue as { options?: unknown[] }).options ?? [];
      if (options.length > 0)
        return `Invalid discriminator value. Expected ${options.map((o) => `'${o}'`).join(' | ')}`;
      return issue.inclusive === false ? 'Invalid input: more than one option matched' : 'Invalid input';
    }
    default:
      return 'Invalid input';
  }
}

config({ localeError: englishMessage });

export * from 'zod/mini';
