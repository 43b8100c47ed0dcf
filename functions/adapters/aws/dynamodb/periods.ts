/**
 * The periods the last analysis judged (core/late-metrics.ts), in an item of their own beside the rollout record:
 * up to ~80 KB that only analyze reads and writes (a retried step's set-weight deletes them), kept out of the record
 * so that its many small updates do not rewrite them, and out of both indexes (no index key attribute).
 */
import { DeleteCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { JudgedPeriods } from '../../../core/late-metrics';
import { PERIODS, plain, rolloutPk, type Table } from './table';

export async function getJudgedPeriods(t: Table, rolloutId: string): Promise<JudgedPeriods | undefined> {
  const item = await t.get(rolloutPk(rolloutId), PERIODS);
  return item?.periods as JudgedPeriods | undefined;
}

export async function putJudgedPeriods(t: Table, rolloutId: string, periods: JudgedPeriods): Promise<void> {
  await t.send('PutItem', () =>
    t.doc.send(
      new PutCommand({
        TableName: t.name,
        Item: { pk: rolloutPk(rolloutId), sk: PERIODS, periods: plain(periods) },
      }),
    ),
  );
}

export async function clearJudgedPeriods(t: Table, rolloutId: string): Promise<void> {
  await t.send('DeleteItem', () =>
    t.doc.send(new DeleteCommand({ TableName: t.name, Key: { pk: rolloutPk(rolloutId), sk: PERIODS } })),
  );
}
