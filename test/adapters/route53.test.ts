import {
  ChangeResourceRecordSetsCommand,
  GetChangeCommand,
  ListResourceRecordSetsCommand,
  type ResourceRecordSet,
  Route53Client,
} from '@aws-sdk/client-route-53';
import { beforeEach, describe, expect, it } from 'vitest';
import { Route53TrafficRouter } from '../../functions/adapters/aws/route53';
import { ConfigInvalidError, TargetNotFoundError, TransientError } from '../../functions/core/errors';
import { mockClient } from '../contract/mock';
import { awsError, CANARY_TG, fastRetry, HOSTED_ZONE, route53Route, STABLE_TG } from './helpers';

const client = new Route53Client({ region: 'us-east-1' });
const r53 = mockClient(client);

/** A weighted CNAME record as ListResourceRecordSets returns it (the name with its trailing dot). */
function record(
  id: string,
  weight: number | undefined,
  extra: Partial<ResourceRecordSet> = {},
): ResourceRecordSet {
  return {
    Name: 'api.example.com.',
    Type: 'CNAME',
    SetIdentifier: id,
    ...(weight === undefined ? {} : { Weight: weight }),
    TTL: 300,
    ResourceRecords: [{ Value: `web-${id}-123456.us-east-1.elb.amazonaws.com` }],
    ...extra,
  };
}

function listing(records: ResourceRecordSet[], next?: { id: string }) {
  return {
    ResourceRecordSets: records,
    IsTruncated: next !== undefined,
    MaxItems: 100,
    ...(next
      ? {
          NextRecordName: 'api.example.com.',
          NextRecordType: 'CNAME' as const,
          NextRecordIdentifier: next.id,
        }
      : {}),
  };
}

const change = (status: 'PENDING' | 'INSYNC') => ({
  ChangeInfo: { Id: '/change/C2682N5HXP0BZ4', Status: status, SubmittedAt: new Date('2026-03-14T09:30:00Z') },
});

function router(extra: { syncTimeoutMs?: number } = {}) {
  const retry = fastRetry();
  return {
    router: new Route53TrafficRouter(client, { retry: retry.retry, pollMs: 1000, ...extra }),
    sleeps: retry.sleeps,
  };
}

beforeEach(() => {
  r53.reset();
});

describe('Route53TrafficRouter.describe', () => {
  it('reads both records by SetIdentifier, keyed by their target groups, other records of the name by id', async () => {
    // Prepare
    r53
      .on(ListResourceRecordSetsCommand)
      .resolves(listing([record('blue', 255), record('green', 1), record('legacy', 0)]));
    // Act
    const weights = await router().router.describe(route53Route());
    // Assess
    expect(weights).toEqual({ [STABLE_TG]: 255, [CANARY_TG]: 1, 'SetIdentifier legacy': 0 });
    expect(r53.commandCalls(ListResourceRecordSetsCommand).map((c) => c.args[0].input)).toContainEqual(
      expect.objectContaining({
        HostedZoneId: HOSTED_ZONE,
        StartRecordName: 'api.example.com',
        StartRecordType: 'CNAME',
      }),
    );
  });

  it('follows truncated pages while they list the same name and type, and ignores the names after it', async () => {
    r53
      .on(ListResourceRecordSetsCommand)
      .resolvesOnce(listing([record('blue', 9)], { id: 'green' }))
      .resolvesOnce(listing([record('green', 1), { ...record('x', 5), Name: 'www.example.com.' }]));
    const weights = await router().router.describe(route53Route());
    expect(weights).toEqual({ [STABLE_TG]: 9, [CANARY_TG]: 1 });
    expect(r53.commandCalls(ListResourceRecordSetsCommand).map((c) => c.args[0].input)).toContainEqual(
      expect.objectContaining({ StartRecordIdentifier: 'green' }),
    );
  });

  it('names the record that does not exist (TargetNotFound), and the zone that does not', async () => {
    r53.on(ListResourceRecordSetsCommand).resolves(listing([record('blue', 1)]));
    await expect(router().router.describe(route53Route())).rejects.toThrow(
      new TargetNotFoundError(
        'no CNAME record api.example.com with SetIdentifier green in hosted zone Z0123456789ABCDEFGHIJ',
      ),
    );
    r53.reset();
    r53.on(ListResourceRecordSetsCommand).rejects(awsError('NoSuchHostedZone', 404));
    await expect(router().router.describe(route53Route())).rejects.toBeInstanceOf(TargetNotFoundError);
  });

  it('refuses a record that is not weighted (ConfigInvalid naming the field)', async () => {
    r53.on(ListResourceRecordSetsCommand).resolves(listing([record('blue', 1), record('green', undefined)]));
    const error = await router()
      .router.describe(route53Route())
      .catch((e) => e);
    expect(error).toBeInstanceOf(ConfigInvalidError);
    expect(error.message).toContain('canary.setIdentifier');
  });
});

describe('Route53TrafficRouter.setWeights', () => {
  it('upserts both records in one change batch with the exact ratio, keeping each record but its weight and TTL', async () => {
    // Prepare
    const health = record('blue', 1, { HealthCheckId: 'abcdef11-2222-3333-4444-555555fedcba' });
    r53.on(ListResourceRecordSetsCommand).resolves(listing([health, record('green', 0)]));
    r53.on(ChangeResourceRecordSetsCommand).resolves(change('PENDING'));
    r53.on(GetChangeCommand).resolvesOnce(change('PENDING')).resolves(change('INSYNC'));
    const { router: r, sleeps } = router();
    // Act
    await r.setWeights(route53Route(), 5);
    // Assess: 5% is 19:1 (weights 0–255, API_ResourceRecordSet), applied together
    const sent = r53.commandCalls(ChangeResourceRecordSetsCommand)[0]?.args[0].input;
    expect(sent?.ChangeBatch?.Changes).toEqual([
      { Action: 'UPSERT', ResourceRecordSet: { ...health, Weight: 19, TTL: 60 } },
      { Action: 'UPSERT', ResourceRecordSet: { ...record('green', 0), Weight: 1, TTL: 60 } },
    ]);
    expect(r53.commandCalls(GetChangeCommand)).toHaveLength(2);
    expect(r53.commandCalls(GetChangeCommand).map((c) => c.args[0].input)).toContainEqual(
      expect.objectContaining({ Id: '/change/C2682N5HXP0BZ4' }),
    );
    expect(sleeps).toEqual([1000]);
  });

  it('never sets both weights to 0 (Route 53 would answer with both alike): 0% is 1:0, 100% is 0:1', async () => {
    r53.on(ListResourceRecordSetsCommand).resolves(listing([record('blue', 1), record('green', 1)]));
    r53.on(ChangeResourceRecordSetsCommand).resolves(change('INSYNC'));
    await router().router.setWeights(route53Route(), 0);
    await router().router.setWeights(route53Route(), 100);
    const weights = r53
      .commandCalls(ChangeResourceRecordSetsCommand)
      .map((c) => c.args[0].input.ChangeBatch?.Changes?.map((x) => x.ResourceRecordSet?.Weight));
    expect(weights).toEqual([
      [1, 0],
      [0, 1],
    ]);
  });

  it('leaves the TTL of an alias record alone (an alias answers with its target TTL)', async () => {
    const alias = (id: string) =>
      record(id, 1, {
        Type: 'A',
        TTL: undefined,
        ResourceRecords: undefined,
        AliasTarget: {
          HostedZoneId: 'Z35SXDOTRQ7X7K',
          DNSName: `web-${id}.us-east-1.elb.amazonaws.com.`,
          EvaluateTargetHealth: true,
        },
      });
    r53
      .on(ListResourceRecordSetsCommand)
      .resolves({ ...listing([alias('blue'), { ...alias('green'), Weight: 0 }]) });
    r53.on(ChangeResourceRecordSetsCommand).resolves(change('INSYNC'));
    await router().router.setWeights(route53Route({ recordType: 'A' }), 50);
    const changes = r53.commandCalls(ChangeResourceRecordSetsCommand)[0]?.args[0].input.ChangeBatch?.Changes;
    expect(changes?.map((c) => [c.ResourceRecordSet?.Weight, c.ResourceRecordSet?.TTL])).toEqual([
      [1, undefined],
      [1, undefined],
    ]);
  });

  it('refuses a share the weights cannot hold exactly, before any request', async () => {
    await expect(router().router.setWeights(route53Route(), 0.1)).rejects.toThrow(/0–255/);
    expect(r53.calls()).toHaveLength(0);
  });

  it('retries PriorRequestNotComplete and Throttling on the change, then waits for INSYNC', async () => {
    r53.on(ListResourceRecordSetsCommand).resolves(listing([record('blue', 1), record('green', 0)]));
    r53
      .on(ChangeResourceRecordSetsCommand)
      .rejectsOnce(awsError('PriorRequestNotComplete', 400))
      .rejectsOnce(awsError('ThrottlingException', 400))
      .resolves(change('PENDING'));
    r53.on(GetChangeCommand).resolves(change('INSYNC'));
    const r = new Route53TrafficRouter(client, { retry: { ...fastRetry().retry, attempts: 4 } });
    await r.setWeights(route53Route(), 10);
    expect(r53.commandCalls(ChangeResourceRecordSetsCommand)).toHaveLength(3);
  });

  it('gives up as Transient when the change is still PENDING at the bound, its last poll at the bound', async () => {
    r53.on(ListResourceRecordSetsCommand).resolves(listing([record('blue', 1), record('green', 0)]));
    r53.on(ChangeResourceRecordSetsCommand).resolves(change('PENDING'));
    r53.on(GetChangeCommand).resolves(change('PENDING'));
    const { router: r, sleeps } = router({ syncTimeoutMs: 10_000 });
    await expect(r.setWeights(route53Route(), 10)).rejects.toBeInstanceOf(TransientError);
    expect(sleeps).toEqual([1000, 2000, 4000, 3000]);
  });
});

describe('Route53TrafficRouter.setWeights after a change still PENDING', () => {
  it('a retry that finds the share already set waits for its own earlier change to be INSYNC, and sends no new one', async () => {
    // Prepare: the first attempt's change is still PENDING at the bound; the records carry 5% (19:1) since.
    r53
      .on(ListResourceRecordSetsCommand)
      .resolvesOnce(listing([record('blue', 1), record('green', 0)]))
      .resolves(listing([record('blue', 19, { TTL: 60 }), record('green', 1, { TTL: 60 })]));
    r53.on(ChangeResourceRecordSetsCommand).resolves(change('PENDING'));
    let polls = 0;
    r53.on(GetChangeCommand).callsFake(async () => change(++polls < 5 ? 'PENDING' : 'INSYNC'));
    const { router: r } = router({ syncTimeoutMs: 2000 });
    await expect(r.setWeights(route53Route(), 5)).rejects.toBeInstanceOf(TransientError);
    // Act: the workflow's retry, in the same execution environment
    await r.setWeights(route53Route(), 5);
    // Assess: it returned only once the change was INSYNC, and started no new PENDING change
    expect(r53.commandCalls(ChangeResourceRecordSetsCommand)).toHaveLength(1);
    expect(r53.commandCalls(GetChangeCommand).map((c) => c.args[0].input.Id)).toEqual(
      Array(5).fill('/change/C2682N5HXP0BZ4'),
    );
  });

  it('a retry whose remembered change is already INSYNC sends the weights again and waits for that new change', async () => {
    // Prepare: C1 set 10% and went INSYNC; since, another execution environment's change C3 for the same weights
    // (after a pause put 0%) may still be PENDING: the records hold 10%, C1 says nothing of C3.
    r53
      .on(ListResourceRecordSetsCommand)
      .resolvesOnce(listing([record('blue', 1), record('green', 0)]))
      .resolves(listing([record('blue', 9, { TTL: 60 }), record('green', 1, { TTL: 60 })]));
    let changes = 0;
    r53.on(ChangeResourceRecordSetsCommand).callsFake(async () => ({
      ChangeInfo: {
        Id: `/change/C${++changes}`,
        Status: 'PENDING',
        SubmittedAt: new Date('2026-03-14T09:30:00Z'),
      },
    }));
    const polls: Record<string, number> = {};
    r53.on(GetChangeCommand).callsFake(async (input: { Id: string }) => {
      const n = (polls[input.Id] ?? 0) + 1;
      polls[input.Id] = n;
      const status = input.Id === '/change/C2' && n < 3 ? 'PENDING' : 'INSYNC';
      return { ChangeInfo: { Id: input.Id, Status: status, SubmittedAt: new Date('2026-03-14T09:30:00Z') } };
    });
    const { router: r } = router();
    await r.setWeights(route53Route(), 10);
    // Act: the workflow's retry lands in this execution environment
    await r.setWeights(route53Route(), 10);
    // Assess: one more change carrying the weights, polled until INSYNC
    const sent = r53.commandCalls(ChangeResourceRecordSetsCommand).map((c) => c.args[0].input.ChangeBatch);
    expect(sent.map((b) => b?.Changes?.map((c) => c.ResourceRecordSet?.Weight))).toEqual([
      [9, 1],
      [9, 1],
    ]);
    expect(r53.commandCalls(GetChangeCommand).map((c) => c.args[0].input.Id)).toEqual([
      '/change/C1',
      '/change/C1',
      '/change/C2',
      '/change/C2',
      '/change/C2',
    ]);
  });

  it('a retry whose remembered change Route 53 no longer knows (NoSuchChange) sends the weights again', async () => {
    r53
      .on(ListResourceRecordSetsCommand)
      .resolvesOnce(listing([record('blue', 1), record('green', 0)]))
      .resolves(listing([record('blue', 9, { TTL: 60 }), record('green', 1, { TTL: 60 })]));
    r53.on(ChangeResourceRecordSetsCommand).resolves(change('INSYNC'));
    r53.on(GetChangeCommand).rejects(awsError('NoSuchChange', 404));
    const { router: r } = router();
    await r.setWeights(route53Route(), 10);
    // Act
    await r.setWeights(route53Route(), 10);
    // Assess
    expect(r53.commandCalls(ChangeResourceRecordSetsCommand)).toHaveLength(2);
  });

  it('a retry that knows no change of its own sends the same weights again and returns once that change is INSYNC', async () => {
    // Prepare: the records as the earlier attempt (another execution environment) left them
    r53
      .on(ListResourceRecordSetsCommand)
      .resolves(listing([record('blue', 19, { TTL: 60 }), record('green', 1, { TTL: 60 })]));
    r53.on(ChangeResourceRecordSetsCommand).resolves(change('PENDING'));
    let polls = 0;
    r53.on(GetChangeCommand).callsFake(async () => change(++polls < 3 ? 'PENDING' : 'INSYNC'));
    // Act
    await router().router.setWeights(route53Route(), 5);
    // Assess: a change carrying the same weights, whose INSYNC says every Route 53 DNS server answers them
    const sent = r53.commandCalls(ChangeResourceRecordSetsCommand).map((c) => c.args[0].input.ChangeBatch);
    expect(sent.map((b) => b?.Changes?.map((c) => c.ResourceRecordSet?.Weight))).toEqual([[19, 1]]);
    expect(r53.commandCalls(GetChangeCommand)).toHaveLength(3);
  });

  it('waits up to 40 s for INSYNC by default (changes generally propagate within 60 s), its last poll at the bound', async () => {
    // Prepare: PENDING until the 9th GetChange, 40 s after the change
    r53.on(ListResourceRecordSetsCommand).resolves(listing([record('blue', 1), record('green', 0)]));
    r53.on(ChangeResourceRecordSetsCommand).resolves(change('PENDING'));
    let polls = 0;
    r53.on(GetChangeCommand).callsFake(async () => change(++polls < 9 ? 'PENDING' : 'INSYNC'));
    const { router: r, sleeps } = router();
    // Act
    await r.setWeights(route53Route(), 10);
    // Assess
    expect(sleeps).toEqual([1000, 2000, 4000, 8000, 8000, 8000, 8000, 1000]);
    expect(r53.commandCalls(GetChangeCommand)).toHaveLength(9);
  });
});

describe('Route53TrafficRouter.verifyWeights', () => {
  it('is true for the share under any integers of the same ratio, false for another share', async () => {
    r53.on(ListResourceRecordSetsCommand).resolves(listing([record('blue', 38), record('green', 2)]));
    const { router: r } = router();
    expect(await r.verifyWeights(route53Route(), 5)).toBe(true);
    expect(await r.verifyWeights(route53Route(), 10)).toBe(false);
  });

  it('is false when another record of the name takes answers', async () => {
    r53
      .on(ListResourceRecordSetsCommand)
      .resolves(listing([record('blue', 1), record('green', 0), record('legacy', 3)]));
    expect(await router().router.verifyWeights(route53Route(), 0)).toBe(false);
  });
});
