/**
 * The store against dynalite (a DynamoDB-compatible engine) on a random loopback port, so conditional writes,
 * sparse indexes and update expressions run for real.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  type QueryCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { beforeEach, describe, expect, it } from 'vitest';
import { DynamoRolloutStore } from '../../functions/adapters/aws/dynamodb';
import { activePk } from '../../functions/adapters/aws/dynamodb/table';
import { stepSpecs } from '../../functions/core/config';
import { LockHeldError, TargetNotFoundError, TransientError } from '../../functions/core/errors';
import { type HistoryEntry, storedTypeOf } from '../../functions/core/history';
import { buildPlan } from '../../functions/core/plan';
import { type RolloutDoc, type RolloutRecord, waitSeq } from '../../functions/core/rollout';
import type { RolloutStore } from '../../functions/ports';
import { InMemoryRolloutStore } from '../../sandbox/store';
import { mockClient } from '../contract/mock';
import { dynaliteTable } from './dynalite-table';
import { DIGEST, fastRetry, route, serviceConfig, throttling } from './helpers';

const { doc, tableName } = dynaliteTable({ prefix: 'canary-rollouts' });
let store: DynamoRolloutStore;

beforeEach(() => {
  store = new DynamoRolloutStore(doc(), tableName(), { retry: fastRetry().retry });
});

const at = (minute: number) => new Date(Date.UTC(2025, 2, 4, 12, minute));
const config = serviceConfig();

function rolloutDoc(rolloutId: string): RolloutDoc {
  return {
    rolloutId,
    service: 'web',
    image: { repository: 'team/web', digest: DIGEST, tag: 'v1.5.0' },
    config,
    plan: buildPlan(stepSpecs(config)),
    trigger: 'ecr-push',
    requestedAt: at(0).toISOString(),
  };
}

function record(rolloutId: string, extra: Partial<RolloutRecord> = {}): RolloutRecord {
  return {
    rolloutId,
    service: 'web',
    image: { repository: 'team/web', digest: DIGEST },
    status: 'running',
    alarms: ['web-5xx'],
    createdAt: at(0).toISOString(),
    updatedAt: at(0).toISOString(),
    ...extra,
  };
}

describe('DynamoRolloutStore: the service lock', () => {
  it('two rollouts racing for one service: exactly one wins, the other learns who holds it', async () => {
    const results = await Promise.allSettled([
      store.acquireLock('web', 'web-a', at(1)),
      store.acquireLock('web', 'web-b', at(1)),
    ]);

    const won = results.filter((r) => r.status === 'fulfilled');
    const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(1);
    const holder = (await store.getLock('web'))?.rolloutId;
    const reason: unknown = lost[0]?.reason;
    expect(reason).toBeInstanceOf(LockHeldError);
    expect(reason instanceof LockHeldError && reason.holder).toBe(holder);
    expect(['web-a', 'web-b']).toContain(holder);
  });

  it('taking a lock one already holds is fine; another rollout is refused', async () => {
    await store.acquireLock('web', 'web-a', at(1));
    await store.acquireLock('web', 'web-a', at(2));

    await expect(store.acquireLock('web', 'web-b', at(3))).rejects.toThrow(new LockHeldError('web', 'web-a'));
    expect(await store.getLock('web')).toEqual({
      service: 'web',
      rolloutId: 'web-a',
      acquiredAt: at(1).toISOString(),
    });
    await store.acquireLock('api', 'api-a', at(3));
  });

  it('release by the holder frees the service; by anyone else it is a no-op', async () => {
    await store.acquireLock('web', 'web-a', at(1));

    expect(await store.releaseLock('web', 'web-b', at(2))).toBeUndefined();
    expect((await store.getLock('web'))?.rolloutId).toBe('web-a');

    expect(await store.releaseLock('web', 'web-a', at(2))).toBeUndefined();
    expect(await store.getLock('web')).toBeUndefined();
    await store.acquireLock('web', 'web-b', at(3));
  });

  it('a pending rollout takes the lock atomically on release, and its document comes back', async () => {
    await store.acquireLock('web', 'web-a', at(1));
    const next = rolloutDoc('web-b');
    await store.setPending('web', 'web-a', next);

    const handedOver = await store.releaseLock('web', 'web-a', at(5));

    expect(handedOver).toEqual(next);
    // The lock says who handed it over and what to start, so a failed start can be finished by whoever sees it.
    expect(await store.getLock('web')).toEqual({
      service: 'web',
      rolloutId: 'web-b',
      acquiredAt: at(5).toISOString(),
      doc: next,
      handedOverBy: 'web-a',
    });
  });

  it('setPending for a rollout that does not hold the lock is refused naming the holder', async () => {
    await store.acquireLock('web', 'web-a', at(1));

    await expect(store.setPending('web', 'web-x', rolloutDoc('web-b'))).rejects.toThrow(
      new LockHeldError('web', 'web-a'),
    );
    expect((await store.getLock('web'))?.pending).toBeUndefined();
  });

  it('a newer pending rollout arriving during the release is the one handed over', async () => {
    await store.acquireLock('web', 'web-a', at(1));
    await store.setPending('web', 'web-a', rolloutDoc('web-b'));
    // Between the release's read and its conditional write, an even newer image supersedes web-b.
    let interfered = false;
    const racing = {
      send: async (command: unknown) => {
        if (
          !interfered &&
          command instanceof PutCommand &&
          command.input.ConditionExpression?.includes('#pending')
        ) {
          interfered = true;
          await store.setPending('web', 'web-a', {
            ...rolloutDoc('web-c'),
            requestedAt: at(1).toISOString(),
          });
        }
        return doc().send(command as PutCommand);
      },
    } as unknown as DynamoDBDocumentClient;

    const handedOver = await new DynamoRolloutStore(racing, tableName()).releaseLock('web', 'web-a', at(5));

    expect(interfered).toBe(true);
    expect(handedOver?.rolloutId).toBe('web-c');
    expect((await store.getLock('web'))?.rolloutId).toBe('web-c');
  });
});

describe.each([
  ['DynamoRolloutStore', () => store as RolloutStore],
  ['the sandbox store', () => new InMemoryRolloutStore() as RolloutStore],
])('%s: the lock keeps its holder’s document; the order of pushes', (_name, storeOf) => {
  const push = (eventId: string, minute: number, rolloutId = `web-${eventId}`) => ({
    eventId,
    time: at(minute).toISOString(),
    digest: DIGEST,
    rolloutId,
  });

  it('keeps the document of the rollout that took the lock; taking it again is a no-op', async () => {
    const s = storeOf();
    await s.acquireLock('web', 'web-a', at(1), rolloutDoc('web-a'));
    await s.acquireLock('web', 'web-a', at(2), rolloutDoc('web-a'));

    expect(await s.getLock('web')).toEqual({
      service: 'web',
      rolloutId: 'web-a',
      acquiredAt: at(1).toISOString(),
      doc: rolloutDoc('web-a'),
    });
    await expect(s.acquireLock('web', 'web-b', at(3))).rejects.toThrow(new LockHeldError('web', 'web-a'));
  });

  it('records the newest push only over the one it read: of two racing, one wins and the other learns it', async () => {
    const s = storeOf();
    expect(await s.getNewestPush('web')).toBeUndefined();
    expect(await s.setNewestPush('web', push('e1', 1), undefined)).toBe(true);

    const results = await Promise.all([
      s.setNewestPush('web', push('e2', 2), 'e1'),
      s.setNewestPush('web', push('e3', 3), 'e1'),
    ]);

    expect(results.filter(Boolean)).toHaveLength(1);
    const winner = results[0] ? push('e2', 2) : push('e3', 3);
    expect(await s.getNewestPush('web')).toEqual(winner);
    // Written over a stale read, or as the first when one exists: refused, nothing written.
    expect(await s.setNewestPush('web', push('e4', 4), 'e1')).toBe(false);
    expect(await s.setNewestPush('web', push('e4', 4), undefined)).toBe(false);
    expect(await s.getNewestPush('web')).toEqual(winner);
    expect(await s.getNewestPush('api')).toBeUndefined();
  });

  it('marks an image per service, with the same condition on the event id', async () => {
    const s = storeOf();
    const mark = { digest: DIGEST, eventId: 'e1', rolloutId: 'web-a', time: at(1).toISOString() };
    expect(await s.markImage('web', mark, undefined)).toBe(true);
    expect(await s.markImage('web', { ...mark, eventId: 'e2' }, undefined)).toBe(false);
    expect(await s.getImage('web', DIGEST)).toEqual(mark);

    expect(await s.markImage('web', { ...mark, eventId: 'e2', rolloutId: 'web-a-r1' }, 'e1')).toBe(true);
    expect(await s.getImage('web', DIGEST)).toEqual({ ...mark, eventId: 'e2', rolloutId: 'web-a-r1' });
    expect(await s.getImage('api', DIGEST)).toBeUndefined();
  });
});

describe('DynamoRolloutStore: rollout records', () => {
  it('stores and reads a record without its key attributes', async () => {
    const r = record('web-a', { route: route(), currentStep: 0, canaryPercent: 5 });
    await store.putRollout(r);

    expect(await store.getRollout('web-a')).toEqual(r);
    expect(await store.getRollout('web-zzz')).toBeUndefined();
  });

  it('updateRollout sets what is given, removes what is given as undefined, and returns the new record', async () => {
    await store.putRollout(record('web-a', { canaryPercent: 5, currentStep: 0 }));

    const updated = await store.updateRollout('web-a', {
      canaryPercent: 10,
      currentStep: undefined,
      updatedAt: at(3).toISOString(),
      previousStable: {
        image: 'x/web:1',
        revision: 'arn:aws:ecs:us-east-1:123456789012:task-definition/web:42',
      },
    });

    expect(updated).toEqual({
      ...record('web-a'),
      canaryPercent: 10,
      updatedAt: at(3).toISOString(),
      previousStable: {
        image: 'x/web:1',
        revision: 'arn:aws:ecs:us-east-1:123456789012:task-definition/web:42',
      },
    });
    expect(await store.getRollout('web-a')).toEqual(updated);
  });

  it('updating a record that does not exist is an error, and creates nothing', async () => {
    await expect(store.updateRollout('web-none', { canaryPercent: 5 })).rejects.toThrow(
      'rollout web-none has no record',
    );
    expect(await store.getRollout('web-none')).toBeUndefined();
  });

  it('listActive holds only rollouts whose status is not terminal', async () => {
    await store.putRollout(record('web-a'));
    await store.putRollout(record('api-a', { service: 'api' }));
    await store.putRollout(record('web-old', { status: 'promoted' }));

    expect((await store.listActive()).map((r) => r.rolloutId).sort()).toEqual(['api-a', 'web-a']);

    await store.updateRollout('web-a', { status: 'rolledBack' });
    expect((await store.listActive()).map((r) => r.rolloutId)).toEqual(['api-a']);

    await store.updateRollout('web-old', { status: 'rollingBack' });
    expect((await store.listActive()).map((r) => r.rolloutId).sort()).toEqual(['api-a', 'web-old']);
  });

  it("listActive spreads live records over the index partitions and lists them all, a previous release's too", async () => {
    // Prepare: 64 live rollouts and one ended, then a live record as the previous release wrote it, every live
    // record under the one index key value "ACTIVE".
    const ids = Array.from({ length: 64 }, (_, i) => `svc${i}-20250304T120${i % 10}00Z-${i}`);
    for (const id of ids) await store.putRollout(record(id, { service: id.split('-')[0] }));
    await store.putRollout(record('done-1', { status: 'promoted' }));
    await doc().send(
      new PutCommand({
        TableName: tableName(),
        Item: {
          ...record('legacy-1', { service: 'legacy' }),
          pk: 'ROLLOUT#legacy-1',
          sk: 'RECORD',
          servicePk: 'legacy',
          serviceSk: `${at(0).toISOString()}#legacy-1`,
          activePk: 'ACTIVE',
          activeSk: 'legacy-1',
        },
      }),
    );

    // Assess: each record's index key is one of the shards, the same for the same rollout, and they spread.
    const keys = await Promise.all(
      ids.map(
        async (id) =>
          (
            await doc().send(
              new GetCommand({ TableName: tableName(), Key: { pk: `ROLLOUT#${id}`, sk: 'RECORD' } }),
            )
          ).Item?.activePk as string,
      ),
    );
    for (const key of keys) expect(key).toMatch(/^ACTIVE#([0-9]|[12][0-9]|3[01])$/);
    expect(new Set(keys).size).toBeGreaterThanOrEqual(16);
    await store.updateRollout(ids[0] ?? '', { status: 'promoting' });
    const moved = await doc().send(
      new GetCommand({ TableName: tableName(), Key: { pk: `ROLLOUT#${ids[0]}`, sk: 'RECORD' } }),
    );
    expect(moved.Item?.activePk).toBe(keys[0]);
    // Every live record is listed once, by rollout id as the index sorts it, the previous release's among them.
    const listed = (await store.listActive()).map((r) => r.rolloutId);
    expect(listed).toEqual([...ids, 'legacy-1'].sort());
    // The previous release's record keeps its key through its status writes (a key that moved would be two index
    // writes, a listing between them missing it), and stays listed until it ends.
    await store.updateRollout('legacy-1', { status: 'rollingBack' });
    const legacy = await doc().send(
      new GetCommand({ TableName: tableName(), Key: { pk: 'ROLLOUT#legacy-1', sk: 'RECORD' } }),
    );
    expect(legacy.Item?.activePk).toBe('ACTIVE');
    expect((await store.listActive()).map((r) => r.rolloutId)).toContain('legacy-1');
    await store.updateRollout('legacy-1', { status: 'rolledBack' });
    expect((await store.listActive()).map((r) => r.rolloutId)).toEqual([...ids].sort());
  });

  it('listByService gives the newest first, up to the limit', async () => {
    for (let i = 1; i <= 5; i++)
      await store.putRollout(record(`web-${i}`, { createdAt: at(i).toISOString() }));
    await store.putRollout(record('api-1', { service: 'api', createdAt: at(9).toISOString() }));

    expect((await store.listByService('web', 3)).map((r) => r.rolloutId)).toEqual([
      'web-5',
      'web-4',
      'web-3',
    ]);
    expect(await store.listByService('web', 0)).toEqual([]);
    expect((await store.listByService('api', 10)).map((r) => r.rolloutId)).toEqual(['api-1']);
  });
});

describe('DynamoRolloutStore: waits and aborts', () => {
  it('the first abort reason wins', async () => {
    await store.putRollout(record('web-a'));
    await store.acquireLock('web', 'web-a', at(1));

    const first = await store.markAborted('web-a', 'AlarmFired', 'web-5xx in ALARM', at(2));
    const second = await store.markAborted('web-a', 'Aborted', 'operator', at(3));

    expect(first.record?.abort).toEqual({
      reason: 'AlarmFired',
      message: 'web-5xx in ALARM',
      at: at(2).toISOString(),
    });
    expect(first.holds && second.holds).toBe(true);
    expect(second.record?.abort).toEqual(first.record?.abort);
    expect(second.record?.status).toBe('running');
  });

  it('clearWait removes the wait only when it is still that token', async () => {
    await store.putRollout(record('web-a'));
    const wait = { token: 'token-2', kind: 'bake' as const, step: 1, since: at(2).toISOString() };
    await store.setWait('web-a', wait);

    await store.clearWait('web-a', 'token-1');
    expect((await store.getRollout('web-a'))?.wait).toEqual(wait);

    await store.clearWait('web-a', 'token-2');
    expect((await store.getRollout('web-a'))?.wait).toBeUndefined();

    await store.clearWait('web-a', 'token-2'); // nothing to clear: still fine
  });
});

describe.each([
  ['DynamoRolloutStore', () => store as RolloutStore],
  ['the sandbox store', () => new InMemoryRolloutStore() as RolloutStore],
])('%s: the abort mark', (_name, storeOf) => {
  it('is stored only while the rollout is live and holds its service; otherwise nothing is written', async () => {
    const s = storeOf();
    await s.putRollout(record('web-old', { status: 'rolledBack' }));
    await s.putRollout(record('web-new', { canaryPercent: 10 }));
    await s.putRollout(record('api-a', { service: 'api' }));
    await s.acquireLock('web', 'web-new', at(1));

    // Ended, and the service's lock passed to a newer rollout: nothing written, the holder named.
    const ended = await s.markAborted('web-old', 'Aborted', 'operator', at(2));
    expect(ended).toMatchObject({ holds: false, holder: 'web-new' });
    expect(ended.record?.status).toBe('rolledBack');
    expect((await s.getRollout('web-old'))?.abort).toBeUndefined();

    // Live, but the lock is not its own (nobody holds the service's lock).
    expect(await s.markAborted('api-a', 'AlarmFired', 'alarm', at(2))).toMatchObject({ holds: false });
    expect((await s.getRollout('api-a'))?.abort).toBeUndefined();

    // Holds the lock, but its status is already terminal (it ended, its release not written yet).
    await s.updateRollout('web-new', { status: 'promoted' });
    expect(await s.markAborted('web-new', 'AlarmFired', 'alarm', at(3))).toMatchObject({ holds: false });
    expect((await s.getRollout('web-new'))?.abort).toBeUndefined();

    // No record at all.
    expect(await s.markAborted('web-none', 'Aborted', 'operator', at(3))).toEqual({
      holds: false,
      record: undefined,
      holder: undefined,
    });

    // Live and holding: marked.
    await s.updateRollout('web-new', { status: 'rollingBack' });
    const marked = await s.markAborted('web-new', 'AlarmFired', 'alarm', at(4));
    expect(marked.holds).toBe(true);
    expect(marked.record?.abort?.reason).toBe('AlarmFired');
  });
});

describe.each([
  ['DynamoRolloutStore', () => store as RolloutStore],
  ['the sandbox store', () => new InMemoryRolloutStore() as RolloutStore],
])('%s: the pause mark', (_name, storeOf) => {
  it("sets a person's pause only over no mark, and removes only a person's pause", async () => {
    const s = storeOf();
    await s.putRollout(record('web-p'));
    const person = { cause: 'operator', at: at(2).toISOString(), by: 'bob', via: 'cli', weight: 5 } as const;
    const failure = { ...person, cause: 'failure', by: 'the workflow', via: 'workflow', weight: 0 } as const;

    expect((await s.setPause('web-p', person, 'none', at(2).toISOString()))?.paused).toEqual(person);
    expect(await s.setPause('web-p', { ...person, by: 'eve' }, 'none', at(3).toISOString())).toBeUndefined();
    expect((await s.setPause('web-p', undefined, 'operator', at(4).toISOString()))?.paused).toBeUndefined();
    await s.updateRollout('web-p', { paused: failure });
    expect(await s.setPause('web-p', undefined, 'operator', at(5).toISOString())).toBeUndefined();
    expect(await s.setPause('web-p', person, 'none', at(5).toISOString())).toBeUndefined();
    expect((await s.getRollout('web-p'))?.paused).toEqual(failure);
  });
});

describe.each([
  ['DynamoRolloutStore', () => store as RolloutStore],
  ['the sandbox store', () => new InMemoryRolloutStore() as RolloutStore],
])('%s: the wait token', (_name, storeOf) => {
  const wait = (token: string, step: number, analyses: number, minute: number) => ({
    token,
    kind: 'bake' as const,
    step,
    seq: waitSeq(step, analyses),
    since: at(minute).toISOString(),
  });

  it('never lets an earlier wait that finishes late replace a later one', async () => {
    const s = storeOf();
    await s.putRollout(record('web-a'));
    const next = wait('token-next', 0, 1, 3);

    expect(await s.setWait('web-a', next)).toBe(true);
    // The bake of the step's first analysis, whose state already timed out, writes last and started last.
    expect(await s.setWait('web-a', wait('token-late', 0, 0, 4))).toBe(false);
    expect((await s.getRollout('web-a'))?.wait).toEqual(next);
    // Nor does a wait of an earlier step.
    expect(await s.setWait('web-a', wait('token-older-step', 0, 0, 5))).toBe(false);
    // A later step's first wait comes after any wait of the step before.
    const nextStep = wait('token-step-2', 1, 0, 6);
    expect(await s.setWait('web-a', nextStep)).toBe(true);
    expect((await s.getRollout('web-a'))?.wait).toEqual(nextStep);
  });

  it('lets a retry of the same wait (started later) replace its failed attempt, and a repeated write land', async () => {
    const s = storeOf();
    await s.putRollout(record('web-a'));
    expect(await s.setWait('web-a', wait('attempt-1', 2, 3, 3))).toBe(true);
    const retry = wait('attempt-2', 2, 3, 4);

    expect(await s.setWait('web-a', retry)).toBe(true);
    expect(await s.setWait('web-a', retry)).toBe(true);
    expect(await s.setWait('web-a', wait('attempt-1', 2, 3, 3))).toBe(false);
    expect((await s.getRollout('web-a'))?.wait).toEqual(retry);
  });

  it('keeps refusing an earlier wait once the later one was cleared (its order survives the clear)', async () => {
    const s = storeOf();
    await s.putRollout(record('web-a'));
    const live = wait('token-live', 0, 1, 3);
    expect(await s.setWait('web-a', live)).toBe(true);
    // The analysis that ends this bake clears its token...
    await s.clearWait('web-a', 'token-live');
    expect((await s.getRollout('web-a'))?.wait).toBeUndefined();

    // ...then the bake of the step's first analysis finishes late: its dead token is not stored.
    expect(await s.setWait('web-a', wait('token-late', 0, 0, 4))).toBe(false);
    expect(await s.setWait('web-a', wait('token-live-late-attempt', 0, 1, 2))).toBe(false);
    expect((await s.getRollout('web-a'))?.wait).toBeUndefined();
    // The next wait still lands.
    const next = wait('token-next', 0, 2, 5);
    expect(await s.setWait('web-a', next)).toBe(true);
    expect((await s.getRollout('web-a'))?.wait).toEqual(next);
  });

  it('refuses a wait for a rollout with no record, changing nothing', async () => {
    const s = storeOf();
    await expect(s.setWait('web-missing', wait('t', 0, 0, 1))).rejects.toThrow(/web-missing/);
    expect(await s.getRollout('web-missing')).toBeUndefined();
  });
});

describe.each([
  ['DynamoRolloutStore', () => store as RolloutStore],
  ['the sandbox store', () => new InMemoryRolloutStore() as RolloutStore],
])('%s: a page of history', (_name, storeOf) => {
  it('gives the entries at or after `since`, in time order, at most `limit`, of that rollout only', async () => {
    const s = storeOf();
    for (const [minute, message] of [
      [3, 'd'],
      [1, 'b'],
      [0, 'a'],
      [3, 'e'],
      [5, 'f'],
    ] as const)
      await s.appendHistory('web-a', { at: at(minute).toISOString(), type: 'promoting', message });
    await s.appendHistory('web-ab', { at: at(4).toISOString(), type: 'promoting', message: 'other rollout' });
    await s.putRollout(record('web-a'));

    const messages = async (page: { since?: string; limit?: number }) =>
      (await s.history('web-a', page)).map((e) => e.message);
    expect(await messages({})).toEqual(['a', 'b', 'd', 'e', 'f']);
    expect(await messages({ since: at(1).toISOString() })).toEqual(['b', 'd', 'e', 'f']);
    expect(await messages({ since: at(2).toISOString(), limit: 2 })).toEqual(['d', 'e']);
    expect(await messages({ since: at(6).toISOString() })).toEqual([]);
  });

  it('reads what other versions wrote: an older entry as its kind, one no kind fits as unrecognized', async () => {
    // Prepare: entries as other versions of the controller stored them, outside this version's types.
    const s = storeOf();
    const summary = { requests: 400, errors: 0, errorRate: 0, p99Ms: 80 };
    const stored = [
      // Decisions before the history named who decided and which wait; analyses before it kept the evidence.
      {
        at: at(1).toISOString(),
        type: 'approved',
        message: 'step 1 approved',
        detail: { step: 0, via: 'cli' },
      },
      {
        at: at(2).toISOString(),
        type: 'analysis',
        message: 'step 1 (5%): pass → advance',
        detail: {
          step: 0,
          weight: 5,
          verdict: 'pass',
          action: 'advance',
          reason: 'ok',
          canary: summary,
          baseline: summary,
        },
      },
      // A kind this version does not know, a known kind without the detail it needs, a field it does not name.
      { at: at(3).toISOString(), type: 'paused', message: 'paused by alice', detail: { by: 'alice' } },
      { at: at(4).toISOString(), type: 'alarm', message: 'an alarm fired' },
      { at: at(5).toISOString(), type: 'promoted', message: 'promoted', region: 'eu-west-1' },
    ];
    for (const entry of stored) await s.appendHistory('web-a', entry as unknown as HistoryEntry);

    // Act
    const read = await s.history('web-a');

    // Assess: nothing refused; what fits a kind comes back as stored, the rest unrecognized with its stored type.
    expect(read).toEqual([
      stored[0],
      stored[1],
      {
        at: at(3).toISOString(),
        type: 'unrecognized',
        storedType: 'paused',
        message: 'paused by alice',
        detail: { by: 'alice' },
      },
      { at: at(4).toISOString(), type: 'unrecognized', storedType: 'alarm', message: 'an alarm fired' },
      stored[4],
    ]);
    expect(read.map(storedTypeOf)).toEqual(['approved', 'analysis', 'paused', 'alarm', 'promoted']);
  });
});

describe('DynamoRolloutStore: history, quarantine, serving target group', () => {
  it('history comes back in time order, entries of one instant in the order written', async () => {
    const started = { trigger: 'ecr-push' } as const;
    await store.appendHistory('web-a', { at: at(2).toISOString(), type: 'promoting', message: 'second' });
    await store.appendHistory('web-a', {
      at: at(1).toISOString(),
      type: 'started',
      message: 'first',
      detail: started,
    });
    await store.appendHistory('web-a', {
      at: at(2).toISOString(),
      type: 'weight',
      message: 'third',
      detail: { step: 0, weight: 10 },
    });
    await store.appendHistory('web-b', {
      at: at(1).toISOString(),
      type: 'started',
      message: 'other rollout',
      detail: started,
    });
    await store.putRollout(record('web-a'));

    expect(await store.history('web-a')).toEqual([
      { at: at(1).toISOString(), type: 'started', message: 'first', detail: started },
      { at: at(2).toISOString(), type: 'promoting', message: 'second' },
      { at: at(2).toISOString(), type: 'weight', message: 'third', detail: { step: 0, weight: 10 } },
    ]);
  });

  it('quarantines an image for one service until released', async () => {
    await store.quarantine('web', DIGEST, 'CanaryFailed: errorRate', at(4));

    expect(await store.isQuarantined('web', DIGEST)).toBe(true);
    expect(await store.isQuarantined('api', DIGEST)).toBe(false);
    const item = await doc().send(
      new GetCommand({ TableName: tableName(), Key: { pk: 'SERVICE#web', sk: `QUARANTINE#${DIGEST}` } }),
    );
    expect(item.Item).toMatchObject({ reason: 'CanaryFailed: errorRate', at: at(4).toISOString() });

    expect(await store.releaseQuarantine('web', DIGEST)).toBe(true);
    expect(await store.releaseQuarantine('web', DIGEST)).toBe(false);
    expect(await store.isQuarantined('web', DIGEST)).toBe(false);
  });

  it('remembers which target group serves stable', async () => {
    expect(await store.getServingTargetGroup('web')).toBeUndefined();
    await store.setServingTargetGroup('web', route().canaryTargetGroupArn);
    expect(await store.getServingTargetGroup('web')).toBe(route().canaryTargetGroupArn);
  });

  it('a missing table is TargetNotFound naming it', async () => {
    const lost = new DynamoRolloutStore(doc(), 'no-such-table', { retry: fastRetry().retry });

    await expect(lost.getLock('web')).rejects.toThrow(
      new TargetNotFoundError('DynamoDB table no-such-table (or its index) does not exist'),
    );
  });
});

describe('DynamoRolloutStore: listActive over the index partitions', () => {
  it('reads every page of every partition key value and merges them by rollout id, each record once', async () => {
    // Prepare: one shard answers in two pages, the previous release's key holds two records also seen in a shard
    // (the index not caught up yet), one newer in its shard, one newer under the previous release's key; the rest
    // are empty.
    const mocked = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' }));
    const ddb = mockClient(mocked);
    const item = (id: string, key: string, minute = 0) => ({
      ...record(id, { updatedAt: at(minute).toISOString() }),
      pk: `ROLLOUT#${id}`,
      sk: 'RECORD',
      activePk: key,
      activeSk: id,
    });
    ddb.on(QueryCommand).callsFake((input: QueryCommandInput) => {
      const key = input.ExpressionAttributeValues?.[':active'];
      if (key === 'ACTIVE#5' && !input.ExclusiveStartKey)
        return { Items: [item('web-b', key)], LastEvaluatedKey: { pk: 'ROLLOUT#web-b', sk: 'RECORD' } };
      if (key === 'ACTIVE#5') return { Items: [item('web-d', key, 2)] };
      if (key === 'ACTIVE#9') return { Items: [item('api-c', key, 5)] };
      if (key === 'ACTIVE#7') return { Items: [item('web-e', key, 1)] };
      if (key === 'ACTIVE')
        return { Items: [item('api-c', key, 1), item('old-a', key), item('web-e', key, 6)] };
      return { Items: [] };
    });

    // Act
    const listed = await new DynamoRolloutStore(mocked, 'canary-rollouts').listActive();

    // Assess: 32 shards and the previous release's key, one shard twice for its second page.
    expect(listed.map((r) => [r.rolloutId, r.updatedAt])).toEqual([
      ['api-c', at(5).toISOString()],
      ['old-a', at(0).toISOString()],
      ['web-b', at(0).toISOString()],
      ['web-d', at(2).toISOString()],
      ['web-e', at(6).toISOString()],
    ]);
    const queried = ddb
      .commandCalls(QueryCommand)
      .map((c) => c.args[0].input.ExpressionAttributeValues?.[':active']);
    expect(queried).toHaveLength(34);
    expect(new Set(queried)).toEqual(
      new Set([...Array.from({ length: 32 }, (_, n) => `ACTIVE#${n}`), 'ACTIVE']),
    );
    expect(ddb.commandCalls(QueryCommand).filter((c) => c.args[0].input.ExclusiveStartKey)).toHaveLength(1);
    ddb.restore();
  });
});

describe('the active index key of a rollout', () => {
  it("is FNV-1a (32 bits) of the id's UTF-8 bytes modulo 32, so every release places a rollout alike", () => {
    expect(['web-20250314T092654Z-a1b2c3', 'api-1', '', '\u00e9'].map((id) => [id, activePk(id)])).toEqual([
      ['web-20250314T092654Z-a1b2c3', 'ACTIVE#2'],
      ['api-1', 'ACTIVE#29'],
      ['', 'ACTIVE#5'],
      ['\u00e9', 'ACTIVE#1'],
    ]);
  });
});

describe('DynamoRolloutStore: throttling', () => {
  it('is retried, then surfaces as Transient', async () => {
    const mocked = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' }));
    const ddb = mockClient(mocked);
    ddb
      .on(GetCommand)
      .rejects(Object.assign(throttling(), { name: 'ProvisionedThroughputExceededException' }));
    const retry = fastRetry();

    await expect(
      new DynamoRolloutStore(mocked, 'canary-rollouts', { retry: retry.retry }).getRollout('web-a'),
    ).rejects.toBeInstanceOf(TransientError);
    expect(ddb.commandCalls(GetCommand)).toHaveLength(3);
    expect(retry.sleeps).toHaveLength(2);
    ddb.restore();
  });
});
