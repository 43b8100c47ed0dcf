/**
 * The periods an analysis judged, in an item of their own beside the rollout record: the DynamoDB store against
 * dynalite (a DynamoDB-compatible engine) and the sandbox store, the same behaviour; and what a record of the
 * largest rollout costs to update once they are out of it.
 */
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import type { Context } from 'aws-lambda';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  DOCUMENT_OPTIONS,
  DynamoRolloutStore,
  dynamoJudgedPeriods,
  dynamoStepStore,
  ROLLOUT_TABLE_SCHEMA,
} from '../../functions/adapters/aws/dynamodb';
import type { JudgedPeriods } from '../../functions/core/late-metrics';
import type { Deployer } from '../../functions/ports';
import { makeSetWeight } from '../../functions/tasks/set-weight';
import { type Item, itemSize, writeRequestUnits } from '../../sandbox/dynamodb-capacity';
import { InMemoryRolloutStore, type WorldStore } from '../../sandbox/store';
import { ROUTE } from '../helpers/config';
import { analyzeLarge, LARGEST, putLargeRollout, TYPICAL } from '../helpers/large-analysis';
import { dynaliteTable } from './dynalite-table';
import { fastRetry } from './helpers';

const { raw, doc, tableName } = dynaliteTable({
  prefix: 'canary-periods',
  documentOptions: DOCUMENT_OPTIONS,
});
/** The table's store with the judged periods beside it, as the benchmark's replay has them. */
let store: WorldStore;

beforeEach(() => {
  const options = { retry: fastRetry().retry };
  store = Object.assign(
    new DynamoRolloutStore(doc(), tableName(), options),
    dynamoJudgedPeriods(doc(), tableName(), options),
  );
});

/** An item as DynamoDB holds it, in its wire form (what item sizes and capacity are computed from). */
async function rawItem(rolloutId: string, sk: string): Promise<Item | undefined> {
  const out = await raw().send(
    new GetItemCommand({
      TableName: tableName(),
      Key: { pk: { S: `ROLLOUT#${rolloutId}` }, sk: { S: sk } },
      ConsistentRead: true,
    }),
  );
  return out.Item as Item | undefined;
}

const minute = (i: number) => new Date(Date.parse('2025-03-14T09:30:00Z') + i * 60_000).toISOString();

describe.each([
  ['DynamoRolloutStore', () => store],
  ['the sandbox store', () => new InMemoryRolloutStore() as WorldStore],
])('%s: the judged periods', (_name, storeOf) => {
  const judged = (canary: number[]): JudgedPeriods => ({
    alb: { start: minute(0), periodSeconds: 60, canary, baseline: canary.map((c) => c * 10) },
  });

  it("are kept apart from the record: stored, replaced, cleared; the record's own (an earlier release's) removed", async () => {
    // Prepare: a record an earlier release wrote, its periods on it.
    const s = storeOf();
    const rollout = await putLargeRollout(s, TYPICAL, { judgedPeriods: judged([7]) });
    const id = rollout.rolloutId;
    expect(await s.getJudgedPeriods(id)).toBeUndefined();

    await s.putJudgedPeriods(id, judged([1, 2]));
    await s.putJudgedPeriods(id, judged([1, 2, 3]));

    expect(await s.getJudgedPeriods(id)).toEqual(judged([1, 2, 3]));
    expect(await s.getJudgedPeriods('web-other')).toBeUndefined();
    expect((await s.getRollout(id))?.judgedPeriods).toEqual(judged([7]));
    await s.updateRollout(id, { status: 'promoting', judgedPeriods: undefined });
    expect((await s.getRollout(id))?.judgedPeriods).toBeUndefined();
    if (s === store) expect(Object.keys((await rawItem(id, 'RECORD')) ?? {})).not.toContain('judgedPeriods');
    expect(await s.getJudgedPeriods(id)).toEqual(judged([1, 2, 3]));
    await s.clearJudgedPeriods(id);
    await s.clearJudgedPeriods(id); // nothing left to clear: still fine
    expect(await s.getJudgedPeriods(id)).toBeUndefined();
    expect((await s.getRollout(id))?.status).toBe('promoting');
  });

  it('refuses periods holding a number DynamoDB cannot store, storing nothing', async () => {
    const s = storeOf();
    const rollout = await putLargeRollout(s, TYPICAL);
    const custom = {
      start: minute(0),
      periodSeconds: 60,
      series: { value: { canary: [1e126], baseline: [1] } },
    };

    await expect(
      s.putJudgedPeriods(rollout.rolloutId, { ...judged([1]), custom: { big: custom } }),
    ).rejects.toThrow(/number/i);
    expect(await s.getJudgedPeriods(rollout.rolloutId)).toBeUndefined();
  });

  it('the first analysis after an upgrade compares the periods the earlier release kept on the record; the next removes them', async () => {
    // Prepare: the record as the earlier release left it, minute 2's canary requests judged partial.
    const s = storeOf();
    const legacy = {
      alb: {
        start: minute(0),
        periodSeconds: 60,
        canary: [12_345, 12_346, 40],
        baseline: [234_567, 234_568, 234_569],
      },
    };
    const rollout = await putLargeRollout(s, TYPICAL, { judgedPeriods: legacy });

    // Act
    await analyzeLarge(s, TYPICAL, rollout);

    // Assess: the revision seen, the item with the new periods, the record's kept until an item holds them.
    const record = await s.getRollout(rollout.rolloutId);
    expect(record?.lastVerdict?.lateMetrics?.periods).toEqual([
      {
        source: 'alb',
        start: minute(2),
        judged: { canary: 40, baseline: 234_569 },
        now: { canary: 12_347, baseline: 234_569 },
      },
    ]);
    expect(record?.judgedPeriods).toEqual(legacy);
    expect((await s.getJudgedPeriods(rollout.rolloutId))?.alb.canary).toHaveLength(TYPICAL.minutes);

    // Act: the next analysis, the item read.
    await analyzeLarge(s, TYPICAL, rollout);

    // Assess: the record's periods removed, the item's compared (nothing changed since).
    const next = await s.getRollout(rollout.rolloutId);
    expect(next?.judgedPeriods).toBeUndefined();
    if (s === store) {
      expect(Object.keys((await rawItem(rollout.rolloutId, 'RECORD')) ?? {})).not.toContain('judgedPeriods');
    }
    expect(next?.lastVerdict?.lateMetrics).toBeUndefined();
  });
});

describe('set-weight on the table: a step retried after a pause on failure', () => {
  it('deletes the periods item and the periods an earlier release kept on the record: the step is judged afresh', async () => {
    // Prepare: a rollout paused on failure, 100% on stable, with the periods its failed analyses judged.
    const judged = { alb: { start: minute(0), periodSeconds: 60, canary: [9], baseline: [90] } };
    const paused = {
      cause: 'failure',
      at: minute(20),
      by: 'the workflow',
      via: 'workflow',
      weight: 0,
    } as const;
    const rollout = await putLargeRollout(store, TYPICAL, {
      judgedPeriods: judged,
      paused,
      canaryPercent: 0,
    });
    await store.putJudgedPeriods(rollout.rolloutId, judged);
    const setWeight = makeSetWeight({
      router: { describe: async () => ({}), setWeights: async () => {}, verifyWeights: async () => true },
      deployerFor: () => ({ scaleCanary: async () => {} }) as unknown as Deployer,
      // The handler's own store: the table's step parts (functions/handlers/aws.ts).
      store: dynamoStepStore(doc(), tableName(), { retry: fastRetry().retry }),
      clock: { now: () => new Date(minute(30)), workflowSeconds: (s) => s, sleep: async () => {} },
      log: { info: () => {}, warn: () => {}, error: () => {} },
    });
    const step = rollout.plan[0] as NonNullable<(typeof rollout.plan)[number]>;

    // Act
    await setWeight({ rollout, route: ROUTE, step, retry: true }, {} as Context);

    // Assess
    expect(await rawItem(rollout.rolloutId, 'PERIODS')).toBeUndefined();
    const record = await rawItem(rollout.rolloutId, 'RECORD');
    expect(Object.keys(record ?? {})).not.toContain('judgedPeriods');
    expect(Object.keys(record ?? {})).not.toContain('paused');
    expect(record?.canaryStartedAt).toEqual({ S: minute(30) });
  });
});

describe('DynamoRolloutStore: the largest rollout (20 custom metrics, X-Ray, 20 alarms, over a day of minutes)', () => {
  const indexes = (ROLLOUT_TABLE_SCHEMA.GlobalSecondaryIndexes ?? []).map((index) => ({
    name: index.IndexName ?? '',
    keys: (index.KeySchema ?? []).map((k) => k.AttributeName ?? ''),
  }));

  it('a status update after an analysis writes a record of a few KB, not the periods; they fit one item of their own', async () => {
    const rollout = await putLargeRollout(store, LARGEST);
    await analyzeLarge(store, LARGEST, rollout);
    const before = await rawItem(rollout.rolloutId, 'RECORD');

    await store.updateRollout(rollout.rolloutId, { status: 'promoting', updatedAt: minute(1600) });

    const after = await rawItem(rollout.rolloutId, 'RECORD');
    // The verdict of 22 custom metrics, X-Ray and 20 alarms is most of it (about 10 KB).
    expect(itemSize(after)).toBeLessThan(16 * 1024);
    // The table's write and both indexes' (the record is in both): 1 unit per KB each (DynamoDB developer guide,
    // "DynamoDB read and write operations"; "Global secondary indexes": a write to each index holding the item).
    expect(writeRequestUnits({ before, after, conditionFailed: false }, indexes)).toBeLessThanOrEqual(3 * 16);

    const item = await rawItem(rollout.rolloutId, 'PERIODS');
    // A day of minutes of the load balancer and X-Ray, and the custom metrics' budget of values (core/late-metrics.ts).
    expect(itemSize(item)).toBeGreaterThan(60 * 1024);
    // "Item size": 400 KB, attribute names and values together (DynamoDB developer guide, ServiceQuotas.html).
    expect(itemSize(item)).toBeLessThan(400 * 1024);
    // No index key attribute: in no index.
    expect(Object.keys(item ?? {}).sort()).toEqual(['periods', 'pk', 'sk']);
    const periods = await store.getJudgedPeriods(rollout.rolloutId);
    expect(periods?.alb.canary).toHaveLength(1440);
    expect(periods?.xray?.canary).toHaveLength(1440);
    expect(Object.keys(periods?.custom ?? {})).toHaveLength(22);
  });
});
