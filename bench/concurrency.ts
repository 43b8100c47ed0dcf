/**
 * `npm run bench -- concurrency [--rollouts 200] [--scale 20] [--rps N] [--seed 42] [--lambda-seconds 1] [--json]`:
 * many rollouts pushed at the same moment through the real workflow on the sandbox (synthetic traffic, seeded:
 * a third healthy, a third failing the judge, a third failing their alarm), and the controller's own AWS
 * requests per API, at peak and in total, against AWS's default quotas (bench/concurrency-quotas.ts). The store
 * and the ALB router are the real adapters over SDK clients (sandbox/sdk-backed.ts): their requests are counted at
 * the client's send, DynamoDB's with the capacity units each consumed, and each index's busiest partition against
 * the write units one partition takes (PARTITION_WRU). Rates are per second of rollout time, which
 * is AWS's time: the sandbox's compression needs no converting back.
 */
import { parseArgs } from 'node:util';
import { ACTIVE_INDEX, BY_SERVICE_INDEX } from '../functions/adapters/aws/dynamodb';
import type { ApiCalls } from '../sandbox/api-calls';
import { manyServices, manyWorld } from '../sandbox/many';
import { backWithSdk, partitionApi } from '../sandbox/sdk-backed';
import { describeShortfall } from '../sandbox/timekeeping';
import type { World } from '../sandbox/world';
import { QUOTAS, type Quota } from './concurrency-quotas';

export interface QuotaRow {
  label: string;
  total: number;
  /** Highest rate over any 1 s and any 10 s of rollout time, per second. */
  peak1s: number;
  peak10s: number;
  /** For Lambda: peak invocations a second × the assumed duration (Little's law). */
  estimate?: number;
  limit: number | null;
  bucket?: number;
  /** How many times the run's load the quota allows (headroomOf). */
  headroom: number | null;
  /** Concurrent rollouts at which this quota binds, rates growing in proportion to the rollouts. */
  bindsAt: number | null;
  /** In place of bindsAt, for a load that does not grow with the rollouts: what bounds it instead. */
  bindsNote?: string;
  note: string;
  doc: string;
}

function sum(q: Quota, f: (api: string) => number): number {
  return q.apis.reduce((total, api) => total + f(api), 0);
}

/**
 * How many times the run's load the quota allows. A token bucket lets through at most `bucket + refill × w` requests
 * in any `w` seconds: the run's busiest 1, 10 and 60 s are set against that. A per-second quota is set against the
 * busiest second, Lambda's concurrency against the estimate.
 */
function headroomOf(
  q: Quota,
  peaks: Record<1 | 10 | 60, number>,
  estimate: number | undefined,
): number | null {
  if (q.limit === null) return null;
  if (q.kind === 'concurrency') return estimate ? q.limit / estimate : null;
  if (q.kind === 'per-second') return peaks[1] ? q.limit / peaks[1] : null;
  const limit = q.limit;
  const ratios = ([1, 10, 60] as const)
    .filter((w) => peaks[w] > 0)
    .map((w) => ((q.bucket ?? 0) + limit * w) / (peaks[w] * w));
  return ratios.length ? Math.min(...ratios) : null;
}

export function quotaRows(world: World, rollouts: number, lambdaSeconds: number): QuotaRow[] {
  return QUOTAS.map((q) => {
    const total = sum(q, (api) => world.calls.total(api, q.measure));
    const peak1s = sum(q, (api) => world.calls.peakPerSecond(api, 1_000, q.measure));
    const peak10s = sum(q, (api) => world.calls.peakPerSecond(api, 10_000, q.measure));
    const peak60s = sum(q, (api) => world.calls.peakPerSecond(api, 60_000, q.measure));
    const estimate = q.kind === 'concurrency' ? peak1s * lambdaSeconds : undefined;
    const headroom = headroomOf(q, { 1: peak1s, 10: peak10s, 60: peak60s }, estimate);
    return {
      label: q.label,
      total,
      peak1s,
      peak10s,
      ...(estimate !== undefined ? { estimate } : {}),
      limit: q.limit,
      ...(q.bucket !== undefined ? { bucket: q.bucket } : {}),
      headroom,
      bindsAt: headroom === null ? null : Math.floor(rollouts * headroom),
      note: q.note,
      doc: q.doc,
    };
  });
}

/**
 * Write units a second one partition of a table or of a global secondary index takes before it throttles, on
 * demand or provisioned (developer guide, "Understanding DynamoDB warm throughput in different scenarios"; "Key
 * range throughput exceeded (hot partitions)"). A write to the table that its index cannot take is throttled too
 * ("Understanding GSI write throttling and back-pressure in DynamoDB").
 */
export const PARTITION_WRU = 1000;
const PARTITION_DOC =
  'https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/throttling-key-range-limit-exceeded-mitigation.html';

/** One index's partitions: how many the run wrote, and the busiest one's peak write units over any 1 s. */
export interface IndexPartitions {
  index: string;
  partitions: number;
  hottest: string | null;
  peak1s: number;
  peak10s: number;
  total: number;
}

export function indexPartitions(calls: ApiCalls, index: string): IndexPartitions {
  const prefix = partitionApi(index, '');
  const each = calls
    .apis()
    .filter((api) => api.startsWith(prefix))
    .map((api) => ({
      partition: api.slice(prefix.length),
      peak1s: calls.peakPerSecond(api, 1_000, 'units'),
      peak10s: calls.peakPerSecond(api, 10_000, 'units'),
      total: calls.total(api, 'units'),
    }))
    .sort((a, b) => b.peak1s - a.peak1s);
  const hottest = each[0];
  return {
    index,
    partitions: each.length,
    hottest: hottest?.partition ?? null,
    peak1s: hottest?.peak1s ?? 0,
    peak10s: hottest?.peak10s ?? 0,
    total: each.reduce((sum, p) => sum + p.total, 0),
  };
}

/**
 * Indexes partitioned by service: the busiest partition is one service's, and a service runs one rollout at a
 * time, so its load does not grow with the number of rollouts.
 */
const PER_SERVICE_INDEXES = new Set([BY_SERVICE_INDEX]);

/** The hottest partition of each index against the per-partition write ceiling, as rows of the quota table. */
export function partitionRows(partitions: IndexPartitions[], rollouts: number): QuotaRow[] {
  return partitions.map((p) => {
    const headroom = p.peak1s ? PARTITION_WRU / p.peak1s : null;
    const perService = PER_SERVICE_INDEXES.has(p.index);
    return {
      label: `DynamoDB ${p.index} index, busiest partition`,
      total: p.total,
      peak1s: p.peak1s,
      peak10s: p.peak10s,
      limit: PARTITION_WRU,
      headroom,
      bindsAt: headroom === null || perService ? null : Math.floor(rollouts * headroom),
      ...(perService ? { bindsNote: "one service's" } : {}),
      note: `${p.partitions} partition key value(s) written, the busiest "${p.hottest ?? '-'}"${perService ? ", one service's (one rollout at a time: it does not grow with the rollouts)" : ''}; 1,000 WRU/s per partition of a table or index, a GSI's throttling throttles the table's write`,
      doc: PARTITION_DOC,
    };
  });
}

const fmt = (x: number | null | undefined, digits = 1) =>
  x === null || x === undefined ? '-' : x >= 100 ? Math.round(x).toLocaleString('en-US') : x.toFixed(digits);

function table(rows: QuotaRow[], rollouts: number, lambdaSeconds: number): string {
  const lines = [
    `API (default quota, us-east-1)                 total   peak/s 1s  peak/s 10s  quota/s        headroom  binds at`,
  ];
  for (const r of rows) {
    const quota =
      r.limit === null ? 'not published' : r.bucket ? `${fmt(r.limit)} (+${fmt(r.bucket)})` : fmt(r.limit);
    const peak = r.estimate !== undefined ? `${fmt(r.peak1s)} → ${fmt(r.estimate)} conc.` : fmt(r.peak1s);
    lines.push(
      `${r.label.padEnd(46)} ${fmt(r.total, 0).padStart(6)} ${peak.padStart(11)} ${fmt(r.peak10s).padStart(11)}  ${quota.padEnd(14)} ${(r.headroom === null ? '-' : `${fmt(r.headroom)}×`).padStart(9)}  ${r.bindsAt === null ? (r.bindsNote ?? '-') : fmt(r.bindsAt, 0)}`,
    );
  }
  const binding = rows
    .filter((r) => r.bindsAt !== null)
    .sort((a, b) => (a.bindsAt ?? 0) - (b.bindsAt ?? 0))[0];
  lines.push('');
  lines.push(
    `Lambda concurrency: peak invocations a second × ${lambdaSeconds} s assumed per invocation (Little's law; --lambda-seconds).`,
  );
  if (binding)
    lines.push(
      `First quota to bind: ${binding.label}, at about ${fmt(binding.bindsAt, 0)} concurrent rollouts (${rollouts} ran; rates taken to grow in proportion).`,
    );
  lines.push('');
  for (const r of rows) lines.push(`  ${r.label}: ${r.note}. ${r.doc}`);
  return lines.join('\n');
}

function options(args: string[]) {
  const { values } = parseArgs({
    args,
    options: {
      rollouts: { type: 'string', default: '200' },
      scale: { type: 'string', default: '20' },
      rps: { type: 'string' },
      seed: { type: 'string', default: '42' },
      'lambda-seconds': { type: 'string', default: '1' },
      json: { type: 'boolean', default: false },
    },
    strict: true,
  });
  const number = (name: string, value: string | undefined) => {
    const n = Number(value);
    if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} must be a positive number, got "${value}"`);
    return n;
  };
  const rollouts = Math.round(number('rollouts', values.rollouts));
  const scale = number('scale', values.scale);
  return {
    rollouts,
    scale,
    // Each service's users send 8 requests a second of rollout time: enough for the judge at its first step.
    rps: values.rps === undefined ? rollouts * 8 * scale : number('rps', values.rps),
    seed: number('seed', values.seed),
    lambdaSeconds: number('lambda-seconds', values['lambda-seconds']),
    json: values.json ?? false,
  };
}

export async function concurrencyBench(args: string[]): Promise<void> {
  const o = options(args);
  const say = o.json ? () => undefined : (line: string) => process.stdout.write(`${line}\n`);
  const specs = manyServices(o.rollouts);
  const world = manyWorld(specs, { scale: o.scale, rps: o.rps, traffic: 'synthetic', seed: o.seed });
  // The store and the ALB router are the real adapters, counted at their SDK clients' send.
  const sdk = await backWithSdk(world);
  say(`${o.rollouts} rollouts at once · time ×${o.scale} · ${o.rps} synthetic req/s · seed ${o.seed}`);
  const started = performance.now();
  await world.start();
  let outcomes: Record<string, number> = {};
  try {
    // The stable versions' minutes reach the local CloudWatch before the first set-weight reads them.
    await new Promise((r) => setTimeout(r, world.clock.realMs(150_000)));
    const pushed = await Promise.all(specs.map((s) => world.push(s.tag, s.config.service)));
    const ids = pushed.flatMap((p) => (p.status === 'started' ? [p.rolloutId] : []));
    await Promise.all(ids.map((id) => world.waitFor(id, world.clock.realMs(6 * 3600_000))));
    await world.executions.idle();
    // Every store and router call the run made has gone through the real adapters.
    await sdk.drain();
    const records = await Promise.all(ids.map((id) => world.store.getRollout(id)));
    outcomes = records.reduce<Record<string, number>>((acc, r) => {
      const key = r?.status ?? 'unknown';
      acc[key] = (acc[key] ?? 0) + 1;
      return acc;
    }, {});
  } finally {
    await world.stop();
    await sdk.close();
  }
  const partitions = [ACTIVE_INDEX, BY_SERVICE_INDEX].map((index) => indexPartitions(world.calls, index));
  const rows = [...quotaRows(world, o.rollouts, o.lambdaSeconds), ...partitionRows(partitions, o.rollouts)];
  const requests = Object.fromEntries(
    world.calls
      .apis()
      .filter((api) => /^(dynamodb|elbv2):[A-Z]/.test(api))
      .map((api) => [api, world.calls.total(api)]),
  );

  // Where the DynamoDB units go: per item and request, the most first.
  const dynamodbUnits = world.calls
    .apis()
    .filter((api) => api.startsWith('dynamodb:units '))
    .map((api) => ({
      item: api.slice('dynamodb:units '.length),
      requests: world.calls.total(api),
      units: world.calls.total(api, 'units'),
    }))
    .sort((a, b) => b.units - a.units);

  const timekeeping = world.timekeeper.report();
  const wallMs = Math.round(performance.now() - started);
  if (o.json) {
    process.stdout.write(
      `${JSON.stringify({ ...o, outcomes, wallMs, timekeeping, rows, partitions, requests, dynamodbUnits }, null, 2)}\n`,
    );
    return;
  }
  say(`Outcomes: ${JSON.stringify(outcomes)} · wall ${(wallMs / 1000).toFixed(1)} s`);
  if (!timekeeping.valid)
    say(`⚠ ${describeShortfall(timekeeping)} (late calls spread out: the peaks below are then understated)`);
  say(
    `Counted at the SDK send: ${Object.entries(requests)
      .map(([api, n]) => `${api} ${n.toLocaleString('en-US')}`)
      .join(', ')}`,
  );
  const n = (x: number) => x.toLocaleString('en-US');
  say(
    `DynamoDB units by item (reads RRU, writes WRU with the indexes'): ${dynamodbUnits
      .map((u) => `${u.item} ${n(u.requests)} → ${n(u.units)}`)
      .join(', ')}`,
  );
  for (const p of partitions)
    say(
      `Index ${p.index}: ${p.partitions} partition key value(s) written; the busiest, "${p.hottest ?? '-'}", took ${fmt(p.peak1s)} WRU in its busiest second (${fmt((100 * p.peak1s) / PARTITION_WRU)}% of ${n(PARTITION_WRU)}/s).`,
    );
  say('');
  say(table(rows, o.rollouts, o.lambdaSeconds));
}
