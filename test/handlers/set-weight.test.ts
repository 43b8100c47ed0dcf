/**
 * Workflow task set-weight: capacity for the weight, then the weights, verified.
 * Through the real handler and adapters with mocked SDK clients (requests checked against AWS's API models).
 */

import { GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { DescribeServicesCommand, UpdateServiceCommand } from '@aws-sdk/client-ecs';
import { DescribeListenersCommand, ModifyListenerCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import { PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import {
  CANARY_TASK_DEF,
  cloudwatch,
  context,
  doc,
  ecs,
  ecsService,
  elbv2,
  firstStep,
  handlerOf,
  historyPut,
  installAwsMockHooks,
  listener,
  NOW,
  record,
  rolloutDoc,
  route,
  services,
  table,
  timeline,
  updateInput,
} from '../helpers/aws-mocks';
import {
  CANARY_SERVICE,
  CANARY_TG_ARN,
  ECS_CLUSTER,
  LISTENER_ARN,
  STABLE_SERVICE,
  STABLE_TG_ARN,
} from '../helpers/config';

installAwsMockHooks();

describe('set-weight', () => {
  it('scales the canary, sends it 5% (19:1, sticky), reads the listener back and records the step', async () => {
    // Prepare
    table({ lock: true, record: record({ route, canaryPercent: 0 }) });
    // Autoscaling took stable from 20 to 40 tasks since prepare sized the canary at 1.
    services(40, 1, CANARY_TASK_DEF);
    ecs
      .on(UpdateServiceCommand)
      .resolves({ service: ecsService(CANARY_SERVICE, 2, CANARY_TASK_DEF, CANARY_TG_ARN) });
    elbv2
      .on(DescribeListenersCommand)
      .resolvesOnce(listener(1, 0, { Enabled: false }))
      .resolves(listener(19, 1, { Enabled: true, DurationSeconds: 300 }));
    elbv2.on(ModifyListenerCommand).resolves({
      Listeners: listener(19, 1, { Enabled: true, DurationSeconds: 300 }).Listeners,
    });
    // The stable version's p99 and p50 over the 30 minutes before: the rollout's latency thresholds.
    const spanStart = new Date(Date.parse(NOW) - 30 * 60_000);
    cloudwatch.on(GetMetricDataCommand).resolves({
      MetricDataResults: [
        { Id: 'baseline_p99', Timestamps: [spanStart], Values: [0.32], StatusCode: 'Complete' },
        { Id: 'baseline_p50', Timestamps: [spanStart], Values: [0.0855], StatusCode: 'Complete' },
      ],
      Messages: [],
    });

    // Act
    const handler = await handlerOf('set-weight');
    const result = await handler({ rollout: rolloutDoc, route, step: firstStep }, context);

    // Assess
    // A 300 s bake is judged every 60 s: the first wait is one interval.
    // The 300 s bake and the 120 s metric delay, so the last analysis judges the whole bake; judged every minute.
    expect(result).toEqual({ seconds: 60, bakeLeft: 360, extensions: 0, analyses: 0 });
    expect(ecs.commandCalls(DescribeServicesCommand).map((c) => c.args[0].input)).toEqual([
      { cluster: ECS_CLUSTER, services: [STABLE_SERVICE, CANARY_SERVICE] },
    ]);
    expect(ecs.commandCalls(UpdateServiceCommand).map((c) => c.args[0].input)).toEqual([
      { cluster: ECS_CLUSTER, service: CANARY_SERVICE, desiredCount: 2 },
    ]);
    expect(elbv2.commandCalls(ModifyListenerCommand).map((c) => c.args[0].input)).toEqual([
      {
        ListenerArn: LISTENER_ARN,
        DefaultActions: [
          {
            Type: 'forward',
            Order: 1,
            ForwardConfig: {
              TargetGroups: [
                { TargetGroupArn: STABLE_TG_ARN, Weight: 19 },
                { TargetGroupArn: CANARY_TG_ARN, Weight: 1 },
              ],
              TargetGroupStickinessConfig: { Enabled: true, DurationSeconds: 300 },
            },
          },
        ],
      },
    ]);
    expect(elbv2.commandCalls(DescribeListenersCommand).map((c) => c.args[0].input)).toEqual([
      { ListenerArns: [LISTENER_ARN] },
      { ListenerArns: [LISTENER_ARN] },
    ]);
    const stableLatency = (Stat: string) => ({
      Id: `baseline_${Stat}`,
      MetricStat: {
        Metric: {
          Namespace: 'AWS/ApplicationELB',
          MetricName: 'TargetResponseTime',
          Dimensions: [
            { Name: 'LoadBalancer', Value: 'app/web/50dc6c495c0c9188' },
            { Name: 'TargetGroup', Value: 'targetgroup/web-stable/73e2d6bc24d8a067' },
          ],
        },
        Period: 1800,
        Stat,
      },
      ReturnData: true,
    });
    expect(cloudwatch.commandCalls(GetMetricDataCommand).map((c) => c.args[0].input)).toEqual([
      {
        MetricDataQueries: [stableLatency('p99'), stableLatency('p50')],
        StartTime: spanStart,
        EndTime: new Date(NOW),
        ScanBy: 'TimestampAscending',
      },
    ]);
    expect(doc.commandCalls(UpdateCommand).map((c) => c.args[0].input)).toEqual([
      updateInput(
        'SET #f0 = :v0, #f1 = :v1, #f2 = :v2, #f3 = :v3, #f4 = :v4, #f5 = :v5',
        {
          '#f0': 'currentStep',
          '#f1': 'canaryPercent',
          '#f2': 'updatedAt',
          '#f3': 'canaryStartedAt',
          '#f4': 'weightChangedAt',
          '#f5': 'latencyThresholds',
        },
        {
          ':v0': 0,
          ':v1': 5,
          ':v2': NOW,
          ':v3': NOW,
          ':v4': [NOW],
          ':v5': { p99Ms: 320, p50Ms: 85.5 },
        },
      ),
    ]);
    expect(doc.commandCalls(PutCommand).map((c) => c.args[0].input)).toEqual([
      historyPut('weight', 'step 1: 5% on the canary', { step: 0, weight: 5 }),
    ]);
    // The lock and the record read first; capacity before traffic; the weights verified, and an abort read after the
    // write, before the step is recorded.
    expect(timeline()).toEqual([
      'doc:GetCommand',
      'doc:GetCommand',
      'cloudwatch:GetMetricDataCommand',
      'ecs:DescribeServicesCommand',
      'ecs:UpdateServiceCommand',
      'elbv2:DescribeListenersCommand',
      'elbv2:ModifyListenerCommand',
      'elbv2:DescribeListenersCommand',
      'doc:GetCommand',
      'doc:UpdateCommand',
      'doc:PutCommand',
    ]);
  });
});
