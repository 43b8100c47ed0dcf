/**
 * The lock of a holder that has no record past the starting grace, on dynalite: released only as it was read
 * (holder and acquiredAt), so a holder that starts meanwhile (renewLock, before its record) keeps it, and a holder
 * whose lock was released that way cannot renew it.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { DynamoRolloutStore } from '../../functions/adapters/aws/dynamodb';
import type { RolloutStore } from '../../functions/ports';
import { InMemoryRolloutStore } from '../../sandbox/store';
import { dynaliteTable } from './dynalite-table';
import { fastRetry } from './helpers';

const { doc, tableName } = dynaliteTable({ prefix: 'stale-lock' });
const AT = new Date('2026-03-04T12:00:00Z');
let store: DynamoRolloutStore;

beforeEach(() => {
  store = new DynamoRolloutStore(doc(), tableName(), { retry: fastRetry().retry });
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
