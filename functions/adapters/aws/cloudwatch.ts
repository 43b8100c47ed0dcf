/**
 * CloudWatch: ALB metrics per target group (MetricSource) and the states of gating alarms (AlarmSource).
 */
import {
  type CloudWatchClient,
  DescribeAlarmsCommand,
  GetMetricDataCommand,
  type MetricDataQuery,
  type MetricDataResult,
} from '@aws-sdk/client-cloudwatch';
import { TargetNotFoundError, TransientError } from '../../core/errors';
import type { AlarmState, MetricWindow, PeriodStats } from '../../core/judge';
import type { LatencyThresholds, Route } from '../../core/rollout';
import type { AlarmSource, MetricSource } from '../../ports';
import { AccessDeniedError, type AdapterOptions, AwsCaller } from './sdk';

/** `app/<name>/<id>`, the LoadBalancer dimension, from a listener (or listener rule) ARN. */
export function loadBalancerDimension(listenerArn: string): string {
  const match = /:listener(?:-rule)?\/(app\/[^/]+\/[^/]+)\//.exec(listenerArn);
  if (!match?.[1]) throw new RangeError(`not an Application Load Balancer listener ARN: ${listenerArn}`);
  return match[1];
}

/** `targetgroup/<name>/<id>`, the TargetGroup dimension, from a target group ARN. */
export function targetGroupDimension(targetGroupArn: string): string {
  const match = /:(targetgroup\/[^/]+\/[^/]+)$/.exec(targetGroupArn);
  if (!match?.[1]) throw new RangeError(`not a target group ARN: ${targetGroupArn}`);
  return match[1];
}

/** The period starts from `from` (rounded down to a multiple of the period) up to, not including, `to`. */
export function periodStarts(from: Date, to: Date, periodSeconds: number): number[] {
  const step = periodSeconds * 1000;
  const starts: number[] = [];
  for (let t = Math.floor(from.getTime() / step) * step; t < to.getTime(); t += step) starts.push(t);
  return starts;
}

const SERIES = [
  { key: 'requests', metric: 'RequestCount', stat: 'Sum' },
  { key: 'errors', metric: 'HTTPCode_Target_5XX_Count', stat: 'Sum' },
  { key: 'p99', metric: 'TargetResponseTime', stat: 'p99' },
] as const;
/** Counts of requests above the thresholds: trimmed counts of TargetResponseTime, one value per request. */
const COUNTS = [
  { key: 'slow', threshold: 'p99Ms' },
  { key: 'aboveMedian', threshold: 'p50Ms' },
] as const;
type SeriesKey = (typeof SERIES)[number]['key'] | (typeof COUNTS)[number]['key'];
const VERSIONS = ['canary', 'baseline'] as const;
type Version = (typeof VERSIONS)[number];

const queryId = (version: Version, key: SeriesKey) => `${version}_${key}`;

/** Milliseconds as the seconds TargetResponseTime is in, to the microsecond: 320 → "0.32". */
export function secondsString(ms: number): string {
  return String(Math.round(ms * 1000) / 1e6);
}

/**
 * `TC(<seconds>:)`: the trimmed count of TargetResponseTime values strictly above the threshold (CloudWatch's
 * lower bound is exclusive), i.e. the requests slower than it. Only requests that reached a target have a
 * TargetResponseTime, the same population as RequestCount per target group.
 */
export function countAboveStat(ms: number): string {
  return `TC(${secondsString(ms)}:)`;
}

/** Seconds from CloudWatch as ms, to the microsecond (0.212 → 212, not 212.00000000000003). */
const toMs = (seconds: number) => Math.round(seconds * 1e6) / 1e3;

export class CloudWatchMetricSource implements MetricSource {
  private readonly aws: AwsCaller;

  constructor(
    private readonly cloudwatch: CloudWatchClient,
    options: AdapterOptions = {},
  ) {
    this.aws = new AwsCaller(options.retry);
  }

  async fetch(query: {
    route: Route;
    from: Date;
    to: Date;
    periodSeconds: number;
    thresholds?: LatencyThresholds;
  }): Promise<MetricWindow> {
    const { route, from, to, periodSeconds, thresholds } = query;
    if (!(Number.isInteger(periodSeconds) && periodSeconds >= 60 && periodSeconds % 60 === 0)) {
      throw new RangeError(
        `ALB metrics have one-minute resolution: the period must be a multiple of 60 s, got ${periodSeconds}`,
      );
    }
    if (thresholds) checkThresholds(thresholds);
    const starts = periodStarts(from, to, periodSeconds);
    const window = {
      from: from.toISOString(),
      to: to.toISOString(),
      periodSeconds,
      ...(thresholds ? { slowThresholdMs: thresholds.p99Ms, medianThresholdMs: thresholds.p50Ms } : {}),
    };
    if (starts.length === 0) return { ...window, canary: [], baseline: [] };

    const loadBalancer = loadBalancerDimension(route.listenerArn);
    const targetGroups: Record<Version, string> = {
      canary: targetGroupDimension(route.canaryTargetGroupArn),
      baseline: targetGroupDimension(route.stableTargetGroupArn),
    };
    const stat = (version: Version, key: SeriesKey, metric: string, statistic: string): MetricDataQuery => ({
      Id: queryId(version, key),
      MetricStat: {
        Metric: albMetric(metric, loadBalancer, targetGroups[version]),
        Period: periodSeconds,
        Stat: statistic,
      },
      ReturnData: true,
    });
    const queries: MetricDataQuery[] = VERSIONS.flatMap((version) => [
      ...SERIES.map((s) => stat(version, s.key, s.metric, s.stat)),
      ...(thresholds
        ? COUNTS.map((c) =>
            stat(version, c.key, 'TargetResponseTime', countAboveStat(thresholds[c.threshold])),
          )
        : []),
    ]);

    const series = await this.getMetricData(queries, new Date(starts[0] ?? from.getTime()), to);
    const build = (version: Version): PeriodStats[] => {
      const bucket = (key: SeriesKey) =>
        bucketed(series.get(queryId(version, key)), starts, periodSeconds, key === 'p99' ? Math.max : sum);
      const requests = bucket('requests');
      const errors = bucket('errors');
      const p99 = bucket('p99');
      const slow = bucket('slow');
      const aboveMedian = bucket('aboveMedian');
      return starts.map((start, i) => {
        const seconds = p99[i];
        const n = requests[i] ?? 0;
        const stats: PeriodStats = {
          start: new Date(start).toISOString(),
          requests: n,
          errors: errors[i] ?? 0,
          p99Ms: seconds === undefined ? null : seconds * 1000,
        };
        if (!thresholds) return stats;
        // Every period gets both counts (all or nothing). A missing trimmed-count datapoint means no value above
        // the threshold in the period (CloudWatch returns no datapoint for an empty count): 0. The counts are
        // nested and never exceed the requests (the series come from separate statistics).
        const slowCount = Math.min(slow[i] ?? 0, n);
        return {
          ...stats,
          slow: slowCount,
          aboveMedian: Math.min(Math.max(aboveMedian[i] ?? 0, slowCount), n),
        };
      });
    };
    return { ...window, canary: build('canary'), baseline: build('baseline') };
  }

  /**
   * The stable target group's p99 and p50 TargetResponseTime over [from, to) as one datapoint each: Period is
   * the span (from rounded down to the minute, the span rounded up to whole minutes), so the percentiles are
   * over every request of the span, not an average of per-minute ones. Should CloudWatch still split it into
   * two periods, the larger value is taken (a higher threshold: fewer requests counted as slow). Undefined when
   * either percentile is missing: the stable version had no traffic in the span.
   */
  async baselineThresholds(query: {
    route: Route;
    from: Date;
    to: Date;
  }): Promise<LatencyThresholds | undefined> {
    const { route } = query;
    const from = new Date(Math.floor(query.from.getTime() / 60_000) * 60_000);
    const spanSeconds = Math.ceil((query.to.getTime() - from.getTime()) / 60_000) * 60;
    if (spanSeconds <= 0) return undefined;
    const to = new Date(from.getTime() + spanSeconds * 1000);
    const metric = albMetric(
      'TargetResponseTime',
      loadBalancerDimension(route.listenerArn),
      targetGroupDimension(route.stableTargetGroupArn),
    );
    const queries: MetricDataQuery[] = (['p99', 'p50'] as const).map((p) => ({
      Id: `baseline_${p}`,
      MetricStat: { Metric: metric, Period: spanSeconds, Stat: p },
      ReturnData: true,
    }));
    const series = await this.getMetricData(queries, from, to);
    const max = (id: string) => {
      const values = (series.get(id) ?? []).map(([, v]) => v).filter((v) => Number.isFinite(v) && v >= 0);
      return values.length > 0 ? Math.max(...values) : undefined;
    };
    const p99 = max('baseline_p99');
    const p50 = max('baseline_p50');
    if (p99 === undefined || p50 === undefined) return undefined;
    return { p99Ms: toMs(p99), p50Ms: toMs(Math.min(p50, p99)) };
  }

  /** One GetMetricData request, its pages merged: Id → datapoints. */
  private async getMetricData(
    queries: MetricDataQuery[],
    start: Date,
    end: Date,
  ): Promise<Map<string, Array<[Date, number]>>> {
    const merged = new Map<string, Array<[Date, number]>>();
    let nextToken: string | undefined;
    do {
      const token = nextToken;
      const out = await this.aws.call('cloudwatch:GetMetricData', 'AWS/ApplicationELB metrics', () =>
        this.cloudwatch.send(
          new GetMetricDataCommand({
            MetricDataQueries: queries,
            StartTime: start,
            EndTime: end,
            ScanBy: 'TimestampAscending',
            ...(token ? { NextToken: token } : {}),
          }),
        ),
      );
      for (const result of out.MetricDataResults ?? []) {
        checkStatus(result);
        if (!result.Id) continue;
        const points = merged.get(result.Id) ?? [];
        const timestamps = result.Timestamps ?? [];
        const values = result.Values ?? [];
        timestamps.forEach((t, i) => {
          const v = values[i];
          if (v !== undefined) points.push([t, v]);
        });
        merged.set(result.Id, points);
      }
      // PartialData comes with a NextToken: the rest is on the next page.
      nextToken = out.NextToken;
    } while (nextToken);
    return merged;
  }
}

function checkStatus(result: MetricDataResult): void {
  const detail = (result.Messages ?? []).map((m) => `${m.Code ?? ''} ${m.Value ?? ''}`.trim()).join('; ');
  if (result.StatusCode === 'InternalError') {
    throw new TransientError(
      `cloudwatch:GetMetricData returned InternalError for ${result.Id}${detail ? `: ${detail}` : ''}`,
    );
  }
  if (result.StatusCode === 'Forbidden') {
    throw new AccessDeniedError(
      `cloudwatch:GetMetricData was denied for ${result.Id}${detail ? `: ${detail}` : ''}: the controller's role needs cloudwatch:GetMetricData`,
    );
  }
}

const sum = (a: number, b: number) => a + b;

function albMetric(metricName: string, loadBalancer: string, targetGroup: string) {
  return {
    Namespace: 'AWS/ApplicationELB',
    MetricName: metricName,
    Dimensions: [
      { Name: 'LoadBalancer', Value: loadBalancer },
      { Name: 'TargetGroup', Value: targetGroup },
    ],
  };
}

function checkThresholds(t: LatencyThresholds): void {
  for (const [name, v] of Object.entries(t)) {
    if (!(Number.isFinite(v) && v >= 0))
      throw new RangeError(`latency threshold ${name} must be ≥ 0 ms, got ${v}`);
  }
}

/** Datapoints placed in their period (by start time); periods without a datapoint stay undefined. */
function bucketed(
  points: Array<[Date, number]> | undefined,
  starts: readonly number[],
  periodSeconds: number,
  combine: (a: number, b: number) => number,
): Array<number | undefined> {
  const out: Array<number | undefined> = starts.map(() => undefined);
  const first = starts[0];
  if (first === undefined) return out;
  for (const [t, v] of points ?? []) {
    const i = Math.floor((t.getTime() - first) / (periodSeconds * 1000));
    if (i < 0 || i >= out.length) continue;
    const current = out[i];
    out[i] = current === undefined ? v : combine(current, v);
  }
  return out;
}

const ALARMS_PER_CALL = 100;

export class CloudWatchAlarmSource implements AlarmSource {
  private readonly aws: AwsCaller;

  constructor(
    private readonly cloudwatch: CloudWatchClient,
    options: AdapterOptions = {},
  ) {
    this.aws = new AwsCaller(options.retry);
  }

  /**
   * States in the order asked. A configured alarm that does not exist throws: a silently missing gate is unsafe.
   * Gating alarms may be composite: DescribeAlarms returns only metric alarms unless AlarmTypes asks for both, and
   * composite ones only to a caller whose cloudwatch:DescribeAlarms is on "*" (CloudWatch API Reference,
   * DescribeAlarms), as the controller's is (infra/canary-controller.ts).
   */
  async states(alarmNames: readonly string[]): Promise<AlarmState[]> {
    const names = [...new Set(alarmNames)];
    const found = new Map<string, AlarmState['state']>();
    for (let i = 0; i < names.length; i += ALARMS_PER_CALL) {
      const chunk = names.slice(i, i + ALARMS_PER_CALL);
      let nextToken: string | undefined;
      do {
        const token = nextToken;
        const out = await this.aws.call('cloudwatch:DescribeAlarms', chunk.join(', '), () =>
          this.cloudwatch.send(
            new DescribeAlarmsCommand({
              AlarmNames: chunk,
              AlarmTypes: ['MetricAlarm', 'CompositeAlarm'],
              ...(token ? { NextToken: token } : {}),
            }),
          ),
        );
        for (const alarm of [...(out.MetricAlarms ?? []), ...(out.CompositeAlarms ?? [])]) {
          if (alarm.AlarmName && alarm.StateValue) found.set(alarm.AlarmName, alarm.StateValue);
        }
        nextToken = out.NextToken;
      } while (nextToken);
    }
    const missing = names.filter((n) => !found.has(n));
    if (missing.length > 0)
      throw new TargetNotFoundError(`CloudWatch alarm not found: ${missing.join(', ')}`);
    return names.map((name) => ({ name, state: found.get(name) ?? 'INSUFFICIENT_DATA' }));
  }
}
