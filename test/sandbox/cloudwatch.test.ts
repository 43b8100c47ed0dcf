import { GetMetricDataCommand, type MetricDataQuery } from '@aws-sdk/client-cloudwatch';
import { describe, expect, it } from 'vitest';
import { CloudWatchMetricSource } from '../../functions/adapters/aws/cloudwatch';
import type { Route } from '../../functions/core/rollout';
import { LocalCloudWatch } from '../../sandbox/cloudwatch';
import { DEMO_CANARY_TG, DEMO_LISTENER, DEMO_STABLE_TG } from '../../sandbox/demo';
import { MetricsRecorder } from '../../sandbox/metrics';

const T0 = Date.parse('2025-03-14T09:00:00.000Z');
const route: Route = {
  listenerArn: DEMO_LISTENER,
  stableTargetGroupArn: DEMO_STABLE_TG,
  canaryTargetGroupArn: DEMO_CANARY_TG,
} as Route;

const metric = (MetricName: string, targetGroup: string, Stat: string, Id: string): MetricDataQuery => ({
  Id,
  MetricStat: {
    Metric: {
      Namespace: 'AWS/ApplicationELB',
      MetricName,
      Dimensions: [
        { Name: 'LoadBalancer', Value: 'app/web/50dc6c495c0c9188' },
        { Name: 'TargetGroup', Value: targetGroup },
      ],
    },
    Period: 60,
    Stat,
  },
});

/** A clock standing at `ms`. */
const at = (ms: number) => ({ now: () => new Date(ms) });

describe('the local CloudWatch', () => {
  it('answers GetMetricData as CloudWatch: newest first by default, no datapoint for an empty minute, minutes published 60 s late', async () => {
    // Prepare: canary requests in minutes 0 and 2 (none in 1), and one in minute 3, still being published.
    const recorder = new MetricsRecorder();
    for (const minute of [0, 0, 2, 3]) recorder.record(DEMO_CANARY_TG, T0 + minute * 60_000 + 5_000, 200, 10);
    const cloudwatch = new LocalCloudWatch(recorder, at(T0 + 4 * 60_000 + 5_000), 60);
    const tg = 'targetgroup/web-canary/2453ed029918f21f';

    // Act
    const send = (ScanBy?: 'TimestampAscending' | 'TimestampDescending') =>
      cloudwatch.client().send(
        new GetMetricDataCommand({
          MetricDataQueries: [metric('RequestCount', tg, 'Sum', 'requests')],
          StartTime: new Date(T0),
          EndTime: new Date(T0 + 5 * 60_000),
          ...(ScanBy ? { ScanBy } : {}),
        }),
      );
    const newestFirst = (await send()).MetricDataResults?.[0];
    const oldestFirst = (await send('TimestampAscending')).MetricDataResults?.[0];

    // Assess
    expect(newestFirst).toMatchObject({
      Id: 'requests',
      StatusCode: 'Complete',
      Timestamps: [new Date(T0 + 2 * 60_000), new Date(T0)],
      Values: [1, 2],
    });
    expect(oldestFirst?.Timestamps).toEqual([new Date(T0), new Date(T0 + 2 * 60_000)]);
  });

  it('refuses a metric it does not record, naming it', async () => {
    const cloudwatch = new LocalCloudWatch(new MetricsRecorder(), at(T0), 60);

    await expect(
      cloudwatch.client().send(
        new GetMetricDataCommand({
          MetricDataQueries: [
            metric('HTTPCode_ELB_5XX_Count', 'targetgroup/web-canary/2453ed029918f21f', 'Sum', 'x'),
          ],
          StartTime: new Date(T0),
          EndTime: new Date(T0 + 60_000),
        }),
      ),
    ).rejects.toThrow(/HTTPCode_ELB_5XX_Count/);
  });

  it('through the CloudWatch adapter: failed requests are target 5XX plus requests no target answered, with health and latency counts', async () => {
    // Prepare: minute 0, canary: 6 × 200, 1 × 404, 1 × 503, 2 refused connections and 1 reset; stable: 10 × 200.
    const recorder = new MetricsRecorder();
    const t = T0 + 1_000;
    for (let i = 0; i < 6; i++) recorder.record(DEMO_CANARY_TG, t, 200, 10 + i * 40);
    recorder.record(DEMO_CANARY_TG, t, 404, 5);
    recorder.record(DEMO_CANARY_TG, t, 503, 400);
    recorder.recordNoResponse(DEMO_CANARY_TG, t, 'refused');
    recorder.recordNoResponse(DEMO_CANARY_TG, t, 'refused');
    recorder.recordNoResponse(DEMO_CANARY_TG, t, 'reset');
    recorder.recordHealth(DEMO_CANARY_TG, t, 0, 2);
    recorder.recordHealth(DEMO_CANARY_TG, t + 20_000, 1, 1);
    for (let i = 1; i <= 10; i++) recorder.record(DEMO_STABLE_TG, t, 200, i * 10);
    const source = new CloudWatchMetricSource(
      new LocalCloudWatch(recorder, at(T0 + 3 * 60_000), 60).client(),
    );

    // Act
    const window = await source.fetch({
      route,
      from: new Date(T0),
      to: new Date(T0 + 2 * 60_000),
      periodSeconds: 60,
      thresholds: { p99Ms: 100, p50Ms: 50 },
    });
    const thresholds = await source.baselineThresholds({
      route,
      from: new Date(T0),
      to: new Date(T0 + 60_000),
    });

    // Assess
    expect(window.canary[0]).toEqual({
      start: '2025-03-14T09:00:00.000Z',
      requests: 11,
      errors: 4,
      targetErrors: 1,
      noResponse: 3,
      connectionErrors: 2,
      healthyHosts: 1,
      unhealthyHosts: 1,
      p99Ms: 400,
      slow: 4,
      aboveMedian: 5,
    });
    expect(window.canary[1]).toMatchObject({ requests: 0, errors: 0, p99Ms: null, slow: 0 });
    expect(window.baseline[0]).toMatchObject({
      requests: 10,
      errors: 0,
      p99Ms: 100,
      slow: 0,
      aboveMedian: 5,
    });
    expect(thresholds).toEqual({ p99Ms: 100, p50Ms: 50 });
  });
});
