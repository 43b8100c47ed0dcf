import type { z } from 'zod';
import { ConfigInvalidError, type FieldIssue, InputInvalidError } from './errors';

/** `steps[2].weight` from zod's `['steps', 2, 'weight']`. */
export function fieldPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out ? `.${String(key)}` : String(key);
  }
  return out;
}

export function toFieldIssues(error: z.ZodError): FieldIssue[] {
  return error.issues.map((issue) => {
    const keys = issue.code === 'unrecognized_keys' ? issue.keys : [];
    const path = fieldPath(issue.path);
    if (keys.length > 0) {
      return { path: keys.map((k) => (path ? `${path}.${k}` : k)).join(', '), message: 'unknown field' };
    }
    return { path, message: issue.message };
  });
}

/** Parse trusted-shape configuration; a failure names every wrong field. */
export function parseConfig<S extends z.ZodType>(schema: S, value: unknown, subject: string): z.infer<S> {
  const result = schema.safeParse(value);
  if (!result.success) throw new ConfigInvalidError(subject, toFieldIssues(result.error));
  return result.data;
}

/** Parse input arriving at a boundary (an event, a request); a failure names every wrong field. */
export function parseInput<S extends z.ZodType>(schema: S, value: unknown, subject: string): z.infer<S> {
  const result = schema.safeParse(value);
  if (!result.success) throw new InputInvalidError(subject, toFieldIssues(result.error));
  return result.data;
}
