import { ConfigInvalidError, type FieldIssue, InputInvalidError } from './errors';
import * as v from './valibot';
import type * as z from './zod';

/** `steps[2].weight` from `['steps', 2, 'weight']`. */
export function fieldPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out ? `.${String(key)}` : String(key);
  }
  return out;
}

type Issue = z.core.$ZodIssue;

/**
 * A failed union reports every branch's issues; keep those of the branch the value was clearly meant for: the
 * only branch with issues below the root, else the only branch not failing on the value's type.
 */
function unwrapUnions(issues: readonly Issue[], prefix: readonly PropertyKey[] = []): Issue[] {
  return issues.flatMap((issue): Issue[] => {
    const path = [...prefix, ...issue.path];
    if (issue.code === 'invalid_union' && issue.errors.length > 0 && issue.message === 'Invalid input') {
      const deep = issue.errors.filter((branch) => branch.some((i) => i.path.length > 0));
      const typed = issue.errors.filter(
        (branch) => !branch.every((i) => i.code === 'invalid_type' && i.path.length === 0),
      );
      const chosen = deep.length === 1 ? deep[0] : typed.length === 1 ? typed[0] : undefined;
      if (chosen) return unwrapUnions(chosen, path);
    }
    return [{ ...issue, path } as Issue];
  });
}

/** The config's issues (zod), each naming its field. */
export function toFieldIssues(error: z.core.$ZodError): FieldIssue[] {
  return unwrapUnions(error.issues).map((issue) => {
    const keys = issue.code === 'unrecognized_keys' ? issue.keys : [];
    const path = fieldPath(issue.path);
    if (keys.length > 0) {
      return { path: keys.map((k) => (path ? `${path}.${k}` : k)).join(', '), message: 'unknown field' };
    }
    return { path, message: issue.message };
  });
}

/**
 * Parse trusted-shape configuration; a failure names every wrong field. The config's schemas are zod's, checked
 * through their Standard Schema interface so that this module, which the Lambda handlers take for parseInput,
 * does not import zod.
 */
export function parseConfig<S extends z.core.$ZodType>(
  schema: S,
  value: unknown,
  subject: string,
): z.infer<S> {
  const result = schema['~standard'].validate(value);
  if (result instanceof Promise) throw new TypeError(`the schema of ${subject} is asynchronous`);
  if (result.issues) {
    throw new ConfigInvalidError(subject, toFieldIssues({ issues: result.issues } as z.core.$ZodError));
  }
  return result.value as z.infer<S>;
}

/** Valibot's issues (run-time input), each naming its field; unknown keys read `unknown field`, as the config's. */
export function inputFieldIssues(issues: readonly v.BaseIssue<unknown>[]): FieldIssue[] {
  return issues.map((issue) => {
    const keys = (issue.path ?? []).map((item) => item.key as PropertyKey);
    if (!v.isUnknownKeyIssue(issue)) return { path: fieldPath(keys), message: issue.message };
    const parent = fieldPath(keys.slice(0, -1));
    const named = v.unknownKeys(issue).map((k) => (parent ? `${parent}.${k}` : k));
    return { path: named.join(', '), message: 'unknown field' };
  });
}

/** Parse input arriving at a boundary (an event, a request); a failure names every wrong field. */
export function parseInput<S extends v.GenericSchema>(
  schema: S,
  value: unknown,
  subject: string,
): v.InferOutput<S> {
  const result = v.safeParse(schema, value);
  if (!result.success) throw new InputInvalidError(subject, inputFieldIssues(result.issues));
  return result.output;
}
