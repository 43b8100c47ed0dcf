/**
 * The conditions that keep the newest push and a rollout's record, against dynalite (a DynamoDB-compatible engine):
 * a push never displaces a newer pending one nor waits on a newer holder, even when the newer one is written between
 * the read and the write; a record written "if absent" never replaces one a second starter finds.
 */
import { type DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { beforeEach, describe, expect, it } from 'vitest';
import { DynamoRolloutStore } from '../../functions/adapters/aws/dynamodb';
import { stepSpecs } from '../../functions/core/config';
import { buildPlan } from '../../functions/core/plan';
import type { RolloutDoc, RolloutRecord } from '../../functions/core/rollout';
import { dynaliteTable } from './dynalite-table';
import { fastRetry, serviceConfig } from './helpers';

const { doc, tableName } = dynaliteTable({ prefix: 'canary-lock-conditions' });
let store: DynamoRolloutStore;

beforeEach(() => {
  store = new DynamoRolloutStore(doc(), tableName(), { retry: fastRetry().retry });
});

const at = (minute: number) => new Date(Date.UTC(2025, 2, 4, 12, minute));
const config = serviceConfig();

/** The rollout of an image pushed at `minute` (its event's time, which orders pushes: core/pushes.ts). */
function pushedAt(rolloutId: string, minute: number, digestByte = 'ab'): RolloutDoc {
  return {
    rolloutId,
    service: 'web',
    image: { repository: 'team/web', digest: `sha256:${digestByte.repeat(32)}`, tag: 'v1' },
    config,
    plan: buildPlan(stepSpecs(config)),
    trigger: 'ecr-push',
    requestedAt: at(minute).toISOString(),
  };
}

function record(rolloutId: string, status: RolloutRecord['status']): RolloutRecord {
  return {
    rolloutId,
    service: 'web',
    image: { repository: 'team/web', digest: `sha256:${'ab'.repeat(32)}` },
    status,
    alarms: [],
    createdAt: at(0).toISOString(),
    updatedAt: at(0).toISOString(),
  };
}

describe('DynamoRolloutStore.setPending: the newest push waits, never an older one', () => {
  it('keeps a newer pending rollout and answers with it; an even newer one replaces it', async () => {
    await store.acquireLock('web', 'web-h', at(1), pushedAt('web-h', 1, '01'));
    const newer = pushedAt('web-m', 5, '03');
    expect(await store.setPending('web', 'web-h', newer)).toBeUndefined();

    expect(await store.setPending('web', 'web-h', pushedAt('web-n', 3, '02'))).toEqual(newer);
    expect((await store.getLock('web'))?.pending?.rolloutId).toBe('web-m');
    // The same rollout again (a redelivery) is no change.
    expect(await store.setPending('web', 'web-h', newer)).toBeUndefined();

    expect(await store.setPending('web', 'web-h', pushedAt('web-z', 7, '04'))).toBeUndefined();
    expect((await store.getLock('web'))?.pending?.rolloutId).toBe('web-z');
  });

  it('an older push never waits on a newer holder', async () => {
    const holder = pushedAt('web-m', 5, '03');
    await store.acquireLock('web', 'web-m', at(5), holder);

    expect(await store.setPending('web', 'web-m', pushedAt('web-n', 3, '02'))).toEqual(holder);
    expect((await store.getLock('web'))?.pending).toBeUndefined();
  });

  it('a newer pending written between the read and the write is judged again, not overwritten', async () => {
    await store.acquireLock('web', 'web-h', at(1), pushedAt('web-h', 1, '01'));
    const newer = pushedAt('web-m', 5, '03');
    let interfered = false;
    const racing = {
      send: async (command: unknown) => {
        if (!interfered && command instanceof UpdateCommand) {
          interfered = true;
          await store.setPending('web', 'web-h', newer);
        }
        return doc().send(command as UpdateCommand);
      },
    } as unknown as DynamoDBDocumentClient;

    const older = await new DynamoRolloutStore(racing, tableName()).setPending(
      'web',
      'web-h',
      pushedAt('web-n', 3, '02'),
    );

    expect(interfered).toBe(true);
    expect(older).toEqual(newer);
    expect((await store.getLock('web'))?.pending?.rolloutId).toBe('web-m');
  });
});

describe('DynamoRolloutStore.putRollout if absent', () => {
  it('writes a record only where none is, and says whether it did', async () => {
    expect(await store.putRollout(record('web-p', 'running'), { ifAbsent: true })).toBe(true);
    await store.updateRollout('web-p', { status: 'rolledBack' });

    // A second starter of the same rollout: the record it would write is refused, the one there kept.
    expect(await store.putRollout(record('web-p', 'running'), { ifAbsent: true })).toBe(false);
    expect((await store.getRollout('web-p'))?.status).toBe('rolledBack');
    expect((await store.listActive()).map((r) => r.rolloutId)).not.toContain('web-p');
  });
});
