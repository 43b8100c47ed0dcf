/**
 * The concurrency benchmark's DynamoDB and ELBv2 counts come from the real adapters' SDK clients: every request the
 * local ELBv2 and dynalite received is counted once, by its operation, and each DynamoDB request with the capacity
 * units the developer guide gives it.
 */
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterEach, describe, expect, it } from 'vitest';
import { indexPartitions, PARTITION_WRU, partitionRows } from '../../bench/concurrency';
import { ACTIVE_PARTITIONS } from '../../functions/adapters/aws/dynamodb/table';
import { ApiCalls, countedStore } from '../../sandbox/api-calls';
import {
  indexPartitionWrites,
  indexWriteUnits,
  itemSize,
  readUnits,
  writeRequestUnits,
} from '../../sandbox/dynamodb-capacity';
import { manyServices, manyWorld } from '../../sandbox/many';
import { backWithSdk, meteredTable, partitionApi } from '../../sandbox/sdk-backed';
import { InMemoryRolloutStore } from '../../sandbox/store';
import { assertValidRequest } from '../contract/model';

const countBy = (names: string[]) =>
  names.reduce<Record<string, number>>((acc, n) => {
    acc[n] = (acc[n] ?? 0) + 1;
    return acc;
  }, {});

const onEnd: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(onEnd.splice(0).map((end) => end()));
});

describe('requests counted at the SDK send', () => {
  it('one rollout: each ELBv2 and DynamoDB request the local services received is counted, by operation', async () => {
    // Prepare: one service behind a rule of a shared listener, its store and router the real adapters; its new
    // version turns bad at once, so its alarm rolls it back within its first step (a whole rollout in seconds).
    const spec = manyServices(3)[2];
    if (spec?.behaviour !== 'failsAlarm') throw new Error('no service failing its alarm');
    const world = manyWorld([spec], { scale: 600, rps: 2_000, traffic: 'synthetic', seed: 7 });
    const sdk = await backWithSdk(world);
    onEnd.push(() => sdk.close());
    await world.start();
    let status: string | undefined;
    let rolloutId = '';
    try {
      // Act: the stable version's minutes reach CloudWatch, then the push runs its rollout to its end.
      await new Promise((r) => setTimeout(r, world.clock.realMs(150_000)));
      const pushed = await world.push(spec.tag, spec.config.service);
      if (pushed.status !== 'started') throw new Error(`not started: ${pushed.status}`);
      await world.waitFor(pushed.rolloutId, world.clock.realMs(4 * 3_600_000));
      await world.executions.idle();
      await sdk.drain();
      rolloutId = pushed.rolloutId;
      status = (await world.store.getRollout(rolloutId))?.status;
    } finally {
      await world.stop();
    }

    // Assess: every store and router call went through the real adapters too, and left the same record.
    expect(status).toBe('rolledBack');
    const elb = countBy(sdk.elbv2.received.map((r) => r.operation));
    const ddb = countBy(sdk.dynamodb.received);
    // Each operation's count is what the local service received: the describe's listener, rules and target
    // groups, each write's read before it, the lock release's read; a count per port method has none of these.
    for (const [op, n] of Object.entries(elb))
      expect({ op, n: world.calls.total(`elbv2:${op}`) }).toEqual({ op, n });
    for (const [op, n] of Object.entries(ddb))
      expect({ op, n: world.calls.total(`dynamodb:${op}`) }).toEqual({ op, n });
    const counted = world.calls.apis().filter((a) => /^(elbv2|dynamodb):[A-Z]/.test(a));
    expect(counted.sort()).toEqual(
      [...Object.keys(elb).map((o) => `elbv2:${o}`), ...Object.keys(ddb).map((o) => `dynamodb:${o}`)].sort(),
    );
    expect(elb.DescribeListeners).toBeGreaterThan(0);
    expect(elb.DescribeTargetGroups).toBeGreaterThan(0);
    expect(elb.ModifyRule).toBeGreaterThanOrEqual(2); // the first step, back on stable
    expect(elb.DescribeRules).toBeGreaterThan(2 * (elb.ModifyRule ?? 0));
    // Capacity: at least one unit a request, and every strongly consistent GetItem a whole unit.
    expect(world.calls.total('dynamodb:reads', 'units')).toBeGreaterThanOrEqual(ddb.GetItem ?? 0);
    const writes = (ddb.PutItem ?? 0) + (ddb.UpdateItem ?? 0) + (ddb.DeleteItem ?? 0);
    expect(world.calls.total('dynamodb:writes', 'units')).toBeGreaterThan(writes);
    expect((await sdk.store.getRollout(rolloutId))?.status).toBe('rolledBack');
    // The index writes land in the partitions the items name: the rollout's shard of `active`, its service's of
    // `byService` (the responses the meter reads reach it as plain values, turned back to the wire form).
    const partitions = world.calls.apis().filter((a) => a.startsWith('dynamodb:partition '));
    expect(partitions).toEqual([
      expect.stringMatching(/^dynamodb:partition active ACTIVE#\d+$/),
      partitionApi('byService', spec.config.service),
    ]);
    // Every request as sent is one AWS's API models accept.
    for (const r of sdk.elbv2.received) assertValidRequest('Elastic Load Balancing v2', r.operation, r.input);
    for (const r of sdk.dynamodb.sent) assertValidRequest('DynamoDB', r.operation, r.input);
  });
});

describe('DynamoDB capacity of what a document client reads', () => {
  it('sizes the items of a response in their wire form, a number beyond 2^53 too', async () => {
    // Prepare: a record of about 10 KB holding a number beyond 2^53, written through the metered client.
    const calls = new ApiCalls(() => 0);
    const local = await meteredTable(calls, () => 0);
    onEnd.push(local.close);
    const key = { pk: 'ROLLOUT#web-1', sk: 'RECORD' };
    const Item = { ...key, evidence: 'x'.repeat(10_000), bytes: 2 ** 60 };
    await local.doc.send(new PutCommand({ TableName: local.table, Item }));
    const before = calls.total('dynamodb:reads', 'units');

    // Act
    const out = await local.doc.send(
      new GetCommand({ TableName: local.table, Key: key, ConsistentRead: true }),
    );

    // Assess: a strongly consistent read of a 10,030-byte item is 3 units (4 KB each), as DynamoDB sizes it.
    expect(out.Item?.bytes).toBe(2 ** 60);
    expect(calls.total('dynamodb:reads', 'units') - before).toBe(3);
  });
});

describe('requests counted per port call', () => {
  it("counts a listing of the live rollouts as the adapter's queries, one for each partition key value", async () => {
    const calls = new ApiCalls(() => 0);
    await countedStore(new InMemoryRolloutStore(), calls).listActive();
    expect(calls.total('dynamodb:Query')).toBe(ACTIVE_PARTITIONS.length);
    // Each at least the minimum read: none of them read an item.
    expect(calls.total('dynamodb:reads', 'units')).toBe(ACTIVE_PARTITIONS.length);
  });
});

describe('DynamoDB capacity units as documented', () => {
  const text = (bytes: number) => ({ pk: { S: 'k' }, d: { S: 'x'.repeat(bytes - 4) } });

  it('sizes attribute names and values, lists and maps with their overhead', () => {
    expect(itemSize({ name: { S: 'héllo' } })).toBe(4 + 6);
    expect(itemSize({ n: { N: '-12.3400' } })).toBe(1 + 2 + 1);
    expect(itemSize({ ok: { BOOL: true }, none: { NULL: true } })).toBe(2 + 1 + 4 + 1);
    expect(itemSize({ l: { L: [{ S: 'ab' }] }, m: { M: { k: { S: 'v' } } } })).toBe(
      1 + 3 + 1 + 2 + (1 + 3 + 1 + 1 + 1),
    );
    expect(itemSize(text(1024))).toBe(1024);
  });

  it('rounds reads to 4 KB and writes to 1 KB, with eventual reads at half and a miss at the minimum', () => {
    expect(readUnits(3_500, true)).toBe(1);
    expect(readUnits(10 * 1024, true)).toBe(3);
    expect(readUnits(10 * 1024, false)).toBe(1.5);
    expect(readUnits(0, true)).toBe(1);
    expect(readUnits(0, false)).toBe(0.5);
    expect(writeRequestUnits({ before: text(1_600), after: text(500), conditionFailed: false }, [])).toBe(2);
    expect(writeRequestUnits({ before: undefined, after: undefined, conditionFailed: true }, [])).toBe(1);
    expect(writeRequestUnits({ before: text(2_500), after: undefined, conditionFailed: true }, [])).toBe(3);
    // A failed condition costs the existing item, not the larger one attempted (300 KB existing, 310 attempted: 300).
    expect(writeRequestUnits({ before: text(1_000), after: text(3_000), conditionFailed: true }, [])).toBe(1);
    expect(writeRequestUnits({ before: undefined, after: text(3_000), conditionFailed: true }, [])).toBe(1);
  });

  it('adds the index writes: entering, leaving, a changed key (two), a changed projection (one), none', () => {
    const index = { name: 'active', keys: ['activePk'] };
    const plain = { pk: { S: 'r' }, status: { S: 'running' } };
    const active = { ...plain, activePk: { S: 'ACTIVE' } };
    expect(indexWriteUnits(plain, active, index)).toBe(1);
    expect(indexWriteUnits(active, plain, index)).toBe(1);
    expect(indexWriteUnits(active, { ...active, activePk: { S: 'OTHER' } }, index)).toBe(2);
    expect(indexWriteUnits(active, { ...active, status: { S: 'baking' } }, index)).toBe(1);
    expect(indexWriteUnits(plain, { ...plain, status: { S: 'done' } }, index)).toBe(0);
    expect(writeRequestUnits({ before: plain, after: active, conditionFailed: false }, [index])).toBe(2);
    expect(writeRequestUnits({ before: plain, after: active, conditionFailed: true }, [index])).toBe(1);
  });
});

describe('DynamoDB index writes by index partition', () => {
  const index = { name: 'active', keys: ['activePk', 'activeSk'] };
  const text = (bytes: number) => ({ pk: { S: 'k' }, d: { S: 'x'.repeat(bytes - 4) } });
  const entry = (partition: string, bytes: number) => ({
    ...text(bytes),
    activePk: { S: partition },
    activeSk: { S: 'r1' },
  });

  it('puts each index write in the partition its key names: entering, leaving, moving, changing in place', () => {
    // The entry's size includes its key attributes: 1,000 bytes of text and the two keys make a 2 KB entry.
    const size = (e: object) => itemSize(e as never);
    expect(size(entry('ACTIVE#3', 1_000))).toBeGreaterThan(1_024);
    expect(indexPartitionWrites(text(500), entry('ACTIVE#3', 1_000), index)).toEqual([
      { partition: 'ACTIVE#3', units: 2 },
    ]);
    expect(indexPartitionWrites(entry('ACTIVE', 500), text(500), index)).toEqual([
      { partition: 'ACTIVE', units: 1 },
    ]);
    // A record of the previous release moving to its shard: a delete from one partition, a put in the other.
    expect(indexPartitionWrites(entry('ACTIVE', 500), entry('ACTIVE#3', 2_100), index)).toEqual([
      { partition: 'ACTIVE', units: 1 },
      { partition: 'ACTIVE#3', units: 3 },
    ]);
    expect(indexPartitionWrites(entry('ACTIVE#3', 500), entry('ACTIVE#3', 600), index)).toEqual([
      { partition: 'ACTIVE#3', units: 1 },
    ]);
    expect(indexPartitionWrites(text(500), text(900), index)).toEqual([]);
    // The units by partition add up to the index's units.
    expect(indexWriteUnits(entry('ACTIVE', 500), entry('ACTIVE#3', 2_100), index)).toBe(4);
  });

  it('reports each index by its busiest partition over any 1 s against 1,000 WRU/s', () => {
    const calls = new ApiCalls(() => 0);
    // Partition A: 600 units within one second, then 600 more ten seconds later; B: 900 spread over 3 s.
    calls.record(partitionApi('active', 'A'), 300, 0);
    calls.record(partitionApi('active', 'A'), 300, 900);
    calls.record(partitionApi('active', 'A'), 600, 12_000);
    for (const at of [0, 1_000, 2_000]) calls.record(partitionApi('active', 'B'), 300, at);
    calls.record(partitionApi('byService', 'web'), 5, 0);

    const active = indexPartitions(calls, 'active');
    expect(active).toEqual({
      index: 'active',
      partitions: 2,
      hottest: 'A',
      peak1s: 600,
      peak10s: 60,
      total: 2_100,
    });
    const [row] = partitionRows([active], 200);
    expect(row?.limit).toBe(PARTITION_WRU);
    expect(row?.headroom).toBeCloseTo(1_000 / 600);
    expect(row?.bindsAt).toBe(333);
    expect(indexPartitions(calls, 'byService')).toMatchObject({ partitions: 1, hottest: 'web', peak1s: 5 });
    // byService's busiest partition is one service's, which runs one rollout at a time: it does not grow with the
    // rollouts, so it names no count of rollouts it binds at.
    const [byService] = partitionRows([indexPartitions(calls, 'byService')], 200);
    expect(byService).toMatchObject({ headroom: 200, bindsAt: null, bindsNote: "one service's" });
    expect(indexPartitions(calls, 'none')).toMatchObject({ partitions: 0, hottest: null, peak1s: 0 });
  });
});
