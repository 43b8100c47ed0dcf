/**
 * The controller's English messages (functions/core/zod.ts) word every check its schemas use as zod's own English
 * locale does, which the bundles no longer carry.
 */
import { describe, expect, it } from 'vitest';
import en from 'zod/v4/locales/en.js';
import * as z from '../../functions/core/zod';

class Thing {}

const cases: [string, z.core.$ZodType, unknown][] = [
  ['a string given a number', z.string(), 3],
  ['a string given null', z.string(), null],
  ['a string given an array', z.string(), []],
  ['a string given an object', z.string(), {}],
  ['a string given an instance', z.string(), new Thing()],
  ['a number given NaN', z.number(), Number.NaN],
  ['a number given a string', z.number(), '3'],
  ['an integer given a fraction', z.int(), 1.5],
  ['an integer given Infinity', z.int(), Number.POSITIVE_INFINITY],
  ['a boolean given undefined', z.boolean(), undefined],
  ['an enum', z.enum(['canary', 'blueGreen']), 'linear'],
  ['a literal', z.literal('1'), '2'],
  ['a string too short', z.string().check(z.minLength(1)), ''],
  ['a string too long', z.string().check(z.maxLength(3)), 'abcd'],
  ['an array too long', z.array(z.number()).check(z.maxLength(1)), [1, 2]],
  ['a number below', z.number().check(z.gte(1)), 0],
  ['a number above', z.number().check(z.lte(100)), 101],
  ['a number not above', z.number().check(z.gt(0)), 0],
  ['a negative number', z.number().check(z.nonnegative()), -1],
  ['a pattern', z.string().check(z.regex(/^a+$/)), 'b'],
  ['a datetime', z.iso.datetime({ offset: true }), 'yesterday'],
  ['a URL', z.url(), 'not a url'],
  ['an unknown key', z.strictObject({ a: z.string() }), { a: 'x', b: 1 }],
  ['unknown keys', z.strictObject({}), { b: 1, c: 2 }],
  ['a union', z.union([z.string(), z.number()]), true],
  [
    'a discriminated union',
    z.discriminatedUnion('kind', [
      z.strictObject({ kind: z.literal('alb') }),
      z.strictObject({ kind: z.literal('route53') }),
    ]),
    { kind: 'nlb' },
  ],
  ['a record key', z.record(z.enum(['a']), z.number()), { b: 1 }],
];

const messages = (schema: z.core.$ZodType, value: unknown, error?: z.core.$ZodErrorMap) => {
  const result = z.safeParse(schema, value, error ? { error } : undefined);
  expect(result.success).toBe(false);
  return result.error?.issues.map((i) => i.message);
};

describe('English messages', () => {
  it.each(cases)('%s reads as in zod’s English locale', (_, schema, value) => {
    expect(messages(schema, value)).toEqual(messages(schema, value, en().localeError));
  });

  it('keeps a message a schema gives', () => {
    expect(messages(z.string().check(z.minLength(1, 'must not be empty')), '')).toEqual([
      'must not be empty',
    ]);
  });
});
