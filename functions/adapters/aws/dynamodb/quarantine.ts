/** Images refused for a service until someone releases them, and the target group that serves a service's stable. */
import { DeleteCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { SERVING, servicePk, type Table } from './table';

export async function quarantine(
  t: Table,
  service: string,
  digest: string,
  reason: string,
  at: Date,
): Promise<void> {
  await t.send('PutItem', () =>
    t.doc.send(
      new PutCommand({
        TableName: t.name,
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

export async function isQuarantined(t: Table, service: string, digest: string): Promise<boolean> {
  return (await t.get(servicePk(service), `QUARANTINE#${digest}`)) !== undefined;
}

export async function releaseQuarantine(t: Table, service: string, digest: string): Promise<boolean> {
  const out = await t.send('DeleteItem', () =>
    t.doc.send(
      new DeleteCommand({
        TableName: t.name,
        Key: { pk: servicePk(service), sk: `QUARANTINE#${digest}` },
        ReturnValues: 'ALL_OLD',
      }),
    ),
  );
  return out.Attributes !== undefined;
}

export async function getServingTargetGroup(t: Table, service: string): Promise<string | undefined> {
  const item = await t.get(servicePk(service), SERVING);
  return typeof item?.targetGroupArn === 'string' ? item.targetGroupArn : undefined;
}

export async function setServingTargetGroup(
  t: Table,
  service: string,
  targetGroupArn: string,
): Promise<void> {
  await t.send('PutItem', () =>
    t.doc.send(
      new PutCommand({
        TableName: t.name,
        Item: { pk: servicePk(service), sk: SERVING, service, targetGroupArn },
      }),
    ),
  );
}
