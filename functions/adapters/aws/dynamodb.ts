/**
 * RolloutStore over one DynamoDB table (single-table design), with conditional writes wherever two writers can
 * meet: the service lock, its hand-over to a pending rollout, the first abort reason, the current wait token.
 *
 * Items (pk / sk):
 *   SERVICE#<service>  LOCK                  the service's lock: rolloutId, acquiredAt, doc (the holder's
 *                                            RolloutDoc), handedOverBy, pending (a RolloutDoc)
 *   SERVICE#<service>  NEWEST                the newest push accepted (core/pushes.ts AcceptedPush)
 *   SERVICE#<service>  IMAGE#<digest>        the last request to run an image (core/pushes.ts SeenImage)
 *   SERVICE#<service>  SERVING               the target group that serves stable (deployers that swap groups)
 *   SERVICE#<service>  QUARANTINE#<digest>   an image refused for the service: reason, at
 *   ROLLOUT#<id>       RECORD                the rollout record (RolloutRecord fields as attributes)
 *   ROLLOUT#<id>       HISTORY#<at>#<seq>    one history entry; sorts by time
 *
 * Two sparse global secondary indexes, on rollout records only:
 *   `active`     activePk = "ACTIVE", activeSk = rollout id: present only while the status is not terminal
 *                (removed by the write that sets a terminal status), so listActive reads only live rollouts.
 *   `byService`  servicePk = service, serviceSk = "<createdAt>#<rollout id>": newest first for listByService.
 * Both are eventually consistent, as GSIs are; everything keyed by pk/sk is read with ConsistentRead.
 */
import type { CreateTableCommandInput } from '@aws-sdk/client-dynamodb';
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  type QueryCommandInput,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { type AbortReason, LockHeldError, TransientError } from '../../core/errors';
import { type HistoryEntry, readHistoryEntry, type StoredHistoryEntry } from '../../core/history';
import type { AcceptedPush, SeenImage } from '../../core/pushes';
import {
  type RolloutDoc,
  type RolloutRecord,
  type ServiceLock,
  TERMINAL_STATUSES,
  type WaitToken,
} from '../../core/rollout';
import type { HistoryPage, RolloutStore } from '../../ports';
import { type AdapterOptions, AwsCaller, errorName } from './sdk';

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

const KEY_ATTRIBUTES = ['pk', 'sk', 'activePk', 'activeSk', 'servicePk', 'serviceSk'] as const;
/** Fields every record has: a patch may change them, never remove them. */
const REQUIRED_FIELDS = new Set(['image', 'status', 'alarms', 'createdAt', 'updatedAt']);
const ACTIVE = 'ACTIVE';

const servicePk = (service: string) => `SERVICE#${service}`;
const rolloutPk = (rolloutId: string) => `ROLLOUT#${rolloutId}`;
const LOCK = 'LOCK';
const RECORD = 'RECORD';
const SERVING = 'SERVING';
const NEWEST = 'NEWEST';
const imageSk = (digest: string) => `IMAGE#${digest}`;

/** Plain JSON data (drops undefined, turns non-finite numbers into null): what DynamoDB can store. */
function plain<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

/** A service's lock as its item: under the service's key, no `pending` (a holder sets that later). */
function lockItem(lock: Omit<ServiceLock, 'pending'>): Record<string, unknown> {
  return { pk: servicePk(lock.service), sk: LOCK, ...plain(lock) };
}

function withoutKeys<T>(item: Record<string, unknown>): T {
  const copy = { ...item };
  for (const key of KEY_ATTRIBUTES) delete copy[key];
  return copy as T;
}

const isConditionFailed = (error: unknown) => errorName(error) === 'ConditionalCheckFailedException';

/** Attempts at an optimistic read-then-conditional-write before giving up as a transient conflict. */
const CONFLICT_ATTEMPTS = 5;

export class DynamoRolloutStore implements RolloutStore {
  private readonly aws: AwsCaller;
  private historySeq = 0;

  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
    options: AdapterOptions = {},
  ) {
    this.aws = new AwsCaller(options.retry);
  }

  // --- the service lock -------------------------------------------------------------------------------------

  async acquireLock(service: string, rolloutId: string, at: Date, doc?: RolloutDoc): Promise<void> {
    for (let attempt = 0; attempt < CONFLICT_ATTEMPTS; attempt++) {
      const taken = await this.sendIf('PutItem', () =>
        this.doc.send(
          new PutCommand({
            TableName: this.tableName,
            Item: lockItem({ service, rolloutId, acquiredAt: at.toISOString(), ...(doc ? { doc } : {}) }),
            ConditionExpression: 'attribute_not_exists(pk)',
          }),
        ),
      );
      if (taken) return;
      const lock = await this.getLock(service);
      if (lock?.rolloutId === rolloutId) return; // ours already (a retried start)
      if (lock) throw new LockHeldError(service, lock.rolloutId);
      // Released between our write and our read: try again.
    }
    throw new TransientError(`the lock of ${service} kept changing while ${rolloutId} tried to take it`);
  }

  async getLock(service: string): Promise<ServiceLock | undefined> {
    const item = await this.get(servicePk(service), LOCK);
    return item ? withoutKeys<ServiceLock>(item) : undefined;
  }

  async setPending(service: string, holder: string, pending: RolloutDoc): Promise<void> {
    const set = await this.sendIf('UpdateItem', () =>
      this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: servicePk(service), sk: LOCK },
          UpdateExpression: 'SET #pending = :pending',
          ConditionExpression: '#rolloutId = :holder',
          ExpressionAttributeNames: { '#pending': 'pending', '#rolloutId': 'rolloutId' },
          ExpressionAttributeValues: { ':pending': plain(pending), ':holder': holder },
        }),
      ),
    );
    if (!set) {
      const lock = await this.getLock(service);
      throw new LockHeldError(service, lock?.rolloutId ?? '(nobody)');
    }
  }

  async releaseLock(service: string, rolloutId: string, at: Date): Promise<RolloutDoc | undefined> {
    for (let attempt = 0; attempt < CONFLICT_ATTEMPTS; attempt++) {
      const lock = await this.getLock(service);
      if (lock?.rolloutId !== rolloutId) return undefined;
      if (lock.pending) {
        // Hand over in one conditional write: the pending rollout holds the lock the moment this one lets go.
        const pending = lock.pending;
        const handedOver = await this.sendIf('PutItem', () =>
          this.doc.send(
            new PutCommand({
              TableName: this.tableName,
              Item: lockItem({
                service,
                rolloutId: pending.rolloutId,
                acquiredAt: at.toISOString(),
                doc: pending,
                handedOverBy: rolloutId,
              }),
              ConditionExpression: '#rolloutId = :holder AND #pending.#rolloutId = :next',
              ExpressionAttributeNames: { '#rolloutId': 'rolloutId', '#pending': 'pending' },
              ExpressionAttributeValues: { ':holder': rolloutId, ':next': pending.rolloutId },
            }),
          ),
        );
        if (handedOver) return pending;
      } else {
        const released = await this.sendIf('DeleteItem', () =>
          this.doc.send(
            new DeleteCommand({
              TableName: this.tableName,
              Key: { pk: servicePk(service), sk: LOCK },
              ConditionExpression: '#rolloutId = :holder AND attribute_not_exists(#pending)',
              ExpressionAttributeNames: { '#rolloutId': 'rolloutId', '#pending': 'pending' },
              ExpressionAttributeValues: { ':holder': rolloutId },
            }),
          ),
        );
        if (released) return undefined;
      }
      // A pending rollout arrived (or the lock changed hands) between the read and the write: look again.
    }
    throw new TransientError(`the lock of ${service} kept changing while ${rolloutId} tried to release it`);
  }

  // --- the order of pushes -----------------------------------------------------------------------------------

  async getNewestPush(service: string): Promise<AcceptedPush | undefined> {
    const item = await this.get(servicePk(service), NEWEST);
    return item ? withoutKeys<AcceptedPush>(item) : undefined;
  }

  async setNewestPush(service: string, push: AcceptedPush, expected: string | undefined): Promise<boolean> {
    return this.putIfEventId(servicePk(service), NEWEST, plain(push), expected);
  }

  async getImage(service: string, digest: string): Promise<SeenImage | undefined> {
    const item = await this.get(servicePk(service), imageSk(digest));
    return item ? withoutKeys<SeenImage>(item) : undefined;
  }

  async markImage(service: string, image: SeenImage, expected: string | undefined): Promise<boolean> {
    return this.putIfEventId(servicePk(service), imageSk(image.digest), plain(image), expected);
  }

  /** Put an item only if the one stored still carries event id `expected` (undefined: there is none). */
  private putIfEventId(pk: string, sk: string, item: object, expected: string | undefined): Promise<boolean> {
    return this.sendIf('PutItem', () =>
      this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { ...item, pk, sk },
          ...(expected === undefined
            ? { ConditionExpression: 'attribute_not_exists(pk)' }
            : {
                ConditionExpression: '#eventId = :expected',
                ExpressionAttributeNames: { '#eventId': 'eventId' },
                ExpressionAttributeValues: { ':expected': expected },
              }),
        }),
      ),
    );
  }

  // --- rollout records ----------------------------------------------------------------------------------------

  async putRollout(record: RolloutRecord): Promise<void> {
    const active = !TERMINAL_STATUSES.has(record.status);
    await this.send('PutItem', () =>
      this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            ...plain(record),
            pk: rolloutPk(record.rolloutId),
            sk: RECORD,
            servicePk: record.service,
            serviceSk: `${record.createdAt}#${record.rolloutId}`,
            ...(active ? { activePk: ACTIVE, activeSk: record.rolloutId } : {}),
          },
        }),
      ),
    );
  }

  async getRollout(rolloutId: string): Promise<RolloutRecord | undefined> {
    const item = await this.get(rolloutPk(rolloutId), RECORD);
    return item ? withoutKeys<RolloutRecord>(item) : undefined;
  }

  /** SET each field given, REMOVE each field given as undefined; a terminal status leaves the `active` index. */
  async updateRollout(
    rolloutId: string,
    patch: Partial<Omit<RolloutRecord, 'rolloutId' | 'service'>>,
  ): Promise<RolloutRecord> {
    const names: Record<string, string> = {};
    const values: Record<string, unknown> = {};
    const sets: string[] = [];
    const removes: string[] = [];
    Object.entries(patch).forEach(([field, value], i) => {
      if (
        field === 'rolloutId' ||
        field === 'service' ||
        (KEY_ATTRIBUTES as readonly string[]).includes(field)
      )
        return;
      names[`#f${i}`] = field;
      if (value === undefined) {
        if (!REQUIRED_FIELDS.has(field)) removes.push(`#f${i}`);
        else delete names[`#f${i}`];
      } else {
        values[`:v${i}`] = plain(value);
        sets.push(`#f${i} = :v${i}`);
      }
    });
    if (patch.status !== undefined) {
      names['#activePk'] = 'activePk';
      names['#activeSk'] = 'activeSk';
      if (TERMINAL_STATUSES.has(patch.status)) removes.push('#activePk', '#activeSk');
      else {
        values[':active'] = ACTIVE;
        values[':rolloutId'] = rolloutId;
        sets.push('#activePk = :active', '#activeSk = :rolloutId');
      }
    }
    if (sets.length === 0 && removes.length === 0) {
      const record = await this.getRollout(rolloutId);
      if (!record) throw new Error(`rollout ${rolloutId} has no record`);
      return record;
    }
    const expression = [
      sets.length ? `SET ${sets.join(', ')}` : '',
      removes.length ? `REMOVE ${removes.join(', ')}` : '',
    ]
      .filter(Boolean)
      .join(' ');
    return this.updateRecord(rolloutId, expression, names, values);
  }

  async listActive(): Promise<RolloutRecord[]> {
    const items = await this.query({
      TableName: this.tableName,
      IndexName: ACTIVE_INDEX,
      KeyConditionExpression: '#activePk = :active',
      ExpressionAttributeNames: { '#activePk': 'activePk' },
      ExpressionAttributeValues: { ':active': ACTIVE },
    });
    // The index lags the table a little: drop any record whose terminal status has already arrived.
    return items.map((i) => withoutKeys<RolloutRecord>(i)).filter((r) => !TERMINAL_STATUSES.has(r.status));
  }

  /** Newest first. */
  async listByService(service: string, limit: number): Promise<RolloutRecord[]> {
    if (limit <= 0) return [];
    const items = await this.query(
      {
        TableName: this.tableName,
        IndexName: BY_SERVICE_INDEX,
        KeyConditionExpression: '#servicePk = :service',
        ExpressionAttributeNames: { '#servicePk': 'servicePk' },
        ExpressionAttributeValues: { ':service': service },
        ScanIndexForward: false,
        Limit: limit,
      },
      limit,
    );
    return items.map((i) => withoutKeys<RolloutRecord>(i));
  }

  // --- waits and aborts ---------------------------------------------------------------------------------------

  async setWait(rolloutId: string, wait: WaitToken): Promise<boolean> {
    // core/rollout.ts replacesWait, as a condition: a later wait stored meanwhile is never overwritten, nor
    // is a wait stored after a later one was cleared (waitOrder keeps the order when clearWait removes the token).
    const ordered = wait.seq !== undefined;
    const after = (path: string) =>
      `(attribute_not_exists(${path}.#seq) OR ${path}.#seq < :seq OR (${path}.#seq = :seq AND ${path}.#since <= :since))`;
    const stored = await this.sendIf('UpdateItem', () =>
      this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: rolloutPk(rolloutId), sk: RECORD },
          UpdateExpression: ordered ? 'SET #wait = :wait, #order = :order' : 'SET #wait = :wait',
          ConditionExpression: ordered
            ? `attribute_exists(pk) AND ${after('#wait')} AND ${after('#order')}`
            : 'attribute_exists(pk)',
          ExpressionAttributeNames: {
            '#wait': 'wait',
            ...(ordered ? { '#order': 'waitOrder', '#seq': 'seq', '#since': 'since' } : {}),
          },
          ExpressionAttributeValues: {
            ':wait': plain(wait),
            ...(ordered
              ? { ':seq': wait.seq, ':since': wait.since, ':order': { seq: wait.seq, since: wait.since } }
              : {}),
          },
        }),
      ),
    );
    if (stored) return true;
    if (!(await this.getRollout(rolloutId))) throw new Error(`rollout ${rolloutId} has no record`);
    return false;
  }

  async clearWait(rolloutId: string, token: string): Promise<void> {
    // Not written when a newer wait (or none) is there: that one is left alone. waitOrder stays, so setWait
    // keeps refusing the waits that came before this one.
    await this.sendIf('UpdateItem', () =>
      this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: rolloutPk(rolloutId), sk: RECORD },
          UpdateExpression: 'REMOVE #wait',
          ConditionExpression: '#wait.#token = :token',
          ExpressionAttributeNames: { '#wait': 'wait', '#token': 'token' },
          ExpressionAttributeValues: { ':token': token },
        }),
      ),
    );
  }

  async markAborted(
    rolloutId: string,
    reason: AbortReason,
    message: string,
    at: Date,
  ): Promise<RolloutRecord> {
    return this.updateRecord(
      rolloutId,
      'SET #abort = if_not_exists(#abort, :abort)',
      { '#abort': 'abort' },
      { ':abort': { reason, message, at: at.toISOString() } },
    );
  }

  // --- history ------------------------------------------------------------------------------------------------

  async appendHistory(rolloutId: string, entry: HistoryEntry): Promise<void> {
    // Entries of one instant keep their order within a process; the random tail keeps two processes apart.
    this.historySeq = (this.historySeq + 1) % 1_000_000;
    const seq = `${String(this.historySeq).padStart(6, '0')}${Math.floor(Math.random() * 0x10000)
      .toString(16)
      .padStart(4, '0')}`;
    // Not written when our own write got there first (retried after a lost response).
    await this.sendIf('PutItem', () =>
      this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { ...plain(entry), pk: rolloutPk(rolloutId), sk: `HISTORY#${entry.at}#${seq}` },
          ConditionExpression: 'attribute_not_exists(sk)',
        }),
      ),
    );
  }

  async history(rolloutId: string, page: HistoryPage = {}): Promise<StoredHistoryEntry[]> {
    // Sort keys are HISTORY#<ISO time>#<seq>: entries at or after `since` sort at or after HISTORY#<since>, and
    // every history key sorts before HISTORY$ ('$' follows '#').
    const items = await this.query(
      {
        TableName: this.tableName,
        ...(page.since === undefined
          ? {
              KeyConditionExpression: 'pk = :pk AND begins_with(sk, :history)',
              ExpressionAttributeValues: { ':pk': rolloutPk(rolloutId), ':history': 'HISTORY#' },
            }
          : {
              KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
              ExpressionAttributeValues: {
                ':pk': rolloutPk(rolloutId),
                ':from': `HISTORY#${page.since}`,
                ':to': 'HISTORY$',
              },
            }),
        ConsistentRead: true,
        ScanIndexForward: true,
        ...(page.limit === undefined ? {} : { Limit: page.limit }),
      },
      page.limit,
    );
    // Each entry read as its kind, or as unrecognized when none fits (another version wrote it): never refused.
    return items.map((i) => readHistoryEntry(withoutKeys<unknown>(i)));
  }

  // --- quarantine and serving target group ---------------------------------------------------------------------

  async quarantine(service: string, digest: string, reason: string, at: Date): Promise<void> {
    await this.send('PutItem', () =>
      this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            pk: servicePk(service),
            sk: `QUARANTINE#${digest}`,
            service,
            digest,
            reason,
            at: at.toISOString(),
          },
        }),
      ),
    );
  }

  async isQuarantined(service: string, digest: string): Promise<boolean> {
    return (await this.get(servicePk(service), `QUARANTINE#${digest}`)) !== undefined;
  }

  async releaseQuarantine(service: string, digest: string): Promise<boolean> {
    const out = await this.send('DeleteItem', () =>
      this.doc.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: { pk: servicePk(service), sk: `QUARANTINE#${digest}` },
          ReturnValues: 'ALL_OLD',
        }),
      ),
    );
    return out.Attributes !== undefined;
  }

  async getServingTargetGroup(service: string): Promise<string | undefined> {
    const item = await this.get(servicePk(service), SERVING);
    return typeof item?.targetGroupArn === 'string' ? item.targetGroupArn : undefined;
  }

  async setServingTargetGroup(service: string, targetGroupArn: string): Promise<void> {
    await this.send('PutItem', () =>
      this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { pk: servicePk(service), sk: SERVING, service, targetGroupArn },
        }),
      ),
    );
  }

  // --- plumbing -----------------------------------------------------------------------------------------------

  /** A conditional write: true when it was written, false when its condition did not hold (nothing written). */
  private async sendIf(action: string, fn: () => Promise<unknown>): Promise<boolean> {
    try {
      await this.send(action, fn);
      return true;
    } catch (error) {
      if (isConditionFailed(error)) return false;
      throw error;
    }
  }

  private send<T>(action: string, fn: () => Promise<T>): Promise<T> {
    return this.aws.call(`dynamodb:${action}`, `table ${this.tableName}`, fn, {
      notFound: {
        ResourceNotFoundException: `DynamoDB table ${this.tableName} (or its index) does not exist`,
      },
    });
  }

  private async get(pk: string, sk: string): Promise<Record<string, unknown> | undefined> {
    const out = await this.send('GetItem', () =>
      this.doc.send(new GetCommand({ TableName: this.tableName, Key: { pk, sk }, ConsistentRead: true })),
    );
    return out.Item;
  }

  private async updateRecord(
    rolloutId: string,
    expression: string,
    names: Record<string, string>,
    values: Record<string, unknown>,
  ): Promise<RolloutRecord> {
    try {
      const out = await this.send('UpdateItem', () =>
        this.doc.send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: { pk: rolloutPk(rolloutId), sk: RECORD },
            UpdateExpression: expression,
            ConditionExpression: 'attribute_exists(pk)',
            ExpressionAttributeNames: names,
            ...(Object.keys(values).length > 0 ? { ExpressionAttributeValues: values } : {}),
            ReturnValues: 'ALL_NEW',
          }),
        ),
      );
      return withoutKeys<RolloutRecord>(out.Attributes ?? {});
    } catch (error) {
      if (isConditionFailed(error)) throw new Error(`rollout ${rolloutId} has no record`, { cause: error });
      throw error;
    }
  }

  /** Every page of a query, or the first `limit` items. */
  private async query(
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
