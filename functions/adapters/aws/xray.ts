/**
 * MetricSource over X-Ray statistics (GetTimeSeriesServiceStatistics): per period, the requests (TotalCount), the
 * failures (faults and throttles), the p99 and, given thresholds, the requests above them, all from the statistics
 * and the response-time histogram, for the canary and the stable version, each picked by an X-Ray group (by name or
 * ARN) and optionally an entity selector expression.
 *
 * X-Ray computes these from the traces it received: sampled requests only (the X-Ray SDKs' default rule records the
 * first request each second and 5% of the rest, X-Ray developer guide, "Sampling"), and only from applications that
 * trace. Every request names an entity selector (`service("web")`) and only the service node's statistics
 * (ServiceSummaryStatistics) are counted: without a selector the API returns edge statistics (API reference,
 * GetTimeSeriesServiceStatistics: "If no selector expression is specified, edge statistics are returned"), where one
 * request counts once per edge it crosses, and the sequential test assumes one trial per request. A node's
 * statistics come from the service's own segments (X-Ray developer guide, "Concepts", service graph); the API
 * reference describes its counts by status code (ServiceStatistics: FaultStatistics for 5xx, OkCount for 2xx), so a
 * downstream fault behind a 200 is not among them unless (likely, not stated) the app marks its segment `fault`.
 */
import {
  GetTimeSeriesServiceStatisticsCommand,
  type HistogramEntry,
  type TimeSeriesServiceStatistics,
  type XRayClient,
} from '@aws-sdk/client-xray';
import type { AnalysisPolicy } from '../../core/config';
import type { MetricWindow, PeriodStats } from '../../core/judge';
import type { LatencyThresholds, Route } from '../../core/rollout';
import type { BaselineQuery, MetricQuery, MetricSource } from '../../ports';
import { periodStarts } from './cloudwatch';
import { type AdapterOptions, AwsCaller } from './sdk';

/**
 * Which traces belong to one version (an X-Ray group, by name or ARN, or none) and which service node of them is
 * counted (the entity selector, always: see the file's comment).
 */
export type XRaySelector =
  | { groupName: string; entitySelectorExpression: string }
  | { groupArn: string; entitySelectorExpression: string }
  | { entitySelectorExpression: string };

export type XRaySelectors = (route: Route) => { canary: XRaySelector; baseline: XRaySelector };

/** X-Ray aggregates by 60 or 300 seconds; longer periods are built from those (histograms merge exactly). */
function xrayPeriod(periodSeconds: number): 60 | 300 {
  if (Number.isInteger(periodSeconds) && periodSeconds > 0) {
    if (periodSeconds % 300 === 0) return 300;
    if (periodSeconds % 60 === 0) return 60;
  }
  throw new RangeError(
    `X-Ray statistics come per 60 or 300 s: the period must be a multiple of 60 s, got ${periodSeconds}`,
  );
}

/** The smallest value whose cumulative count reaches 99% of the total, in the histogram's unit. */
export function histogramP99(entries: readonly HistogramEntry[]): number | null {
  const sorted = entries
    .filter(
      (e): e is { Value: number; Count: number } =>
        typeof e.Value === 'number' && typeof e.Count === 'number' && e.Count > 0,
    )
    .sort((a, b) => a.Value - b.Value);
  const total = sorted.reduce((n, e) => n + e.Count, 0);
  if (total === 0) return null;
  const rank = 0.99 * total;
  let seen = 0;
  for (const e of sorted) {
    seen += e.Count;
    if (seen >= rank) return e.Value;
  }
  return sorted[sorted.length - 1]?.Value ?? null;
}

export class XRayMetricSource implements MetricSource {
  private readonly aws: AwsCaller;

  constructor(
    private readonly xray: XRayClient,
    private readonly selectors: XRaySelectors,
    options: AdapterOptions = {},
  ) {
    this.aws = new AwsCaller(options.retry);
  }

  /**
   * Undefined: the thresholds a rollout judges latency against are taken once, from the load balancer's metrics of
   * the stable version before the canary (set-weight); `fetch` counts the histogram's requests above them.
   */
  async baselineThresholds(_query: BaselineQuery): Promise<undefined> {
    return undefined;
  }

  async fetch(query: MetricQuery): Promise<MetricWindow> {
    const { route, from, to, periodSeconds, thresholds } = query;
    const period = xrayPeriod(periodSeconds);
    const starts = periodStarts(from, to, periodSeconds);
    const window = {
      from: from.toISOString(),
      to: to.toISOString(),
      periodSeconds,
      ...(thresholds ? { slowThresholdMs: thresholds.p99Ms, medianThresholdMs: thresholds.p50Ms } : {}),
    };
    const first = starts[0];
    if (first === undefined) return { ...window, canary: [], baseline: [] };
    const selectors = this.selectors(route);
    const [canary, baseline] = await Promise.all([
      this.series(selectors.canary, new Date(first), to, period),
      this.series(selectors.baseline, new Date(first), to, period),
    ]);
    return {
      ...window,
      canary: toPeriods(canary, starts, periodSeconds, thresholds),
      baseline: toPeriods(baseline, starts, periodSeconds, thresholds),
    };
  }

  private async series(
    selector: XRaySelector,
    start: Date,
    end: Date,
    period: number,
  ): Promise<TimeSeriesServiceStatistics[]> {
    const points: TimeSeriesServiceStatistics[] = [];
    const group =
      'groupName' in selector ? selector.groupName : 'groupArn' in selector ? selector.groupArn : '';
    const resource = group || selector.entitySelectorExpression;
    let nextToken: string | undefined;
    do {
      const token = nextToken;
      const out = await this.aws.call(
        'xray:GetTimeSeriesServiceStatistics',
        resource,
        () =>
          this.xray.send(
            new GetTimeSeriesServiceStatisticsCommand({
              StartTime: start,
              EndTime: end,
              Period: period,
              EntitySelectorExpression: selector.entitySelectorExpression,
              ...('groupName' in selector ? { GroupName: selector.groupName } : {}),
              ...('groupArn' in selector ? { GroupARN: selector.groupArn } : {}),
              ...(token ? { NextToken: token } : {}),
            }),
          ),
        {
          notFound: {
            ResourceNotFoundException: `X-Ray group ${resource} does not exist (analysis.xray names it)`,
          },
        },
      );
      points.push(...(out.TimeSeriesServiceStatistics ?? []));
      nextToken = out.NextToken;
    } while (nextToken);
    return points;
  }
}

/** Requests in a histogram strictly slower than `ms` (the histogram's values are seconds). */
function countAbove(entries: readonly HistogramEntry[], ms: number): number {
  return entries.reduce(
    (n, e) => (typeof e.Value === 'number' && e.Value * 1000 > ms ? n + (e.Count ?? 0) : n),
    0,
  );
}

/**
 * Per period: requests are TotalCount; failures are faults (5xx) and throttles (429: work refused), not other 4xx
 * (the client's doing, as ALB's target 5XX count leaves them out too).
 */
function toPeriods(
  points: readonly TimeSeriesServiceStatistics[],
  starts: readonly number[],
  periodSeconds: number,
  thresholds?: LatencyThresholds,
): PeriodStats[] {
  const buckets = starts.map(() => ({ requests: 0, errors: 0, histogram: [] as HistogramEntry[] }));
  const first = starts[0] ?? 0;
  for (const p of points) {
    // The service node's statistics only: edge statistics count a request once per edge (see the file's comment).
    const stats = p.ServiceSummaryStatistics;
    if (!p.Timestamp || !stats) continue;
    const bucket = buckets[Math.floor((p.Timestamp.getTime() - first) / (periodSeconds * 1000))];
    if (!bucket) continue;
    bucket.requests += stats.TotalCount ?? 0;
    bucket.errors += (stats.FaultStatistics?.TotalCount ?? 0) + (stats.ErrorStatistics?.ThrottleCount ?? 0);
    bucket.histogram.push(...(p.ResponseTimeHistogram ?? []));
  }
  return buckets.map((b, i) => {
    const p99Seconds = histogramP99(b.histogram);
    const stats: PeriodStats = {
      start: new Date(starts[i] ?? first).toISOString(),
      requests: b.requests,
      errors: b.errors,
      p99Ms: p99Seconds === null ? null : p99Seconds * 1000,
    };
    if (!thresholds) return stats;
    // Nested and never above the requests, like the load balancer's counts.
    const slow = Math.min(countAbove(b.histogram, thresholds.p99Ms), b.requests);
    return {
      ...stats,
      slow,
      aboveMedian: Math.min(Math.max(countAbove(b.histogram, thresholds.p50Ms), slow), b.requests),
    };
  });
}

/** A service's `analysis.xray`. */
export type XRayAnalysis = NonNullable<AnalysisPolicy['xray']>;

/** The selectors of a service's `analysis.xray`: each version's group, with the service's entity selector. */
export function groupSelectors(x: XRayAnalysis): XRaySelectors {
  const select = (groupName: string): XRaySelector => ({
    groupName,
    entitySelectorExpression: x.entitySelectorExpression,
  });
  return () => ({ canary: select(x.canaryGroup), baseline: select(x.stableGroup) });
}
