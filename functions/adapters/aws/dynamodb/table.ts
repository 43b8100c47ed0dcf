/**
 * The rollout table (single-table design) and the plumbing every part of the store shares: keys, the schema, the
 * calls with their retries and conditions.
 *
 * Items (pk / sk):
 *   SERVICE#<service>  LOCK                  the service's lock: rolloutId, acquiredAt, doc (the holder's
 *                                            RolloutDoc), handedOverBy, pending (a RolloutDoc)
 *   SERVICE#<service>  NEWEST                the newest push accepted (core/pushes.ts AcceptedPush)
 *   SERVICE#<service>  IMAGE#<digest>        the last request to run an image (core/pushes.ts SeenImage)
 *   SERVICE#<service>  SERVING               the target group that serves stable (deployers that swap groups)
 *   SERVICE#<service>  QUARANTINE#<digest>   an image refused for the service: reason, at
 *   ROLLOUT#<id>       RECORD                the rollout record (RolloutRecord fields as attributes): 1-4 KB, up
 *                                            to ~12 KB with 20 custom metrics, X-Ray and 20 alarms (lastVerdict)
 *   ROLLOUT#<id>       PERIODS               periods: the periods the last analysis judged (core/late-metrics.ts
 *                                            JudgedPeriods), up to ~80 KB; read and written by analyze only,
 *                                            deleted by a retried step; kept after the rollout ends (no TTL),
 *                                            as the record and its history are. Records of earlier releases carry
 *                                            them as their `judgedPeriods` attribute, removed by the analysis
 *                                            after the one that first writes this item.
 *   ROLLOUT#<id>       HISTORY#<at>#<seq>    one history entry; sorts by time
 *
 * Two sparse global secondary indexes, on rollout records only, projecting ALL their attributes:
 *   `active`     activePk = "ACTIVE#<shard>", activeSk = rollout id: present only while the status is not
 *                terminal (removed by the write that sets a terminal status), so listActive reads only live
 *                rollouts. The shard (activeShard) spreads the live records over ACTIVE_SHARDS partition key
 *                values, as the developer guide's "Using write sharding to distribute workloads evenly" does:
 *                each partition of an index takes at most 1,000 write units a second, and an index that cannot
 *                take a write throttles the table's write ("Understanding GSI write throttling and back-pressure
 *                in DynamoDB"). Every update of a live record is an index write too: under one key value, 200
 *                concurrent rollouts put 936 WRU into one partition in their busiest second (`npm run bench --
 *                concurrency`), which would throttle near 213 of them; over 32, the busiest took 72. A live
 *                record's key never changes (a status write sets it only where absent): records written by the
 *                previous release keep activePk = "ACTIVE" until their end removes it, and listActive reads that
 *                key value too; the index's definition is unchanged (no rebuild). The previous release reads only
 *                "ACTIVE", so it misses every record under a shard: roll back to it only with no rollout running
 *                (README, upgrades).
 *   `byService`  servicePk = service, serviceSk = "<createdAt>#<rollout id>": newest first for listByService.
 * Both are eventually consistent, as GSIs are; everything keyed by pk/sk is read with ConsistentRead.
 *
 * Every update of a record, however small, writes the whole record: to the table, 1 write unit per KB of the larger
 * of the item before and after (DynamoDB developer guide, "DynamoDB read and write operations"); and to each index
 * holding it, 1 unit per KB of the index entry, which both indexes' ALL projection makes the whole record (same
 * guide, "Provisioned throughput considerations for global secondary indexes": a changed index key costs a delete
 * and a put). So what only analyze needs and that outweighs the rest of the record, the judged periods, is an item
 * of its own that no index holds.
 */
import type { CreateTableCommandInput } from '@aws-sdk/client-dynamodb';
import {
  type DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
  type QueryCommandInput,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { RolloutRecord, ServiceLock } from '../../../core/rollout';
import { type AdapterOptions, AwsCaller, errorName } from '../sdk';

export const ACTIVE_INDEX = 'active';
export const BY_SERVICE_INDEX = 'byService';

/** The table's key schema and indexes, for the test harness and for infra (TableName is infra's choice). */
export const ROLLOUT_TABLE_SCHEMA: Omit<CreateTableCommandInput, 'TableName'> = {
  BillingMode: 'PAY_PER_REQUEST',
  AttributeDefinitions: [
    { AttributeName: 'pk', AttributeType: 'S' },
    { AttributeName: 'sk', AttributeType: 'S' },
    { AttributeName: 'activePk', AttributeType: 'S' },
    { AttributeName: 'activeSk', AttributeType: 'S' },
    { AttributeName: 'servicePk', AttributeType: 'S' },
    { AttributeName: 'serviceSk', AttributeType: 'S' },
  ],
  KeySchema: [
    { AttributeName: 'pk', KeyType: 'HASH' },
    { AttributeName: 'sk', KeyType: 'RANGE' },
  ],
  GlobalSecondaryIndexes: [
    {
      IndexName: ACTIVE_INDEX,
      KeySchema: [
        { AttributeName: 'activePk', KeyType: 'HASH' },
        { AttributeName: 'activeSk', KeyType: 'RANGE' },
      ],
      Projection: { ProjectionType: 'ALL' },
    },
    {
      IndexName: BY_SERVICE_INDEX,
      KeySchema: [
        { AttributeName: 'servicePk', KeyType: 'HASH' },
        { AttributeName: 'serviceSk', KeyType: 'RANGE' },
      ],
      Projection: { ProjectionType: 'ALL' },
    },
  ],
};

export const KEY_ATTRIBUTES = ['pk', 'sk', 'activePk', 'activeSk', 'servicePk', 'serviceSk'] as const;
/** Fields every record has: a patch may change them, never remove them. */
export const REQUIRED_FIELDS = new Set(['image', 'status', 'alarms', 'createdAt', 'updatedAt']);
/** The `active` index's key value of the previous release, for every live record: still read (LEGACY_ACTIVE). */
export const LEGACY_ACTIVE = 'ACTIVE';
/**
 * Partition key values the `active` index's entries spread over. 200 concurrent rollouts write 936 WRU into the
 * index in their busiest second: over 32 values the busiest took 72 (hashing 200 ids over 32 values is uneven),
 * so the index binds near 2,800 rollouts, after the table's own 40,000 WRU/s (near 2,350; README, concurrency).
 * A listing queries each value, 33 queries with the previous release's, each at least 0.5 read units.
 */
export const ACTIVE_SHARDS = 32;

/** A stable shard for a rollout id: FNV-1a (32 bits) of its UTF-8 bytes, modulo ACTIVE_SHARDS. */
export function activeShard(rolloutId: string): number {
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(rolloutId, 'utf8')) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % ACTIVE_SHARDS;
}

/** The `active` index's partition key of a live rollout record. */
export const activePk = (rolloutId: string) => `ACTIVE#${activeShard(rolloutId)}`;

/** Every partition key value listActive reads: each shard's, then the previous release's. */
export const ACTIVE_PARTITIONS: readonly string[] = [
  ...Array.from({ length: ACTIVE_SHARDS }, (_, n) => `ACTIVE#${n}`),
  LEGACY_ACTIVE,
];

export const servicePk = (service: string) => `SERVICE#${service}`;
export const rolloutPk = (rolloutId: string) => `ROLLOUT#${rolloutId}`;
export const LOCK = 'LOCK';
export const RECORD = 'RECORD';
export const PERIODS = 'PERIODS';
export const SERVING = 'SERVING';
export const NEWEST = 'NEWEST';
export const imageSk = (digest: string) => `IMAGE#${digest}`;

/** Plain JSON data (drops undefined, turns non-finite numbers into null): what DynamoDB can store. */
export function plain<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

/** A service's lock as its item: under the service's key, no `pending` (a holder sets that later). */
export function lockItem(lock: Omit<ServiceLock, 'pending'>): Record<string, unknown> {
  return { pk: servicePk(lock.service), sk: LOCK, ...plain(lock) };
}

export function withoutKeys<T>(item: Record<string, unknown>): T {
  const copy = { ...item };
  for (const key of KEY_ATTRIBUTES) delete copy[key];
  return copy as T;
}

export const isConditionFailed = (error: unknown) => errorName(error) === 'ConditionalCheckFailedException';

/** Attempts at an optimistic read-then-conditional-write before giving up as a transient conflict. */
export const CONFLICT_ATTEMPTS = 5;

/** One table and its client: every call goes through `send` (retried, errors named) or `sendIf` (conditional). */
export class Table {
  private readonly aws: AwsCaller;
  /** Orders the history entries this process writes within one instant (history.ts). */
  historySeq = 0;

  constructor(
    readonly doc: DynamoDBDocumentClient,
    readonly name: string,
    options: AdapterOptions = {},
  ) {
    this.aws = new AwsCaller(options.retry);
  }

  /** A conditional write: true when it was written, false when its condition did not hold (nothing written). */
  async sendIf(action: string, fn: () => Promise<unknown>): Promise<boolean> {
    try {
      await this.send(action, fn);
      return true;
    } catch (error) {
      if (isConditionFailed(error)) return false;
      throw error;
    }
  }

  send<T>(action: string, fn: () => Promise<T>): Promise<T> {
    return this.aws.call(`dynamodb:${action}`, `table ${this.name}`, fn, {
      notFound: {
        ResourceNotFoundException: `DynamoDB table ${this.name} (or its index) does not exist`,
      },
    });
  }

  async get(pk: string, sk: string): Promise<Record<string, unknown> | undefined> {
    const out = await this.send('GetItem', () =>
      this.doc.send(new GetCommand({ TableName: this.name, Key: { pk, sk }, ConsistentRead: true })),
    );
    return out.Item;
  }

  async updateRecord(
    rolloutId: string,
    expression: string,
    names: Record<string, string>,
    values: Record<string, unknown>,
  ): Promise<RolloutRecord> {
    const record = await this.updateRecordIf(rolloutId, expression, names, values);
    if (!record) throw new Error(`rollout ${rolloutId} has no record`);
    return record;
  }

  /** updateRecord only if `condition` holds too; undefined, writing nothing, when it (or the record) does not. */
  async updateRecordIf(
    rolloutId: string,
    expression: string,
    names: Record<string, string>,
    values: Record<string, unknown>,
    condition?: string,
  ): Promise<RolloutRecord | undefined> {
    try {
      const out = await this.send('UpdateItem', () =>
        this.doc.send(
          new UpdateCommand({
            TableName: this.name,
            Key: { pk: rolloutPk(rolloutId), sk: RECORD },
            UpdateExpression: expression,
            ConditionExpression: `attribute_exists(pk)${condition ? ` AND ${condition}` : ''}`,
            ExpressionAttributeNames: names,
            ...(Object.keys(values).length > 0 ? { ExpressionAttributeValues: values } : {}),
            ReturnValues: 'ALL_NEW',
          }),
        ),
      );
      return withoutKeys<RolloutRecord>(out.Attributes ?? {});
    } catch (error) {
      if (isConditionFailed(error)) return undefined;
      throw error;
    }
  }

  /** Every page of a query, or the first `limit` items. */
  async query(
    input: QueryCommandInput,
    limit = Number.POSITIVE_INFINITY,
  ): Promise<Record<string, unknown>[]> {
    const items: Record<string, unknown>[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const exclusiveStart = start;
      const out = await this.send('Query', () =>
        this.doc.send(
          new QueryCommand({ ...input, ...(exclusiveStart ? { ExclusiveStartKey: exclusiveStart } : {}) }),
        ),
      );
      items.push(...(out.Items ?? []));
      start = out.LastEvaluatedKey;
    } while (start && items.length < limit);
    return items.slice(0, limit);
  }
}
