/**
 * A local Route 53 for services behind two weighted records: the hosted zone's records, answered to the SDK client
 * the real router (functions/adapters/aws/route53.ts) sends to, and DNS answers to resolver-like clients.
 *
 * What it imitates, from AWS's documentation:
 * - ListResourceRecordSets (API reference): records sorted by name (labels reversed), then type, then
 *   SetIdentifier, from StartRecordName/StartRecordType/StartRecordIdentifier; at most maxitems a page (300, the
 *   default), IsTruncated and NextRecordName/NextRecordType/NextRecordIdentifier naming the next page's first
 *   record; names with their trailing dot; NoSuchHostedZone for a zone that does not exist.
 * - ChangeResourceRecordSets: a batch is applied whole or not at all (InvalidChangeBatch); UPSERT creates or replaces
 *   the record of that name, type and SetIdentifier; the answer's ChangeInfo is PENDING. Weight is 0–255.
 * - GetChange: PENDING until the change "has propagated to all Route 53 DNS servers managing the hosted zone", then
 *   INSYNC (`syncSeconds` of rollout time here; "generally within 60 seconds" in the developer guide).
 * - Weighted routing (developer guide): an answer picks a record with probability weight / sum of weights; a record
 *   of weight 0 is never answered unless all are 0, when all are answered alike. DNS servers answer with the records
 *   as of the last change that reached them: here, the last INSYNC one.
 * - Resolvers cache an answer for its TTL: each client here keeps its answer until the TTL runs out, so traffic follows
 *   a weight change only as the caches expire.
 */
import { EventEmitter } from 'node:events';
import type { ResourceRecordSet, Route53Client } from '@aws-sdk/client-route-53';
import type { Route53Traffic } from '../functions/core/config-route53';
import type { Clock } from '../functions/ports';
import { awsError } from './aws-error';

interface LocalRecord extends ResourceRecordSet {
  /** The target group behind the record's endpoint (its load balancer forwards only there). */
  targetGroup: string;
}

interface Change {
  id: string;
  submittedAtMs: number;
  /** Rollout seconds it stays PENDING. */
  syncSeconds: number;
  records: LocalRecord[];
}

/**
 * Route 53's errors with the HTTP status AWS sends: 404 for a zone or change that does not exist (the `httpError` of
 * NoSuchHostedZone and NoSuchChange in Route 53's API model; API reference, ListResourceRecordSets,
 * ChangeResourceRecordSets and GetChange, "Errors"), 400 for the others the double raises (InvalidInput,
 * InvalidChangeBatch, ThrottlingException, PriorRequestNotComplete).
 */
const NOT_FOUND = new Set(['NoSuchHostedZone', 'NoSuchChange']);
function route53Error(name: string, message: string): Error {
  const error = awsError(name, message);
  if (NOT_FOUND.has(name)) Object.assign(error, { $metadata: { httpStatusCode: 404 } });
  return error;
}

const fqdn = (name: string) => (name.endsWith('.') ? name : `${name}.`);
const key = (r: Pick<ResourceRecordSet, 'Name' | 'Type' | 'SetIdentifier'>) =>
  `${fqdn(r.Name ?? '').toLowerCase()}|${r.Type}|${r.SetIdentifier ?? ''}`;

/** ListResourceRecordSets answers at most 300 records a page, and 300 when maxitems is not given. */
const LIST_MAX_ITEMS = 300;

/**
 * A record's place in ListResourceRecordSets' order: "first by DNS name with the labels reversed, for example
 * com.example.www." (its trailing dot kept), then by type; records of one name and type (weighted ones) by
 * SetIdentifier.
 */
const order = (r: { Name?: string; Type?: string; SetIdentifier?: string }): string[] => [
  `${fqdn(r.Name ?? '')
    .toLowerCase()
    .split('.')
    .slice(0, -1)
    .reverse()
    .join('.')}.`,
  r.Type ?? '',
  r.SetIdentifier ?? '',
];
const compare = (a: string[], b: string[]): number => {
  for (let i = 0; i < a.length; i++) {
    const x = a[i] ?? '';
    const y = b[i] ?? '';
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
};

export class LocalRoute53 extends EventEmitter {
  /** zone id → records, as the control plane holds them (what ListResourceRecordSets lists). */
  private readonly zones = new Map<string, LocalRecord[]>();
  /** zone id → records as the DNS servers answer them (the last INSYNC change). */
  private readonly answering = new Map<string, LocalRecord[]>();
  private readonly changes = new Map<string, Change & { zone: string }>();
  private nextChange = 1;
  /** Injected failures (sandbox/faults): the next ChangeResourceRecordSets refused, or changes slow to sync. */
  private readonly faults = { throttled: 0, priorRequest: 0, slowChanges: 0 };

  constructor(
    private readonly clock: Pick<Clock, 'now'>,
    private readonly syncSeconds = 10,
  ) {
    super();
  }

  /**
   * Route 53 failing as its API reference says it can: the next `count` ChangeResourceRecordSets refused with
   * Throttling or PriorRequestNotComplete (HTTP 400, nothing changed), or the next `count` changes PENDING for 60 s
   * more than usual.
   */
  inject(kind: 'route53Throttled' | 'route53PriorRequest' | 'route53SyncSlow', count: number): void {
    if (kind === 'route53Throttled') this.faults.throttled += count;
    else if (kind === 'route53PriorRequest') this.faults.priorRequest += count;
    else this.faults.slowChanges += count;
  }

  /** A service's two weighted records: all traffic on stable, as before any rollout. */
  createRecords(t: Route53Traffic): void {
    const records = this.zones.get(t.hostedZoneId) ?? [];
    for (const [end, weight] of [
      [t.stable, 1],
      [t.canary, 0],
    ] as const) {
      records.push({
        Name: fqdn(t.recordName),
        Type: t.recordType,
        SetIdentifier: end.setIdentifier,
        Weight: weight,
        TTL: t.ttlSeconds,
        ResourceRecords: [{ Value: `${end.setIdentifier}.elb.local` }],
        targetGroup: end.targetGroupArn,
      });
    }
    this.zones.set(t.hostedZoneId, records);
    this.answering.set(t.hostedZoneId, structuredClone(records));
  }

  /** The weights of a name's records by target group: as listed (`listed`) or as the DNS servers answer. */
  weights(
    t: Pick<Route53Traffic, 'hostedZoneId' | 'recordName' | 'recordType'>,
    as: 'listed' | 'answering' = 'answering',
  ): Record<string, number> {
    this.sync();
    const records = (as === 'listed' ? this.zones : this.answering).get(t.hostedZoneId) ?? [];
    return Object.fromEntries(
      records
        .filter((r) => r.Name === fqdn(t.recordName) && r.Type === t.recordType)
        .map((r) => [r.targetGroup, r.Weight ?? 0]),
    );
  }

  /** One DNS answer for the name: the target group of a record picked by weight (undefined: no record). */
  answer(t: Route53Traffic, random: number): string | undefined {
    const entries = Object.entries(this.weights(t));
    const total = entries.reduce((sum, [, w]) => sum + w, 0);
    // All weights 0: every record alike (Weighted routing).
    const pickable = total === 0 ? entries.map(([tg]) => [tg, 1] as const) : entries.filter(([, w]) => w > 0);
    const sum = pickable.reduce((n, [, w]) => n + w, 0);
    let r = random * sum;
    for (const [tg, w] of pickable) {
      r -= w;
      if (r < 0) return tg;
    }
    return pickable[pickable.length - 1]?.[0];
  }

  /**
   * Changes whose time has come are INSYNC: the DNS servers answer with them from then on. A zone's changes reach
   * them in order (Route 53 refuses a change while the zone's previous one is processed: PriorRequestNotComplete),
   * so a change is INSYNC only after every earlier change of its zone.
   */
  private sync(): void {
    const now = this.clock.now().getTime();
    const blocked = new Set<string>();
    for (const change of [...this.changes.values()].sort((a, b) => a.submittedAtMs - b.submittedAtMs)) {
      if (change.records.length === 0) continue;
      if (blocked.has(change.zone) || now < change.submittedAtMs + change.syncSeconds * 1000) {
        blocked.add(change.zone);
        continue;
      }
      const answering = this.answering.get(change.zone) ?? [];
      for (const record of change.records) {
        const i = answering.findIndex((r) => key(r) === key(record));
        if (i >= 0) answering[i] = record;
        else answering.push(record);
      }
      this.answering.set(change.zone, answering);
      change.records = [];
      this.emit('applied', change.zone, performance.now());
    }
  }

  private status(change: Change): 'PENDING' | 'INSYNC' {
    this.sync();
    return change.records.length === 0 ? 'INSYNC' : 'PENDING';
  }

  /**
   * One page of the zone's records, from the start position given: at most `MaxItems` (300, the most and the
   * default), and when more remain, IsTruncated with NextRecordName, NextRecordType and (a record with a
   * SetIdentifier) NextRecordIdentifier, the first record of the next page (API_ListResourceRecordSets).
   */
  list(input: {
    HostedZoneId?: string;
    StartRecordName?: string;
    StartRecordType?: string;
    StartRecordIdentifier?: string;
    MaxItems?: number;
  }) {
    const records = this.zones.get(input.HostedZoneId ?? '');
    if (!records)
      throw route53Error('NoSuchHostedZone', `No hosted zone found with ID: ${input.HostedZoneId}`);
    if (input.StartRecordType && input.StartRecordName === undefined)
      throw route53Error('InvalidInput', 'StartRecordType requires StartRecordName');
    const sorted = [...records].sort((a, b) => compare(order(a), order(b)));
    const start = order({
      Name: input.StartRecordName ?? '',
      Type: input.StartRecordType ?? '',
      SetIdentifier: input.StartRecordIdentifier ?? '',
    });
    const from = sorted.filter((r) => compare(order(r), start) >= 0);
    const maxItems = Math.min(input.MaxItems ?? LIST_MAX_ITEMS, LIST_MAX_ITEMS);
    const page = from.slice(0, maxItems);
    const next = from[maxItems];
    return {
      ResourceRecordSets: page.map(({ targetGroup: _, ...r }) => structuredClone(r)),
      IsTruncated: next !== undefined,
      MaxItems: maxItems,
      ...(next
        ? {
            NextRecordName: next.Name,
            NextRecordType: next.Type,
            ...(next.SetIdentifier ? { NextRecordIdentifier: next.SetIdentifier } : {}),
          }
        : {}),
    };
  }

  change(input: {
    HostedZoneId?: string;
    ChangeBatch?: { Changes?: { Action?: string; ResourceRecordSet?: ResourceRecordSet }[] };
  }) {
    if (this.faults.throttled > 0) {
      this.faults.throttled--;
      throw route53Error('ThrottlingException', 'Rate exceeded (injected)');
    }
    if (this.faults.priorRequest > 0) {
      this.faults.priorRequest--;
      throw route53Error(
        'PriorRequestNotComplete',
        'The request was rejected because Route 53 was still processing a prior request (injected)',
      );
    }
    const zone = input.HostedZoneId ?? '';
    const records = this.zones.get(zone);
    if (!records) throw route53Error('NoSuchHostedZone', `No hosted zone found with ID: ${zone}`);
    const changed: LocalRecord[] = [];
    for (const c of input.ChangeBatch?.Changes ?? []) {
      const set = c.ResourceRecordSet;
      const existing = set ? records.find((r) => key(r) === key(set)) : undefined;
      const weight = set?.Weight;
      if (c.Action !== 'UPSERT' || !set || !existing || weight === undefined || weight < 0 || weight > 255)
        throw route53Error(
          'InvalidChangeBatch',
          'the local Route 53 takes UPSERTs of existing weighted records only',
        );
      changed.push({ ...structuredClone(set), targetGroup: existing.targetGroup });
    }
    for (const record of changed) records[records.findIndex((r) => key(r) === key(record))] = record;
    const id = `/change/C${String(this.nextChange++).padStart(13, '0')}`;
    const submittedAtMs = this.clock.now().getTime();
    const slow = this.faults.slowChanges > 0;
    if (slow) this.faults.slowChanges--;
    const syncSeconds = this.syncSeconds + (slow ? 60 : 0);
    this.changes.set(id, { id, zone, submittedAtMs, syncSeconds, records: structuredClone(changed) });
    return { ChangeInfo: { Id: id, Status: 'PENDING' as const, SubmittedAt: new Date(submittedAtMs) } };
  }

  getChange(input: { Id?: string }) {
    const change = this.changes.get(input.Id ?? '');
    if (!change)
      throw route53Error('NoSuchChange', `A change with the specified change ID does not exist: ${input.Id}`);
    return {
      ChangeInfo: { Id: change.id, Status: this.status(change), SubmittedAt: new Date(change.submittedAtMs) },
    };
  }

  /** The SDK client's face of this Route 53: `send` answers the three requests the router makes. */
  client(onRequest: (operation: string) => void = () => undefined): Route53Client {
    const handlers: Record<string, (input: never) => unknown> = {
      ListResourceRecordSetsCommand: (i) => this.list(i),
      ChangeResourceRecordSetsCommand: (i) => this.change(i),
      GetChangeCommand: (i) => this.getChange(i),
    };
    return {
      send: async (command: { constructor: { name: string }; input: never }) => {
        const name = command.constructor.name;
        const handler = handlers[name];
        if (!handler) throw new Error(`the local Route 53 does not answer ${name}`);
        onRequest(name.replace(/Command$/, ''));
        return handler(command.input);
      },
    } as unknown as Route53Client;
  }
}

/**
 * Clients behind resolvers: each keeps the answer it got for the record's TTL (rollout time), then asks again. What
 * the clients send follows the weights only as their cached answers expire.
 */
export class ResolvingClients {
  private readonly cache = new Map<number, { targetGroup: string; expiresAtMs: number }>();

  constructor(
    private readonly route53: LocalRoute53,
    private readonly traffic: Route53Traffic,
    private readonly clock: Pick<Clock, 'now'>,
  ) {}

  /** The target group a client's next request goes to. */
  resolve(client: number, random: number): string | undefined {
    const now = this.clock.now().getTime();
    const cached = this.cache.get(client);
    if (cached && now < cached.expiresAtMs) return cached.targetGroup;
    const targetGroup = this.route53.answer(this.traffic, random);
    if (targetGroup)
      this.cache.set(client, { targetGroup, expiresAtMs: now + this.traffic.ttlSeconds * 1000 });
    return targetGroup;
  }
}
