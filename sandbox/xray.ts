/**
 * A local X-Ray: the demo apps trace their requests, and GetTimeSeriesServiceStatistics answers from those traces,
 * so the sandbox judges with the real X-Ray adapter (functions/adapters/aws/xray.ts) as it would on AWS.
 *
 * What it imitates, from AWS's documentation:
 * - Sampling: each app records the first request of every second and 5% of the others (the X-Ray SDKs' default
 *   rule, X-Ray developer guide "Sampling"); untraced requests never reach X-Ray.
 * - Groups: a group is a filter expression over incoming traces; here `annotation.<key> = "<value>"`, the app
 *   annotating each trace with the deployment it serves as (X-Ray developer guide, "Configuring groups").
 * - GetTimeSeriesServiceStatistics with `EntitySelectorExpression: service("<name>")` returns the service node's
 *   statistics (ServiceSummaryStatistics), computed from the app's own segments (X-Ray developer guide, "Concepts":
 *   nodes use the service's segments, edges the caller's subsegments): one per traced request, a fault when the
 *   segment is marked `fault` (a 5xx answer, or, for an app with a downstream call, the downstream fault the app
 *   caught and recorded on its segment while answering 200), a throttle on 429, the app's response times in the
 *   histogram (seconds). The API reference describes FaultStatistics by status code (5xx); that a 200 segment marked
 *   `fault` counts as a fault of the node is likely, not stated, and is this double's assumption.
 * - Without an entity selector it returns edge statistics (API reference: "If no selector expression is specified,
 *   edge statistics are returned"): the client's call to the app and the app's call downstream, each counted.
 */
import type {
  GetTimeSeriesServiceStatisticsCommandInput,
  GetTimeSeriesServiceStatisticsCommandOutput,
  HistogramEntry,
  TimeSeriesServiceStatistics,
  XRayClient,
} from '@aws-sdk/client-xray';
import { groupSelectors, type XRayAnalysis, XRayMetricSource } from '../functions/adapters/aws/xray';
import type { MetricSource } from '../functions/ports';
import type { FaultProfile } from './versions';

interface Bucket {
  total: number;
  faults: number;
  throttles: number;
  /** Response times, in ms. */
  latencies: number[];
}

const emptyBucket = (): Bucket => ({ total: 0, faults: 0, throttles: 0, latencies: [] });

/** One version's statistics in a time bucket: its app's service node and the edges its traces cross. */
interface Stats {
  service: string;
  node: Bucket;
  edges: Bucket;
}

/** The one entity selector form the local X-Ray answers: `service("<name>")`. */
const SERVICE_SELECTOR = /^\s*service\("([^"]+)"\)\s*$/;

/** A group's filter expression, `annotation.<key> = "<value>"`. */
export interface LocalGroup {
  annotation: string;
  value: string;
}

export class LocalXRay {
  /** Statistics per annotation value (the deployment an app serves as), in buckets of rollout time. */
  private readonly series = new Map<string, Map<number, Stats>>();
  private readonly reservoirSecond = new Map<string, number>();
  private readonly groups = new Map<string, LocalGroup>();
  /** Traced requests, for the summary. */
  traced = 0;

  constructor(
    /**
     * The X-Ray service name of the app behind a target group and the deployment it annotates its traces with
     * (undefined: it does not trace).
     */
    private readonly appOf: (targetGroupArn: string) => { service: string; deployment: string } | undefined,
    private readonly random: () => number,
    private readonly bucketMs = 10_000,
    private readonly fixedRate = 0.05,
  ) {}

  /** CreateGroup: a group whose filter is `annotation.<key> = "<value>"`. */
  createGroup(name: string, filter: LocalGroup): void {
    this.groups.set(name, filter);
  }

  hasGroup(name: string): boolean {
    return this.groups.has(name);
  }

  /** One request the app behind `targetGroupArn` served, as its X-Ray SDK would trace it (or not: sampling). */
  record(
    targetGroupArn: string,
    atMs: number,
    profile: FaultProfile,
    status: number,
    latencyMs: number,
  ): void {
    const app = this.appOf(targetGroupArn);
    if (app === undefined) return;
    const second = Math.floor(atMs / 1000);
    const reservoir = this.reservoirSecond.get(targetGroupArn) !== second;
    if (reservoir) this.reservoirSecond.set(targetGroupArn, second);
    else if (this.random() >= this.fixedRate) return;
    this.traced++;
    let buckets = this.series.get(app.deployment);
    if (!buckets) {
      buckets = new Map();
      this.series.set(app.deployment, buckets);
    }
    const key = Math.floor(atMs / this.bucketMs) * this.bucketMs;
    let b = buckets.get(key);
    if (!b) {
      b = { service: app.service, node: emptyBucket(), edges: emptyBucket() };
      buckets.set(key, b);
    }
    // The client's call to the app: the app's segment, and the edge into it.
    let fault = status >= 500;
    b.edges.total++;
    if (fault) b.edges.faults++;
    if (status === 429) b.edges.throttles++;
    b.edges.latencies.push(latencyMs);
    if (profile.downstreamFaultRate !== undefined) {
      // The app's call downstream (a subsegment: an edge of its own), half of its time. When it faults the app
      // answers 200 with a fallback and records the caught fault on its own segment (fault flag and cause).
      const downstreamFault = this.random() < profile.downstreamFaultRate;
      b.edges.total++;
      if (downstreamFault) b.edges.faults++;
      b.edges.latencies.push(latencyMs / 2);
      fault ||= downstreamFault;
    }
    b.node.total++;
    if (fault) b.node.faults++;
    if (status === 429) b.node.throttles++;
    b.node.latencies.push(latencyMs);
  }

  /**
   * GetTimeSeriesServiceStatistics for a group, per Period (60 or 300 s): the service node's statistics for a
   * `service("<name>")` selector, edge statistics without a selector.
   */
  getTimeSeriesServiceStatistics(
    input: GetTimeSeriesServiceStatisticsCommandInput,
  ): GetTimeSeriesServiceStatisticsCommandOutput {
    const refuse = (message: string) =>
      Object.assign(new Error(message), {
        name: 'InvalidRequestException',
        $metadata: { httpStatusCode: 400 },
      });
    const group = input.GroupName ? this.groups.get(input.GroupName) : undefined;
    if (!group || input.GroupARN) {
      throw refuse(
        group
          ? 'the local X-Ray answers group statistics by GroupName'
          : `Group not found: ${input.GroupName ?? input.GroupARN}`,
      );
    }
    const selector = input.EntitySelectorExpression;
    const service = selector === undefined ? undefined : SERVICE_SELECTOR.exec(selector)?.[1];
    if (selector !== undefined && service === undefined) {
      throw refuse(`the local X-Ray answers service("<name>") entity selectors only, got ${selector}`);
    }
    const periodMs = (input.Period ?? 60) * 1000;
    const from = Math.floor((input.StartTime as Date).getTime() / periodMs) * periodMs;
    const to = (input.EndTime as Date).getTime();
    const buckets = this.series.get(group.value) ?? new Map<number, Stats>();
    const points: TimeSeriesServiceStatistics[] = [];
    for (let start = from; start < to; start += periodMs) {
      const period = emptyBucket();
      for (let t = start; t < start + periodMs; t += this.bucketMs) {
        const b = buckets.get(t);
        if (!b || (service !== undefined && b.service !== service)) continue;
        const part = service === undefined ? b.edges : b.node;
        period.total += part.total;
        period.faults += part.faults;
        period.throttles += part.throttles;
        period.latencies.push(...part.latencies);
      }
      if (period.total === 0) continue;
      const stats = {
        OkCount: period.total - period.faults - period.throttles,
        ErrorStatistics: { ThrottleCount: period.throttles, OtherCount: 0, TotalCount: period.throttles },
        FaultStatistics: { OtherCount: period.faults, TotalCount: period.faults },
        TotalCount: period.total,
        TotalResponseTime: period.latencies.reduce((s, ms) => s + ms / 1000, 0),
      };
      points.push({
        Timestamp: new Date(start),
        ...(service === undefined ? { EdgeSummaryStatistics: stats } : { ServiceSummaryStatistics: stats }),
        ResponseTimeHistogram: histogram(period.latencies),
      });
    }
    return { TimeSeriesServiceStatistics: points, $metadata: {} };
  }

  /** The SDK client's face of this X-Ray: `send` answers GetTimeSeriesServiceStatistics (told to `onSend`). */
  client(onSend: () => void = () => undefined): XRayClient {
    return {
      send: async (command: { input: GetTimeSeriesServiceStatisticsCommandInput }) => {
        onSend();
        return this.getTimeSeriesServiceStatistics(command.input);
      },
    } as unknown as XRayClient;
  }

  /** The real X-Ray adapter over this X-Ray, for a service's `analysis.xray`; `onSend` hears each request. */
  source(xray: XRayAnalysis, onSend?: () => void): MetricSource {
    return new XRayMetricSource(this.client(onSend), groupSelectors(xray));
  }
}

/** Response times (ms) as X-Ray's histogram: values in seconds, to the millisecond, with their counts. */
function histogram(latencies: readonly number[]): HistogramEntry[] {
  const counts = new Map<number, number>();
  for (const ms of latencies) {
    const value = Math.round(ms) / 1000;
    counts.set(value, (counts.get(value) ?? 0) + 1);
  }
  return [...counts].map(([Value, Count]) => ({ Value, Count }));
}

/** A release that adds a downstream call which faults 20% of the time; the app falls back and answers 200. */
export const DOWNSTREAM_FAULTS: FaultProfile = {
  errorRate: 0.001,
  latencyMs: 8,
  jitterMs: 3,
  downstreamFaultRate: 0.2,
};
