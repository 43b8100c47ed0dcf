/**
 * A dynalite server (a DynamoDB-compatible engine) on a free loopback port for the file's tests, a client and a
 * document client on it, and a fresh table per test: created before each test and waited on until ACTIVE (a table
 * refuses reads and writes while it is CREATING, ResourceNotFoundException; dynalite gets there on a timer, which a
 * busy machine delays), deleted after it. Registers the vitest hooks where it is called.
 */
import type { AddressInfo } from 'node:net';
import {
  CreateTableCommand,
  type CreateTableCommandInput,
  DeleteTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, type TranslateConfig } from '@aws-sdk/lib-dynamodb';
import dynalite from 'dynalite';
import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest';
import { ROLLOUT_TABLE_SCHEMA } from '../../functions/adapters/aws/dynamodb';

export interface DynaliteTableOptions {
  /** Each test's table is named `${prefix}-${n}`. */
  prefix: string;
  /** The table's keys and indexes; the rollout table's by default. */
  schema?: Omit<CreateTableCommandInput, 'TableName'>;
  /** The document client's marshalling options. */
  documentOptions?: TranslateConfig;
}

export interface DynaliteTable {
  raw(): DynamoDBClient;
  doc(): DynamoDBDocumentClient;
  /** The current test's table. */
  tableName(): string;
}

export function dynaliteTable(options: DynaliteTableOptions): DynaliteTable {
  const schema = options.schema ?? ROLLOUT_TABLE_SCHEMA;
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  let raw: DynamoDBClient | undefined;
  let doc: DynamoDBDocumentClient | undefined;
  let tableName: string | undefined;
  let tables = 0;

  beforeAll(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    raw = new DynamoDBClient({
      endpoint: `http://127.0.0.1:${port}`,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    doc = DynamoDBDocumentClient.from(raw, options.documentOptions);
  });

  afterAll(async () => {
    raw?.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  beforeEach(async () => {
    const client = started(raw);
    const name = `${options.prefix}-${++tables}`;
    tableName = name;
    await client.send(new CreateTableCommand({ TableName: name, ...schema }));
    while ((await client.send(new DescribeTableCommand({ TableName: name }))).Table?.TableStatus !== 'ACTIVE')
      await new Promise((resolve) => setTimeout(resolve, 5));
  });

  afterEach(async () => {
    await started(raw).send(new DeleteTableCommand({ TableName: started(tableName) }));
  });

  return { raw: () => started(raw), doc: () => started(doc), tableName: () => started(tableName) };
}

function started<T>(value: T | undefined): T {
  if (value === undefined) throw new Error('dynalite table used outside a test (its hooks have not run)');
  return value;
}
