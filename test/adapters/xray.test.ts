import {
  GetTimeSeriesServiceStatisticsCommand,
  type TimeSeriesServiceStatistics,
  XRayClient,
} from '@aws-sdk/client-xray';
import { beforeEach, describe, expect, it } from 'vitest';
import { groupSelectors, histogramP99, XRayMetricSource } from '../../functions/adapters/aws/xray';
import { TransientError } from '../../functions/core/errors';
import { mockClient } from '../contract/mock';
import { fastRetry, route, throttling } from './helpers';

const client = new XRayClient({ region: 'us-east-1' });
const xray = mockClient(client);

const CANARY = 'service("web") { annotation.version = "canary" }';
const STABLE = 'service("web") { annotation.version = "stable" }';

function point(
  iso: string,
  total: number,
  faults: number,
  histogram: Array<[number, number]>,
): TimeSeriesServiceStatistics {
  return {
    Timestamp: new Date(iso),
    ServiceSummaryStatistics: {
      OkCount: total - faults,
      ErrorStatistics: { ThrottleCount: 0, OtherCount: 0, TotalCount: 0 },
      FaultStatistics: { OtherCount: faults, TotalCount: faults },
      TotalCount: total,
      TotalResponseTime: histogram.reduce((s, [v, c]) => s + v * c, 0),
    },
    ResponseTimeHistogram: histogram.map(([Value, Count]) => ({ Value, Count })),
  };
}

describe('histogramP99', () => {
  it('is the smallest value reaching 99% of the count', () => {
    expect(
      histogramP99([
        { Value: 0.1, Count: 98 },
        { Value: 0.5, Count: 1 },
        { Value: 2, Count: 1 },
      ]),
    ).toBe(0.5);
    expect(
      histogramP99([
        { Value: 2, Count: 1 },
        { Value: 0.1, Count: 99 },
      ]),
    ).toBe(0.1);
    expect(histogramP99([])).toBeNull();
  });
});

describe('XRayMetricSource', () => {
  let retry: ReturnType<typeof fastRetry>;
  let source: XRayMetricSource;

  beforeEach(() => {
    xray.reset();
    retry = fastRetry();
    source = new XRayMetricSource(
      client,
      () => ({
        canary: { entitySelectorExpression: CANARY },
        baseline: { entitySelectorExpression: STABLE },
      }),
      {
        retry: retry.retry,
      },
    );
  });

  const from = new Date('2025-03-04T12:00:00.000Z');
  const to = new Date('2025-03-04T12:03:00.000Z');

  it('asks per version with the selector, follows NextToken, and maps counts, faults and the p99', async () => {
    xray
      .on(GetTimeSeriesServiceStatisticsCommand, { EntitySelectorExpression: CANARY })
      .resolvesOnce({
        TimeSeriesServiceStatistics: [
          point('2025-03-04T12:00:00Z', 100, 3, [
            [0.05, 98],
            [0.4, 2],
          ]),
        ],
        NextToken: 'p2',
      })
      .resolves({ TimeSeriesServiceStatistics: [point('2025-03-04T12:02:00Z', 50, 0, [[0.06, 50]])] });
    xray.on(GetTimeSeriesServiceStatisticsCommand, { EntitySelectorExpression: STABLE }).resolves({
      TimeSeriesServiceStatistics: [
        point('2025-03-04T12:01:00Z', 900, 1, [
          [0.05, 890],
          [0.2, 10],
        ]),
      ],
    });

    const window = await source.fetch({ route: route(), from, to, periodSeconds: 60 });

    const calls = xray.commandCalls(GetTimeSeriesServiceStatisticsCommand).map((c) => c.args[0].input);
    expect(calls).toContainEqual({
      StartTime: from,
      EndTime: to,
      Period: 60,
      EntitySelectorExpression: CANARY,
    });
    expect(calls).toContainEqual({
      StartTime: from,
      EndTime: to,
      Period: 60,
      EntitySelectorExpression: CANARY,
      NextToken: 'p2',
    });
    expect(calls).toContainEqual({
      StartTime: from,
      EndTime: to,
      Period: 60,
      EntitySelectorExpression: STABLE,
    });
    expect(window.canary).toEqual([
      { start: '2025-03-04T12:00:00.000Z', requests: 100, errors: 3, p99Ms: 400 },
      { start: '2025-03-04T12:01:00.000Z', requests: 0, errors: 0, p99Ms: null },
      { start: '2025-03-04T12:02:00.000Z', requests: 50, errors: 0, p99Ms: 60 },
    ]);
    expect(window.baseline[1]).toEqual({
      start: '2025-03-04T12:01:00.000Z',
      requests: 900,
      errors: 1,
      p99Ms: 200,
    });
  });

  it('builds longer periods from 60 s statistics, merging histograms', async () => {
    xray.on(GetTimeSeriesServiceStatisticsCommand, { EntitySelectorExpression: CANARY }).resolves({
      TimeSeriesServiceStatistics: [
        point('2025-03-04T12:00:00Z', 60, 1, [[0.1, 60]]),
        point('2025-03-04T12:01:00Z', 40, 0, [[1, 40]]),
      ],
    });
    xray.on(GetTimeSeriesServiceStatisticsCommand, { EntitySelectorExpression: STABLE }).resolves({});

    const window = await source.fetch({
      route: route(),
      from,
      to: new Date('2025-03-04T12:04:00.000Z'),
      periodSeconds: 120,
    });

    expect(xray.commandCalls(GetTimeSeriesServiceStatisticsCommand)[0]?.args[0].input.Period).toBe(60);
    expect(window.canary).toEqual([
      { start: '2025-03-04T12:00:00.000Z', requests: 100, errors: 1, p99Ms: 1000 },
      { start: '2025-03-04T12:02:00.000Z', requests: 0, errors: 0, p99Ms: null },
    ]);
  });

  it('uses 300 s statistics for five-minute periods, and an X-Ray group when given', async () => {
    const groupArn =
      'arn:aws:xray:us-east-1:123456789012:group/web-canary/ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789ABCDEFGHIJKLMNOP';
    source = new XRayMetricSource(
      client,
      () => ({
        canary: { groupArn, entitySelectorExpression: CANARY },
        baseline: { entitySelectorExpression: STABLE },
      }),
      { retry: retry.retry },
    );
    xray.on(GetTimeSeriesServiceStatisticsCommand).resolves({ TimeSeriesServiceStatistics: [] });

    await source.fetch({
      route: route(),
      from,
      to: new Date('2025-03-04T12:10:00.000Z'),
      periodSeconds: 300,
    });

    const calls = xray.commandCalls(GetTimeSeriesServiceStatisticsCommand).map((c) => c.args[0].input);
    expect(calls).toContainEqual(expect.objectContaining({ GroupARN: groupArn, Period: 300 }));
    expect(calls.find((c) => c.GroupARN)?.EntitySelectorExpression).toBe(CANARY);
  });

  it("counts the service node's own statistics, one per request reaching it, never the edges", async () => {
    // A traced request through web to a downstream call: the response holds the service summary (web's segments)
    // and may hold edge statistics (client → web and web → downstream), which would count the request twice.
    xray.on(GetTimeSeriesServiceStatisticsCommand, { EntitySelectorExpression: CANARY }).resolves({
      TimeSeriesServiceStatistics: [
        {
          Timestamp: new Date('2025-03-04T12:00:00Z'),
          ServiceSummaryStatistics: {
            OkCount: 9,
            FaultStatistics: { TotalCount: 1 },
            TotalCount: 10,
            TotalResponseTime: 1,
          },
          EdgeSummaryStatistics: {
            OkCount: 17,
            FaultStatistics: { TotalCount: 3 },
            TotalCount: 20,
            TotalResponseTime: 1.5,
          },
          ResponseTimeHistogram: [{ Value: 0.1, Count: 10 }],
        },
        {
          Timestamp: new Date('2025-03-04T12:01:00Z'),
          EdgeSummaryStatistics: {
            OkCount: 8,
            FaultStatistics: { TotalCount: 2 },
            TotalCount: 10,
            TotalResponseTime: 1,
          },
          ResponseTimeHistogram: [{ Value: 0.5, Count: 10 }],
        },
      ],
    });
    xray.on(GetTimeSeriesServiceStatisticsCommand, { EntitySelectorExpression: STABLE }).resolves({});

    const window = await source.fetch({ route: route(), from, to, periodSeconds: 60 });

    expect(window.canary.slice(0, 2)).toEqual([
      { start: '2025-03-04T12:00:00.000Z', requests: 10, errors: 1, p99Ms: 100 },
      { start: '2025-03-04T12:01:00.000Z', requests: 0, errors: 0, p99Ms: null },
    ]);
  });

  it("asks each version's group by name for the service's statistics, counting faults and throttles as failures and slow requests from the histogram", async () => {
    // Prepare
    source = new XRayMetricSource(
      client,
      groupSelectors({
        canaryGroup: 'web-canary',
        stableGroup: 'web-stable',
        entitySelectorExpression: 'service("web")',
      }),
      { retry: retry.retry },
    );
    const edge = (total: number, faults: number, throttles: number, other4xx: number) => ({
      Timestamp: new Date('2025-03-04T12:00:00Z'),
      ServiceSummaryStatistics: {
        OkCount: total - faults - throttles - other4xx,
        ErrorStatistics: { ThrottleCount: throttles, OtherCount: other4xx, TotalCount: throttles + other4xx },
        FaultStatistics: { OtherCount: faults, TotalCount: faults },
        TotalCount: total,
        TotalResponseTime: 1,
      },
      ResponseTimeHistogram: [
        { Value: 0.01, Count: total - 12 },
        { Value: 0.05, Count: 10 },
        { Value: 0.4, Count: 2 },
      ],
    });
    xray
      .on(GetTimeSeriesServiceStatisticsCommand, { GroupName: 'web-canary' })
      .resolves({ TimeSeriesServiceStatistics: [edge(200, 6, 2, 9)] });
    xray
      .on(GetTimeSeriesServiceStatisticsCommand, { GroupName: 'web-stable' })
      .resolves({ TimeSeriesServiceStatistics: [edge(1000, 1, 0, 40)] });

    // Act
    const window = await source.fetch({
      route: route(),
      from,
      to: new Date('2025-03-04T12:01:00.000Z'),
      periodSeconds: 60,
      thresholds: { p99Ms: 100, p50Ms: 20 },
    });

    // Assess
    const calls = xray.commandCalls(GetTimeSeriesServiceStatisticsCommand).map((c) => c.args[0].input);
    expect(calls).toEqual(
      expect.arrayContaining([
        {
          StartTime: from,
          EndTime: new Date('2025-03-04T12:01:00.000Z'),
          Period: 60,
          GroupName: 'web-canary',
          EntitySelectorExpression: 'service("web")',
        },
        {
          StartTime: from,
          EndTime: new Date('2025-03-04T12:01:00.000Z'),
          Period: 60,
          GroupName: 'web-stable',
          EntitySelectorExpression: 'service("web")',
        },
      ]),
    );
    expect(calls).toHaveLength(2);
    expect(window.slowThresholdMs).toBe(100);
    expect(window.medianThresholdMs).toBe(20);
    expect(window.canary).toEqual([
      { start: '2025-03-04T12:00:00.000Z', requests: 200, errors: 8, p99Ms: 50, slow: 2, aboveMedian: 12 },
    ]);
    expect(window.baseline[0]).toMatchObject({ requests: 1000, errors: 1, slow: 2, aboveMedian: 12 });
  });

  it('passes the entity selector with the group when the config sets one', async () => {
    // Prepare
    source = new XRayMetricSource(
      client,
      groupSelectors({
        canaryGroup: 'web-canary',
        stableGroup: 'web-stable',
        entitySelectorExpression: STABLE,
      }),
      { retry: retry.retry },
    );
    xray.on(GetTimeSeriesServiceStatisticsCommand).resolves({});

    // Act
    await source.fetch({ route: route(), from, to, periodSeconds: 60 });

    // Assess
    const calls = xray.commandCalls(GetTimeSeriesServiceStatisticsCommand).map((c) => c.args[0].input);
    expect(calls).toContainEqual(
      expect.objectContaining({ GroupName: 'web-canary', EntitySelectorExpression: STABLE }),
    );
  });

  it('refuses periods X-Ray cannot aggregate to', async () => {
    await expect(source.fetch({ route: route(), from, to, periodSeconds: 30 })).rejects.toThrow(RangeError);
    expect(xray.calls()).toHaveLength(0);
  });

  it('throttling (ThrottledException) is retried, then Transient', async () => {
    xray
      .on(GetTimeSeriesServiceStatisticsCommand)
      .rejects(
        Object.assign(throttling(), { name: 'ThrottledException', $metadata: { httpStatusCode: 429 } }),
      );

    await expect(source.fetch({ route: route(), from, to, periodSeconds: 60 })).rejects.toBeInstanceOf(
      TransientError,
    );
    expect(xray.commandCalls(GetTimeSeriesServiceStatisticsCommand)).toHaveLength(6);
  });
});
