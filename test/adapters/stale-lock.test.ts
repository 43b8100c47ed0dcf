/**
 * The lock of a holder that has no record past the starting grace, on dynalite: released only as it was read
 * (holder and acquiredAt), so a holder that starts meanwhile (renewLock, before its record) keeps it, and a holder
 * whose lock was released that way cannot renew it.
 */
import type { AddressInfo } from 'node:net';
import {
  CreateTableCommand,
  DeleteTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import dynalite from 'dynalite';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DynamoRolloutStore, ROLLOUT_TABLE_SCHEMA } from '../../functions/adapters/aws/dynamodb';
import type { RolloutStore } from '../../functions/ports';
import { InMemoryRolloutStore } from '../../sandbox/store';
import { fastRetry } from './helpers';

const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
const AT = new Date('2026-03-04T12:00:00Z');
let raw: DynamoDBClient;
let doc: DynamoDBDocumentClient;
let tableName: string;
let tables = 0;
let store: DynamoRolloutStore;

beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  raw = new DynamoDBClient({
    endpoint: `http://127.0.0.1:${port}`,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  doc = DynamoDBDocumentClient.from(raw);
});

afterAll(async () => {
  raw.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

beforeEach(async () => {
  tableName = `stale-lock-${++tables}`;
  await raw.send(new CreateTableCommand({ TableName: tableName, ...ROLLOUT_TABLE_SCHEMA }));
  while ((await raw.send(new DescribeTableCommand({ TableName: tableName }))).Table?.TableStatus !== 'ACTIVE')
    await new Promise((resolve) => setTimeout(resolve, 5));
  store = new DynamoRolloutStore(doc, tableName, { retry: fastRetry().retry });
});

afterEach(async () => {
  await raw.send(new DeleteTableCommand({ TableName: tableName }));
});

const TAKEN = '2026-03-04T11:50:00.000Z';

describe.each([
  ['DynamoRolloutStore', () => store as RolloutStore],
  ['the sandbox store', () => new InMemoryRolloutStore() as RolloutStore],
])('%s: a stale lock and its holder starting', (_name, storeOf) => {
  it('a holder that renewed its lock keeps it: the release as read before writes nothing', async () => {
    const store = storeOf();
    await store.acquireLock('web', 'web-a', new Date(TAKEN));
    expect(await store.renewLock('web', 'web-a', AT)).toBe(true);
    expect(await store.releaseStaleLock('web', 'web-a', TAKEN)).toBe(false);
    expect(await store.getLock('web')).toMatchObject({ rolloutId: 'web-a', acquiredAt: AT.toISOString() });
  });

  it('a lock released as read cannot be renewed by its old holder', async () => {
    const store = storeOf();
    await store.acquireLock('web', 'web-a', new Date(TAKEN));
    expect(await store.releaseStaleLock('web', 'web-a', TAKEN)).toBe(true);
    await store.acquireLock('web', 'web-b', AT);
    expect(await store.renewLock('web', 'web-a', AT)).toBe(false);
    expect((await store.getLock('web'))?.rolloutId).toBe('web-b');
    expect(await store.releaseStaleLock('web', 'web-a', TAKEN)).toBe(false);
  });
});
