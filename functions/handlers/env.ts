/**
 * Configuration from the Lambda environment, read once per cold start. A missing variable fails the cold start
 * with a message naming it; each handler reads only the variables it needs.
 */
import { CanaryControllerError, ErrorName } from '../core/errors';

class MissingEnvError extends CanaryControllerError {
  constructor(readonly variable: string) {
    super(
      ErrorName.ConfigInvalid,
      `environment variable ${variable} is not set: the function cannot start without it`,
    );
  }
}

/** The value of a variable that must be set (and not empty). */
export function requireEnv(name: string): string {
  const value = process.env[name];
  if (value === undefined || value.trim() === '') throw new MissingEnvError(name);
  return value;
}

/** The value of an optional variable; empty counts as unset. */
export function optionalEnv(name: string): string | undefined {
  const value = process.env[name];
  return value === undefined || value.trim() === '' ? undefined : value;
}

export const region = (): string => requireEnv('AWS_REGION');
export const tableName = (): string => requireEnv('TABLE_NAME');
export const stateMachineArn = (): string => requireEnv('STATE_MACHINE_ARN');
export const snsTopicArn = (): string | undefined => optionalEnv('SNS_TOPIC_ARN');
export const pagerDutySecretArn = (): string | undefined => optionalEnv('PAGERDUTY_SECRET_ARN');
/** The table the deploy writes the service configs to (adapters/aws/config-catalog.ts). */
export const configTableName = (): string => requireEnv('CONFIG_TABLE_NAME');
/**
 * The controller's id, the value of its `canary-controller` tag (set for the functions that change routes): the
 * header rule is created with it.
 */
export const controllerTag = (): string | undefined => optionalEnv('CONTROLLER_TAG');
/** The controller's bus, where rollout state changes are announced (optional: none without it). */
export const eventBusName = (): string | undefined => optionalEnv('EVENT_BUS_NAME');
