/** A rollout's history: one item per entry, sorted by time. */
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { type HistoryEntry, readHistoryEntry, type StoredHistoryEntry } from '../../../core/history';
import type { HistoryPage } from '../../../ports';
import { plain, rolloutPk, type Table, withoutKeys } from './table';

export async function appendHistory(t: Table, rolloutId: string, entry: HistoryEntry): Promise<void> {
  // Entries of one instant keep their order within a process; the random tail keeps two processes apart.
  t.historySeq = (t.historySeq + 1) % 1_000_000;
  const seq = `${String(t.historySeq).padStart(6, '0')}${Math.floor(Math.random() * 0x10000)
    .toString(16)
    .padStart(4, '0')}`;
  // Not written when our own write got there first (retried after a lost response).
  await t.sendIf('PutItem', () =>
    t.doc.send(
      new PutCommand({
        TableName: t.name,
        Item: { ...plain(entry), pk: rolloutPk(rolloutId), sk: `HISTORY#${entry.at}#${seq}` },
        ConditionExpression: 'attribute_not_exists(sk)',
      }),
    ),
  );
}

export async function history(
  t: Table,
  rolloutId: string,
  page: HistoryPage = {},
): Promise<StoredHistoryEntry[]> {
  // Sort keys are HISTORY#<ISO time>#<seq>: entries at or after `since` sort at or after HISTORY#<since>, and
  // every history key sorts before HISTORY$ ('$' follows '#').
  const items = await t.query(
    {
      TableName: t.name,
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
