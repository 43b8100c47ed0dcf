/**
 * `canary check` for a service behind weighted records (traffic.kind "route53"): the hosted zone exists and holds
 * both records of the name and type, with the SetIdentifiers the config gives, both weighted. Read with the
 * router's own read (ListResourceRecordSets), so the check refuses what Prepare would refuse.
 */
import { Route53Client } from '@aws-sdk/client-route-53';
import { Route53TrafficRouter } from '../../functions/adapters/aws/route53';
import { AccessDeniedError, errorName, SDK_CLIENT_CONFIG } from '../../functions/adapters/aws/sdk';
import type { ServiceConfig } from '../../functions/core/config';
import type { Route53Traffic } from '../../functions/core/config-route53';
import { ConfigInvalidError, TargetNotFoundError } from '../../functions/core/errors';
import type { Route53Route } from '../../functions/core/rollout';
import { otherAnsweringRecords, routeOf } from '../../functions/core/routes';
import type { TargetGroupWeights } from '../../functions/ports';
import { error, type Finding, notChecked, ok, type Read, warning } from './findings';

/** Route 53 is global: one client, in us-east-1 as the API is served from there. */
export const route53Client = () => new Route53Client({ ...SDK_CLIENT_CONFIG, region: 'us-east-1' });

/** The two records' weights as the router reads them (by target group): missing names what Prepare would refuse. */
export async function readRecords(
  client: Route53Client,
  config: ServiceConfig & { traffic: Route53Traffic },
): Promise<Read<TargetGroupWeights>> {
  const route = routeOf(config.traffic) as Route53Route;
  try {
    return { found: await new Route53TrafficRouter(client).describe(route) };
  } catch (e) {
    if (e instanceof TargetNotFoundError || e instanceof ConfigInvalidError) return { missing: e.message };
    if (e instanceof AccessDeniedError) return { failed: 'route53:ListResourceRecordSets was denied to you' };
    return { failed: `route53:ListResourceRecordSets: ${errorName(e)}: ${(e as Error).message}` };
  }
}

/** The records' findings: both there and weighted, the canary without traffic before a rollout. */
export function recordFindings(t: Route53Traffic, read: Read<TargetGroupWeights>): Finding[] {
  const name = `${t.recordName} ${t.recordType} in hosted zone ${t.hostedZoneId}`;
  if ('failed' in read)
    return [
      notChecked(
        'route',
        `the records ${name} could not be read: ${read.failed}`,
        'grant yourself route53:ListResourceRecordSets on the zone and run again',
      ),
    ];
  if ('missing' in read)
    return [
      error(
        'route',
        read.missing,
        `create both weighted records (SetIdentifier ${t.stable.setIdentifier} and ${t.canary.setIdentifier}) of ${t.recordName} ${t.recordType}, or correct traffic`,
      ),
    ];
  const others = otherAnsweringRecords(read.found);
  if (others.length > 0)
    return [
      error(
        'route',
        `weighted records ${name}: other records of the name take answers: ${others.join(', ')}; no rollout could hold a share or put all traffic on stable`,
        'set their weight to 0 or remove them',
      ),
    ];
  const stable = read.found[t.stable.targetGroupArn] ?? 0;
  const canary = read.found[t.canary.targetGroupArn] ?? 0;
  if (stable === 0 || canary > 0)
    return [
      warning(
        'route',
        `weighted records ${name}: ${t.stable.setIdentifier} has weight ${stable}, ${t.canary.setIdentifier} ${canary}: the canary's record takes answers outside a rollout`,
        `set ${t.canary.setIdentifier}'s weight to 0 and ${t.stable.setIdentifier}'s above 0, or let a rollout finish`,
      ),
    ];
  return [
    ok(
      'route',
      `weighted records ${name}: ${t.stable.setIdentifier} (weight ${stable}) and ${t.canary.setIdentifier} (weight ${canary})`,
    ),
  ];
}
