/**
 * Checking what arrives at a Lambda handler at run time (valibot, core/valibot.ts); the deploy-time config is
 * checked by core/config-validation.ts (zod).
 */
import { type FieldIssue, InputInvalidError } from './errors';
import { fieldPath } from './field-path';
import * as v from './valibot';

export { fieldPath } from './field-path';

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
