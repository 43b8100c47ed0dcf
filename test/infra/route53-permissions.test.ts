import type * as iam from 'aws-cdk-lib/aws-iam';
import { describe, expect, it } from 'vitest';
import { parseServiceConfig } from '../../functions/core/config';
import type { ControllerFunction } from '../../infra/controller-function';
import type { Grants } from '../../infra/grants';
import { NAMES_PER_ZONE, recordStatements, route53Zones } from '../../infra/route53-permissions';
import { validServiceConfig } from '../helpers/config';
import { allows, type Statement } from './policy-evaluator';

const STABLE_LB =
  'arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/blue/50dc6c495c0c9188';
const CANARY_LB =
  'arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/green/6c4b1d2e3f4a5b6c';
const tg = (name: string, i: number) =>
  `arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/${name}-${i}/${(0x73e2d6bc24d8a067n + BigInt(i)).toString(16)}`;

/** Service `i` behind records `api-<i>.example.com` in `zone`. */
function service(i: number, zone = 'Z0123456789ABCDEFGHIJ') {
  return parseServiceConfig(
    validServiceConfig({
      service: `svc-${i}`,
      repository: `acme/svc-${i}`,
      traffic: {
        kind: 'route53',
        hostedZoneId: zone,
        recordName: `api-${i}.example.com`,
        recordType: 'CNAME',
        stable: { setIdentifier: 'blue', loadBalancerArn: STABLE_LB, targetGroupArn: tg('blue', i) },
        canary: { setIdentifier: 'green', loadBalancerArn: CANARY_LB, targetGroupArn: tg('green', i) },
      },
    }),
  );
}

/** The statements recordStatements grants, as IAM reads them. */
function granted(services: ReturnType<typeof service>[]): Statement[] {
  const statements: Statement[] = [];
  const grants = {
    allow: (_fn: unknown, s: iam.PolicyStatement) => statements.push(s.toStatementJson() as Statement),
  } as unknown as Grants;
  recordStatements(grants, {} as ControllerFunction, route53Zones(services));
  return statements;
}

const change = (name: string, action = 'UPSERT', type = 'CNAME', zone = 'Z0123456789ABCDEFGHIJ') => ({
  action: 'route53:ChangeResourceRecordSets',
  resource: `arn:aws:route53:::hostedzone/${zone}`,
  context: {
    'route53:ChangeResourceRecordSetsActions': [action],
    'route53:ChangeResourceRecordSetsRecordTypes': [type],
    'route53:ChangeResourceRecordSetsNormalizedRecordNames': [name],
  },
});

describe('the Route 53 statements', () => {
  it('let a function UPSERT only the configured records of its zone, and follow any change', () => {
    const statements = granted([service(1), service(2)]);
    expect(allows(statements, change('api-1.example.com'))).toBe(true);
    expect(allows(statements, change('api-2.example.com'))).toBe(true);
    expect(allows(statements, change('www.example.com'))).toBe(false);
    expect(allows(statements, change('api-1.example.com', 'DELETE'))).toBe(false);
    expect(allows(statements, change('api-1.example.com', 'UPSERT', 'TXT'))).toBe(false);
    expect(allows(statements, change('api-1.example.com', 'UPSERT', 'CNAME', 'Z0OTHERZONE'))).toBe(false);
    expect(
      allows(statements, {
        action: 'route53:GetChange',
        resource: 'arn:aws:route53:::change/C2682N5HXP0BZ4',
      }),
    ).toBe(true);
    expect(
      allows(statements, {
        action: 'route53:ListResourceRecordSets',
        resource: 'arn:aws:route53:::hostedzone/Z0123456789ABCDEFGHIJ',
      }),
    ).toBe(true);
  });

  it('keep one statement per zone, not per service: 500 services in two zones stay small', () => {
    const services = Array.from({ length: 500 }, (_, i) => service(i, i % 2 ? 'Z0ODDZONE' : 'Z0EVENZONE'));
    const statements = granted(services);
    const changes = statements.filter((s) => s.Action === 'route53:ChangeResourceRecordSets');
    expect(changes).toHaveLength(2);
    // Past NAMES_PER_ZONE names, the zone's statement keeps the action and type conditions only.
    expect(500 / 2).toBeGreaterThan(NAMES_PER_ZONE);
    expect(allows(statements, change('anything.example.com', 'UPSERT', 'CNAME', 'Z0ODDZONE'))).toBe(true);
    expect(allows(statements, change('api-1.example.com', 'DELETE', 'CNAME', 'Z0ODDZONE'))).toBe(false);
    expect(JSON.stringify(statements).length).toBeLessThan(2000);
  });
});
