/** The service's lock: taken by one rollout, handed over to the rollout pending on it in one conditional write. */
import { DeleteCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { LockHeldError, TransientError } from '../../../core/errors';
import { newerOnLock } from '../../../core/pushes';
import type { RolloutDoc, ServiceLock } from '../../../core/rollout';
import { CONFLICT_ATTEMPTS, LOCK, lockItem, plain, servicePk, type Table, withoutKeys } from './table';

export async function acquireLock(
  t: Table,
  service: string,
  rolloutId: string,
  at: Date,
  doc?: RolloutDoc,
): Promise<void> {
  for (let attempt = 0; attempt < CONFLICT_ATTEMPTS; attempt++) {
    const taken = await t.sendIf('PutItem', () =>
      t.doc.send(
        new PutCommand({
          TableName: t.name,
          Item: lockItem({ service, rolloutId, acquiredAt: at.toISOString(), ...(doc ? { doc } : {}) }),
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      ),
    );
    if (taken) return;
    const lock = await getLock(t, service);
    if (lock?.rolloutId === rolloutId) return; // ours already (a retried start)
    if (lock) throw new LockHeldError(service, lock.rolloutId);
    // Released between our write and our read: try again.
  }
  throw new TransientError(`the lock of ${service} kept changing while ${rolloutId} tried to take it`);
}

export async function getLock(t: Table, service: string): Promise<ServiceLock | undefined> {
  const item = await t.get(servicePk(service), LOCK);
  return item ? withoutKeys<ServiceLock>(item) : undefined;
}

/**
 * `pending` waits on `holder`'s lock unless a rollout pushed after it holds the lock or waits there already
 * (core/pushes.ts newerOnLock), which is returned then. Judged on the lock as read, and written only while the lock is still
 * `holder`'s with the pending read (DynamoDB checks the condition and writes as one): a newer push that got there
 * in between is judged again, never overwritten.
 */
export async function setPending(
  t: Table,
  service: string,
  holder: string,
  pending: RolloutDoc,
): Promise<RolloutDoc | undefined> {
  for (let attempt = 0; attempt < CONFLICT_ATTEMPTS; attempt++) {
    const lock = await getLock(t, service);
    if (lock?.rolloutId !== holder) throw new LockHeldError(service, lock?.rolloutId ?? '(nobody)');
    const newer = newerOnLock(lock, pending);
    if (newer) return newer;
    const written = await t.sendIf('UpdateItem', () =>
      t.doc.send(
        new UpdateCommand({
          TableName: t.name,
          Key: { pk: servicePk(service), sk: LOCK },
          UpdateExpression: 'SET #pending = :pending',
          ConditionExpression: lock.pending
            ? '#rolloutId = :holder AND #pending.#rolloutId = :seen'
            : '#rolloutId = :holder AND attribute_not_exists(#pending)',
          ExpressionAttributeNames: { '#rolloutId': 'rolloutId', '#pending': 'pending' },
          ExpressionAttributeValues: {
            ':holder': holder,
            ':pending': plain(pending),
            ...(lock.pending ? { ':seen': lock.pending.rolloutId } : {}),
          },
        }),
      ),
    );
    if (written) return undefined;
    // Another push set its pending (or the lock changed hands) between the read and the write: judge again.
  }
  throw new TransientError(`the lock of ${service} kept changing while ${pending.rolloutId} waited on it`);
}

export async function releaseLock(
  t: Table,
  service: string,
  rolloutId: string,
  at: Date,
): Promise<RolloutDoc | undefined> {
  for (let attempt = 0; attempt < CONFLICT_ATTEMPTS; attempt++) {
    const lock = await getLock(t, service);
    if (lock?.rolloutId !== rolloutId) return undefined;
    if (lock.pending) {
      // Hand over in one conditional write: the pending rollout holds the lock the moment this one lets go.
      const pending = lock.pending;
      const handedOver = await t.sendIf('PutItem', () =>
        t.doc.send(
          new PutCommand({
            TableName: t.name,
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
      const released = await t.sendIf('DeleteItem', () =>
        t.doc.send(
          new DeleteCommand({
            TableName: t.name,
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

/** acquiredAt set to `at` while `rolloutId` holds the lock. */
export const renewLock = (t: Table, service: string, rolloutId: string, at: Date): Promise<boolean> =>
  heldLockWrite(t, service, rolloutId, 'acquiredAt', at.toISOString());

/** The lock deleted only while `holder` holds it since `acquiredAt` (pending or not). */
export const releaseStaleLock = (t: Table, service: string, holder: string, acquiredAt: string) =>
  heldLockWrite(t, service, holder, 'acquiredAt', acquiredAt, true);

/**
 * A conditional write on the service's lock while `holder` holds it (DynamoDB checks and writes as one): `field`
 * set to `value`, or (`remove`) the lock deleted while `field` is still `value`. False, writing nothing, otherwise.
 */
function heldLockWrite(
  t: Table,
  service: string,
  holder: string,
  field: string,
  value: unknown,
  remove = false,
): Promise<boolean> {
  const input = {
    TableName: t.name,
    Key: { pk: servicePk(service), sk: LOCK },
    ConditionExpression: `#rolloutId = :holder${remove ? ` AND #${field} = :${field}` : ''}`,
    ExpressionAttributeNames: { [`#${field}`]: field, '#rolloutId': 'rolloutId' },
    ExpressionAttributeValues: { [`:${field}`]: value, ':holder': holder },
  };
  return remove
    ? t.sendIf('DeleteItem', () => t.doc.send(new DeleteCommand(input)))
    : t.sendIf('UpdateItem', () =>
        t.doc.send(new UpdateCommand({ ...input, UpdateExpression: `SET #${field} = :${field}` })),
      );
}
