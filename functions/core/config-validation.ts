/**
 * Checking the deploy-time config (zod, core/zod.ts): synth, the CLI's checks and publish-configs. What the Lambda
 * handlers check at run time goes through core/validation.ts (valibot), so neither bundle carries the other's
 * validator.
 */
import { ConfigInvalidError, type FieldIssue } from './errors';
import { fieldPath } from './field-path';
import * as z from './zod';

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

/** The config's issues, each naming its field. */
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
 * Parse trusted-shape configuration; a failure names every wrong field. An error a check throws reaches the
 * caller as it is.
 */
export function parseConfig<S extends z.core.$ZodType>(
  schema: S,
  value: unknown,
  subject: string,
): z.infer<S> {
  const result = z.safeParse(schema, value);
  if (!result.success) throw new ConfigInvalidError(subject, toFieldIssues(result.error));
  return result.data;
}
