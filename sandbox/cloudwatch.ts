/**
 * A local CloudWatch for the ALB metrics the load balancer recorded (sandbox/metrics.ts): GetMetricData answered as
 * CloudWatch answers it, so the sandbox judges with the real CloudWatch adapter (functions/adapters/aws/cloudwatch.ts)
 * and its arithmetic (failed requests = target 5XX + requests no target answered) runs on the sandbox's traffic.
 *
 * What it imitates, from AWS's documentation:
 * - Per target group (LoadBalancer + TargetGroup dimensions), "CloudWatch metrics for your Application Load
 *   Balancer": RequestCount, HTTPCode_Target_2XX..5XX_Count and TargetConnectionErrorCount (Sum), reported only when
 *   nonzero ("Reporting criteria: There is a nonzero value"); TargetResponseTime in seconds, one value per target
 *   response (percentiles pNN and trimmed counts TC(lo:hi), lo exclusive); HealthyHostCount (Maximum) and
 *   UnHealthyHostCount (Minimum) over the load balancer nodes' reports.
 * - GetMetricData (CloudWatch API reference): StartTime rounded down to the minute; one datapoint per Period from
 *   there, none for a period without data; ScanBy TimestampDescending (newest first) unless TimestampAscending is
 *   asked; MetricDataResults with Id, Label, Timestamps, Values and StatusCode Complete.
 * - Publication: ALB "measures and sends its metrics in 60-second intervals", so a bucket of rollout time is visible
 *   only `publishDelaySeconds` after it ends; the newest minute is partial or missing when asked for.
 */
import type {
  CloudWatchClient,
  GetMetricDataCommandInput,
  GetMetricDataCommandOutput,
  MetricDataQuery,
  MetricDataResult,
} from '@aws-sdk/client-cloudwatch';
import { targetGroupDimension } from '../functions/adapters/aws/cloudwatch';
import type { Clock } from '../functions/ports';
import { type Bucket, type MetricsRecorder, percentile } from './metrics';
import { evaluateExpression, invalid, type PublishedMetrics } from './published-metrics';

const COUNTS: Record<string, (b: Bucket) => number> = {
  RequestCount: (b) => b.requests,
  HTTPCode_Target_2XX_Count: (b) => b.target2xx,
  HTTPCode_Target_3XX_Count: (b) => b.target3xx,
  HTTPCode_Target_4XX_Count: (b) => b.target4xx,
  HTTPCode_Target_5XX_Count: (b) => b.targetErrors,
  TargetConnectionErrorCount: (b) => b.connectionErrors,
};

/** Milliseconds to whole microseconds, so thresholds in seconds compare exactly. */
const micros = (ms: number) => Math.round(ms * 1000);

export class LocalCloudWatch {
  constructor(
    private readonly recorder: MetricsRecorder,
    private readonly clock: Pick<Clock, 'now'>,
    private readonly publishDelaySeconds: number,
    /** What the apps and ECS publish (sandbox/published-metrics.ts): every namespace but AWS/ApplicationELB. */
    private readonly published?: PublishedMetrics,
  ) {}

  getMetricData(input: GetMetricDataCommandInput): GetMetricDataCommandOutput {
    const start = Math.floor((input.StartTime as Date).getTime() / 60_000) * 60_000;
    const end = (input.EndTime as Date).getTime();
    const visibleUntil = this.clock.now().getTime() - this.publishDelaySeconds * 1000;
    const queries = input.MetricDataQueries ?? [];
    // Metrics first, then the expressions on them; only the queries with ReturnData (default true) are returned.
    const byId = new Map<string, MetricDataResult>();
    for (const q of queries)
      if (!q.Expression) byId.set(q.Id ?? '', this.result(q, start, end, visibleUntil));
    for (const q of queries) if (q.Expression) byId.set(q.Id ?? '', evaluateExpression(q, byId));
    const results = queries
      .filter((q) => q.ReturnData !== false)
      .map((q) => byId.get(q.Id ?? '') as MetricDataResult);
    if (input.ScanBy !== 'TimestampAscending') {
      for (const r of results) {
        r.Timestamps = r.Timestamps?.reverse();
        r.Values = r.Values?.reverse();
      }
    }
    return { MetricDataResults: results, Messages: [], $metadata: {} };
  }

  private result(q: MetricDataQuery, start: number, end: number, visibleUntil: number): MetricDataResult {
    const stat = q.MetricStat;
    const metric = stat?.Metric;
    if (this.published && metric?.Namespace && metric.Namespace !== 'AWS/ApplicationELB') {
      return this.published.result(q, start, end, visibleUntil);
    }
    if (!stat || !metric || metric.Namespace !== 'AWS/ApplicationELB' || !stat.Period || !stat.Stat) {
      throw invalid(
        `the local CloudWatch answers AWS/ApplicationELB MetricStat queries only (query ${q.Id})`,
      );
    }
    const dimension = (name: string) => metric.Dimensions?.find((d) => d.Name === name)?.Value;
    const targetGroup = dimension('TargetGroup');
    if (!targetGroup || !dimension('LoadBalancer')) {
      throw invalid(
        `the local CloudWatch records ALB metrics per LoadBalancer and TargetGroup (query ${q.Id})`,
      );
    }
    const value = this.statistic(metric.MetricName ?? '', stat.Stat, q.Id ?? '');
    const arn = this.recorder.targetGroups().find((a) => targetGroupDimension(a) === targetGroup);
    const periodMs = stat.Period * 1000;
    const timestamps: Date[] = [];
    const values: number[] = [];
    for (let p = start; p < end; p += periodMs) {
      const buckets = arn
        ? this.recorder
            .buckets(arn, p, Math.min(p + periodMs, end))
            .filter(([t]) => t + this.recorder.bucketMs <= visibleUntil)
            .map(([, b]) => b)
        : [];
      const v = value(buckets);
      if (v === undefined) continue;
      timestamps.push(new Date(p));
      values.push(v);
    }
    return {
      Id: q.Id,
      Label: q.Label ?? metric.MetricName,
      Timestamps: timestamps,
      Values: values,
      StatusCode: 'Complete',
    };
  }

  /** The statistic of one metric over a period's buckets; undefined: no datapoint. */
  private statistic(metricName: string, stat: string, id: string): (buckets: Bucket[]) => number | undefined {
    const count = COUNTS[metricName];
    if (count && stat === 'Sum') {
      return (buckets) => {
        const sum = buckets.reduce((n, b) => n + count(b), 0);
        return sum > 0 ? sum : undefined;
      };
    }
    if (metricName === 'HealthyHostCount' && stat === 'Maximum') {
      return (buckets) => {
        const seen = buckets.flatMap((b) => (b.healthyMax === undefined ? [] : [b.healthyMax]));
        return seen.length > 0 ? Math.max(...seen) : undefined;
      };
    }
    if (metricName === 'UnHealthyHostCount' && stat === 'Minimum') {
      return (buckets) => {
        const seen = buckets.flatMap((b) => (b.unhealthyMin === undefined ? [] : [b.unhealthyMin]));
        return seen.length > 0 ? Math.min(...seen) : undefined;
      };
    }
    if (metricName === 'TargetResponseTime') {
      const latencies = (buckets: Bucket[]) => buckets.flatMap((b) => b.latencies);
      const p = /^p(\d+(?:\.\d+)?)$/.exec(stat);
      if (p) {
        return (buckets) => {
          const ms = percentile(latencies(buckets), Number(p[1]));
          return ms === null ? undefined : ms / 1000;
        };
      }
      const tc = /^TC\(([\d.]*):([\d.]*)\)$/.exec(stat);
      if (tc && (tc[1] || tc[2])) {
        const lo = tc[1] ? Math.round(Number(tc[1]) * 1e6) : Number.NEGATIVE_INFINITY;
        const hi = tc[2] ? Math.round(Number(tc[2]) * 1e6) : Number.POSITIVE_INFINITY;
        return (buckets) => {
          const all = latencies(buckets);
          if (all.length === 0) return undefined;
          return all.filter((ms) => micros(ms) > lo && micros(ms) <= hi).length;
        };
      }
    }
    throw invalid(`the local CloudWatch does not record ${metricName} ${stat} (query ${id})`);
  }

  /** The SDK client's face of this CloudWatch: `send` answers GetMetricData. */
  client(): CloudWatchClient {
    return {
      send: async (command: { input: GetMetricDataCommandInput }) => this.getMetricData(command.input),
    } as unknown as CloudWatchClient;
  }
}
