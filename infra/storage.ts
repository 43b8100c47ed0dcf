/** The rollout table: records, locks, waits, history and quarantine (functions/adapters/aws/dynamodb.ts). */
import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type { Construct } from 'constructs';
import { ROLLOUT_TABLE_SCHEMA } from '../functions/adapters/aws/dynamodb';

/**
 * The table the store's own schema describes (keys and GSIs from ROLLOUT_TABLE_SCHEMA, which the adapter's tests
 * create too): on-demand, point-in-time recovery, encrypted, protected from deletion and retained. Created in
 * `scope` (the controller) as `Table`, the id a deployed stack has.
 */
export function rolloutTable(scope: Construct): dynamodb.Table {
  const type = (name: string | undefined) => {
    const def = ROLLOUT_TABLE_SCHEMA.AttributeDefinitions?.find((a) => a.AttributeName === name);
    if (!def || !name) throw new Error(`ROLLOUT_TABLE_SCHEMA: no attribute definition for ${name}`);
    const t = {
      S: dynamodb.AttributeType.STRING,
      N: dynamodb.AttributeType.NUMBER,
      B: dynamodb.AttributeType.BINARY,
    };
    return { name, type: t[def.AttributeType as 'S' | 'N' | 'B'] };
  };
  const keys = (schema: { AttributeName?: string; KeyType?: string }[] | undefined) => ({
    partitionKey: type(schema?.find((k) => k.KeyType === 'HASH')?.AttributeName),
    ...(schema?.some((k) => k.KeyType === 'RANGE')
      ? { sortKey: type(schema.find((k) => k.KeyType === 'RANGE')?.AttributeName) }
      : {}),
  });
  const table = new dynamodb.Table(scope, 'Table', {
    ...keys(ROLLOUT_TABLE_SCHEMA.KeySchema),
    billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
    pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
    encryption: dynamodb.TableEncryption.AWS_MANAGED,
    deletionProtection: true,
    removalPolicy: RemovalPolicy.RETAIN,
  });
  for (const gsi of ROLLOUT_TABLE_SCHEMA.GlobalSecondaryIndexes ?? []) {
    table.addGlobalSecondaryIndex({
      indexName: gsi.IndexName as string,
      ...keys(gsi.KeySchema),
      projectionType: dynamodb.ProjectionType.ALL,
    });
  }
  return table;
}
