/**
 * A local X-Ray: the demo apps trace their requests, and GetTimeSeriesServiceStatistics answers from those traces,
 * so the sandbox judges with the real X-Ray adapter (functions/adapters/aws/xray.ts) as it would on AWS.
 *
 * What it imitates, from AWS's documentation:
 * - Sampling: each app records the first request of every second and 5% of the others (the X-Ray SDKs' default
 *   rule, X-Ray developer guide "Sampling"); untraced requests never reach X-Ray.
 * - Groups: a group is a filter expression over incoming traces; here `annotation.<key> = "<value>"`, the app
 *   annotating each trace with the deployment it serves as (X-Ray developer guide, "Configuring groups").
 * - GetTimeSeriesServiceStatistics with a group and no entity selector returns edge statistics (API reference):
 *   each traced request is the client's call to the app (fault on 5xx, throttle on 429) and, for an app that calls a
 *   downstream service, the app's call to it (fault when the downstream faults, even if the app answers 200), with
 *   their response times in the histogram (seconds).
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
  /** Response times of every edge, in ms. */
  latencies: number[];
}

/** A group's filter expression, `annotation.<key> = "<value>"`. */
export interface LocalGroup {
  annotation: string;
  value: string;
}

export class LocalXRay {
  /** Edge statistics per annotation value (the deployment an app serves as), in buckets of rollout time. */
  private readonly series = new Map<string, Map<number, Bucket>>();
  private readonly reservoirSecond = new Map<string, number>();
  private readonly groups = new Map<string, LocalGroup>();
  /** Traced requests, for the summary. */
  traced = 0;

  constructor(
    /** The deployment an app behind a target group annotates its traces with (undefined: it does not trace). */
    private readonly deploymentOf: (targetGroupArn: string) => string | undefined,
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
    const deployment = this.deploymentOf(targetGroupArn);
    if (deployment === undefined) return;
    const second = Math.floor(atMs / 1000);
    const reservoir = this.reservoirSecond.get(targetGroupArn) !== second;
    if (reservoir) this.reservoirSecond.set(targetGroupArn, second);
    else if (this.random() >= this.fixedRate) return;
    this.traced++;
    let buckets = this.series.get(deployment);
    if (!buckets) {
      buckets = new Map();
      this.series.set(deployment, buckets);
    }
    const key = Math.floor(atMs / this.bucketMs) * this.bucketMs;
    let b = buckets.get(key);
    if (!b) {
      b = { total: 0, faults: 0, throttles: 0, latencies: [] };
      buckets.set(key, b);
    }
    b.total++;
    if (status >= 500) b.faults++;
    if (status === 429) b.throttles++;
    b.latencies.push(latencyMs);
    if (profile.downstreamFaultRate !== undefined) {
      // The app's call downstream: half of its time; a fault there is the app's fallback answer, a 200.
      b.total++;
      if (this.random() < profile.downstreamFaultRate) b.faults++;
      b.latencies.push(latencyMs / 2);
    }
  }

  /** GetTimeSeriesServiceStatistics for a group: edge statistics per Period (60 or 300 s). */
  getTimeSeriesServiceStatistics(
    input: GetTimeSeriesServiceStatisticsCommandInput,
  ): GetTimeSeriesServiceStatisticsCommandOutput {
    const group = input.GroupName ? this.groups.get(input.GroupName) : undefined;
    if (!group || input.GroupARN || input.EntitySelectorExpression) {
      throw Object.assign(
        new Error(
          group
            ? 'the local X-Ray answers group statistics by GroupName, without an entity selector'
            : `Group not found: ${input.GroupName ?? input.GroupARN}`,
        ),
        { name: 'InvalidRequestException', $metadata: { httpStatusCode: 400 } },
      );
    }
    const periodMs = (input.Period ?? 60) * 1000;
    const from = Math.floor((input.StartTime as Date).getTime() / periodMs) * periodMs;
    const to = (input.EndTime as Date).getTime();
    const buckets = this.series.get(group.value) ?? new Map<number, Bucket>();
    const points: TimeSeriesServiceStatistics[] = [];
    for (let start = from; start < to; start += periodMs) {
      const period: Bucket = { total: 0, faults: 0, throttles: 0, latencies: [] };
      for (let t = start; t < start + periodMs; t += this.bucketMs) {
        const b = buckets.get(t);
        if (!b) continue;
        period.total += b.total;
        period.faults += b.faults;
        period.throttles += b.throttles;
        period.latencies.push(...b.latencies);
      }
      if (period.total === 0) continue;
      points.push({
        Timestamp: new Date(start),
        EdgeSummaryStatistics: {
          OkCount: period.total - period.faults - period.throttles,
          ErrorStatistics: { ThrottleCount: period.throttles, OtherCount: 0, TotalCount: period.throttles },
          FaultStatistics: { OtherCount: period.faults, TotalCount: period.faults },
          TotalCount: period.total,
          TotalResponseTime: period.latencies.reduce((s, ms) => s + ms / 1000, 0),
        },
        ResponseTimeHistogram: histogram(period.latencies),
      });
    }
    return { TimeSeriesServiceStatistics: points, $metadata: {} };
  }

  /** The SDK client's face of this X-Ray: `send` answers GetTimeSeriesServiceStatistics. */
  client(): XRayClient {
    return {
      send: async (command: { input: GetTimeSeriesServiceStatisticsCommandInput }) =>
        this.getTimeSeriesServiceStatistics(command.input),
    } as unknown as XRayClient;
  }

  /** The real X-Ray adapter over this X-Ray, for a service's `analysis.xray`. */
  source(xray: XRayAnalysis): MetricSource {
    return new XRayMetricSource(this.client(), groupSelectors(xray));
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
