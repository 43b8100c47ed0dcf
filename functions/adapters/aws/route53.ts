/**
 * TrafficRouter over two weighted records of one name in a Route 53 hosted zone (core/config-route53.ts).
 *
 * - Reads: ListResourceRecordSets from the records' name and type (API_ListResourceRecordSets: records are listed
 *   by name, then type, then SetIdentifier; a truncated page names where the next starts).
 * - Writes: one ChangeResourceRecordSets with an UPSERT of each record (API_ChangeResourceRecordSets: a change batch
 *   is applied whole or not at all), each record as read with only its Weight changed (and, for a non-alias record,
 *   its TTL set to the configured one), so a health check or an alias target someone set is kept.
 * - Confirmation: the change is PENDING until it "has propagated to all Route 53 DNS servers managing the hosted
 *   zone" (API_GetChange), then INSYNC. setWeights polls GetChange here, bounded below the function's timeout: the
 *   change id is known only to the call that made it, and a workflow wait per change would add states and history
 *   events to every step. Still PENDING at the bound (40 s; "changes generally propagate to all Route 53 name
 *   servers within 60 seconds", developer guide, Editing records): Transient, and the workflow retries. setWeights
 *   returns only once a change carrying the weights is INSYNC: Route 53 has no request that lists a zone's changes
 *   (GetChange takes the id ChangeResourceRecordSets returned), so the router remembers the last change it made to
 *   each record set, and a retry that finds the records holding that change's weights (the execution environment
 *   kept, as Lambda usually does between retries seconds apart) and that change still PENDING when it begins
 *   polls that change again, with no new one. A remembered change already INSYNC (or one GetChange no longer
 *   knows, NoSuchChange) says nothing of a later change carrying the same weights from another execution
 *   environment (a pause put 0%, another environment set the share again), perhaps still PENDING. A retry in that
 *   case, or one that knows no such change (a new execution environment), sends the same weights again and waits
 *   for that change: its INSYNC says those weights are on every DNS server. That costs one more change, PENDING
 *   from the start, only then.
 * - PriorRequestNotComplete (Route 53 has not finished the zone's previous request) and Throttling are retried
 *   with growing waits, as the API reference asks (sdk.ts lists both as throttling).
 * - INSYNC is not yet what clients see: resolvers keep a cached answer for up to the TTL. The judge reads each
 *   endpoint's own metrics (metric-targets.ts), never the weights.
 */
import {
  ChangeResourceRecordSetsCommand,
  GetChangeCommand,
  ListResourceRecordSetsCommand,
  type ResourceRecordSet,
  type Route53Client,
} from '@aws-sdk/client-route-53';
import { ConfigInvalidError, TargetNotFoundError, TransientError } from '../../core/errors';
import { recordWeights } from '../../core/record-weights';
import type { Route53Route } from '../../core/rollout';
import type { RouteReader, TargetGroupWeights, TrafficRouter } from '../../ports';
import { type AdapterOptions, AwsCaller, errorName, realSleep } from './sdk';

const IAM = 'route53';

export interface Route53RouterOptions extends AdapterOptions {
  /**
   * How long setWeights waits for INSYNC before giving up as Transient (ms). Default 40 s: set-weight's function
   * times out at 50 s (functions/tasks/registry.ts), the rest left for its other calls.
   */
  syncTimeoutMs?: number;
  /** The first wait between GetChange requests (ms); each next one doubles, up to 8 s. */
  pollMs?: number;
}

/** A record name as Route 53 lists it (`api.example.com.`) in the config's form (lowercase, no trailing dot). */
const normalName = (name: string | undefined) => (name ?? '').toLowerCase().replace(/\.$/, '');

/** The record carries the weight, and (a non-alias record) the configured TTL, that setWeights would write. */
const holds = (record: ResourceRecordSet, weight: number, route: Route53Route) =>
  record.Weight === weight && (record.AliasTarget !== undefined || record.TTL === route.ttlSeconds);

const zoneArn = (zone: string) => `arn:aws:route53:::hostedzone/${zone}`;

/** A route's record set: its zone, name and type. */
const recordSet = (route: Route53Route) => `${route.hostedZoneId}|${route.recordName}|${route.recordType}`;

/**
 * Reading the records' weights (describe, verifyWeights): all the drift check needs, so analyze's bundle leaves the
 * writes out (Route53TrafficRouter adds them).
 */
export class Route53RouteReader implements RouteReader<Route53Route> {
  protected readonly aws: AwsCaller;

  constructor(
    protected readonly route53: Route53Client,
    options: AdapterOptions = {},
  ) {
    this.aws = new AwsCaller(options.retry);
  }

  /** The records' weights by target group (others by `SetIdentifier <id>`); refuses a group it cannot weight. */
  async describe(route: Route53Route): Promise<TargetGroupWeights> {
    const records = await this.records(route);
    const { stable, canary } = this.pair(route, records);
    const weights: TargetGroupWeights = {
      [route.stableTargetGroupArn]: stable.Weight ?? 0,
      [route.canaryTargetGroupArn]: canary.Weight ?? 0,
    };
    for (const r of records) {
      if (r !== stable && r !== canary) weights[`SetIdentifier ${r.SetIdentifier}`] = r.Weight ?? 0;
    }
    return weights;
  }

  /** True when the two records hold the share's ratio and no other record of the name takes answers. */
  async verifyWeights(route: Route53Route, canaryPercent: number): Promise<boolean> {
    const expected = recordWeights(canaryPercent);
    const weights = await this.describe(route);
    const stable = weights[route.stableTargetGroupArn] ?? 0;
    const canary = weights[route.canaryTargetGroupArn] ?? 0;
    const others = Object.entries(weights).some(
      ([key, w]) => key !== route.stableTargetGroupArn && key !== route.canaryTargetGroupArn && w > 0,
    );
    return !others && stable + canary > 0 && stable * expected.canary === canary * expected.stable;
  }

  /** The records of the route's name and type, every page. */
  protected async records(route: Route53Route): Promise<ResourceRecordSet[]> {
    const name = route.recordName;
    const found: ResourceRecordSet[] = [];
    let start: { name: string; type: string; id?: string } | undefined = { name, type: route.recordType };
    while (start) {
      const from: { name: string; type: string; id?: string } = start;
      const out = await this.aws.call(
        `${IAM}:ListResourceRecordSets`,
        zoneArn(route.hostedZoneId),
        () =>
          this.route53.send(
            new ListResourceRecordSetsCommand({
              HostedZoneId: route.hostedZoneId,
              StartRecordName: from.name,
              StartRecordType: from.type as never,
              ...(from.id ? { StartRecordIdentifier: from.id } : {}),
            }),
          ),
        { notFound: this.notFound(route) },
      );
      const page = out.ResourceRecordSets ?? [];
      const ours = page.filter((r) => normalName(r.Name) === name && r.Type === route.recordType);
      found.push(...ours);
      // Past our name and type, or the last page: nothing more of ours.
      const more =
        out.IsTruncated &&
        ours.length === page.length &&
        normalName(out.NextRecordName) === name &&
        out.NextRecordType === route.recordType;
      start = more
        ? {
            name,
            type: route.recordType,
            ...(out.NextRecordIdentifier ? { id: out.NextRecordIdentifier } : {}),
          }
        : undefined;
    }
    return found;
  }

  /** The stable and canary records; TargetNotFound when one is missing, ConfigInvalid when one is not weighted. */
  protected pair(
    route: Route53Route,
    records: ResourceRecordSet[],
  ): { stable: ResourceRecordSet; canary: ResourceRecordSet } {
    const find = (id: string, field: string) => {
      const record = records.find((r) => r.SetIdentifier === id);
      if (!record)
        throw new TargetNotFoundError(
          `no ${route.recordType} record ${route.recordName} with SetIdentifier ${id} in hosted zone ${route.hostedZoneId}`,
        );
      if (record.Weight === undefined)
        throw new ConfigInvalidError('traffic', [
          {
            path: field,
            message: `the record ${route.recordName} ${route.recordType} ${id} is not weighted (it has no Weight): the controller moves traffic only between weighted records`,
          },
        ]);
      return record;
    };
    return {
      stable: find(route.stableSetIdentifier, 'stable.setIdentifier'),
      canary: find(route.canarySetIdentifier, 'canary.setIdentifier'),
    };
  }

  protected notFound(route: Route53Route): Record<string, string> {
    return { NoSuchHostedZone: `hosted zone ${route.hostedZoneId} does not exist` };
  }
}

export class Route53TrafficRouter extends Route53RouteReader implements TrafficRouter<Route53Route> {
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly syncTimeoutMs: number;
  private readonly pollMs: number;
  /** The last change this router made to each record set (recordSet), and the weights it carried. */
  private readonly lastChange = new Map<string, { id: string; stable: number; canary: number }>();

  constructor(route53: Route53Client, options: Route53RouterOptions = {}) {
    super(route53, options);
    this.sleep = options.retry?.sleep ?? realSleep;
    this.syncTimeoutMs = options.syncTimeoutMs ?? 40_000;
    this.pollMs = options.pollMs ?? 1000;
  }

  async setWeights(route: Route53Route, canaryPercent: number): Promise<void> {
    const weights = recordWeights(canaryPercent);
    const { stable, canary } = this.pair(route, await this.records(route));
    const set = recordSet(route);
    const last = this.lastChange.get(set);
    // Already holding the share by a change of ours still PENDING (an earlier attempt's): wait for that one; a new
    // UPSERT would only start a new PENDING change and the wait for INSYNC over again. A change of ours already
    // INSYNC says nothing of a later one carrying the same weights from another execution environment (after a
    // pause, say), perhaps still PENDING: then the UPSERT is sent again, and its INSYNC covers the earlier changes.
    if (
      holds(stable, weights.stable, route) &&
      holds(canary, weights.canary, route) &&
      last?.stable === weights.stable &&
      last.canary === weights.canary
    ) {
      const status = await this.changeStatus(last.id);
      if (status !== undefined && status !== 'INSYNC') return this.waitInSync(last.id, status);
    }
    const upsert = (record: ResourceRecordSet, weight: number) => ({
      Action: 'UPSERT' as const,
      ResourceRecordSet: {
        ...record,
        Weight: weight,
        ...(record.AliasTarget ? {} : { TTL: route.ttlSeconds }),
      },
    });
    const out = await this.aws.call(
      `${IAM}:ChangeResourceRecordSets`,
      zoneArn(route.hostedZoneId),
      () =>
        this.route53.send(
          new ChangeResourceRecordSetsCommand({
            HostedZoneId: route.hostedZoneId,
            ChangeBatch: {
              Comment: `canary ${canaryPercent}%`,
              Changes: [upsert(stable, weights.stable), upsert(canary, weights.canary)],
            },
          }),
        ),
      { notFound: this.notFound(route) },
    );
    const id = out.ChangeInfo?.Id;
    if (id) this.lastChange.set(set, { id, ...weights });
    if (out.ChangeInfo?.Status === 'INSYNC' || !id) return;
    await this.waitInSync(id);
  }

  /** The change's status (GetChange), undefined when Route 53 no longer knows it (NoSuchChange). */
  private async changeStatus(changeId: string): Promise<string | undefined> {
    try {
      return await this.poll(changeId);
    } catch (error) {
      if (errorName(error) === 'NoSuchChange') return undefined;
      throw error;
    }
  }

  private poll(changeId: string): Promise<string | undefined> {
    return this.aws.call(`${IAM}:GetChange`, changeId, async () => {
      const out = await this.route53.send(new GetChangeCommand({ Id: changeId }));
      return out.ChangeInfo?.Status;
    });
  }

  /** Poll the change until INSYNC (Transient at the bound); `first`, a status just read, spares the first poll. */
  private async waitInSync(changeId: string, first?: string): Promise<void> {
    let waited = 0;
    let known = first;
    for (let delay = this.pollMs; ; delay = Math.min(delay * 2, 8000)) {
      const status = known ?? (await this.poll(changeId));
      known = undefined;
      if (status === 'INSYNC') return;
      if (waited >= this.syncTimeoutMs) {
        throw new TransientError(
          `Route 53 change ${changeId} still ${status ?? 'PENDING'} after ${Math.round(waited / 1000)} s: the records hold the new weights, not yet on every Route 53 DNS server`,
        );
      }
      // The last poll at the bound, not past it: the function's timeout is not far behind.
      const next = Math.min(delay, this.syncTimeoutMs - waited);
      await this.sleep(next);
      waited += next;
    }
  }
}
