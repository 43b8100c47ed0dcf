/**
 * The sandbox's Route 53 lists a zone's records as ListResourceRecordSets does (API reference): at most `maxitems`
 * (300 unless asked for fewer) per page, IsTruncated with NextRecordName, NextRecordType and, for records with a
 * SetIdentifier, NextRecordIdentifier naming where the next page starts; and the router follows those pages.
 */
import {
  InvalidChangeBatch$,
  InvalidInput$,
  NoSuchChange$,
  NoSuchHostedZone$,
  PriorRequestNotComplete$,
  ThrottlingException$,
} from '@aws-sdk/client-route-53';
import type { StaticErrorSchema } from '@smithy/types';
import { describe, expect, it } from 'vitest';
import { Route53TrafficRouter } from '../../functions/adapters/aws/route53';
import type { Route53Traffic } from '../../functions/core/config-route53';
import { TargetNotFoundError } from '../../functions/core/errors';
import { LocalRoute53 } from '../../sandbox/route53';
import { fastRetry, route53Route } from '../adapters/helpers';

const ZONE = 'Z0123456789ABCDEFGHIJ';
const clock = { now: () => new Date('2026-03-14T09:30:00Z') };

/** `pairs` pairs of weighted records of one name and type, each pair's stable at weight 1. */
function zoneWith(pairs: number, name = 'api.example.com'): LocalRoute53 {
  const r53 = new LocalRoute53(clock);
  for (let i = 0; i < pairs; i++) {
    const end = (id: string) => ({ setIdentifier: id, targetGroupArn: `tg-${id}` });
    r53.createRecords({
      hostedZoneId: ZONE,
      recordName: name,
      recordType: 'CNAME',
      ttlSeconds: 60,
      stable: end(`s${String(i).padStart(3, '0')}`),
      canary: end(`c${String(i).padStart(3, '0')}`),
    } as unknown as Route53Traffic);
  }
  return r53;
}

describe('the sandbox Route 53: ListResourceRecordSets pages', () => {
  it('lists 300 records by default, then names where the next page starts, and starts there', () => {
    const r53 = zoneWith(160);
    const first = r53.list({
      HostedZoneId: ZONE,
      StartRecordName: 'api.example.com',
      StartRecordType: 'CNAME',
    });
    expect(first.ResourceRecordSets).toHaveLength(300);
    expect(first).toMatchObject({
      IsTruncated: true,
      MaxItems: 300,
      NextRecordName: 'api.example.com.',
      NextRecordType: 'CNAME',
      NextRecordIdentifier: 's140',
    });
    const next = r53.list({
      HostedZoneId: ZONE,
      StartRecordName: first.NextRecordName,
      StartRecordType: first.NextRecordType,
      StartRecordIdentifier: first.NextRecordIdentifier,
    });
    expect(next.ResourceRecordSets.map((r) => r.SetIdentifier)[0]).toBe('s140');
    expect(next.ResourceRecordSets).toHaveLength(20);
    expect(next.IsTruncated).toBe(false);
    expect(next).not.toHaveProperty('NextRecordName');
  });

  it('honours a smaller maxitems', () => {
    const page = zoneWith(3).list({ HostedZoneId: ZONE, MaxItems: 4 });
    expect(page.ResourceRecordSets.map((r) => r.SetIdentifier)).toEqual(['c000', 'c001', 'c002', 's000']);
    expect(page).toMatchObject({ IsTruncated: true, MaxItems: 4, NextRecordIdentifier: 's001' });
  });

  it('the router reads a record set of more than 300 records across the pages', async () => {
    const r53 = zoneWith(160);
    const router = new Route53TrafficRouter(r53.client(), { retry: fastRetry().retry });
    const route = route53Route({
      hostedZoneId: ZONE,
      stableSetIdentifier: 's159',
      canarySetIdentifier: 'c000',
      stableTargetGroupArn: 'tg-s159',
      canaryTargetGroupArn: 'tg-c000',
    });
    const weights = await router.describe(route);
    expect(Object.keys(weights)).toHaveLength(320);
    expect(weights).toMatchObject({ 'tg-s159': 1, 'tg-c000': 0 });
  });
});

/**
 * The HTTP status AWS's Route 53 model gives an error (the Smithy schema @aws-sdk/client-route-53 is generated from):
 * its `httpError` trait, or 400 for a client error without one (Smithy specification, "httpError trait").
 */
const modelStatus = (schema: StaticErrorSchema) => {
  const traits = schema[3] as { error?: string; httpError?: number };
  return traits.httpError ?? (traits.error === 'client' ? 400 : 500);
};

/** What the double throws for a request: its name and HTTP status. */
async function thrown(request: () => unknown): Promise<{ name: string; status: unknown }> {
  try {
    await request();
  } catch (error) {
    const e = error as { name: string; $metadata?: { httpStatusCode?: number } };
    return { name: e.name, status: e.$metadata?.httpStatusCode };
  }
  throw new Error('the request did not fail');
}

describe('the sandbox Route 53: errors as AWS sends them', () => {
  it("answers each error with the HTTP status of Route 53's model: 404 for NoSuchHostedZone and NoSuchChange", async () => {
    const r53 = zoneWith(1);
    const upsert = (weight: number, id = 's000') => ({
      HostedZoneId: ZONE,
      ChangeBatch: {
        Changes: [
          {
            Action: 'UPSERT',
            ResourceRecordSet: {
              Name: 'api.example.com.',
              Type: 'CNAME' as const,
              SetIdentifier: id,
              Weight: weight,
            },
          },
        ],
      },
    });
    const cases: [() => unknown, StaticErrorSchema][] = [
      [() => r53.list({ HostedZoneId: 'ZNOSUCHZONE' }), NoSuchHostedZone$],
      [() => r53.change({ ...upsert(1), HostedZoneId: 'ZNOSUCHZONE' }), NoSuchHostedZone$],
      [() => r53.getChange({ Id: '/change/CNOSUCHCHANGE' }), NoSuchChange$],
      [() => r53.list({ HostedZoneId: ZONE, StartRecordType: 'CNAME' }), InvalidInput$],
      [() => r53.change(upsert(256)), InvalidChangeBatch$],
      [
        () => {
          r53.inject('route53Throttled', 1);
          return r53.change(upsert(1));
        },
        ThrottlingException$,
      ],
      [
        () => {
          r53.inject('route53PriorRequest', 1);
          return r53.change(upsert(1));
        },
        PriorRequestNotComplete$,
      ],
    ];
    for (const [request, schema] of cases)
      expect(await thrown(request)).toEqual({ name: schema[2], status: modelStatus(schema) });
    expect(modelStatus(NoSuchHostedZone$)).toBe(404);
    expect(modelStatus(NoSuchChange$)).toBe(404);
  });

  it("the router names a zone that does not exist by the error's name, whatever its status (TargetNotFound)", async () => {
    const router = new Route53TrafficRouter(zoneWith(1).client(), { retry: fastRetry().retry });
    const route = route53Route({ hostedZoneId: 'ZNOSUCHZONE' });
    await expect(router.describe(route)).rejects.toBeInstanceOf(TargetNotFoundError);
    await expect(router.setWeights(route, 10)).rejects.toThrow('hosted zone ZNOSUCHZONE does not exist');
  });
});
