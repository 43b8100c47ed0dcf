/** The order of pushes: the newest push accepted for a service, and the last request to run each image. */
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import type { AcceptedPush, SeenImage } from '../../../core/pushes';
import { imageSk, NEWEST, plain, servicePk, type Table, withoutKeys } from './table';

export async function getNewestPush(t: Table, service: string): Promise<AcceptedPush | undefined> {
  const item = await t.get(servicePk(service), NEWEST);
  return item ? withoutKeys<AcceptedPush>(item) : undefined;
}

export async function setNewestPush(
  t: Table,
  service: string,
  push: AcceptedPush,
  expected: string | undefined,
): Promise<boolean> {
  return putIfEventId(t, servicePk(service), NEWEST, plain(push), expected);
}

export async function getImage(t: Table, service: string, digest: string): Promise<SeenImage | undefined> {
  const item = await t.get(servicePk(service), imageSk(digest));
  return item ? withoutKeys<SeenImage>(item) : undefined;
}

export async function markImage(
  t: Table,
  service: string,
  image: SeenImage,
  expected: string | undefined,
): Promise<boolean> {
  return putIfEventId(t, servicePk(service), imageSk(image.digest), plain(image), expected);
}

/** Put an item only if the one stored still carries event id `expected` (undefined: there is none). */
function putIfEventId(
  t: Table,
  pk: string,
  sk: string,
  item: object,
  expected: string | undefined,
): Promise<boolean> {
  return t.sendIf('PutItem', () =>
    t.doc.send(
      new PutCommand({
        TableName: t.name,
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
