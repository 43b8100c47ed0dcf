/** The settings `canary check` runs with: the service configs to check, the controller's roles and the region. */
import { parseServiceConfigs, type ServiceConfig } from '../../functions/core/config';

export class CheckSettingError extends Error {}

export interface CheckSettings {
  configs: ServiceConfig[];
  /** Function name → its role ARN (CONTROLLER_ROLES); undefined: the IAM check is not run. */
  roles?: Record<string, string>;
  /** The controller's tag value (CONTROLLER_TAG, the stack's ControllerTag output); undefined: tags not checked. */
  controllerTag?: string;
  /**
   * The stack's service-config table (CONFIG_TABLE_NAME, the ServiceConfigTableName output), in the roles' account
   * and partition and the check's region; undefined without the table's name or the roles.
   */
  configTableArn?: string;
  region: string;
}

/** SERVICES_JSON, CONTROLLER_ROLES and AWS_REGION, as the other commands read their settings. */
export function checkSettings(env: NodeJS.ProcessEnv): CheckSettings {
  const region = env.AWS_REGION || env.AWS_DEFAULT_REGION;
  if (!region) throw new CheckSettingError('AWS_REGION is not set (the region of the services to check)');
  if (!env.SERVICES_JSON || env.SERVICES_JSON.trim() === '')
    throw new CheckSettingError(
      'SERVICES_JSON is not set (the service configs to check, as the stack has them)',
    );
  let configs: ServiceConfig[];
  try {
    configs = parseServiceConfigs(JSON.parse(env.SERVICES_JSON));
  } catch (error) {
    throw new CheckSettingError(`SERVICES_JSON: ${(error as Error).message}`);
  }
  let roles: Record<string, string> | undefined;
  if (env.CONTROLLER_ROLES && env.CONTROLLER_ROLES.trim() !== '') {
    let parsed: unknown;
    try {
      parsed = JSON.parse(env.CONTROLLER_ROLES);
    } catch {
      parsed = undefined;
    }
    const valid =
      parsed !== null &&
      typeof parsed === 'object' &&
      !Array.isArray(parsed) &&
      Object.values(parsed as object).every(
        (v) => typeof v === 'string' && /^arn:[^:]+:iam::\d{12}:role\/.+/.test(v),
      );
    if (!valid)
      throw new CheckSettingError(
        'CONTROLLER_ROLES must be a JSON object of function name → IAM role ARN (the stack’s ControllerRoles output)',
      );
    roles = parsed as Record<string, string>;
  }
  const controllerTag = env.CONTROLLER_TAG?.trim() || undefined;
  const configTableArn = tableArn(env.CONFIG_TABLE_NAME?.trim(), roles, region);
  return {
    configs,
    ...(roles ? { roles } : {}),
    ...(controllerTag ? { controllerTag } : {}),
    ...(configTableArn ? { configTableArn } : {}),
    region,
  };
}

/** `arn:<partition>:dynamodb:<region>:<account>:table/<name>`, the account and partition those of the roles. */
function tableArn(
  name: string | undefined,
  roles: Record<string, string> | undefined,
  region: string,
): string | undefined {
  const role = Object.values(roles ?? {})[0];
  if (!name || !role) return undefined;
  const [, partition, , , account] = role.split(':');
  return `arn:${partition}:dynamodb:${region}:${account}:table/${name}`;
}
