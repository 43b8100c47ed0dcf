export interface Bucket {
  /** RequestCount: every request routed to the target group, answered by a target or not. */
  requests: number;
  /** HTTPCode_Target_2XX_Count, HTTPCode_Target_3XX_Count, HTTPCode_Target_4XX_Count. */
  target2xx: number;
  target3xx: number;
  target4xx: number;
  /** HTTPCode_Target_5XX_Count. */
  targetErrors: number;
  /** Requests the target never answered: the load balancer sent 502 itself (in no HTTPCode_Target_* count). */
  noResponse: number;
  /** TargetConnectionErrorCount. */
  connectionErrors: number;
  /** TargetResponseTime, one value per target response. */
  latencies: number[];
  /** HealthyHostCount Maximum and UnHealthyHostCount Minimum over the bucket's samples (none: not reported). */
  healthyMax?: number;
  unhealthyMin?: number;
}

const emptyBucket = (): Bucket => ({
  requests: 0,
  target2xx: 0,
  target3xx: 0,
  target4xx: 0,
  targetErrors: 0,
  noResponse: 0,
  connectionErrors: 0,
  latencies: [],
});

/**
 * Why a target never answered a request: the connection was refused (TCP RST to the SYN: nothing listens) or the
 * target closed it while the request was outstanding.
 */
export type NoResponse = 'refused' | 'reset';

/** Nearest-rank percentile of an unsorted list; null when empty. */
export function percentile(values: readonly number[], p: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1] ?? null;
}

/**
 * What the load balancer reports per target group, the way ALB publishes its metrics to CloudWatch ("CloudWatch
 * metrics for your Application Load Balancer"): RequestCount for every request routed to a target, HTTPCode_Target_*
 * and TargetResponseTime only for responses a target sent, TargetConnectionErrorCount for connections that could not
 * be established. A request the target never answered is in RequestCount only ("Troubleshoot your Application Load
 * Balancers": the load balancer answers 502 itself). Kept in buckets of rollout time; the local CloudWatch
 * (sandbox/cloudwatch.ts) serves them to the CloudWatch adapter as GetMetricData would.
 */
export class MetricsRecorder {
  private readonly series = new Map<string, Map<number, Bucket>>();

  constructor(readonly bucketMs = 10_000) {}

  private bucket(targetGroupArn: string, atMs: number): Bucket {
    let buckets = this.series.get(targetGroupArn);
    if (!buckets) {
      buckets = new Map();
      this.series.set(targetGroupArn, buckets);
    }
    const key = Math.floor(atMs / this.bucketMs) * this.bucketMs;
    let bucket = buckets.get(key);
    if (!bucket) {
      bucket = emptyBucket();
      buckets.set(key, bucket);
    }
    return bucket;
  }

  /** A response a target sent. */
  record(targetGroupArn: string, atMs: number, status: number, latencyMs: number): void {
    const bucket = this.bucket(targetGroupArn, atMs);
    bucket.requests++;
    if (status >= 500) bucket.targetErrors++;
    else if (status >= 400) bucket.target4xx++;
    else if (status >= 300) bucket.target3xx++;
    else if (status >= 200) bucket.target2xx++;
    bucket.latencies.push(latencyMs);
  }

  /**
   * One sample of the target group's health, as each load balancer node reports HealthyHostCount and
   * UnHealthyHostCount (only while targets are registered).
   */
  recordHealth(targetGroupArn: string, atMs: number, healthy: number, unhealthy: number): void {
    const bucket = this.bucket(targetGroupArn, atMs);
    bucket.healthyMax = Math.max(bucket.healthyMax ?? 0, healthy);
    bucket.unhealthyMin = Math.min(bucket.unhealthyMin ?? Number.POSITIVE_INFINITY, unhealthy);
  }

  /**
   * A request routed to the target group that its target never answered: RequestCount +1, no target response
   * code, no TargetResponseTime, and TargetConnectionErrorCount +1 when the connection could not be established.
   */
  recordNoResponse(targetGroupArn: string, atMs: number, why: NoResponse): void {
    const bucket = this.bucket(targetGroupArn, atMs);
    bucket.requests++;
    bucket.noResponse++;
    if (why === 'refused') bucket.connectionErrors++;
  }

  /** The buckets of a target group that start in [fromMs, toMs), oldest first: what the local CloudWatch reads. */
  buckets(targetGroupArn: string, fromMs: number, toMs: number): Array<[number, Bucket]> {
    return [...(this.series.get(targetGroupArn) ?? [])]
      .filter(([t]) => t >= fromMs && t < toMs)
      .sort(([a], [b]) => a - b);
  }

  /** The target groups that have recorded anything. */
  targetGroups(): string[] {
    return [...this.series.keys()];
  }

  /** Every latency recorded in the buckets that overlap [fromMs, toMs), as query() takes them. */
  latencies(targetGroupArn: string, fromMs: number, toMs: number): number[] {
    const out: number[] = [];
    for (const [t, b] of this.series.get(targetGroupArn) ?? []) {
      if (t + this.bucketMs <= fromMs || t >= toMs) continue;
      out.push(...b.latencies);
    }
    return out;
  }

  /**
   * Totals over a span, for the alarm: RequestCount and HTTPCode_Target_5XX_Count (requests the targets never
   * answered are in neither target count, as on ALB).
   */
  totals(targetGroupArn: string, fromMs: number, toMs: number): { requests: number; errors: number } {
    let requests = 0;
    let errors = 0;
    for (const [t, b] of this.series.get(targetGroupArn) ?? []) {
      if (t + this.bucketMs <= fromMs || t >= toMs) continue;
      requests += b.requests;
      errors += b.targetErrors;
    }
    return { requests, errors };
  }

  /** Per-bucket failed-request rate (target 5xx and no target response) and p99, for a chart. */
  timeline(targetGroupArn: string, fromMs: number, toMs: number) {
    const rows: { t: number; requests: number; errorRate: number | null; p99Ms: number | null }[] = [];
    const buckets = this.series.get(targetGroupArn) ?? new Map<number, Bucket>();
    for (let t = Math.floor(fromMs / this.bucketMs) * this.bucketMs; t < toMs; t += this.bucketMs) {
      const b = buckets.get(t);
      rows.push({
        t,
        requests: b?.requests ?? 0,
        errorRate: b && b.requests > 0 ? (b.targetErrors + b.noResponse) / b.requests : null,
        p99Ms: b ? percentile(b.latencies, 99) : null,
      });
    }
    return rows;
  }
}
