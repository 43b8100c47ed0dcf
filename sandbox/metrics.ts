import type { MetricWindow, PeriodStats } from '../functions/core/judge';
import type { LatencyThresholds, Route } from '../functions/core/rollout';
import type { MetricSource } from '../functions/ports';

interface Bucket {
  requests: number;
  errors: number;
  latencies: number[];
}

/** Nearest-rank percentile of an unsorted list; null when empty. */
export function percentile(values: readonly number[], p: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1] ?? null;
}

/**
 * What the load balancer reports per target group, the way CloudWatch keeps ALB metrics: RequestCount,
 * HTTPCode_Target_5XX_Count and TargetResponseTime, in buckets of rollout time.
 */
export class MetricsRecorder {
  private readonly series = new Map<string, Map<number, Bucket>>();

  constructor(readonly bucketMs = 10_000) {}

  record(targetGroupArn: string, atMs: number, status: number, latencyMs: number): void {
    let buckets = this.series.get(targetGroupArn);
    if (!buckets) {
      buckets = new Map();
      this.series.set(targetGroupArn, buckets);
    }
    const key = Math.floor(atMs / this.bucketMs) * this.bucketMs;
    let bucket = buckets.get(key);
    if (!bucket) {
      bucket = { requests: 0, errors: 0, latencies: [] };
      buckets.set(key, bucket);
    }
    bucket.requests++;
    if (status >= 500) bucket.errors++;
    bucket.latencies.push(latencyMs);
  }

  /**
   * Period stats for every period starting in [from, to); periods with no traffic report zero requests. With
   * thresholds, every period also counts its requests with a latency strictly above them (slow: p99Ms,
   * aboveMedian: p50Ms), as CloudWatch's TC(<threshold>:) does.
   */
  query(
    targetGroupArn: string,
    from: Date,
    to: Date,
    periodSeconds: number,
    thresholds?: LatencyThresholds,
  ): PeriodStats[] {
    const periodMs = periodSeconds * 1000;
    const buckets = this.series.get(targetGroupArn) ?? new Map<number, Bucket>();
    const out: PeriodStats[] = [];
    const first = Math.floor(from.getTime() / periodMs) * periodMs;
    for (let start = first; start < to.getTime(); start += periodMs) {
      let requests = 0;
      let errors = 0;
      const latencies: number[] = [];
      for (let t = start; t < start + periodMs; t += this.bucketMs) {
        const b = buckets.get(t);
        if (!b || t + this.bucketMs <= from.getTime() || t >= to.getTime()) continue;
        requests += b.requests;
        errors += b.errors;
        latencies.push(...b.latencies);
      }
      const stats: PeriodStats = {
        start: new Date(start).toISOString(),
        requests,
        errors,
        p99Ms: percentile(latencies, 99),
      };
      if (thresholds) {
        stats.slow = latencies.filter((ms) => ms > thresholds.p99Ms).length;
        stats.aboveMedian = latencies.filter((ms) => ms > thresholds.p50Ms).length;
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

  /** Totals over a span, for the alarm and the summary. */
  totals(targetGroupArn: string, fromMs: number, toMs: number): { requests: number; errors: number } {
    let requests = 0;
    let errors = 0;
    for (const [t, b] of this.series.get(targetGroupArn) ?? []) {
      if (t + this.bucketMs <= fromMs || t >= toMs) continue;
      requests += b.requests;
      errors += b.errors;
    }
    return { requests, errors };
  }

  /** Per-bucket error rate and p99 for a chart. */
  timeline(targetGroupArn: string, fromMs: number, toMs: number) {
    const rows: { t: number; requests: number; errorRate: number | null; p99Ms: number | null }[] = [];
    const buckets = this.series.get(targetGroupArn) ?? new Map<number, Bucket>();
    for (let t = Math.floor(fromMs / this.bucketMs) * this.bucketMs; t < toMs; t += this.bucketMs) {
      const b = buckets.get(t);
      rows.push({
        t,
        requests: b?.requests ?? 0,
        errorRate: b && b.requests > 0 ? b.errors / b.requests : null,
        p99Ms: b ? percentile(b.latencies, 99) : null,
      });
    }
    return rows;
  }
}

/** The MetricSource port over what the local load balancer recorded, as CloudWatch serves ALB metrics. */
export class RecordedMetricSource implements MetricSource {
  constructor(private readonly recorder: MetricsRecorder) {}

  async fetch(q: {
    route: Route;
    from: Date;
    to: Date;
    periodSeconds: number;
    thresholds?: LatencyThresholds;
  }): Promise<MetricWindow> {
    const t = q.thresholds;
    return {
      from: q.from.toISOString(),
      to: q.to.toISOString(),
      periodSeconds: q.periodSeconds,
      ...(t ? { slowThresholdMs: t.p99Ms, medianThresholdMs: t.p50Ms } : {}),
      canary: this.recorder.query(q.route.canaryTargetGroupArn, q.from, q.to, q.periodSeconds, t),
      baseline: this.recorder.query(q.route.stableTargetGroupArn, q.from, q.to, q.periodSeconds, t),
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
