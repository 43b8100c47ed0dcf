/**
 * The sandbox's Route 53 lists a zone's records as ListResourceRecordSets does (API reference): at most `maxitems`
 * (300 unless asked for fewer) per page, IsTruncated with NextRecordName, NextRecordType and, for records with a
 * SetIdentifier, NextRecordIdentifier naming where the next page starts; and the router follows those pages.
 */
import { describe, expect, it } from 'vitest';
import { Route53TrafficRouter } from '../../functions/adapters/aws/route53';
import type { Route53Traffic } from '../../functions/core/config-route53';
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
