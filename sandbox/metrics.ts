import type { MetricWindow, PeriodStats } from '../functions/core/judge';
import type { LatencyThresholds, Route } from '../functions/core/rollout';
import type { Clock, MetricSource } from '../functions/ports';

interface Bucket {
  /** RequestCount: every request routed to the target group, answered by a target or not. */
  requests: number;
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
 * Balancers": the load balancer answers 502 itself). Kept in buckets of rollout time.
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

  /**
   * Period stats for every whole period in [from, to); periods with no traffic report zero requests. With
   * thresholds, every period also counts its requests with a latency strictly above them (slow: p99Ms,
   * aboveMedian: p50Ms), as CloudWatch's TC(<threshold>:) does.
   */
  query(
    targetGroupArn: string,
    from: Date,
    to: Date,
    periodSeconds: number,
    thresholds?: LatencyThresholds,
    visibleUntilMs = Number.POSITIVE_INFINITY,
  ): PeriodStats[] {
    const periodMs = periodSeconds * 1000;
    const buckets = this.series.get(targetGroupArn) ?? new Map<number, Bucket>();
    const out: PeriodStats[] = [];
    const first = Math.floor(from.getTime() / periodMs) * periodMs;
    // Whole periods only, as the CloudWatch adapter returns them.
    for (let start = first; start + periodMs <= to.getTime(); start += periodMs) {
      const sum = emptyBucket();
      for (let t = start; t < start + periodMs; t += this.bucketMs) {
        const b = buckets.get(t);
        if (!b || t + this.bucketMs <= from.getTime() || t >= to.getTime()) continue;
        // Not published yet: CloudWatch returns what has arrived, so the newest minutes are partial or missing.
        if (t + this.bucketMs > visibleUntilMs) continue;
        sum.requests += b.requests;
        sum.targetErrors += b.targetErrors;
        sum.noResponse += b.noResponse;
        sum.connectionErrors += b.connectionErrors;
        sum.latencies.push(...b.latencies);
        if (b.healthyMax !== undefined) sum.healthyMax = Math.max(sum.healthyMax ?? 0, b.healthyMax);
        if (b.unhealthyMin !== undefined)
          sum.unhealthyMin = Math.min(sum.unhealthyMin ?? Number.POSITIVE_INFINITY, b.unhealthyMin);
      }
      const stats: PeriodStats = {
        start: new Date(start).toISOString(),
        requests: sum.requests,
        errors: sum.targetErrors + sum.noResponse,
        targetErrors: sum.targetErrors,
        noResponse: sum.noResponse,
        connectionErrors: sum.connectionErrors,
        ...(sum.healthyMax !== undefined ? { healthyHosts: sum.healthyMax } : {}),
        ...(sum.unhealthyMin !== undefined ? { unhealthyHosts: sum.unhealthyMin } : {}),
        p99Ms: percentile(sum.latencies, 99),
      };
      if (thresholds) {
        stats.slow = sum.latencies.filter((ms) => ms > thresholds.p99Ms).length;
        stats.aboveMedian = sum.latencies.filter((ms) => ms > thresholds.p50Ms).length;
      }
      out.push(stats);
    }
    return out;
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

/**
 * The MetricSource port over what the local load balancer recorded, as CloudWatch serves ALB metrics. With a clock,
 * a bucket of rollout time becomes visible `publishDelaySeconds` after it ends (ALB "measures and sends its metrics
 * in 60-second intervals", so the newest minute is partial or missing when asked for); without one, at once.
 */
export class RecordedMetricSource implements MetricSource {
  constructor(
    private readonly recorder: MetricsRecorder,
    private readonly publication: { clock: Clock; publishDelaySeconds: number } | undefined = undefined,
  ) {}

  private visibleUntil(): number {
    const p = this.publication;
    return p ? p.clock.now().getTime() - p.publishDelaySeconds * 1000 : Number.POSITIVE_INFINITY;
  }

  async fetch(q: {
    route: Route;
    from: Date;
    to: Date;
    periodSeconds: number;
    thresholds?: LatencyThresholds;
  }): Promise<MetricWindow> {
    const t = q.thresholds;
    const visible = this.visibleUntil();
    return {
      from: q.from.toISOString(),
      to: q.to.toISOString(),
      periodSeconds: q.periodSeconds,
      ...(t ? { slowThresholdMs: t.p99Ms, medianThresholdMs: t.p50Ms } : {}),
      canary: this.recorder.query(q.route.canaryTargetGroupArn, q.from, q.to, q.periodSeconds, t, visible),
      baseline: this.recorder.query(q.route.stableTargetGroupArn, q.from, q.to, q.periodSeconds, t, visible),
    };
  }

  /** Nearest-rank p99 and p50 of the stable target group's recorded latencies in the span; undefined without. */
  async baselineThresholds(q: {
    route: Route;
    from: Date;
    to: Date;
  }): Promise<LatencyThresholds | undefined> {
    const latencies = this.recorder.latencies(q.route.stableTargetGroupArn, q.from.getTime(), q.to.getTime());
    const p99Ms = percentile(latencies, 99);
    const p50Ms = percentile(latencies, 50);
    return p99Ms === null || p50Ms === null ? undefined : { p99Ms, p50Ms };
  }
}
