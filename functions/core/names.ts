/**
 * The patterns of a service's name and its ECR repository's, shared by the config's schema (config-names.ts) and
 * the events' (events.ts), which check them with different validators.
 */

/** Service names become part of Step Functions execution names (80 chars, [A-Za-z0-9-_]). */
export const SERVICE_NAME = /^[a-z][a-z0-9-]{0,39}$/;
export const SERVICE_NAME_RULE = 'must be 1–40 characters of a-z, 0-9 and -, starting with a letter';

/** ECR repository names: lowercase, may contain / . _ - (e.g. team/payments-api). */
export const REPOSITORY_NAME = /^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*\/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$/;
export const REPOSITORY_NAME_RULE = 'must be an ECR repository name';
export const REPOSITORY_NAME_MAX = 256;
