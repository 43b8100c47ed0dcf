import { describe, expect, it } from 'vitest';
import { LocalCloudWatch } from '../../sandbox/cloudwatch';
import { MetricsRecorder } from '../../sandbox/metrics';
import { PublishedMetrics } from '../../sandbox/published-metrics';

const T0 = Date.parse('2026-03-14T09:30:00Z');
const stat = (Id: string, MetricName: string, Stat: string, service: string, ReturnData = true) => ({
  Id,
  MetricStat: {
    Metric: { Namespace: 'Shop', MetricName, Dimensions: [{ Name: 'Service', Value: service }] },
    Period: 60,
    Stat,
  },
  ReturnData,
});

describe('the local CloudWatch for what apps and ECS publish', () => {
  it('serves statistics per exact dimensions and evaluates metric math, returning only ReturnData queries', () => {
    const published = new PublishedMetrics();
    for (let i = 0; i < 10; i++) {
      published.put('Shop', 'OrdersAttempted', { Service: 'web' }, T0 + i * 1000, 1);
      published.put('Shop', 'OrdersCompleted', { Service: 'web' }, T0 + i * 1000, i < 6 ? 1 : 0);
    }
    published.put('Shop', 'OrdersAttempted', { Service: 'web-canary' }, T0 + 61_000, 1);
    const cloudwatch = new LocalCloudWatch(
      new MetricsRecorder(),
      { now: () => new Date(T0 + 600_000) },
      60,
      published,
    );
    const out = cloudwatch.getMetricData({
      StartTime: new Date(T0),
      EndTime: new Date(T0 + 120_000),
      ScanBy: 'TimestampAscending',
      MetricDataQueries: [
        stat('done', 'OrdersCompleted', 'Sum', 'web', false),
        stat('tried', 'OrdersAttempted', 'Sum', 'web', false),
        { Id: 'rate', Expression: '(done) / tried * 100', ReturnData: true },
        stat('mean', 'OrdersCompleted', 'Average', 'web'),
        stat('canary', 'OrdersAttempted', 'SampleCount', 'web-canary'),
      ],
    });
    const results = out.MetricDataResults ?? [];
    expect(results.map((r) => r.Id)).toEqual(['rate', 'mean', 'canary']);
    expect(results[0]?.Values).toEqual([60]);
    expect(results[1]?.Values).toEqual([0.6]);
    expect(results[2]).toMatchObject({ Timestamps: [new Date(T0 + 60_000)], Values: [1] });
  });

  it('refuses metric math it does not evaluate, as an InvalidParameterValue', () => {
    const cloudwatch = new LocalCloudWatch(
      new MetricsRecorder(),
      { now: () => new Date(T0) },
      60,
      new PublishedMetrics(),
    );
    expect(() =>
      cloudwatch.getMetricData({
        StartTime: new Date(T0),
        EndTime: new Date(T0 + 60_000),
        MetricDataQueries: [{ Id: 'e', Expression: 'SUM(METRICS())' }],
      }),
    ).toThrow(/arithmetic/);
  });
});
