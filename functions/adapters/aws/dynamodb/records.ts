/** Rollout records, and the two sparse indexes that list the live ones and a service's newest. */
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { IncompleteListError } from '../../../core/errors';
import { type PauseMark, type RolloutRecord, TERMINAL_STATUSES } from '../../../core/rollout';
import {
  ACTIVE_INDEX,
  ACTIVE_PARTITIONS,
  activePk,
  BY_SERVICE_INDEX,
  KEY_ATTRIBUTES,
  plain,
  RECORD,
  REQUIRED_FIELDS,
  rolloutPk,
  type Table,
  withoutKeys,
} from './table';

/** The record written; with `ifAbsent`, only when the rollout has none yet (false, writing nothing, otherwise). */
export async function putRollout(t: Table, record: RolloutRecord, ifAbsent = false): Promise<boolean> {
  const active = !TERMINAL_STATUSES.has(record.status);
  return t.sendIf('PutItem', () =>
    t.doc.send(
      new PutCommand({
        TableName: t.name,
        Item: {
          ...plain(record),
          pk: rolloutPk(record.rolloutId),
          sk: RECORD,
          servicePk: record.service,
          serviceSk: `${record.createdAt}#${record.rolloutId}`,
          ...(active ? { activePk: activePk(record.rolloutId), activeSk: record.rolloutId } : {}),
        },
        ...(ifAbsent ? { ConditionExpression: 'attribute_not_exists(pk)' } : {}),
      }),
    ),
  );
}

export async function getRollout(t: Table, rolloutId: string): Promise<RolloutRecord | undefined> {
  const item = await t.get(rolloutPk(rolloutId), RECORD);
  return item ? withoutKeys<RolloutRecord>(item) : undefined;
}

/**
 * SET each field given, REMOVE each field given as undefined; a terminal status leaves the `active` index, a live
 * one keeps the record's key in it.
 */
export async function updateRollout(
  t: Table,
  rolloutId: string,
  patch: Partial<Omit<RolloutRecord, 'rolloutId' | 'service'>>,
): Promise<RolloutRecord> {
  const names: Record<string, string> = {};
  const values: Record<string, unknown> = {};
  const sets: string[] = [];
  const removes: string[] = [];
  Object.entries(patch).forEach(([field, value], i) => {
    if (field === 'rolloutId' || field === 'service' || (KEY_ATTRIBUTES as readonly string[]).includes(field))
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
      values[':active'] = activePk(rolloutId);
      values[':rolloutId'] = rolloutId;
      // A live record keeps the key it has (a previous release's "ACTIVE" too, until it ends): a key that moved
      // would be two index writes, and a listing between them could miss the record.
      sets.push('#activePk = if_not_exists(#activePk, :active)', '#activeSk = :rolloutId');
    }
  }
  if (sets.length === 0 && removes.length === 0) {
    const record = await getRollout(t, rolloutId);
    if (!record) throw new Error(`rollout ${rolloutId} has no record`);
    return record;
  }
  const expression = [
    sets.length ? `SET ${sets.join(', ')}` : '',
    removes.length ? `REMOVE ${removes.join(', ')}` : '',
  ]
    .filter(Boolean)
    .join(' ');
  return t.updateRecord(rolloutId, expression, names, values);
}

/**
 * Every live rollout, by rollout id as the index sorts it: each partition key value of the `active` index queried
 * at once (each paginated), merged. A record seen under two values (a copy the index has not yet caught up on) is
 * listed once, as last updated. When any value cannot be read (its calls retried first), IncompleteListError
 * carries the live rollouts the others hold: a caller can act on those, then fail so that it is retried.
 */
export async function listActive(t: Table): Promise<RolloutRecord[]> {
  const settled = await Promise.allSettled(
    ACTIVE_PARTITIONS.map((partition) =>
      t.query({
        TableName: t.name,
        IndexName: ACTIVE_INDEX,
        KeyConditionExpression: '#activePk = :active',
        ExpressionAttributeNames: { '#activePk': 'activePk' },
        ExpressionAttributeValues: { ':active': partition },
      }),
    ),
  );
  const byId = new Map<string, RolloutRecord>();
  for (const result of settled) {
    if (result.status === 'rejected') continue;
    for (const record of result.value.map((i) => withoutKeys<RolloutRecord>(i))) {
      const seen = byId.get(record.rolloutId);
      if (!seen || seen.updatedAt < record.updatedAt) byId.set(record.rolloutId, record);
    }
  }
  // The index lags the table a little: drop any record whose terminal status has already arrived.
  const live = [...byId.values()]
    .filter((r) => !TERMINAL_STATUSES.has(r.status))
    .sort((a, b) => (a.rolloutId < b.rolloutId ? -1 : a.rolloutId > b.rolloutId ? 1 : 0));
  const unread = ACTIVE_PARTITIONS.filter((_, i) => settled[i]?.status === 'rejected');
  if (unread.length === 0) return live;
  const first = settled.find((r) => r.status === 'rejected');
  throw new IncompleteListError(
    `the active index could not be read under ${unread.join(', ')}: ${String(first?.reason)}`,
    live,
    { cause: first?.reason },
  );
}

/** Newest first. */
export async function listByService(t: Table, service: string, limit: number): Promise<RolloutRecord[]> {
  if (limit <= 0) return [];
  const items = await t.query(
    {
      TableName: t.name,
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

/**
 * Set (or, `paused` undefined, remove) the pause mark only if the stored one is still `expected` (`none`: no mark;
 * `operator`: a person's), so a person's pause or resume never replaces a pause on failure that landed meanwhile.
 */
export async function setPause(
  t: Table,
  rolloutId: string,
  paused: PauseMark | undefined,
  expected: 'none' | 'operator',
  at: string,
): Promise<RolloutRecord | undefined> {
  const names: Record<string, string> = { '#paused': 'paused', '#updatedAt': 'updatedAt' };
  const values: Record<string, unknown> = { ':at': at };
  if (paused) values[':paused'] = plain(paused);
  if (expected === 'operator') {
    names['#cause'] = 'cause';
    values[':operator'] = 'operator';
  }
  return t.updateRecordIf(
    rolloutId,
    paused ? 'SET #paused = :paused, #updatedAt = :at' : 'SET #updatedAt = :at REMOVE #paused',
    names,
    values,
    expected === 'none' ? 'attribute_not_exists(#paused)' : '#paused.#cause = :operator',
  );
}
