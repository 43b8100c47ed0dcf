/**
 * Workflow task check-ready: one poll of the canary's (or the promoted stable's) health.
 * Through the real handler and adapters with mocked SDK clients (requests checked against AWS's API models).
 */

import { DescribeServicesCommand, UpdateServiceCommand } from '@aws-sdk/client-ecs';
import {
  DescribeTargetHealthCommand,
  type DescribeTargetHealthCommandOutput,
  ModifyListenerCommand,
  type TargetHealthStateEnum,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import {
  CANARY_TASK_DEF,
  context,
  doc,
  ecs,
  ecsService,
  elbv2,
  getInput,
  handlerOf,
  installAwsMockHooks,
  LOCK_KEY,
  RECORD_KEY,
  record,
  rolloutDoc,
  route,
  services,
  table,
  timeline,
} from '../helpers/aws-mocks';
import { CANARY_SERVICE, CANARY_TG_ARN, ECS_CLUSTER, STABLE_SERVICE, STABLE_TG_ARN } from '../helpers/config';

installAwsMockHooks();

function targetHealth(states: string[]): Partial<DescribeTargetHealthCommandOutput> {
  return {
    TargetHealthDescriptions: states.map((s, i) => {
      const State = s as TargetHealthStateEnum;
      return {
        Target: { Id: `10.0.1.${10 + i}`, Port: 8080, AvailabilityZone: 'us-east-1a' },
        HealthCheckPort: '8080',
        TargetHealth: s === 'healthy' ? { State } : { State, Reason: 'Elb.RegistrationInProgress' as const },
      };
    }),
  };
}

describe('check-ready', () => {
  it.each([
    [['healthy', 'healthy'], true],
    [['healthy', 'initial'], false],
  ])(
    'canary: DescribeServices then DescribeTargetHealth on the canary target group (%j → ready %s)',
    async (states, ready) => {
      table({ lock: true, record: record({ route, currentStep: 0, canaryPercent: 0 }) });
      services(20, 1, CANARY_TASK_DEF);
      elbv2.on(DescribeTargetHealthCommand).resolves(targetHealth(states));

      const handler = await handlerOf('check-ready');
      const result = await handler(
        { rollout: rolloutDoc, route, which: 'canary', readiness: { attempts: 2 } },
        context,
      );

      expect(result).toMatchObject({ ready, attempts: 3 });
      expect(ecs.commandCalls(DescribeServicesCommand).map((c) => c.args[0].input)).toEqual([
        { cluster: ECS_CLUSTER, services: [CANARY_SERVICE] },
      ]);
      expect(elbv2.commandCalls(DescribeTargetHealthCommand).map((c) => c.args[0].input)).toEqual([
        { TargetGroupArn: CANARY_TG_ARN },
      ]);
      // The lock and the record: the rollout still owns the service.
      expect(doc.commandCalls(GetCommand).map((c) => c.args[0].input)).toEqual([
        getInput(LOCK_KEY.pk, LOCK_KEY.sk),
        getInput(RECORD_KEY.pk, RECORD_KEY.sk),
      ]);
      expect(timeline()).toEqual([
        'doc:GetCommand',
        'doc:GetCommand',
        'ecs:DescribeServicesCommand',
        'elbv2:DescribeTargetHealthCommand',
      ]);
      // Reads only.
      expect(ecs.commandCalls(UpdateServiceCommand)).toHaveLength(0);
      expect(elbv2.commandCalls(ModifyListenerCommand)).toHaveLength(0);
    },
  );

  it('stable while promoting: ready once the stable service runs the canary’s task definition and its targets are healthy', async () => {
    // Prepare
    table({ lock: true, record: record({ route, currentStep: 3, canaryPercent: 100, status: 'promoting' }) });
    ecs.on(DescribeServicesCommand).resolves({
      services: [
        ecsService(STABLE_SERVICE, 20, CANARY_TASK_DEF, STABLE_TG_ARN),
        ecsService(CANARY_SERVICE, 20, CANARY_TASK_DEF, CANARY_TG_ARN),
      ],
      failures: [],
    });
    elbv2.on(DescribeTargetHealthCommand).resolves(targetHealth(['healthy', 'healthy', 'healthy']));

    // Act
    const handler = await handlerOf('check-ready');
    const result = await handler({ rollout: rolloutDoc, route, which: 'stable' }, context);

    // Assess
    expect(result).toMatchObject({ ready: true, attempts: 1 });
    expect(ecs.commandCalls(DescribeServicesCommand).map((c) => c.args[0].input)).toEqual([
      { cluster: ECS_CLUSTER, services: [STABLE_SERVICE, CANARY_SERVICE] },
    ]);
    expect(elbv2.commandCalls(DescribeTargetHealthCommand).map((c) => c.args[0].input)).toEqual([
      { TargetGroupArn: STABLE_TG_ARN },
    ]);
  });
});
