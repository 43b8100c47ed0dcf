/**
 * The Route 53 statements of services whose traffic is two weighted records (traffic.kind "route53"), one statement
 * per hosted zone, never per service (Service Authorization Reference, "Actions, resources, and condition keys for
 * Amazon Route 53"; Route 53 developer guide, "Using IAM policy conditions for fine-grained access control"):
 * - ChangeResourceRecordSets on the zone (resource type hostedzone), only UPSERT
 *   (route53:ChangeResourceRecordSetsActions), only the record types and the names the configs give
 *   (route53:ChangeResourceRecordSetsRecordTypes and ...NormalizedRecordNames: lowercase, no trailing dot, the form
 *   the config schema requires). ForAllValues: every record of the change batch must be one of them.
 * - ListResourceRecordSets on the zone (the weights read back, Prepare's check, the drift check).
 * - GetChange on change/* (a change's id is known only once it is made).
 * A zone with more names than fit a policy (NAMES_PER_ZONE) keeps the action and type conditions and drops the
 * names one, so the policy keeps one size for 1 or 500 services.
 */
import * as iam from 'aws-cdk-lib/aws-iam';
import type { ServiceConfig } from '../functions/core/config';
import type { ControllerFunction } from './controller-function';
import type { Grants } from './grants';

/** Names listed per zone at most (about 40 characters each against IAM's 10,240 per role's inline policies). */
export const NAMES_PER_ZONE = 50;

interface Zone {
  id: string;
  names: string[];
  types: string[];
}

/** The hosted zones the configs weight records in, each with its record names and types (sorted, unique). */
export function route53Zones(services: readonly ServiceConfig[]): Zone[] {
  const zones = new Map<string, { names: Set<string>; types: Set<string> }>();
  for (const c of services) {
    const t = c.traffic;
    if (t.kind !== 'route53') continue;
    const zone = zones.get(t.hostedZoneId) ?? { names: new Set(), types: new Set() };
    zone.names.add(t.recordName);
    zone.types.add(t.recordType);
    zones.set(t.hostedZoneId, zone);
  }
  return [...zones.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([id, z]) => ({ id, names: [...z.names].sort(), types: [...z.types].sort() }));
}

const zoneArn = (id: string) => `arn:aws:route53:::hostedzone/${id}`;
const sid = (id: string) => `Route53Records${id.replace(/[^A-Za-z0-9]/g, '')}`;

/** Read the zones' records (the drift check, Prepare). */
export function readRecordStatements(grants: Grants, fn: ControllerFunction, zones: readonly Zone[]) {
  if (zones.length === 0) return;
  grants.allow(
    fn,
    new iam.PolicyStatement({
      sid: 'Route53ReadRecords',
      actions: ['route53:ListResourceRecordSets'],
      resources: zones.map((z) => zoneArn(z.id)),
    }),
  );
}

/** Change the weighted records of the configured names (UPSERT only) and follow each change to INSYNC. */
export function recordStatements(grants: Grants, fn: ControllerFunction, zones: readonly Zone[]) {
  if (zones.length === 0) return;
  readRecordStatements(grants, fn, zones);
  for (const zone of zones) {
    grants.allow(
      fn,
      new iam.PolicyStatement({
        sid: sid(zone.id),
        actions: ['route53:ChangeResourceRecordSets'],
        resources: [zoneArn(zone.id)],
        conditions: {
          'ForAllValues:StringEquals': {
            'route53:ChangeResourceRecordSetsActions': ['UPSERT'],
            'route53:ChangeResourceRecordSetsRecordTypes': zone.types,
            ...(zone.names.length <= NAMES_PER_ZONE
              ? { 'route53:ChangeResourceRecordSetsNormalizedRecordNames': zone.names }
              : {}),
          },
        },
      }),
    );
  }
  grants.allow(
    fn,
    new iam.PolicyStatement({
      sid: 'Route53GetChange',
      actions: ['route53:GetChange'],
      resources: ['arn:aws:route53:::change/*'],
    }),
    'route53:GetChange takes the change resource type only; a change id exists only once the change is made.',
  );
}
