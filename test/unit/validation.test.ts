import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { parseConfig, toFieldIssues } from '../../functions/core/config-validation';
import { ConfigInvalidError, InputInvalidError } from '../../functions/core/errors';
import * as v from '../../functions/core/valibot';
import { fieldPath, parseInput } from '../../functions/core/validation';
import * as zm from '../../functions/core/zod';

function zodError(schema: z.ZodType, value: unknown): z.ZodError {
  const result = schema.safeParse(value);
  if (result.success) throw new Error('expected the value to be rejected');
  return result.error;
}

describe('fieldPath', () => {
  it.each([
    [[], ''],
    [['service'], 'service'],
    [['traffic', 'listenerArn'], 'traffic.listenerArn'],
    [['steps', 2, 'weight'], 'steps[2].weight'],
    [['analysis', 'errorRate', 'max'], 'analysis.errorRate.max'],
    [['matrix', 0, 1], 'matrix[0][1]'],
    [[3, 'repository'], '[3].repository'],
    [['detail', 'image-digest'], 'detail.image-digest'],
  ] as Array<[PropertyKey[], string]>)('%j → %s', (path, expected) => {
    expect(fieldPath(path)).toBe(expected);
  });

  it('prints a symbol key', () => {
    expect(fieldPath(['a', Symbol('b')])).toBe('a.Symbol(b)');
  });
});

describe('toFieldIssues', () => {
  const schema = z.strictObject({
    name: z.string().min(1, 'must not be empty'),
    nested: z.strictObject({ port: z.int().max(65535) }),
    list: z.array(z.strictObject({ weight: z.number() })),
  });

  it('names the path and keeps the message of each issue', () => {
    // Prepare
    const error = zodError(schema, {
      name: '',
      nested: { port: 70000 },
      list: [{ weight: 1 }, { weight: 'x' }],
    });

    // Act
    const issues = toFieldIssues(error);

    // Assess
    expect(issues).toContainEqual({ path: 'name', message: 'must not be empty' });
    expect(issues.map((i) => i.path)).toEqual(expect.arrayContaining(['nested.port', 'list[1].weight']));
    expect(issues).toHaveLength(3);
  });

  it('reports unknown keys as "unknown field" with their full path', () => {
    // Prepare
    const error = zodError(schema, {
      name: 'a',
      nested: { port: 1, host: 'x' },
      list: [{ weight: 1, w: 2 }],
    });

    // Act
    const issues = toFieldIssues(error);

    // Assess
    expect(issues).toEqual(
      expect.arrayContaining([
        { path: 'nested.host', message: 'unknown field' },
        { path: 'list[0].w', message: 'unknown field' },
      ]),
    );
  });

  it('reports unknown top-level keys without a leading dot, several at once', () => {
    // Prepare
    const error = zodError(schema, { name: 'a', nested: { port: 1 }, list: [], extra: 1, more: 2 });

    // Act
    const issues = toFieldIssues(error);

    // Assess
    expect(issues).toEqual([{ path: 'extra, more', message: 'unknown field' }]);
  });

  it('gives an issue at the root an empty path', () => {
    expect(toFieldIssues(zodError(schema, 'text'))).toEqual([{ path: '', message: expect.any(String) }]);
  });
});

describe('parseConfig', () => {
  const schema = z.strictObject({ minRequests: z.int().min(1).default(200) });

  it('returns the parsed value with defaults', () => {
    expect(parseConfig(schema, {}, 'policy')).toEqual({ minRequests: 200 });
  });

  it('throws ConfigInvalidError naming the subject and the fields', () => {
    // Act
    const act = () => parseConfig(schema, { minRequests: 0, extra: true }, 'policy');

    // Assess
    expect(act).toThrow(ConfigInvalidError);
    expect(act).toThrow(/^policy is invalid: /);
    expect(act).toThrow(/minRequests: /);
    expect(act).toThrow(/extra: unknown field/);
  });

  it('lets an error a check throws reach the caller as it is', () => {
    // Prepare: a check that reads a field the value lacks.
    const checked = zm
      .object({ a: zm.string() })
      .check(zm.refine((x) => (x as unknown as { b: { c: number } }).b.c === 1));

    // Act
    const act = () => parseConfig(checked, { a: 'x' }, 'cfg');

    // Assess
    expect(act).toThrow(TypeError);
    expect(act).toThrow(/reading 'c'/);
  });
});

describe('parseInput', () => {
  const schema = v.object({
    detail: v.object({ digest: v.pipe(v.string(), v.regex(/^sha256:/, 'must be a digest')) }),
  });

  it('returns the parsed value', () => {
    expect(parseInput(schema, { detail: { digest: 'sha256:x' } }, 'event')).toEqual({
      detail: { digest: 'sha256:x' },
    });
  });

  it('throws InputInvalidError (not ConfigInvalid) naming the field', () => {
    // Act
    let caught: unknown;
    try {
      parseInput(schema, { detail: { digest: 'latest' } }, 'start-rollout event');
    } catch (error) {
      caught = error;
    }

    // Assess
    expect(caught).toBeInstanceOf(InputInvalidError);
    const error = caught as InputInvalidError;
    expect(error.name).toBe('InputInvalid');
    expect(error.issues).toEqual([{ path: 'detail.digest', message: 'must be a digest' }]);
    expect(error.message).toBe('start-rollout event is invalid: detail.digest: must be a digest');
  });
});

describe('parseInput: field issues of the run-time schemas', () => {
  const schema = v.strictObject({
    name: v.pipe(v.string(), v.minLength(1)),
    nested: v.strictObject({ port: v.int() }),
    steps: v.array(v.strictObject({ weight: v.number() })),
  });
  const issuesOf = (s: v.GenericSchema, value: unknown) => {
    try {
      parseInput(s, value, 'input');
    } catch (error) {
      return (error as InputInvalidError).issues;
    }
    throw new Error('expected the value to be refused');
  };

  it('names each field by its path and words each issue as the config does', () => {
    expect(
      issuesOf(schema, { name: '', nested: { port: 1.5 }, steps: [{ weight: 1 }, {}, { weight: 'x' }] }),
    ).toEqual([
      { path: 'name', message: 'Too small: expected string to have >=1 characters' },
      { path: 'nested.port', message: 'Invalid input: expected int, received number' },
      { path: 'steps[1].weight', message: 'Invalid input: expected number, received undefined' },
      { path: 'steps[2].weight', message: 'Invalid input: expected number, received string' },
    ]);
  });

  it('refuses unknown keys, naming every one with its full path', () => {
    expect(
      issuesOf(schema, { name: 'a', nested: { port: 1, host: 'x', tls: true }, steps: [], extra: 1 }),
    ).toEqual([
      { path: 'nested.host, nested.tls', message: 'unknown field' },
      { path: 'extra', message: 'unknown field' },
    ]);
  });

  it('refuses Infinity where a number is expected, as the config does', () => {
    expect(issuesOf(schema, { name: 'a', nested: { port: Number.POSITIVE_INFINITY }, steps: [] })).toEqual([
      { path: 'nested.port', message: 'Invalid input: expected number, received Infinity' },
    ]);
  });

  /** The config's issues for the same schema written with zod (core/zod.ts), through toFieldIssues. */
  const configIssuesOf = (s: zm.core.$ZodType, value: unknown) => {
    const result = zm.safeParse(s, value);
    if (result.success) throw new Error('expected the value to be refused');
    return toFieldIssues(result.error);
  };
  const target = [
    zm.union([zm.string(), zm.strictObject({ host: zm.string(), port: zm.int() })]),
    v.union([v.string(), v.strictObject({ host: v.string(), port: v.int() })]),
  ] as const;
  const scalar = [zm.union([zm.string(), zm.number()]), v.union([v.string(), v.number()])] as const;
  const either = [
    zm.union([zm.strictObject({ a: zm.string() }), zm.strictObject({ b: zm.string() })]),
    v.union([v.strictObject({ a: v.string() }), v.strictObject({ b: v.string() })]),
  ] as const;
  const shortOrNumber = [
    zm.union([zm.string().check(zm.minLength(3)), zm.number()]),
    v.union([v.pipe(v.string(), v.minLength(3)), v.number()]),
  ] as const;
  const listOrNumber = [
    zm.union([zm.number(), zm.array(zm.string())]),
    v.union([v.number(), v.array(v.string())]),
  ] as const;

  it.each([
    ['the branch the value was meant for, failing a field', target, { host: 'a', port: '80' }],
    ['the branch the value was meant for, with an unknown key', target, { host: 'a', port: 80, tls: true }],
    ['no branch clearly meant', scalar, true],
    ['an array branch failing an item', listOrNumber, ['a', 1]],
    ['two object branches, one given an unknown key', either, { a: 'x', c: 1 }],
    ['two object branches, neither key given', either, {}],
    ['two object branches, both given unknown keys', either, { a: 'x', b: 'y', c: 1 }],
    ['a branch failing only a check', shortOrNumber, 'ab'],
  ] as const)('a union: %s, as the config reports it', (_, [zodUnion, valibotUnion], value) => {
    // Act
    const issues = issuesOf(v.object({ target: valibotUnion }), { target: value });

    // Assess
    expect(issues).toStrictEqual(configIssuesOf(zm.object({ target: zodUnion }), { target: value }));
  });

  it('keeps the issues of the union branch the value was meant for', () => {
    const issues = issuesOf(v.object({ target: target[1] }), { target: { host: 'a', port: '80' } });
    expect(issues).toEqual([
      { path: 'target.port', message: 'Invalid input: expected number, received string' },
    ]);
  });

  it('fails a union as a whole when no branch is clearly meant', () => {
    expect(issuesOf(v.object({ target: scalar[1] }), { target: true })).toEqual([
      { path: 'target', message: 'Invalid input' },
    ]);
  });

  it('names the discriminator a variant did not recognise', () => {
    const route = v.variant('kind', [
      v.object({ kind: v.literal('alb') }),
      v.object({ kind: v.literal('route53') }),
    ]);
    expect(issuesOf(v.object({ route }), { route: { kind: 'nlb' } })).toEqual([
      { path: 'route.kind', message: "Invalid discriminator value. Expected 'alb' | 'route53'" },
    ]);
  });
});
