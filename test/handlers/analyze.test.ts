/**
 * Workflow task analyze: judge the canary against the baseline and the alarms.
 * Through the real handler and adapters with mocked SDK clients (requests checked against AWS's API models).
 */

import {
  DescribeAlarmsCommand,
  type DescribeAlarmsCommandOutput,
  GetMetricDataCommand,
  type MetricDataResult,
} from '@aws-sdk/client-cloudwatch';
import { DescribeListenersCommand, ModifyListenerCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import { PublishCommand } from '@aws-sdk/client-sns';
import { PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { SnsWordedNotifier } from '../../functions/adapters/aws/sns';
import { pages } from '../../functions/core/notification';
import { stepPassedNotifiers } from '../../functions/handlers/aws';
import {
  CANARY_STARTED,
  cloudwatch,
  context,
  doc,
  elbv2,
  fetchMock,
  firstStep,
  handlerOf,
  installAwsMockHooks,
  listener,
  NOW,
  RECORD_KEY,
  record,
  rolloutDoc,
  route,
  SERVICE_TOPIC,
  secrets,
  sns,
  TABLE,
  table,
} from '../helpers/aws-mocks';
import { ALARMS, LISTENER_ARN } from '../helpers/config';

installAwsMockHooks();

/** Five one-minute periods, 09:35 to 09:39, as GetMetricData returns them (TimestampAscending). */
const PERIODS = [0, 1, 2, 3, 4].map((i) => new Date(Date.parse(CANARY_STARTED) + i * 60_000));

function series(id: string, label: string, values: number[]): MetricDataResult {
  return { Id: id, Label: label, Timestamps: PERIODS, Values: values, StatusCode: 'Complete' };
}

const ALB = 'app/web/50dc6c495c0c9188';

/** The canary's and stable's ECS service CPU and memory utilization (the ECS deployer's custom metrics). */
function ecsQueries() {
  return ['CPUUtilization', 'MemoryUtilization'].flatMap((MetricName, i) =>
    (
      [
        ['canary', 'web-canary'],
        ['baseline', 'web'],
      ] as const
    ).map(([version, service]) => ({
      Id: `x${i}_${version}_value`,
      MetricStat: {
        Metric: {
          Namespace: 'AWS/ECS',
          MetricName,
          Dimensions: [
            { Name: 'ClusterName', Value: 'prod' },
            { Name: 'ServiceName', Value: service },
          ],
        },
        Period: 60,
        Stat: 'Average',
      },
      ReturnData: true,
    })),
  );
}

function queries() {
  const dims = (tg: string) => [
    { Name: 'LoadBalancer', Value: ALB },
    { Name: 'TargetGroup', Value: tg },
  ];
  return (
    [
      ['canary', 'targetgroup/web-canary/2453ed029918f21f'],
      ['baseline', 'targetgroup/web-stable/73e2d6bc24d8a067'],
    ] as const
  ).flatMap(([version, tg]) =>
    (
      [
        ['requests', 'RequestCount', 'Sum'],
        ['target2xx', 'HTTPCode_Target_2XX_Count', 'Sum'],
        ['target3xx', 'HTTPCode_Target_3XX_Count', 'Sum'],
        ['target4xx', 'HTTPCode_Target_4XX_Count', 'Sum'],
        ['target5xx', 'HTTPCode_Target_5XX_Count', 'Sum'],
        ['connectionErrors', 'TargetConnectionErrorCount', 'Sum'],
        ['healthyHosts', 'HealthyHostCount', 'Maximum'],
        ['unhealthyHosts', 'UnHealthyHostCount', 'Minimum'],
        ['p99', 'TargetResponseTime', 'p99'],
      ] as const
    ).map(([key, metric, stat]) => ({
      Id: `${version}_${key}`,
      MetricStat: {
        Metric: { Namespace: 'AWS/ApplicationELB', MetricName: metric, Dimensions: dims(tg) },
        Period: 60,
        Stat: stat,
      },
      ReturnData: true,
    })),
  );
}

function alarm(name: string): NonNullable<DescribeAlarmsCommandOutput['MetricAlarms']>[number] {
  return {
    AlarmName: name,
    AlarmArn: `arn:aws:cloudwatch:us-east-1:123456789012:alarm:${name}`,
    ActionsEnabled: true,
    StateValue: 'OK',
    StateReason:
      'Threshold Crossed: 3 out of the last 3 datapoints were not greater than the threshold (2.0)',
    StateUpdatedTimestamp: new Date('2025-03-13T22:10:04.117Z'),
    Namespace: 'AWS/ApplicationELB',
    MetricName: 'HTTPCode_Target_5XX_Count',
    Period: 60,
    EvaluationPeriods: 3,
    DatapointsToAlarm: 2,
    Threshold: 2,
    ComparisonOperator: 'GreaterThanThreshold',
    TreatMissingData: 'notBreaching',
  };
}

function arrangeHealthyWindow() {
  table({
    lock: true,
    record: record({ route, currentStep: 0, canaryPercent: 5, canaryStartedAt: CANARY_STARTED }),
  });
  cloudwatch.on(GetMetricDataCommand).resolves({
    MetricDataResults: [
      series('canary_requests', 'RequestCount', [1004, 998, 1012, 987, 1001]),
      series('canary_target2xx', 'HTTPCode_Target_2XX_Count', [1003, 998, 1010, 986, 1001]),
      series('canary_target5xx', 'HTTPCode_Target_5XX_Count', [1, 0, 2, 1, 0]),
      series('canary_p99', 'TargetResponseTime', [0.212, 0.205, 0.219, 0.208, 0.211]),
      series('baseline_requests', 'RequestCount', [19021, 18950, 19102, 18877, 19015]),
      series('baseline_target2xx', 'HTTPCode_Target_2XX_Count', [19002, 18929, 19084, 18857, 18998]),
      series('baseline_target5xx', 'HTTPCode_Target_5XX_Count', [19, 21, 18, 20, 17]),
      series('baseline_p99', 'TargetResponseTime', [0.204, 0.207, 0.201, 0.209, 0.206]),
    ],
    Messages: [],
  });
  cloudwatch.on(DescribeAlarmsCommand).resolves({
    MetricAlarms: ALARMS.map(alarm),
    CompositeAlarms: [],
  });
  // The listener still gives the canary the 5% the rollout set (19:1).
  elbv2.on(DescribeListenersCommand).resolves(listener(19, 1, { Enabled: true, DurationSeconds: 300 }));
}

describe('analyze', () => {
  it('sends through SNS alone: its only event, step.passed, is info and resolves no incident, which PagerDuty skips', () => {
    const list = stepPassedNotifiers();
    expect(list).toHaveLength(1);
    expect(list[0]).toBeInstanceOf(SnsWordedNotifier);
    expect(list[0]?.name).toBe('sns');
    expect(pages('info')).toBe(false);
  });

  it('fetches the settled window since the canary started and the gating alarms, and passes a healthy canary', async () => {
    // Prepare
    arrangeHealthyWindow();

    // Act
    const handler = await handlerOf('analyze');
    const result = await handler(
      { rollout: rolloutDoc, route, step: firstStep, extensions: 0, bakeLeft: 0 },
      context,
    );

    // Assess
    expect(result).toEqual({ action: 'advance', seconds: 0, bakeLeft: 0, extensions: 0, analyses: 1 });
    expect(cloudwatch.commandCalls(GetMetricDataCommand).map((c) => c.args[0].input)).toEqual([
      {
        // The ECS deployer's CPU and memory per service, in the same request.
        MetricDataQueries: [...queries(), ...ecsQueries()],
        StartTime: new Date(CANARY_STARTED),
        // Only settled minutes: the default metric delay (120 s) before NOW, on a minute boundary.
        EndTime: new Date(Date.parse(NOW) - 120_000),
        ScanBy: 'TimestampAscending',
      },
    ]);
    expect(cloudwatch.commandCalls(DescribeAlarmsCommand).map((c) => c.args[0].input)).toEqual([
      { AlarmNames: [...ALARMS], AlarmTypes: ['MetricAlarm', 'CompositeAlarm'] },
    ]);
    // The listener read back once (no drift), never changed.
    expect(elbv2.commandCalls(DescribeListenersCommand).map((c) => c.args[0].input)).toEqual([
      { ListenerArns: [LISTENER_ARN] },
    ]);
    expect(elbv2.commandCalls(ModifyListenerCommand)).toHaveLength(0);

    // The verdict is kept on the record, with the evidence it rests on; the counts of the minutes it judged in an
    // item of their own beside it.
    const updates = doc.commandCalls(UpdateCommand).map((c) => c.args[0].input);
    expect(updates).toHaveLength(1);
    expect(updates[0]).toMatchObject({
      TableName: TABLE,
      Key: RECORD_KEY,
      UpdateExpression: 'SET #f0 = :v0, #f1 = :v1',
      ExpressionAttributeNames: { '#f0': 'lastVerdict', '#f1': 'updatedAt' },
    });
    const verdict = updates[0]?.ExpressionAttributeValues?.[':v0'] as Record<string, unknown>;
    expect(updates[0]?.ExpressionAttributeValues?.[':v1']).toBe(NOW);
    const periods = doc
      .commandCalls(PutCommand)
      .map((c) => c.args[0].input)
      .filter((input) => input.Item?.sk === 'PERIODS');
    expect(periods).toEqual([
      {
        TableName: TABLE,
        Item: {
          ...RECORD_KEY,
          sk: 'PERIODS',
          periods: {
            alb: expect.objectContaining({
              periodSeconds: 60,
              canary: expect.any(Array),
              baseline: expect.any(Array),
            }),
            custom: expect.any(Object),
          },
        },
      },
    ]);
    expect(verdict).toMatchObject({
      result: 'pass',
      canary: { requests: 3014, errors: 3, noResponse: 0 },
      baseline: { errors: expect.any(Number) },
    });
    expect(
      (verdict.metrics as { metric: string; result: string }[]).map((m) => [m.metric, m.result]),
    ).toEqual([
      ['errorRate', 'pass'],
      ['latencyP99', 'pass'],
      // No ECS datapoints in the window: advisory, reported without data, never holding the step.
      ['custom.ecsCpu', 'pass'],
      ['custom.ecsMemory', 'pass'],
      ['alarms', 'pass'],
    ]);

    // step.passed goes to the service's topic; info does not page.
    const published = sns.commandCalls(PublishCommand).map((c) => c.args[0].input);
    expect(published).toHaveLength(1);
    expect(published[0]).toMatchObject({
      TopicArn: SERVICE_TOPIC,
      MessageAttributes: { event: { DataType: 'String', StringValue: 'step.passed' } },
    });
    expect(published[0]?.Message).toContain('Evidence (pass):');
    expect(fetchMock).not.toHaveBeenCalled();
    expect(secrets.calls()).toHaveLength(0);
  });

  it('judges a rollout whose config was started before custom metrics, strategies and traffic kinds', async () => {
    // Prepare: the config as the earlier release validated it, without the fields added since.
    arrangeHealthyWindow();
    const { metrics, ecsMetrics, onFailure, pauseTimeoutSeconds, ...analysis } = rolloutDoc.config.analysis;
    const { kind, ...traffic } = rolloutDoc.config.traffic;
    const { strategy, ...config } = rolloutDoc.config;
    const started = { ...rolloutDoc, config: { ...config, traffic, analysis } };

    // Act
    const handler = await handlerOf('analyze');
    const result = await handler(
      { rollout: started, route, step: firstStep, extensions: 0, bakeLeft: 0 },
      context,
    );

    // Assess: a verdict as for a config with the defaults (the ECS metrics on, advisory).
    expect(result).toEqual({ action: 'advance', seconds: 0, bakeLeft: 0, extensions: 0, analyses: 1 });
    expect(cloudwatch.commandCalls(GetMetricDataCommand)[0]?.args[0].input.MetricDataQueries).toEqual([
      ...queries(),
      ...ecsQueries(),
    ]);
  });
});
