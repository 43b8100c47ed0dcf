import { ListResourceRecordSetsCommand, Route53Client } from '@aws-sdk/client-route-53';
import { beforeEach, describe, expect, it } from 'vitest';
import { readRecords, recordFindings } from '../../cli/check/records';
import { parseServiceConfig } from '../../functions/core/config';
import type { Route53Traffic } from '../../functions/core/config-route53';
import { awsError, CANARY_LB, HOSTED_ZONE, STABLE_LB } from '../adapters/helpers';
import { mockClient } from '../contract/mock';
import { CANARY_TG_ARN, STABLE_TG_ARN, validServiceConfig } from '../helpers/config';

const client = new Route53Client({ region: 'us-east-1' });
const r53 = mockClient(client);

const config = parseServiceConfig(
  validServiceConfig({
    traffic: {
      kind: 'route53',
      hostedZoneId: HOSTED_ZONE,
      recordName: 'api.example.com',
      recordType: 'CNAME',
      stable: { setIdentifier: 'blue', loadBalancerArn: STABLE_LB, targetGroupArn: STABLE_TG_ARN },
      canary: { setIdentifier: 'green', loadBalancerArn: CANARY_LB, targetGroupArn: CANARY_TG_ARN },
    },
  }),
) as ReturnType<typeof parseServiceConfig> & { traffic: Route53Traffic };

const record = (id: string, weight: number) => ({
  Name: 'api.example.com.',
  Type: 'CNAME' as const,
  SetIdentifier: id,
  Weight: weight,
  TTL: 60,
  ResourceRecords: [{ Value: `${id}.elb.amazonaws.com` }],
});

const check = async () => recordFindings(config.traffic, await readRecords(client, config));

beforeEach(() => r53.reset());

describe('canary check: weighted records', () => {
  it('refuses a group where another record of the name takes answers (weight above 0)', async () => {
    // Prepare
    r53
      .on(ListResourceRecordSetsCommand)
      .resolves({ ResourceRecordSets: [record('blue', 255), record('green', 0), record('legacy', 5)] });
    // Act
    const findings = await check();
    // Assess
    expect(findings).toHaveLength(1);
    expect(findings[0]?.status).toBe('error');
    expect(findings[0]?.message).toContain('legacy (weight 5)');
  });

  it('passes when the zone holds both weighted records, the canary at 0', async () => {
    r53
      .on(ListResourceRecordSetsCommand)
      .resolves({ ResourceRecordSets: [record('blue', 1), record('green', 0)] });
    expect(await check()).toEqual([
      expect.objectContaining({
        check: 'route',
        status: 'ok',
        message: expect.stringMatching(/blue \(weight 1\)/),
      }),
    ]);
  });

  it('names the missing record and the missing zone as errors', async () => {
    r53.on(ListResourceRecordSetsCommand).resolves({ ResourceRecordSets: [record('blue', 1)] });
    expect((await check())[0]).toMatchObject({
      status: 'error',
      message: expect.stringMatching(/SetIdentifier green/),
    });
    r53.reset();
    r53.on(ListResourceRecordSetsCommand).rejects(awsError('NoSuchHostedZone', 404));
    expect((await check())[0]).toMatchObject({
      status: 'error',
      message: expect.stringMatching(/does not exist/),
    });
  });

  it('warns when the canary record takes answers outside a rollout; says when the records cannot be read', async () => {
    r53
      .on(ListResourceRecordSetsCommand)
      .resolves({ ResourceRecordSets: [record('blue', 9), record('green', 1)] });
    expect((await check())[0]).toMatchObject({ status: 'warning' });
    r53.reset();
    r53.on(ListResourceRecordSetsCommand).rejects(awsError('AccessDenied', 403));
    expect((await check())[0]).toMatchObject({ status: 'not-checked' });
  });
});
