/** A rollout's current wait token (stored in order, cleared only while it is still the one) and its abort mark. */
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { AbortReason } from '../../../core/errors';
import { holdsService, LIVE_STATUSES, type WaitToken } from '../../../core/rollout';
import type { AbortMark } from '../../../ports';
import { getLock } from './lock';
import { getRollout } from './records';
import { plain, RECORD, rolloutPk, type Table } from './table';

export async function setWait(t: Table, rolloutId: string, wait: WaitToken): Promise<boolean> {
  // core/rollout.ts replacesWait, as a condition: a later wait stored meanwhile is never overwritten, nor
  // is a wait stored after a later one was cleared (waitOrder keeps the order when clearWait removes the token).
  const ordered = wait.seq !== undefined;
  const after = (path: string) =>
    `(attribute_not_exists(${path}.#seq) OR ${path}.#seq < :seq OR (${path}.#seq = :seq AND ${path}.#since <= :since))`;
  const stored = await t.sendIf('UpdateItem', () =>
    t.doc.send(
      new UpdateCommand({
        TableName: t.name,
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
  if (!(await getRollout(t, rolloutId))) throw new Error(`rollout ${rolloutId} has no record`);
  return false;
}

export async function clearWait(t: Table, rolloutId: string, token: string): Promise<void> {
  // Not written when a newer wait (or none) is there: that one is left alone. waitOrder stays, so setWait
  // keeps refusing the waits that came before this one.
  await t.sendIf('UpdateItem', () =>
    t.doc.send(
      new UpdateCommand({
        TableName: t.name,
        Key: { pk: rolloutPk(rolloutId), sk: RECORD },
        UpdateExpression: 'REMOVE #wait',
        ConditionExpression: '#wait.#token = :token',
        ExpressionAttributeNames: { '#wait': 'wait', '#token': 'token' },
        ExpressionAttributeValues: { ':token': token },
      }),
    ),
  );
}

/**
 * The abort mark, written only while the rollout holds its service. The lock is its own item, so the lock is read
 * first (a consistent read) and the mark is then written on the condition that the record's status is not
 * terminal: every rollout writes its terminal status before it lets its lock go (lib/rollback.ts, promote.ts,
 * lib/ownership.ts), so a status still live at the write means the lock read before it was still its own. A
 * failed condition (DynamoDB API Reference, UpdateItem, ConditionExpression: nothing is written) is answered with
 * the record and the lock read again after it.
 */
export async function markAborted(
  t: Table,
  rolloutId: string,
  reason: AbortReason,
  message: string,
  at: Date,
): Promise<AbortMark> {
  const found = await getRollout(t, rolloutId);
  if (!found) return { holds: false, record: undefined, holder: undefined };
  const holder = (await getLock(t, found.service))?.rolloutId;
  if (!holdsService(found, holder)) return { holds: false, record: found, holder };
  const live = Object.fromEntries([...LIVE_STATUSES].map((status, i) => [`:live${i}`, status]));
  const record = await t.updateRecordIf(
    rolloutId,
    'SET #abort = if_not_exists(#abort, :abort)',
    { '#abort': 'abort', '#status': 'status' },
    { ':abort': { reason, message, at: at.toISOString() }, ...live },
    `#status IN (${Object.keys(live).join(', ')})`,
  );
  if (record) return { holds: true, record };
  // The rollout ended between the lock read and the write (a terminal status is written before the lock is let go):
  // the answer is the record and the lock as they are now, not the holder read before.
  const now = await getRollout(t, rolloutId);
  return { holds: false, record: now, holder: now && (await getLock(t, now.service))?.rolloutId };
}
