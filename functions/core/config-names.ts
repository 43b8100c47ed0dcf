/**
 * A service's name and its ECR repository's, as a config gives them and as events name them: apart from the rest
 * of the config's schemas (config-route.ts), so the events' schemas (events.ts) take only these.
 */
import * as z from './zod';

/** Service names become part of Step Functions execution names (80 chars, [A-Za-z0-9-_]). */
export const serviceName = z
  .string()
  .check(
    z.regex(/^[a-z][a-z0-9-]{0,39}$/, 'must be 1–40 characters of a-z, 0-9 and -, starting with a letter'),
  );

/** ECR repository names: lowercase, may contain / . _ - (e.g. team/payments-api). */
export const repositoryName = z
  .string()
  .check(
    z.regex(
      /^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*\/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$/,
      'must be an ECR repository name',
    ),
    z.maxLength(256),
  );
