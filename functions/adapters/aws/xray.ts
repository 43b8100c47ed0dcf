/**
 * MetricSource over X-Ray service statistics: per-period request and fault counts, and the p99 from the
 * response-time histogram, for the canary and the stable version, each picked by an entity selector expression
 * or an X-Ray group.
 */
import {
  GetTimeSeriesServiceStatisticsCommand,
  type HistogramEntry,
  type TimeSeriesServiceStatistics,
  type XRayClient,
} from '@aws-sdk/client-xray';
import type { MetricWindow, PeriodStats } from '../../core/judge';
import type { Route } from '../../core/rollout';
import type { MetricSource } from '../../ports';
import { periodStarts } from './cloudwatch';
import { type AdapterOptions, AwsCaller } from './sdk';

/** Which traces belong to one version: an entity selector expression, an X-Ray group, or both. */
export type XRaySelector =
  | { entitySelectorExpression: string; groupArn?: string }
  | { entitySelectorExpression?: string; groupArn: string };

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
   * No slow-request thresholds: X-Ray's response-time histograms are approximate, so this source does not count
   * requests above a threshold. Undefined, and `fetch` ignores any thresholds it is given (no slow/aboveMedian
   * counts): the judge compares p99s.
   */
  async baselineThresholds(_query: { route: Route; from: Date; to: Date }): Promise<undefined> {
    return undefined;
  }

  async fetch(query: { route: Route; from: Date; to: Date; periodSeconds: number }): Promise<MetricWindow> {
    const { route, from, to, periodSeconds } = query;
    const period = xrayPeriod(periodSeconds);
    const starts = periodStarts(from, to, periodSeconds);
    const window = { from: from.toISOString(), to: to.toISOString(), periodSeconds };
    const first = starts[0];
    if (first === undefined) return { ...window, canary: [], baseline: [] };
    const selectors = this.selectors(route);
    const [canary, baseline] = await Promise.all([
      this.series(selectors.canary, new Date(first), to, period),
      this.series(selectors.baseline, new Date(first), to, period),
    ]);
    return {
      ...window,
      canary: toPeriods(canary, starts, periodSeconds),
      baseline: toPeriods(baseline, starts, periodSeconds),
    };
  }

  private async series(
    selector: XRaySelector,
    start: Date,
    end: Date,
    period: number,
  ): Promise<TimeSeriesServiceStatistics[]> {
    const points: TimeSeriesServiceStatistics[] = [];
    const resource = selector.groupArn ?? selector.entitySelectorExpression ?? '';
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
              ...(selector.entitySelectorExpression
                ? { EntitySelectorExpression: selector.entitySelectorExpression }
                : {}),
              ...(selector.groupArn ? { GroupARN: selector.groupArn } : {}),
              ...(token ? { NextToken: token } : {}),
            }),
          ),
        { notFound: { ResourceNotFoundException: `X-Ray group ${resource} does not exist` } },
      );
      points.push(...(out.TimeSeriesServiceStatistics ?? []));
      nextToken = out.NextToken;
    } while (nextToken);
    return points;
  }
}

function toPeriods(
  points: readonly TimeSeriesServiceStatistics[],
  starts: readonly number[],
  periodSeconds: number,
): PeriodStats[] {
  const buckets = starts.map(() => ({ requests: 0, errors: 0, histogram: [] as HistogramEntry[] }));
  const first = starts[0] ?? 0;
  for (const p of points) {
    if (!p.Timestamp) continue;
    const bucket = buckets[Math.floor((p.Timestamp.getTime() - first) / (periodSeconds * 1000))];
    if (!bucket) continue;
    const stats = p.ServiceSummaryStatistics ?? p.EdgeSummaryStatistics;
    bucket.requests += stats?.TotalCount ?? 0;
    bucket.errors += stats?.FaultStatistics?.TotalCount ?? 0;
    bucket.histogram.push(...(p.ResponseTimeHistogram ?? []));
  }
  return buckets.map((b, i) => {
    const p99Seconds = histogramP99(b.histogram);
    return {
      start: new Date(starts[i] ?? first).toISOString(),
      requests: b.requests,
      errors: b.errors,
      p99Ms: p99Seconds === null ? null : p99Seconds * 1000,
    };
  });
}
