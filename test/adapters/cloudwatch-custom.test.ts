import { CloudWatchClient, GetMetricDataCommand, type MetricDataResult } from '@aws-sdk/client-cloudwatch';
import { beforeEach, describe, expect, it } from 'vitest';
import { CloudWatchMetricSource } from '../../functions/adapters/aws/cloudwatch';
import {
  customQueryGroups,
  MAX_QUERIES_PER_REQUEST,
  packRequests,
} from '../../functions/adapters/aws/cloudwatch-custom';
import { type CustomMetricConfig, customMetrics } from '../../functions/core/custom-metrics';
import { mockClient } from '../contract/mock';
import { validParsedConfig } from '../helpers/config';
import { fastRetry, route } from './helpers';

const client = new CloudWatchClient({ region: 'us-east-1' });
const cw = mockClient(client);
const t = (hhmm: string) => new Date(`2025-03-04T${hhmm}:00.000Z`);
const result = (Id: string, points: Array<[string, number]>): MetricDataResult => ({
  Id,
  Timestamps: points.map(([hhmm]) => t(hhmm)),
  Values: points.map(([, v]) => v),
  StatusCode: 'Complete',
});

const ORDERS = validParsedConfig({
  analysis: {
    metrics: [
      {
        name: 'orders',
        kind: 'counts',
        direction: 'lowerIsWorse',
        versionDimension: { name: 'Service', canary: 'web-canary', stable: 'web' },
        good: { namespace: 'Shop', metricName: 'OrdersCompleted', dimensions: { Region: 'eu' } },
        total: {
          expression: 'FILL(tried, 0) + retried',
          metrics: {
            tried: { namespace: 'Shop', metricName: 'OrdersAttempted' },
            retried: { namespace: 'Shop', metricName: 'OrdersRetried', stat: 'Maximum' },
          },
        },
      },
    ],
  },
});

describe('custom metrics through CloudWatch', () => {
  beforeEach(() => cw.reset());

  it("asks for them per version in the load balancer's request: dimensions, statistics, metric math with its inputs", async () => {
    cw.on(GetMetricDataCommand).resolves({ MetricDataResults: [] });
    const source = new CloudWatchMetricSource(client, { retry: fastRetry().retry });
    await source.fetch({
      route: route(),
      from: t('12:00'),
      to: t('12:03'),
      periodSeconds: 60,
      metrics: customMetrics(ORDERS),
    });
    expect(cw.commandCalls(GetMetricDataCommand)).toHaveLength(1);
    const queries = cw.commandCalls(GetMetricDataCommand)[0]?.args[0].input.MetricDataQueries ?? [];
    const byId = new Map(queries.map((q) => [q.Id, q]));
    expect(byId.get('canary_requests')).toBeDefined();
    expect(byId.get('x0_canary_good')).toEqual({
      Id: 'x0_canary_good',
      MetricStat: {
        Metric: {
          Namespace: 'Shop',
          MetricName: 'OrdersCompleted',
          Dimensions: [
            { Name: 'Region', Value: 'eu' },
            { Name: 'Service', Value: 'web-canary' },
          ],
        },
        Period: 60,
        Stat: 'Sum',
      },
      ReturnData: true,
    });
    expect(byId.get('x0_baseline_total')).toEqual({
      Id: 'x0_baseline_total',
      Expression: 'FILL(x0_baseline_total_tried, 0) + x0_baseline_total_retried',
      Period: 60,
      ReturnData: true,
    });
    expect(byId.get('x0_baseline_total_retried')).toMatchObject({
      ReturnData: false,
      MetricStat: { Stat: 'Maximum', Metric: { Dimensions: [{ Name: 'Service', Value: 'web' }] } },
    });
    // The ECS deployer's CPU and memory, per ECS service of the cluster.
    expect(byId.get('x2_canary_value')?.MetricStat?.Metric).toEqual({
      Namespace: 'AWS/ECS',
      MetricName: 'MemoryUtilization',
      Dimensions: [
        { Name: 'ClusterName', Value: 'prod' },
        { Name: 'ServiceName', Value: 'web-canary' },
      ],
    });
    for (const q of queries) expect(q.Id).toMatch(/^[a-z][a-zA-Z0-9_]*$/);
    expect(new Set(queries.map((q) => q.Id)).size).toBe(queries.length);
  });

  it('returns each metric per period for both versions; a count missing where the other role has data is 0', async () => {
    cw.on(GetMetricDataCommand).resolves({
      MetricDataResults: [
        result('x0_canary_good', [['12:00', 9]]),
        result('x0_canary_total', [
          ['12:00', 10],
          ['12:01', 4],
        ]),
        result('x0_baseline_good', [['12:01', 80]]),
        result('x0_baseline_total', [['12:01', 90]]),
        result('x1_canary_value', [['12:02', 41.5]]),
      ],
    });
    const source = new CloudWatchMetricSource(client, { retry: fastRetry().retry });
    const window = await source.fetch({
      route: route(),
      from: t('12:00'),
      to: t('12:03'),
      periodSeconds: 60,
      metrics: customMetrics(ORDERS),
    });
    const [orders, cpu] = window.custom ?? [];
    expect(orders).toEqual({
      name: 'orders',
      canary: [
        { start: t('12:00').toISOString(), good: 9, total: 10 },
        { start: t('12:01').toISOString(), good: 0, total: 4 },
      ],
      baseline: [{ start: t('12:01').toISOString(), good: 80, total: 90 }],
    });
    expect(cpu).toEqual({
      name: 'ecsCpu',
      canary: [{ start: t('12:02').toISOString(), value: 41.5 }],
      baseline: [],
    });
  });

  it("packs the queries into requests of at most GetMetricData's 500, an expression with its inputs", () => {
    const many: CustomMetricConfig[] = Array.from({ length: 40 }, (_, i) => ({
      name: `m${i}`,
      kind: 'gauge',
      direction: 'higherIsWorse',
      tolerance: 0,
      critical: true,
      versionDimension: { name: 'Service', canary: 'c', stable: 's' },
      value: {
        expression: 'a + b + c + d + e + f + g + h + i + j',
        metrics: Object.fromEntries(
          [...'abcdefghij'].map((k) => [k, { namespace: 'Shop', metricName: k.toUpperCase() }]),
        ),
      },
    }));
    const requests = packRequests(customQueryGroups(many, 60));
    expect(requests.length).toBe(2);
    for (const r of requests) {
      expect(r.length).toBeLessThanOrEqual(MAX_QUERIES_PER_REQUEST);
      const ids = new Set(r.map((q) => q.Id));
      for (const q of r.filter((x) => x.Expression)) {
        for (const id of q.Expression?.match(/\bx\d+_\w+/g) ?? []) expect(ids.has(id)).toBe(true);
      }
    }
  });
});
