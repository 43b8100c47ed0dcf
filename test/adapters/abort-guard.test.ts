/**
 * The abort guard on dynalite (a DynamoDB-compatible engine on a loopback port): markAborted reads the service's
 * lock, then writes the mark on the condition that the record's status is still live. Here the rollout ends
 * between that read and that write (its terminal status recorded, its lock released, maybe taken by a newer
 * rollout): the condition fails, nothing is written or moved, and the answer says who holds the service now.
 */
import { type DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DynamoRolloutStore } from '../../functions/adapters/aws/dynamodb';
import { ErrorName } from '../../functions/core/errors';
import type { RolloutRecord } from '../../functions/core/rollout';
import type { Clock, Executions } from '../../functions/ports';
import { abortRollout } from '../../functions/tasks/lib/procedures';
import { dynaliteTable } from './dynalite-table';
import { DIGEST, fastRetry } from './helpers';

const { doc, tableName } = dynaliteTable({ prefix: 'abort-guard' });
const AT = new Date('2026-03-04T12:00:00Z');
const clock: Clock = { now: () => AT, workflowSeconds: (s) => s, sleep: async () => {} };
/** Runs once, right before the next abort mark's UpdateItem is sent: the other writer's turn. */
let beforeMark: (() => Promise<void>) | undefined;
/** The store that aborts (its mark's write waits for `beforeMark`), and the store the other writers use. */
let aborting: DynamoRolloutStore;
let other: DynamoRolloutStore;

beforeEach(() => {
  const client = doc();
  const send = client.send.bind(client) as (command: unknown) => Promise<unknown>;
  const racing = Object.create(client) as DynamoDBDocumentClient;
  racing.send = (async (command: unknown) => {
    const hook = beforeMark;
    if (hook && command instanceof UpdateCommand && command.input.UpdateExpression?.includes('#abort')) {
      beforeMark = undefined;
      await hook();
    }
    return send(command);
  }) as DynamoDBDocumentClient['send'];
  aborting = new DynamoRolloutStore(racing, tableName(), { retry: fastRetry().retry });
  other = new DynamoRolloutStore(client, tableName(), { retry: fastRetry().retry });
});

afterEach(() => {
  beforeMark = undefined;
});

function record(rolloutId: string, extra: Partial<RolloutRecord> = {}): RolloutRecord {
  return {
    rolloutId,
    service: 'web',
    image: { repository: 'team/web', digest: DIGEST, tag: 'v2' },
    status: 'running',
    alarms: ['web-5xx'],
    canaryPercent: 25,
    createdAt: AT.toISOString(),
    updatedAt: AT.toISOString(),
    ...extra,
  };
}

/** web-a runs and holds web; `end` is what happens between the abort's lock read and its mark. */
async function raceAbort(end: () => Promise<void>) {
  await other.putRollout(record('web-a'));
  await other.acquireLock('web', 'web-a', AT);
  beforeMark = end;
  const moved: boolean[] = [];
  const failed: string[] = [];
  const executions = {
    sendTaskFailure: async (token: string) => {
      failed.push(token);
      return true;
    },
  } as unknown as Executions;
  const outcome = await abortRollout({ store: aborting, clock, executions }, record('web-a'), {
    reason: ErrorName.AlarmFired,
    message: 'alarm web-5xx in ALARM',
    entry: { type: 'alarm', detail: { alarm: 'web-5xx' } },
    putStableBack: async (marked) => {
      moved.push(marked);
    },
  });
  return { outcome, moved, failed };
}

describe('DynamoRolloutStore: the abort mark when the rollout ends between the lock read and the write', () => {
  it('a rollback recorded and the lock taken by a newer rollout: nothing written or moved, the new holder named', async () => {
    // Prepare: web-a's rollback records its end and lets the lock go; web-b takes the service.
    const end = async () => {
      await other.updateRollout('web-a', { status: 'rolledBack', canaryPercent: 0 });
      await other.releaseLock('web', 'web-a', AT);
      await other.putRollout(record('web-b', { canaryPercent: 5 }));
      await other.acquireLock('web', 'web-b', AT);
    };
    // Act
    const { outcome, moved, failed } = await raceAbort(end);
    // Assess
    expect(beforeMark).toBeUndefined();
    expect(outcome).toEqual({
      status: 'notHolding',
      found: expect.objectContaining({ rolloutId: 'web-a', status: 'rolledBack' }),
      why: "web-a is rolledBack and web's lock is held by web-b",
    });
    expect(moved).toEqual([]);
    expect(failed).toEqual([]);
    expect((await other.getRollout('web-a'))?.abort).toBeUndefined();
    expect((await other.getRollout('web-b'))?.abort).toBeUndefined();
  });

  it('a promotion recorded and the lock released: nothing written or moved, the lock named free', async () => {
    // Prepare
    const end = async () => {
      await other.updateRollout('web-a', { status: 'promoted', canaryPercent: 0 });
      await other.releaseLock('web', 'web-a', AT);
    };
    // Act
    const mark = await (async () => {
      await other.putRollout(record('web-a'));
      await other.acquireLock('web', 'web-a', AT);
      beforeMark = end;
      return aborting.markAborted('web-a', ErrorName.Aborted, 'aborted from the CLI', AT);
    })();
    // Assess
    expect(beforeMark).toBeUndefined();
    expect(mark).toEqual({
      holds: false,
      record: expect.objectContaining({ rolloutId: 'web-a', status: 'promoted' }),
      holder: undefined,
    });
    expect((await other.getRollout('web-a'))?.abort).toBeUndefined();
  });
});
