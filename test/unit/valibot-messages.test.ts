/**
 * What the Lambda handlers check (core/valibot.ts) is worded, and accepted, as the deploy-time config's checks
 * (core/zod.ts) word and accept the same: each case gives the zod schema and its valibot counterpart, and both
 * must accept the same values and name the same fields with the same messages.
 */
import { describe, expect, it } from 'vitest';
import * as v from '../../functions/core/valibot';
import { fieldPath } from '../../functions/core/validation';
import * as z from '../../functions/core/zod';

class Thing {}

type Case = [string, z.core.$ZodType, v.GenericSchema, unknown];

const fromZod = (schema: z.core.$ZodType, value: unknown) => {
  const result = z.safeParse(schema, value);
  return result.success
    ? { output: result.data }
    : { issues: result.error.issues.map((i) => [fieldPath(i.path), i.message]) };
};
const fromValibot = (schema: v.GenericSchema, value: unknown) => {
  const result = v.safeParse(schema, value);
  return result.success
    ? { output: result.output }
    : {
        // zod reports unknown keys on their object, valibot on the (first) key: the object's path is compared.
        issues: result.issues.map((i) => [
          fieldPath(
            (i.path ?? []).slice(0, v.isUnknownKeyIssue(i) ? -1 : undefined).map((p) => p.key as PropertyKey),
          ),
          i.message,
        ]),
      };
};

const types: Case[] = [
  ['a string given a number', z.string(), v.string(), 3],
  ['a string given null', z.string(), v.string(), null],
  ['a string given an array', z.string(), v.string(), []],
  ['a string given an object', z.string(), v.string(), {}],
  ['a string given an instance', z.string(), v.string(), new Thing()],
  ['a number given NaN', z.number(), v.number(), Number.NaN],
  ['a number given a string', z.number(), v.number(), '3'],
  ['a number given Infinity', z.number(), v.number(), Number.POSITIVE_INFINITY],
  ['a number given -Infinity', z.number(), v.number(), Number.NEGATIVE_INFINITY],
  ['an integer given a fraction', z.int(), v.int(), 1.5],
  ['an integer given Infinity', z.int(), v.int(), Number.POSITIVE_INFINITY],
  ['an integer given a string', z.int(), v.int(), '1'],
  ['an integer beyond the safe ones', z.int(), v.int(), 2 ** 60],
  ['a boolean given undefined', z.boolean(), v.boolean(), undefined],
  ['an enum', z.enum(['canary', 'blueGreen']), v.picklist(['canary', 'blueGreen']), 'linear'],
  ['an enum of one', z.enum(['canary']), v.picklist(['canary']), 'linear'],
  ['a literal', z.literal('1'), v.literal('1'), '2'],
  ['a literal false', z.literal(false), v.literal(false), true],
  ['an object given a string', z.object({}), v.object({}), 'x'],
  ['an object given null', z.object({}), v.object({}), null],
  ['an object given an array', z.object({}), v.object({}), []],
  [
    'an object of optional fields given an array',
    z.object({ a: z.optional(z.string()) }),
    v.object({ a: v.optional(v.string()) }),
    [],
  ],
  ['a strict object given an array', z.strictObject({}), v.strictObject({}), ['x']],
  ['an array given an object', z.array(z.string()), v.array(v.string()), {}],
  ['a nullable number', z.nullable(z.number()), v.nullable(v.number()), 'x'],
  ['a nullish string', z.nullish(z.string()), v.nullish(v.string()), 3],
  ['an optional string', z.optional(z.string()), v.optional(v.string()), 3],
  ['a custom check', z.custom(() => false, 'must be x'), v.custom(() => false, 'must be x'), 1],
  ['a custom check without its message', z.custom(() => false), v.custom(() => false), 1],
];

const checks: Case[] = [
  ['a string too short', z.string().check(z.minLength(1)), v.pipe(v.string(), v.minLength(1)), ''],
  ['a string too long', z.string().check(z.maxLength(3)), v.pipe(v.string(), v.maxCodePoints(3)), 'abcd'],
  [
    'a string of wide characters within its length',
    z.string().check(z.maxLength(3)),
    v.pipe(v.string(), v.maxCodePoints(3)),
    '𝄞𝄞𝄞',
  ],
  [
    'an array too short',
    z.array(z.number()).check(z.minLength(1)),
    v.pipe(v.array(v.number()), v.minLength(1)),
    [],
  ],
  [
    'an array too long',
    z.array(z.number()).check(z.maxLength(1)),
    v.pipe(v.array(v.number()), v.maxLength(1)),
    [1, 2],
  ],
  ['a number below', z.number().check(z.gte(1)), v.pipe(v.number(), v.minValue(1)), 0],
  ['a number above', z.number().check(z.lte(100)), v.pipe(v.number(), v.maxValue(100)), 101],
  ['a number not above', z.number().check(z.gt(0)), v.pipe(v.number(), v.gtValue(0)), 0],
  ['a negative number', z.number().check(z.nonnegative()), v.pipe(v.number(), v.minValue(0)), -1],
  ['a negative integer', z.int().check(z.gte(0)), v.pipe(v.int(), v.minValue(0)), -1],
  ['a negative fraction for an integer', z.int().check(z.gte(0)), v.pipe(v.int(), v.minValue(0)), -1.5],
  ['a pattern', z.string().check(z.regex(/^a+$/)), v.pipe(v.string(), v.regex(/^a+$/)), 'b'],
  [
    'a pattern with its message',
    z.string().check(z.regex(/^a+$/, 'must be as')),
    v.pipe(v.string(), v.regex(/^a+$/, 'must be as')),
    'b',
  ],
];

const objects: Case[] = [
  ['an unknown key', z.strictObject({ a: z.string() }), v.strictObject({ a: v.string() }), { a: 'x', b: 1 }],
  ['unknown keys', z.strictObject({}), v.strictObject({}), { b: 1, c: 2 }],
  [
    'unknown keys beside a wrong field',
    z.strictObject({ a: z.string() }),
    v.strictObject({ a: v.string() }),
    { a: 1, b: 1 },
  ],
  [
    'missing keys, each worded as its schema given undefined',
    z.strictObject({
      a: z.string(),
      b: z.int(),
      c: z.literal('x'),
      d: z.enum(['p', 'q']),
      e: z.object({}),
      f: z.array(z.string()),
      g: z.nullable(z.number()),
      h: z.boolean(),
      i: z.lazy(() => z.object({})),
      j: z.custom(() => false, 'must be x'),
      k: z.union([z.string(), z.number()]),
      l: z.discriminatedUnion('t', [z.object({ t: z.literal('a') })]),
      m: z.nullish(z.string()),
      n: z._default(z.int(), 0),
      o: z.optional(z.string()),
    }),
    v.strictObject({
      a: v.string(),
      b: v.int(),
      c: v.literal('x'),
      d: v.picklist(['p', 'q']),
      e: v.object({}),
      f: v.array(v.string()),
      g: v.nullable(v.number()),
      h: v.boolean(),
      i: v.lazy(() => v.object({})),
      j: v.custom(() => false, 'must be x'),
      k: v.union([v.string(), v.number()]),
      l: v.variant('t', [v.object({ t: v.literal('a') })]),
      m: v.nullish(v.string()),
      n: v.optional(v.int(), 0),
      o: v.optional(v.string()),
    }),
    {},
  ],
  [
    'a nested path',
    z.object({ steps: z.array(z.object({ weight: z.number() })) }),
    v.object({ steps: v.array(v.object({ weight: v.number() })) }),
    { steps: [{ weight: 1 }, { weight: 2 }, { weight: '3' }] },
  ],
  [
    'an object with a key omitted, without it',
    z.omit(z.object({ a: z.string(), b: z.string() }), { b: true }),
    v.omit(v.object({ a: v.string(), b: v.string() }), ['b']),
    { a: 'x' },
  ],
  [
    'an object with a key omitted, given an array',
    z.omit(z.strictObject({ a: z.string(), b: z.string() }), { b: true }),
    v.omit(v.strictObject({ a: v.string(), b: v.string() }), ['b']),
    [],
  ],
  [
    'an optional field left out stays absent',
    z.object({ a: z.optional(z.string()) }),
    v.object({ a: v.optional(v.string()) }),
    {},
  ],
  [
    'an optional field given undefined stays present',
    z.object({ a: z.optional(z.string()) }),
    v.object({ a: v.optional(v.string()) }),
    { a: undefined },
  ],
  [
    'an object drops unknown keys',
    z.object({ a: z.string() }),
    v.object({ a: v.string() }),
    { a: 'x', b: 1 },
  ],
];

const du = z.discriminatedUnion('t', [z.object({ t: z.literal('a') }), z.object({ t: z.literal('b') })]);
const variant = v.variant('t', [v.object({ t: v.literal('a') }), v.object({ t: v.literal('b') })]);
const enumDu = z.discriminatedUnion('t', [
  z.object({ t: z.enum(['a', 'b']) }),
  z.object({ t: z.literal('c') }),
]);
const enumVariant = v.variant('t', [
  v.object({ t: v.picklist(['a', 'b']) }),
  v.object({ t: v.literal('c') }),
]);
const nestedDu = z.discriminatedUnion('t', [
  z.object({ t: z.literal('a') }),
  z.discriminatedUnion('u', [
    z.object({ t: z.literal('c'), u: z.literal('x') }),
    z.object({ t: z.literal('d'), u: z.literal('y') }),
  ]),
]);
const nestedVariant = v.variant('t', [
  v.object({ t: v.literal('a') }),
  v.variant('u', [
    v.object({ t: v.literal('c'), u: v.literal('x') }),
    v.object({ t: v.literal('d'), u: v.literal('y') }),
  ]),
]);
const unions: Case[] = [
  ['a variant no option matches', du, variant, { t: 'c' }],
  ['a variant without its key', du, variant, {}],
  ['a variant given a string', du, variant, 'x'],
  [
    'a variant whose option fails',
    z.discriminatedUnion('t', [z.object({ t: z.literal('a'), n: z.number() })]),
    v.variant('t', [v.object({ t: v.literal('a'), n: v.number() })]),
    { t: 'a', n: 'x' },
  ],
  ['a variant given an array', du, variant, []],
  ['a variant field given an array', z.object({ d: du }), v.object({ d: variant }), { d: [{ t: 'a' }] }],
  ['a variant whose key is an enum, no option matching', enumDu, enumVariant, { t: 'q' }],
  ['a variant whose key is an enum, an option matching', enumDu, enumVariant, { t: 'b' }],
  ['a nested variant, the outer key matching no option', nestedDu, nestedVariant, { t: 'q' }],
  ['a nested variant without its keys', nestedDu, nestedVariant, {}],
  ['a nested variant, the inner key matching no option', nestedDu, nestedVariant, { t: 'c', u: 'z' }],
  ['a nested variant without its inner key', nestedDu, nestedVariant, { t: 'c' }],
  ['a nested variant, an inner option matching', nestedDu, nestedVariant, { t: 'd', u: 'y' }],
  ['a union', z.union([z.string(), z.number()]), v.union([v.string(), v.number()]), true],
];

const datetime = (value: string): Case => [
  `a datetime ${value}`,
  z.iso.datetime({ offset: true }),
  v.isoDateTime(),
  value,
];
const datetimes: Case[] = [
  '2026-01-01T00:00:00Z',
  '2026-01-01T00:00:00.123456789Z',
  '2026-01-01T23:59:59.9999999999Z',
  '2026-01-01T00:00:00+02:00',
  '2026-01-01T00:00:00-00:00',
  '2026-01-01T00:00:00+23:59',
  '2024-02-29T00:00:00Z',
  '0000-01-01T00:00:00Z',
  'yesterday',
  '2026-01-01T00:00:00+0200',
  '2026-01-01T00:00:00+02',
  '2026-01-01T00:00:00 +02:00',
  '2026-01-01T00:00Z',
  '2026-01-01T00:00:00',
  '2026-01-01 00:00:00Z',
  '2026-01-01T00:00:00z',
  '2026-02-30T00:00:00Z',
  '2023-02-29T00:00:00Z',
  '2026-13-01T00:00:00Z',
  '2026-01-01T24:00:00Z',
  '2026-01-01T00:00:60Z',
  '2026-01-01T00:00:00+24:00',
  '2026-01-01T00:00:00.Z',
].map(datetime);

describe('run-time checks against the config’s', () => {
  it.each([...types, ...checks, ...objects, ...unions, ...datetimes])(
    '%s: the same acceptance, fields and words',
    (_, zodSchema, valibotSchema, value) => {
      expect(fromValibot(valibotSchema, value)).toStrictEqual(fromZod(zodSchema, value));
    },
  );

  it('takes the default of a field left out, and keeps what a transform makes', () => {
    const schema = v.object({
      n: v.optional(v.int(), 0),
      tag: v.optional(
        v.pipe(
          v.unknown(),
          v.transform((t) => (t === '' ? undefined : t)),
          v.optional(v.string()),
        ),
      ),
    });
    expect(v.parse(schema, { tag: '' })).toEqual({ n: 0, tag: undefined });
    expect(v.parse(schema, { n: 2, tag: 'v1' })).toEqual({ n: 2, tag: 'v1' });
  });

  it('builds a lazy schema once, on first use', () => {
    let built = 0;
    const schema = v.lazy(() => {
      built += 1;
      return v.object({ a: v.string() });
    });
    expect(built).toBe(0);
    v.safeParse(schema, { a: 'x' });
    v.safeParse(schema, { a: 1 });
    expect(built).toBe(1);
  });
});
