/**
 * A service's name and its ECR repository's, as a config gives them: apart from the rest of the config's schemas
 * (config-route.ts). The events check the same patterns (core/names.ts) with their own validator.
 */
import {
  REPOSITORY_NAME,
  REPOSITORY_NAME_MAX,
  REPOSITORY_NAME_RULE,
  SERVICE_NAME,
  SERVICE_NAME_RULE,
} from './names';
import * as z from './zod';

export const serviceName = z.string().check(z.regex(SERVICE_NAME, SERVICE_NAME_RULE));

export const repositoryName = z
  .string()
  .check(z.regex(REPOSITORY_NAME, REPOSITORY_NAME_RULE), z.maxLength(REPOSITORY_NAME_MAX));
