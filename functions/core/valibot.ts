/**
 * What the Lambda handlers check at run time (task inputs, events, history entries, hook answers) is written with
 * valibot: one function per schema and check, so a bundle keeps only what its schemas use (the deploy-time config
 * keeps zod/mini, core/zod.ts). Every run-time schema module imports valibot through this one, which words every
 * issue in the same English as core/zod.ts (`Invalid input: expected string, received number`, `Too small: expected
 * string to have >=1 characters`, `Unrecognized key: "x"`) and keeps zod's behaviour where valibot's differs:
 * - an object, strict object or variant refuses an array (valibot takes any typeof 'object');
 * - number() refuses Infinity as well as NaN; int() is a safe integer (z.int());
 * - a string's length is counted in code points, as zod counts it: use maxCodePoints, not maxLength;
 * - a missing key reads as its schema given undefined (`expected string, received undefined`), and a strict
 *   object names every unknown key in one issue;
 * - a union that fails reports the issues of the branch the value was clearly meant for (unionBranch);
 * - lazy() builds its schema once; isoDateTime() accepts what z.iso.datetime({ offset: true }) accepts.
 * Some of this reaches into valibot's internals (`~run`, `_addIssue`, a literal's `expected`), so package.json
 * pins valibot's exact version; test/unit/valibot-messages.test.ts checks the wording against zod's on upgrade.
 */
import * as v from 'valibot';
import { received, shown, UNITS, unrecognized } from './messages';

export * from 'valibot';

type Issue = v.BaseIssue<unknown>;
type Entries = v.ObjectEntries;

/** The unknown keys each strict-object issue names (valibot's issue carries the first only). */
const UNKNOWN_KEYS = new WeakMap<Issue, string[]>();

/** What a type issue says the value should have been, by the schema's type. */
const TYPE_NAMES: Record<string, string> = {
  strict_object: 'object',
  loose_object: 'object',
  variant: 'object',
};

/** `Too small: expected string to have >=1 characters`, `Too big: expected number to be <=100`. */
function bound(issue: Issue): string | undefined {
  const [side, sign] = (
    {
      min_length: ['small', '>='],
      max_length: ['big', '<='],
      min_code_points: ['small', '>='],
      max_code_points: ['big', '<='],
      min_value: ['small', '>='],
      gt_value: ['small', '>'],
      max_value: ['big', '<='],
      lt_value: ['big', '<'],
    } as Record<string, [string, string]>
  )[issue.type] ?? ['', ''];
  if (!side) return undefined;
  const origin = Array.isArray(issue.input) ? 'array' : typeof issue.input;
  const unit = /length|code_points/.test(issue.type) ? UNITS[origin] : undefined;
  return `Too ${side}: expected ${origin} to ${unit ? 'have' : 'be'} ${sign}${issue.requirement}${unit ? ` ${unit}` : ''}`;
}

/** `Invalid input: expected "a"` for one option, `Invalid option: expected one of "a"|"b"` for several. */
function optionsMessage(options: readonly unknown[]): string {
  return options.length === 1
    ? `Invalid input: expected ${shown(options[0])}`
    : `Invalid option: expected one of ${options.map(shown).join('|')}`;
}

/** What is wrong, in English; the path naming the field is added by core/validation.ts. */
export function englishMessage(issue: Issue): string {
  if (issue.kind === 'schema') {
    if (issue.type === 'literal') return `Invalid input: expected ${issue.expected}`;
    if (issue.type === 'union' || issue.type === 'custom') return 'Invalid input';
    return `Invalid input: expected ${TYPE_NAMES[issue.type] ?? issue.type}, received ${received(issue.input)}`;
  }
  if (issue.type === 'regex') return `Invalid string: must match pattern ${issue.requirement}`;
  return bound(issue) ?? 'Invalid input';
}

v.setGlobalMessage(englishMessage);

/** The keys a strict object refused (the issue names the first; this gives all of them). */
export function unknownKeys(issue: Issue): string[] {
  return UNKNOWN_KEYS.get(issue) ?? [String(issue.path?.at(-1)?.key)];
}

/** Whether the issue refuses unknown keys of a strict object. */
export function isUnknownKeyIssue(issue: Issue): boolean {
  return issue.type === 'strict_object' && issue.expected === 'never' && issue.path?.at(-1)?.origin === 'key';
}

/** An object's own issues: not an object, a key missing (worded as its schema given undefined), unknown keys. */
function objectMessage(entries: Entries): (issue: Issue) => string {
  return (issue) => {
    const item = issue.path?.[0];
    if (item?.origin !== 'key') return englishMessage(issue);
    if (issue.expected === 'never') {
      const input = item.input as Record<string, unknown>;
      const keys = Object.keys(input).filter((k) => !Object.hasOwn(entries, k));
      UNKNOWN_KEYS.set(issue, keys);
      return unrecognized(keys);
    }
    const schema = entries[String(item.key)];
    return (schema && v.safeParse(schema, undefined).issues?.[0]?.message) || englishMessage(issue);
  };
}

/**
 * The schema refusing an array as not an object, with its own type issue (`Invalid input: expected object,
 * received array`), as zod refuses it: valibot's objects take any value of typeof 'object'. The check runs on
 * `this`, so a schema derived by spreading this one (omit, pick, partial) checks its own entries.
 */
function refusingArrays<S extends v.GenericSchema>(schema: S): S {
  const run = schema['~run'];
  return v._standardSchema<S>({
    ...schema,
    '~run'(dataset, config) {
      if (!Array.isArray(dataset.value)) return run.call(this, dataset, config);
      v._addIssue(this, 'type', dataset, config);
      return dataset as ReturnType<S['~run']>;
    },
  });
}

/** An object that drops unknown keys. */
/* @__NO_SIDE_EFFECTS__ */
export function object<const E extends Entries>(entries: E) {
  return refusingArrays(v.object(entries, objectMessage(entries)));
}

/** An object that refuses unknown keys, naming them. */
/* @__NO_SIDE_EFFECTS__ */
export function strictObject<const E extends Entries>(entries: E) {
  return refusingArrays(v.strictObject(entries, objectMessage(entries)));
}

/** One of a few values, worded as z.enum words it. */
/* @__NO_SIDE_EFFECTS__ */
export function picklist<const O extends v.PicklistOptions>(options: O, message?: string) {
  return v.picklist(options, message ?? optionsMessage(options));
}

/** `Invalid input: expected number, received string` (or `received Infinity`), as z.number() words it. */
const notNumber = (input: unknown) => `Invalid input: expected number, received ${received(input)}`;

/**
 * A finite number: NaN and ±Infinity are refused, as z.number() refuses them (valibot's number() takes
 * Infinity). A schema rather than a check, so a refused value stops the pipe's further checks, as in zod.
 */
/* @__NO_SIDE_EFFECTS__ */
export function number() {
  return v.custom<number>(
    (n) => typeof n === 'number' && Number.isFinite(n),
    (issue) => notNumber(issue.input),
  );
}

/** A safe integer, as z.int() takes it. */
/* @__NO_SIDE_EFFECTS__ */
export function int() {
  return v.custom<number>(Number.isSafeInteger, ({ input }) =>
    typeof input !== 'number' || !Number.isFinite(input)
      ? notNumber(input)
      : !Number.isInteger(input)
        ? 'Invalid input: expected int, received number'
        : input > 0
          ? `Too big: expected int to be <=${Number.MAX_SAFE_INTEGER}`
          : `Too small: expected int to be >=${Number.MIN_SAFE_INTEGER}`,
  );
}

/**
 * An ISO 8601 date and time with seconds and a `Z` or `±hh:mm` offset, on a date that exists, as
 * z.iso.datetime({ offset: true }) accepts it (valibot's isoTimestamp also takes a space, `+hh`, `+hhmm`, Feb 30).
 */
const DATETIME =
  /^(?:(?:\d\d[2468][048]|\d\d[13579][26]|\d\d0[48]|[02468][048]00|[13579][26]00)-02-29|\d{4}-(?:(?:0[13578]|1[02])-(?:0[1-9]|[12]\d|3[01])|(?:0[469]|11)-(?:0[1-9]|[12]\d|30)|(?:02)-(?:0[1-9]|1\d|2[0-8])))T(?:(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d(?:\.\d+)?(?:Z|([+-](?:[01]\d|2[0-3]):[0-5]\d)))$/;

/* @__NO_SIDE_EFFECTS__ */
export function isoDateTime() {
  return v.pipe(v.string(), v.regex(DATETIME, 'Invalid ISO datetime'));
}

/** A schema built on first use, once (valibot's lazy calls its getter on every parse). */
/* @__NO_SIDE_EFFECTS__ */
export function lazy<S extends v.GenericSchema>(getter: () => S) {
  let schema: S | undefined;
  return v.lazy(() => {
    schema ??= getter();
    return schema;
  });
}

type VariantLike = { key: string; options: readonly unknown[] };
type OptionLike = { type: string; entries?: Entries } & Partial<VariantLike>;

/** The values a key takes across a variant's options, nested variants' included (a literal's, a picklist's). */
function keyValues(options: readonly unknown[], key: string): unknown[] {
  return (options as OptionLike[]).flatMap((option) => {
    if (option.type === 'variant') return keyValues(option.options ?? [], key);
    const schema = option.entries?.[key] as { literal?: unknown; options?: unknown[] } | undefined;
    return schema?.options ?? (schema && 'literal' in schema ? [schema.literal] : []);
  });
}

/**
 * The values zod's discriminated union names when `key` matches no option: those of the (nested) variant whose key
 * it is, reached by the values the input gives the keys above it.
 */
function expectedValues(variant: VariantLike, input: Record<string, unknown>, key: string): unknown[] {
  if (variant.key === key) return keyValues(variant.options, key);
  const nested = (variant.options as OptionLike[]).find(
    (o) => o.type === 'variant' && keyValues(o.options ?? [], variant.key).includes(input[variant.key]),
  );
  return nested ? expectedValues(nested as VariantLike, input, key) : keyValues(variant.options, key);
}

/**
 * Objects told apart by one key's value (a literal, a picklist, or a nested variant's own key). A value no option's
 * key matches is refused at that key: `noMatch`, or `Invalid discriminator value. Expected 'a' | 'b'`.
 */
/* @__NO_SIDE_EFFECTS__ */
export function variant<const K extends string, const O extends v.VariantOptions<K>>(
  key: K,
  options: O,
  noMatch?: string,
) {
  const schema = v.variant(key, options, (issue) => {
    const item = issue.path?.[0];
    if (!item) return englishMessage(issue);
    if (noMatch && item.key === key) return noMatch;
    const values = expectedValues({ key, options }, item.input as Record<string, unknown>, String(item.key));
    return `Invalid discriminator value. Expected ${values.map((value) => `'${value}'`).join(' | ')}`;
  });
  return refusingArrays(schema);
}

/** How deep an issue lies, as zod places it: an unknown key on its object, not on the key. */
const depth = (i: Issue) => (i.path?.length ?? 0) - (isUnknownKeyIssue(i) ? 1 : 0);

/** Whether a branch failed on the value's type alone (not an object, not a string...). */
const typeOnly = (issues: readonly Issue[]) =>
  issues.every(
    (i) =>
      i.kind === 'schema' &&
      depth(i) === 0 &&
      !isUnknownKeyIssue(i) &&
      !['literal', 'picklist', 'union'].includes(i.type),
  );

/** Whether a branch's value has the branch's shape, failing only checks or unknown keys (zod's issues that go on). */
const shaped = (issues: readonly Issue[]) => issues.every((i) => i.kind !== 'schema' || isUnknownKeyIssue(i));

/**
 * The branch a failed union's value was clearly meant for, as zod picks it: the only branch whose value has its
 * shape, else (core/config-validation.ts) the only branch with issues below the root, else the only branch not
 * failing on the value's type. Without one, the union fails as a whole (`Invalid input`).
 */
function unionBranch<D extends { issues?: readonly Issue[] | undefined }>(branches: D[]): D | undefined {
  const settled = branches.filter((b) => shaped(b.issues ?? []));
  const deep = branches.filter((b) => b.issues?.some((i) => depth(i) > 0));
  const typed = branches.filter((b) => !typeOnly(b.issues ?? []));
  if (settled.length === 1) return settled[0];
  return deep.length === 1 ? deep[0] : typed.length === 1 ? typed[0] : undefined;
}

/** The first option the value fits; when none does, the issues of the branch it was meant for (unionBranch). */
/* @__NO_SIDE_EFFECTS__ */
export function union<const O extends v.UnionOptions>(options: O) {
  const base = v.union(options);
  type Run = (typeof base)['~run'];
  const run: Run = (dataset, config) => {
    const branches = [];
    for (const option of options) {
      const branch = option['~run']({ value: dataset.value }, config);
      if (branch.typed && !branch.issues) return branch as ReturnType<Run>;
      branches.push(branch);
    }
    return (unionBranch(branches) as ReturnType<Run> | undefined) ?? base['~run'](dataset, config);
  };
  return v._standardSchema<typeof base>({ ...base, '~run': run });
}
