/**
 * The CLI's settings from a stack name alone (`--stack NAME` or CANARY_STACK): the stack's outputs
 * (CloudFormation DescribeStacks) name the rollout table, the state machine, the bus, the service-config table and
 * the functions' roles, and the service configs are read from their table. What the environment sets explicitly
 * wins over an output, so the variables the CLI always read (TABLE_NAME, STATE_MACHINE_ARN, EVENT_BUS_NAME,
 * SERVICES_JSON, CONTROLLER_ROLES, CONTROLLER_TAG) keep working, with or without a stack.
 */
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoServiceCatalog } from '../functions/adapters/aws/config-catalog';
import { DOCUMENT_OPTIONS } from '../functions/adapters/aws/dynamodb/options';
import { AwsCaller, SDK_CLIENT_CONFIG } from '../functions/adapters/aws/sdk';
import type { ServiceConfig } from '../functions/core/config';

/** Output key (infra/stack.ts) → the setting it gives. */
const STACK_OUTPUTS: Readonly<Record<string, string>> = {
  TableName: 'TABLE_NAME',
  StateMachineArn: 'STATE_MACHINE_ARN',
  EventBusName: 'EVENT_BUS_NAME',
  ServiceConfigTableName: 'CONFIG_TABLE_NAME',
  ControllerRoles: 'CONTROLLER_ROLES',
  ControllerTag: 'CONTROLLER_TAG',
};

export class StackSettingError extends Error {}

export interface StackClients {
  cloudformation: CloudFormationClient;
  /** The configs in a service-config table. */
  services: (tableName: string) => Promise<ServiceConfig[]>;
}

/**
 * The configs in a service-config table, read through a document client with the options every reader and writer of
 * the controller's tables shares: a number beyond 2^53 reads back as the number the deploy published.
 */
export function configTableReader(dynamodb: DynamoDBClient): StackClients['services'] {
  const doc = DynamoDBDocumentClient.from(dynamodb, DOCUMENT_OPTIONS);
  return (tableName) => new DynamoServiceCatalog(doc, tableName).list();
}

function stackClients(region: string): StackClients {
  const config = { ...SDK_CLIENT_CONFIG, region };
  return {
    cloudformation: new CloudFormationClient(config),
    services: configTableReader(new DynamoDBClient(config)),
  };
}

/**
 * `env` with the settings of the stack named by `stack` (else CANARY_STACK) filled in where `env` leaves them
 * unset, and SERVICES_JSON from the stack's config table. Without a stack name, `env` unchanged.
 */
export async function withStackSettings(
  env: NodeJS.ProcessEnv,
  stack?: string,
  clients?: StackClients,
): Promise<NodeJS.ProcessEnv> {
  const name = stack ?? env.CANARY_STACK;
  if (!name || name.trim() === '') return env;
  const region = env.AWS_REGION || env.AWS_DEFAULT_REGION;
  if (!region) throw new StackSettingError(`AWS_REGION is not set (the region of stack ${name})`);
  const use = clients ?? stackClients(region);
  const aws = new AwsCaller();
  const out = await aws.call('cloudformation:DescribeStacks', name, () =>
    use.cloudformation.send(new DescribeStacksCommand({ StackName: name })),
  );
  const settings: NodeJS.ProcessEnv = {};
  for (const { OutputKey, OutputValue } of out.Stacks?.[0]?.Outputs ?? []) {
    const setting = OutputKey ? STACK_OUTPUTS[OutputKey] : undefined;
    if (setting && OutputValue) settings[setting] = OutputValue;
  }
  if (Object.keys(settings).length === 0)
    throw new StackSettingError(
      `stack ${name} has none of the controller's outputs (${Object.keys(STACK_OUTPUTS).join(', ')}): is it a canary controller stack?`,
    );
  const merged = { ...settings, ...withoutBlanks(env) };
  if (!merged.SERVICES_JSON && merged.CONFIG_TABLE_NAME)
    merged.SERVICES_JSON = JSON.stringify(await use.services(merged.CONFIG_TABLE_NAME));
  return merged;
}

/** Set variables only: an empty one does not hide an output. */
function withoutBlanks(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v.trim() !== ''));
}
