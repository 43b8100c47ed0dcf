/**
 * Lambda (deploy time, the stack's custom resource through the CDK Provider framework): read the service configs
 * the synth validated and uploaded as an asset, validate them again with the same schema, and make the config
 * table hold exactly them (adapters/aws/config-publisher.ts). Create and Update publish; Delete leaves the table
 * to go with the stack. A failure fails the deploy, which CloudFormation rolls back: the functions keep reading
 * the configs already in the table.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ConfigPublisher } from '../adapters/aws/config-publisher';
import { DOCUMENT_OPTIONS } from '../adapters/aws/dynamodb/options';
import { SDK_CLIENT_CONFIG } from '../adapters/aws/sdk';
import { parseServiceConfigsJson } from '../core/config';

/** The custom resource's properties (infra/service-configs.ts). */
export interface PublishProperties {
  TableName: string;
  Bucket: string;
  Key: string;
  /** The asset's content hash: a new one on every change of the configs, which makes CloudFormation update. */
  Version: string;
  /** The config schema's version (core/config-version.ts): a new one publishes every config again. */
  Schema?: string;
  /**
   * The key of this function's own code asset (its bundle's content hash): new code, a changed cross-field rule
   * among it, publishes every config again, which the schema's version alone would not.
   */
  Publisher?: string;
}

/** The Provider framework's onEvent request, the fields this handler reads. */
export interface PublishEvent {
  RequestType: 'Create' | 'Update' | 'Delete';
  PhysicalResourceId?: string;
  ResourceProperties: PublishProperties & { ServiceToken?: string };
}

/** One physical id for the life of the stack: an update never makes CloudFormation delete the "old" resource. */
export const PHYSICAL_ID = 'service-configs';

export interface PublishDeps {
  read: (bucket: string, key: string) => Promise<string>;
  publisher: (tableName: string) => Pick<ConfigPublisher, 'publish'>;
  now: () => Date;
}

export function makePublishConfigs(deps: PublishDeps) {
  return async (event: PublishEvent) => {
    if (event.RequestType === 'Delete')
      return { PhysicalResourceId: event.PhysicalResourceId ?? PHYSICAL_ID };
    const { TableName, Bucket, Key, Version } = event.ResourceProperties;
    const configs = parseServiceConfigsJson(await deps.read(Bucket, Key), `s3://${Bucket}/${Key}`);
    const result = await deps.publisher(TableName).publish(configs, Version, deps.now());
    console.log(JSON.stringify({ message: 'service configs published', table: TableName, ...result }));
    return {
      PhysicalResourceId: PHYSICAL_ID,
      Data: { Version: result.version, Services: String(configs.length) },
    };
  };
}

const config = { ...SDK_CLIENT_CONFIG, region: process.env.AWS_REGION };

/** The asset's text (GetObject). */
export async function readAsset(s3: S3Client, bucket: string, key: string): Promise<string> {
  const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  if (!out.Body) throw new Error(`s3://${bucket}/${key} has no body`);
  return out.Body.transformToString();
}

export const handler = makePublishConfigs({
  read: (bucket, key) => readAsset(new S3Client(config), bucket, key),
  publisher: (tableName) =>
    new ConfigPublisher(DynamoDBDocumentClient.from(new DynamoDBClient(config), DOCUMENT_OPTIONS), tableName),
  now: () => new Date(),
});
