import {
  CloudWatchClient,
  DescribeAlarmsCommand,
  GetMetricDataCommand,
  type MetricDataResult,
} from '@aws-sdk/client-cloudwatch';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  CloudWatchMetricSource,
  countAboveStat,
  loadBalancerDimension,
  targetGroupDimension,
} from '../../functions/adapters/aws/cloudwatch';
import { CloudWatchAlarmSource } from '../../functions/adapters/aws/cloudwatch-alarms';
import { AccessDeniedError } from '../../functions/adapters/aws/sdk';
import { TargetNotFoundError, TransientError } from '../../functions/core/errors';
import { judge } from '../../functions/core/judge';
import { verdictText } from '../../functions/views/evidence-text';
import { mockClient } from '../contract/mock';
import { validParsedConfig } from '../helpers/config';
import {
  awsError,
  CANARY_TG,
  fastRetry,
  LISTENER_ARN,
  RULE_ARN,
  route,
  STABLE_TG,
  throttling,
} from './helpers';

const client = new CloudWatchClient({ region: 'us-east-1' });
const cw = mockClient(client);

const t = (hhmm: string) => new Date(`2025-03-04T${hhmm}:00.000Z`);

function result(
  Id: string,
  points: Array<[string, number]>,
  StatusCode: MetricDataResult['StatusCode'] = 'Complete',
): MetricDataResult {
  return {
    Id,
    Label: Id,
    Timestamps: points.map(([hhmm]) => t(hhmm)),
    Values: points.map(([, v]) => v),
    StatusCode,
    Messages: [],
  };
}

describe('dimensions', () => {
  it('derives LoadBalancer from a listener or rule ARN and TargetGroup from a target group ARN', () => {
    expect(loadBalancerDimension(LISTENER_ARN)).toBe('app/web/50dc6c495c0c9188');
    expect(loadBalancerDimension(RULE_ARN)).toBe('app/web/50dc6c495c0c9188');
    expect(targetGroupDimension(STABLE_TG)).toBe('targetgroup/web-stable/73e2d6bc24d8a067');
    expect(() => loadBalancerDimension('arn:aws:sns:us-east-1:123456789012:topic')).toThrow(RangeError);
  });
});

describe('CloudWatchMetricSource', () => {
  let retry: ReturnType<typeof fastRetry>;
  let source: CloudWatchMetricSource;

  beforeEach(() => {
    cw.reset();
    retry = fastRetry();
    source = new CloudWatchMetricSource(client, { retry: retry.retry });
  });

  const query = {
    route: route(),
    from: new Date('2025-03-04T12:00:30.000Z'),
    to: new Date('2025-03-04T12:03:10.000Z'),
    periodSeconds: 60,
  };

  it('asks for requests, target responses, connection errors, target health and p99 of both target groups in one request', async () => {
    cw.on(GetMetricDataCommand).resolves({ MetricDataResults: [], Messages: [] });

    await source.fetch(query);

    expect(cw.commandCalls(GetMetricDataCommand)).toHaveLength(1);
    const input = cw.commandCalls(GetMetricDataCommand)[0]?.args[0].input;
    const dims = (tg: string) => [
      { Name: 'LoadBalancer', Value: 'app/web/50dc6c495c0c9188' },
      { Name: 'TargetGroup', Value: tg },
    ];
    const q = (Id: string, MetricName: string, Stat: string, tg: string) => ({
      Id,
      MetricStat: {
        Metric: { Namespace: 'AWS/ApplicationELB', MetricName, Dimensions: dims(tg) },
        Period: 60,
        Stat,
      },
      ReturnData: true,
    });
    const canary = 'targetgroup/web-canary/2453ed029918f21f';
    const stable = 'targetgroup/web-stable/73e2d6bc24d8a067';
    const perVersion = (v: string, tg: string) => [
      q(`${v}_requests`, 'RequestCount', 'Sum', tg),
      q(`${v}_target2xx`, 'HTTPCode_Target_2XX_Count', 'Sum', tg),
      q(`${v}_target3xx`, 'HTTPCode_Target_3XX_Count', 'Sum', tg),
      q(`${v}_target4xx`, 'HTTPCode_Target_4XX_Count', 'Sum', tg),
      q(`${v}_target5xx`, 'HTTPCode_Target_5XX_Count', 'Sum', tg),
      q(`${v}_connectionErrors`, 'TargetConnectionErrorCount', 'Sum', tg),
      q(`${v}_healthyHosts`, 'HealthyHostCount', 'Maximum', tg),
      q(`${v}_unhealthyHosts`, 'UnHealthyHostCount', 'Minimum', tg),
      q(`${v}_p99`, 'TargetResponseTime', 'p99', tg),
    ];
    expect(input).toEqual({
      MetricDataQueries: [...perVersion('canary', canary), ...perVersion('baseline', stable)],
      StartTime: t('12:00'),
      // The minute still running at `to` (12:03) is partial: not asked for.
      EndTime: t('12:03'),
      ScanBy: 'TimestampAscending',
    });
    for (const q of input?.MetricDataQueries ?? []) expect(q.Id).toMatch(/^[a-z][a-zA-Z0-9_]*$/);
  });

  it('merges pages (PartialData then the rest) into aligned whole periods; a missing period is zero requests', async () => {
    const longer = { ...query, to: new Date('2025-03-04T12:04:10.000Z') };
    cw.on(GetMetricDataCommand)
      .resolvesOnce({
        MetricDataResults: [
          result('canary_requests', [['12:00', 40]], 'PartialData'),
          result('canary_target2xx', [['12:00', 38]], 'PartialData'),
          result('canary_target5xx', [['12:00', 2]], 'PartialData'),
          result('canary_p99', [['12:00', 0.25]], 'PartialData'),
          result(
            'baseline_requests',
            [
              ['12:00', 760],
              ['12:01', 700],
            ],
            'PartialData',
          ),
          result(
            'baseline_target2xx',
            [
              ['12:00', 760],
              ['12:01', 700],
            ],
            'PartialData',
          ),
          result('baseline_target5xx', [], 'PartialData'),
          result(
            'baseline_p99',
            [
              ['12:00', 0.2],
              ['12:01', 0.18],
            ],
            'PartialData',
          ),
        ],
        NextToken: 'token-2',
      })
      .resolves({
        MetricDataResults: [
          result('canary_requests', [['12:03', 38]]),
          result('canary_target2xx', [['12:03', 38]]),
          result('canary_target5xx', []),
          result('canary_p99', [['12:03', 0.3]]),
          result('baseline_requests', [['12:03', 720]]),
          result('baseline_target2xx', [['12:03', 719]]),
          result('baseline_target5xx', [['12:03', 1]]),
          result('baseline_p99', [['12:03', 0.19]]),
        ],
      });

    const window = await source.fetch(longer);

    expect(cw.commandCalls(GetMetricDataCommand)[1]?.args[0].input.NextToken).toBe('token-2');
    const ok = { targetErrors: 0, noResponse: 0, connectionErrors: 0 };
    expect(window).toEqual({
      from: '2025-03-04T12:00:30.000Z',
      to: '2025-03-04T12:04:00.000Z',
      periodSeconds: 60,
      canary: [
        { start: '2025-03-04T12:00:00.000Z', requests: 40, errors: 2, ...ok, targetErrors: 2, p99Ms: 250 },
        { start: '2025-03-04T12:01:00.000Z', requests: 0, errors: 0, ...ok, p99Ms: null },
        { start: '2025-03-04T12:02:00.000Z', requests: 0, errors: 0, ...ok, p99Ms: null },
        { start: '2025-03-04T12:03:00.000Z', requests: 38, errors: 0, ...ok, p99Ms: 300 },
      ],
      baseline: [
        { start: '2025-03-04T12:00:00.000Z', requests: 760, errors: 0, ...ok, p99Ms: 200 },
        { start: '2025-03-04T12:01:00.000Z', requests: 700, errors: 0, ...ok, p99Ms: 180 },
        { start: '2025-03-04T12:02:00.000Z', requests: 0, errors: 0, ...ok, p99Ms: null },
        { start: '2025-03-04T12:03:00.000Z', requests: 720, errors: 1, ...ok, targetErrors: 1, p99Ms: 190 },
      ],
    });
  });

  it('no traffic at all is a window of zeros, not an error', async () => {
    cw.on(GetMetricDataCommand).resolves({ MetricDataResults: [] });

    const window = await source.fetch({ ...query, route: route({ canaryTargetGroupArn: CANARY_TG }) });

    expect(window.canary.map((p) => p.requests)).toEqual([0, 0, 0]);
    expect(window.canary.every((p) => p.p99Ms === null)).toBe(true);
  });

  it('retries throttling, then surfaces it as Transient', async () => {
    cw.on(GetMetricDataCommand).rejects(awsError('Throttling', 400, 'Rate exceeded'));

    await expect(source.fetch(query)).rejects.toBeInstanceOf(TransientError);
    expect(cw.commandCalls(GetMetricDataCommand)).toHaveLength(3);
    expect(retry.sleeps).toHaveLength(2);
  });

  it('recovers when throttling passes', async () => {
    cw.on(GetMetricDataCommand)
      .rejectsOnce(throttling())
      .resolves({ MetricDataResults: [result('canary_requests', [['12:02', 5]])] });

    const window = await source.fetch(query);

    expect(window.canary[2]?.requests).toBe(5);
  });

  it('a result with StatusCode InternalError is Transient; Forbidden is access denied', async () => {
    cw.on(GetMetricDataCommand).resolves({
      MetricDataResults: [result('canary_requests', [], 'InternalError')],
    });
    await expect(source.fetch(query)).rejects.toBeInstanceOf(TransientError);

    cw.on(GetMetricDataCommand).resolves({ MetricDataResults: [result('canary_requests', [], 'Forbidden')] });
    await expect(source.fetch(query)).rejects.toBeInstanceOf(AccessDeniedError);
  });

  it('access denied names the action', async () => {
    cw.on(GetMetricDataCommand).rejects(
      awsError('AccessDenied', 403, 'not authorized to perform: cloudwatch:GetMetricData'),
    );

    await expect(source.fetch(query)).rejects.toThrow(/cloudwatch:GetMetricData/);
    expect(cw.commandCalls(GetMetricDataCommand)).toHaveLength(1);
  });

  it('refuses a period ALB metrics cannot give', async () => {
    await expect(source.fetch({ ...query, periodSeconds: 45 })).rejects.toThrow(RangeError);
    expect(cw.calls()).toHaveLength(0);
  });
});

describe('CloudWatchMetricSource: failed requests and settled periods', () => {
  let source: CloudWatchMetricSource;

  beforeEach(() => {
    cw.reset();
    source = new CloudWatchMetricSource(client, { retry: fastRetry().retry });
  });

  const query = {
    route: route(),
    from: new Date('2025-03-04T12:00:00.000Z'),
    to: new Date('2025-03-04T12:03:00.000Z'),
    periodSeconds: 60,
  };

  it('counts requests that got no target response as failures, once, with failed connections as evidence', async () => {
    cw.on(GetMetricDataCommand).resolves({
      MetricDataResults: [
        // 12:00 healthy; 12:01 the canary refuses connections: ALB answers 502 itself (no target code).
        result('canary_requests', [
          ['12:00', 300],
          ['12:01', 300],
          ['12:02', 300],
        ]),
        result('canary_target2xx', [
          ['12:00', 297],
          ['12:01', 40],
        ]),
        result('canary_target4xx', [['12:00', 2]]),
        result('canary_target5xx', [
          ['12:00', 1],
          ['12:01', 10],
        ]),
        result('canary_connectionErrors', [
          ['12:01', 250],
          ['12:02', 310],
        ]),
        result('baseline_requests', [
          ['12:00', 5700],
          ['12:01', 5700],
          ['12:02', 5700],
        ]),
        result('baseline_target2xx', [
          ['12:00', 5694],
          ['12:01', 5695],
          ['12:02', 5694],
        ]),
        result('baseline_target3xx', [['12:00', 3]]),
        result('baseline_target5xx', [
          ['12:00', 3],
          ['12:01', 5],
          ['12:02', 6],
        ]),
      ],
    });

    const window = await source.fetch(query);

    expect(
      window.canary.map(({ requests, errors, targetErrors, noResponse, connectionErrors }) => ({
        requests,
        errors,
        targetErrors,
        noResponse,
        connectionErrors,
      })),
    ).toEqual([
      { requests: 300, errors: 1, targetErrors: 1, noResponse: 0, connectionErrors: 0 },
      { requests: 300, errors: 260, targetErrors: 10, noResponse: 250, connectionErrors: 250 },
      // More failed connections than requests (connections, not requests): the requests bound the failures.
      { requests: 300, errors: 300, targetErrors: 0, noResponse: 300, connectionErrors: 310 },
    ]);
    expect(window.baseline.map((p) => p.errors)).toEqual([3, 5, 6]);
  });

  it('a crashing canary fails the judge instead of lowering its own error rate', async () => {
    const minutes = ['12:00', '12:01', '12:02'];
    cw.on(GetMetricDataCommand).resolves({
      MetricDataResults: [
        result(
          'canary_requests',
          minutes.map((m) => [m, 300]),
        ),
        result('canary_target2xx', [
          ['12:00', 300],
          ['12:01', 300],
        ]),
        result('canary_connectionErrors', [['12:02', 300]]),
        result(
          'baseline_requests',
          minutes.map((m) => [m, 5700]),
        ),
        result(
          'baseline_target2xx',
          minutes.map((m) => [m, 5694]),
        ),
        result(
          'baseline_target5xx',
          minutes.map((m) => [m, 6]),
        ),
      ],
    });

    const verdict = judge(
      await source.fetch(query),
      [],
      validParsedConfig({ analysis: { alarms: [] } }).analysis,
    );

    expect(verdict.result).toBe('fail');
    expect(verdict.canary).toMatchObject({ requests: 900, errors: 300, noResponse: 300 });
    expect(verdictText(verdict)).toMatch(/300 without a target response/);
  });

  it('judges whole periods only: the minute still running at `to` is left out even when CloudWatch has it', async () => {
    cw.on(GetMetricDataCommand).resolves({
      MetricDataResults: [
        result('canary_requests', [
          ['12:01', 300],
          ['12:02', 120],
        ]),
        result('canary_target2xx', [
          ['12:01', 300],
          ['12:02', 120],
        ]),
      ],
    });

    const window = await source.fetch({
      ...query,
      from: new Date('2025-03-04T12:01:00.000Z'),
      to: new Date('2025-03-04T12:02:40.000Z'),
    });

    expect(window.to).toBe('2025-03-04T12:02:00.000Z');
    expect(window.canary.map((p) => [p.start, p.requests])).toEqual([['2025-03-04T12:01:00.000Z', 300]]);
    expect(cw.commandCalls(GetMetricDataCommand)[0]?.args[0].input.EndTime).toEqual(t('12:02'));
  });

  it('nothing settled yet (to within the first minute): an empty window and no call', async () => {
    const window = await source.fetch({ ...query, to: new Date('2025-03-04T12:00:50.000Z') });

    expect(window.canary).toEqual([]);
    expect(cw.calls()).toHaveLength(0);
  });

  it('maps target health per period: most healthy, fewest unhealthy; unknown when not reported', async () => {
    cw.on(GetMetricDataCommand).resolves({
      MetricDataResults: [
        result('canary_requests', [['12:01', 300]]),
        result('canary_healthyHosts', [
          ['12:00', 2],
          ['12:01', 0],
        ]),
        result('canary_unhealthyHosts', [
          ['12:00', 0],
          ['12:01', 2],
        ]),
      ],
    });

    const window = await source.fetch(query);

    expect(window.canary.map((p) => [p.healthyHosts, p.unhealthyHosts])).toEqual([
      [2, 0],
      [0, 2],
      [undefined, undefined],
    ]);
    expect(window.canary[2]).not.toHaveProperty('healthyHosts');
  });

  it('reads a missing HealthyHostCount as 0 healthy when the stable group reported one that minute', async () => {
    // The canary group lost every target at 12:01: no HealthyHostCount datapoint for it ("no data for a metric,
    // the metric is not reported"), while the stable group's shows the load balancer reported that minute.
    cw.on(GetMetricDataCommand).resolves({
      MetricDataResults: [
        result('canary_healthyHosts', [['12:00', 2]]),
        result('baseline_healthyHosts', [
          ['12:00', 6],
          ['12:01', 6],
        ]),
      ],
    });

    const window = await source.fetch(query);

    expect(window.canary.map((p) => p.healthyHosts)).toEqual([2, 0, undefined]);
    expect(window.baseline.map((p) => p.healthyHosts)).toEqual([6, 6, undefined]);
  });
});

describe('CloudWatchMetricSource with latency thresholds', () => {
  let source: CloudWatchMetricSource;

  beforeEach(() => {
    cw.reset();
    source = new CloudWatchMetricSource(client, { retry: fastRetry().retry });
  });

  const canary = 'targetgroup/web-canary/2453ed029918f21f';
  const stable = 'targetgroup/web-stable/73e2d6bc24d8a067';
  const metric = (MetricName: string, tg: string) => ({
    Namespace: 'AWS/ApplicationELB',
    MetricName,
    Dimensions: [
      { Name: 'LoadBalancer', Value: 'app/web/50dc6c495c0c9188' },
      { Name: 'TargetGroup', Value: tg },
    ],
  });
  const q = (Id: string, MetricName: string, Stat: string, tg: string, Period = 60) => ({
    Id,
    MetricStat: { Metric: metric(MetricName, tg), Period, Stat },
    ReturnData: true,
  });
  const query = {
    route: route(),
    from: new Date('2025-03-04T12:00:30.000Z'),
    to: new Date('2025-03-04T12:03:10.000Z'),
    periodSeconds: 60,
    thresholds: { p99Ms: 320, p50Ms: 85.5 },
  };

  it('formats thresholds as TC(<seconds>:), to the microsecond', () => {
    expect(countAboveStat(320)).toBe('TC(0.32:)');
    expect(countAboveStat(85.5)).toBe('TC(0.0855:)');
    expect(countAboveStat(212.00000000000003)).toBe('TC(0.212:)');
    expect(countAboveStat(1500)).toBe('TC(1.5:)');
  });

  it('adds the trimmed counts above both thresholds to the same single request', async () => {
    cw.on(GetMetricDataCommand).resolves({ MetricDataResults: [] });

    await source.fetch(query);

    expect(cw.commandCalls(GetMetricDataCommand)).toHaveLength(1);
    const input = cw.commandCalls(GetMetricDataCommand)[0]?.args[0].input;
    expect(input).toEqual({
      MetricDataQueries: (['canary', 'baseline'] as const).flatMap((v) => {
        const tg = v === 'canary' ? canary : stable;
        return [
          q(`${v}_requests`, 'RequestCount', 'Sum', tg),
          q(`${v}_target2xx`, 'HTTPCode_Target_2XX_Count', 'Sum', tg),
          q(`${v}_target3xx`, 'HTTPCode_Target_3XX_Count', 'Sum', tg),
          q(`${v}_target4xx`, 'HTTPCode_Target_4XX_Count', 'Sum', tg),
          q(`${v}_target5xx`, 'HTTPCode_Target_5XX_Count', 'Sum', tg),
          q(`${v}_connectionErrors`, 'TargetConnectionErrorCount', 'Sum', tg),
          q(`${v}_healthyHosts`, 'HealthyHostCount', 'Maximum', tg),
          q(`${v}_unhealthyHosts`, 'UnHealthyHostCount', 'Minimum', tg),
          q(`${v}_p99`, 'TargetResponseTime', 'p99', tg),
          q(`${v}_slow`, 'TargetResponseTime', 'TC(0.32:)', tg),
          q(`${v}_aboveMedian`, 'TargetResponseTime', 'TC(0.0855:)', tg),
        ];
      }),
      StartTime: t('12:00'),
      EndTime: t('12:03'),
      ScanBy: 'TimestampAscending',
    });
    for (const mq of input?.MetricDataQueries ?? []) expect(mq.Id).toMatch(/^[a-z][a-zA-Z0-9_]*$/);
  });

  it('maps the counts per period; a missing count datapoint is 0; the window carries the thresholds', async () => {
    cw.on(GetMetricDataCommand).resolves({
      MetricDataResults: [
        result('canary_target2xx', [
          ['12:00', 40],
          ['12:03', 38],
        ]),
        result('baseline_target2xx', [
          ['12:00', 760],
          ['12:01', 700],
          ['12:03', 720],
        ]),
        result('canary_requests', [
          ['12:00', 40],
          ['12:03', 38],
        ]),
        result('canary_errors', []),
        result('canary_p99', [
          ['12:00', 0.25],
          ['12:03', 0.4],
        ]),
        // 12:00 had no request above 320 ms: CloudWatch returns no datapoint.
        result('canary_slow', [['12:03', 3]]),
        result('canary_aboveMedian', [
          ['12:00', 19],
          ['12:03', 25],
        ]),
        result('baseline_requests', [
          ['12:00', 760],
          ['12:01', 700],
          ['12:03', 720],
        ]),
        result('baseline_errors', []),
        result('baseline_p99', [
          ['12:00', 0.3],
          ['12:01', 0.31],
          ['12:03', 0.33],
        ]),
        result('baseline_slow', [
          ['12:00', 7],
          ['12:01', 6],
          ['12:03', 8],
        ]),
        result('baseline_aboveMedian', [
          ['12:00', 381],
          ['12:01', 349],
          ['12:03', 362],
        ]),
      ],
    });

    const window = await source.fetch({ ...query, to: new Date('2025-03-04T12:04:10.000Z') });

    const ok = { targetErrors: 0, noResponse: 0, connectionErrors: 0 };
    expect(window).toEqual({
      from: '2025-03-04T12:00:30.000Z',
      to: '2025-03-04T12:04:00.000Z',
      periodSeconds: 60,
      slowThresholdMs: 320,
      medianThresholdMs: 85.5,
      canary: [
        {
          start: '2025-03-04T12:00:00.000Z',
          requests: 40,
          errors: 0,
          ...ok,
          p99Ms: 250,
          slow: 0,
          aboveMedian: 19,
        },
        {
          start: '2025-03-04T12:01:00.000Z',
          requests: 0,
          errors: 0,
          ...ok,
          p99Ms: null,
          slow: 0,
          aboveMedian: 0,
        },
        {
          start: '2025-03-04T12:02:00.000Z',
          requests: 0,
          errors: 0,
          ...ok,
          p99Ms: null,
          slow: 0,
          aboveMedian: 0,
        },
        {
          start: '2025-03-04T12:03:00.000Z',
          requests: 38,
          errors: 0,
          ...ok,
          p99Ms: 400,
          slow: 3,
          aboveMedian: 25,
        },
      ],
      baseline: [
        {
          start: '2025-03-04T12:00:00.000Z',
          requests: 760,
          errors: 0,
          ...ok,
          p99Ms: 300,
          slow: 7,
          aboveMedian: 381,
        },
        {
          start: '2025-03-04T12:01:00.000Z',
          requests: 700,
          errors: 0,
          ...ok,
          p99Ms: 310,
          slow: 6,
          aboveMedian: 349,
        },
        {
          start: '2025-03-04T12:02:00.000Z',
          requests: 0,
          errors: 0,
          ...ok,
          p99Ms: null,
          slow: 0,
          aboveMedian: 0,
        },
        {
          start: '2025-03-04T12:03:00.000Z',
          requests: 720,
          errors: 0,
          ...ok,
          p99Ms: 330,
          slow: 8,
          aboveMedian: 362,
        },
      ],
    });
  });

  it('keeps the counts nested and within the requests', async () => {
    cw.on(GetMetricDataCommand).resolves({
      MetricDataResults: [
        result('canary_requests', [['12:01', 10]]),
        result('canary_target2xx', [['12:01', 10]]),
        result('canary_slow', [['12:01', 12]]),
        result('canary_aboveMedian', [['12:01', 4]]),
      ],
    });

    const window = await source.fetch(query);

    expect(window.canary[1]).toMatchObject({ requests: 10, slow: 10, aboveMedian: 10 });
  });

  it('without thresholds, asks for no counts and reports none', async () => {
    cw.on(GetMetricDataCommand).resolves({ MetricDataResults: [result('canary_requests', [['12:01', 10]])] });

    const { thresholds: _, ...plain } = query;
    const window = await source.fetch(plain);

    const stats = cw
      .commandCalls(GetMetricDataCommand)[0]
      ?.args[0].input.MetricDataQueries?.map((mq) => mq.MetricStat?.Stat);
    const one = ['Sum', 'Sum', 'Sum', 'Sum', 'Sum', 'Sum', 'Maximum', 'Minimum', 'p99'];
    expect(stats).toEqual([...one, ...one]);
    expect(window).not.toHaveProperty('slowThresholdMs');
    expect(window).not.toHaveProperty('medianThresholdMs');
    expect(window.canary.every((p) => !('slow' in p) && !('aboveMedian' in p))).toBe(true);
  });

  it('refuses a negative or non-finite threshold before calling CloudWatch', async () => {
    await expect(source.fetch({ ...query, thresholds: { p99Ms: -1, p50Ms: 10 } })).rejects.toThrow(
      RangeError,
    );
    await expect(source.fetch({ ...query, thresholds: { p99Ms: 300, p50Ms: Number.NaN } })).rejects.toThrow(
      RangeError,
    );
    expect(cw.calls()).toHaveLength(0);
  });

  describe('baselineThresholds', () => {
    const span = {
      route: route(),
      from: new Date('2025-03-04T11:30:00.000Z'),
      to: new Date('2025-03-04T12:00:00.000Z'),
    };

    it("asks for the stable target group's p99 and p50 over the span as one period", async () => {
      cw.on(GetMetricDataCommand).resolves({
        MetricDataResults: [
          result('baseline_p99', [['11:30', 0.32]]),
          result('baseline_p50', [['11:30', 0.0855]]),
        ],
      });

      const thresholds = await source.baselineThresholds(span);

      expect(thresholds).toEqual({ p99Ms: 320, p50Ms: 85.5 });
      expect(cw.commandCalls(GetMetricDataCommand).map((c) => c.args[0].input)).toEqual([
        {
          MetricDataQueries: [
            q('baseline_p99', 'TargetResponseTime', 'p99', stable, 1800),
            q('baseline_p50', 'TargetResponseTime', 'p50', stable, 1800),
          ],
          StartTime: span.from,
          EndTime: span.to,
          ScanBy: 'TimestampAscending',
        },
      ]);
    });

    it('rounds the span out to whole minutes; two datapoints: the larger', async () => {
      cw.on(GetMetricDataCommand).resolves({
        MetricDataResults: [
          result('baseline_p99', [
            ['11:30', 0.3],
            ['12:01', 0.35],
          ]),
          result('baseline_p50', [
            ['11:30', 0.09],
            ['12:01', 0.08],
          ]),
        ],
      });

      const thresholds = await source.baselineThresholds({
        route: route(),
        from: new Date('2025-03-04T11:30:20.000Z'),
        to: new Date('2025-03-04T12:00:20.000Z'),
      });

      expect(thresholds).toEqual({ p99Ms: 350, p50Ms: 90 });
      const input = cw.commandCalls(GetMetricDataCommand)[0]?.args[0].input;
      expect(input?.StartTime).toEqual(t('11:30'));
      expect(input?.EndTime).toEqual(t('12:01'));
      expect(input?.MetricDataQueries?.map((mq) => mq.MetricStat?.Period)).toEqual([1860, 1860]);
    });

    it('no stable traffic in the span (no datapoint): undefined', async () => {
      cw.on(GetMetricDataCommand).resolves({
        MetricDataResults: [result('baseline_p99', []), result('baseline_p50', [])],
      });

      await expect(source.baselineThresholds(span)).resolves.toBeUndefined();
    });

    it('a Forbidden result is access denied', async () => {
      cw.on(GetMetricDataCommand).resolves({ MetricDataResults: [result('baseline_p99', [], 'Forbidden')] });

      await expect(source.baselineThresholds(span)).rejects.toBeInstanceOf(AccessDeniedError);
    });
  });
});

describe('CloudWatchAlarmSource', () => {
  let source: CloudWatchAlarmSource;

  beforeEach(() => {
    cw.reset();
    source = new CloudWatchAlarmSource(client, { retry: fastRetry().retry });
  });

  const metricAlarm = (AlarmName: string, StateValue: 'OK' | 'ALARM' | 'INSUFFICIENT_DATA') => ({
    AlarmName,
    AlarmArn: `arn:aws:cloudwatch:us-east-1:123456789012:alarm:${AlarmName}`,
    StateValue,
    StateReason: 'Threshold Crossed',
    MetricName: 'HTTPCode_Target_5XX_Count',
    Namespace: 'AWS/ApplicationELB',
  });

  it('reads metric and composite alarms, in the order asked', async () => {
    cw.on(DescribeAlarmsCommand).resolves({
      MetricAlarms: [metricAlarm('web-5xx', 'OK')],
      CompositeAlarms: [{ AlarmName: 'web-health', AlarmRule: 'ALARM(web-5xx)', StateValue: 'ALARM' }],
    });

    const states = await source.states(['web-health', 'web-5xx']);

    expect(states).toEqual([
      { name: 'web-health', state: 'ALARM' },
      { name: 'web-5xx', state: 'OK' },
    ]);
    expect(cw.commandCalls(DescribeAlarmsCommand)[0]?.args[0].input).toEqual({
      AlarmNames: ['web-health', 'web-5xx'],
      AlarmTypes: ['MetricAlarm', 'CompositeAlarm'],
    });
  });

  it('asks at most 100 names per call and follows NextToken', async () => {
    const names = Array.from({ length: 150 }, (_, i) => `alarm-${i}`);
    cw.on(DescribeAlarmsCommand).callsFake((input: { AlarmNames: string[]; NextToken?: string }) => {
      const half = Math.ceil(input.AlarmNames.length / 2);
      const part = input.NextToken ? input.AlarmNames.slice(half) : input.AlarmNames.slice(0, half);
      return {
        MetricAlarms: part.map((n) => metricAlarm(n, 'OK')),
        ...(input.NextToken ? {} : { NextToken: `next-${input.AlarmNames[0]}` }),
      };
    });

    const states = await source.states(names);

    const calls = cw.commandCalls(DescribeAlarmsCommand).map((c) => c.args[0].input);
    expect(calls.map((c) => [c.AlarmNames?.length, c.NextToken])).toEqual([
      [100, undefined],
      [100, 'next-alarm-0'],
      [50, undefined],
      [50, 'next-alarm-100'],
    ]);
    expect(states).toHaveLength(150);
    expect(states.every((s) => s.state === 'OK')).toBe(true);
  });

  it('a configured alarm that does not exist is an error naming it', async () => {
    cw.on(DescribeAlarmsCommand).resolves({
      MetricAlarms: [metricAlarm('web-5xx', 'OK')],
      CompositeAlarms: [],
    });

    await expect(source.states(['web-5xx', 'web-latency'])).rejects.toThrow(
      new TargetNotFoundError('CloudWatch alarm not found: web-latency'),
    );
  });

  it('no alarms, no call', async () => {
    expect(await source.states([])).toEqual([]);
    expect(cw.calls()).toHaveLength(0);
  });

  it('throttling that persists is Transient', async () => {
    cw.on(DescribeAlarmsCommand).rejects(throttling());

    await expect(source.states(['web-5xx'])).rejects.toBeInstanceOf(TransientError);
    expect(cw.commandCalls(DescribeAlarmsCommand)).toHaveLength(3);
  });
});
