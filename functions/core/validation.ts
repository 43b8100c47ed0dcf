import { ConfigInvalidError, type FieldIssue, InputInvalidError } from './errors';
import * as z from './zod';

/** `steps[2].weight` from zod's `['steps', 2, 'weight']`. */
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

/** Parse trusted-shape configuration; a failure names every wrong field. */
export function parseConfig<S extends z.core.$ZodType>(
  schema: S,
  value: unknown,
  subject: string,
): z.infer<S> {
  const result = z.safeParse(schema, value);
  if (!result.success) throw new ConfigInvalidError(subject, toFieldIssues(result.error));
  return result.data;
}

/** Parse input arriving at a boundary (an event, a request); a failure names every wrong field. */
export function parseInput<S extends z.core.$ZodType>(
  schema: S,
  value: unknown,
  subject: string,
): z.infer<S> {
  const result = z.safeParse(schema, value);
  if (!result.success) throw new InputInvalidError(subject, toFieldIssues(result.error));
  return result.data;
}
