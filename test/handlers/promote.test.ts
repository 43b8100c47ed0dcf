/**
 * Workflow task promote: the stable service moves onto the new image and the canary is taken out.
 * Through the real handler and adapters with mocked SDK clients (requests checked against AWS's API models).
 */

import { DescribeServicesCommand, UpdateServiceCommand } from '@aws-sdk/client-ecs';
import { DescribeListenersCommand, ModifyListenerCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import { DeleteCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import {
  CANARY_TASK_DEF,
  context,
  doc,
  ecs,
  ecsService,
  elbv2,
  handlerOf,
  historyPut,
  installAwsMockHooks,
  LOCK_KEY,
  listener,
  modify,
  NOW,
  OFF,
  record,
  rolloutDoc,
  route,
  STICKY,
  services,
  sfn,
  statusUpdate,
  TABLE,
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

describe('promote', () => {
  it('begin: 100% on the canary (verified), then the stable service takes the canary’s task definition', async () => {
    // Prepare
    table({ lock: true, record: record({ route, currentStep: 3, canaryPercent: 50 }) });
    services(20, 10, CANARY_TASK_DEF);
    elbv2
      .on(DescribeListenersCommand)
      .resolvesOnce(listener(1, 1, STICKY))
      .resolves(listener(0, 1, OFF));
    elbv2.on(ModifyListenerCommand).resolves({ Listeners: listener(0, 1, OFF).Listeners });
    ecs
      .on(UpdateServiceCommand)
      .resolves({ service: ecsService(STABLE_SERVICE, 20, CANARY_TASK_DEF, STABLE_TG_ARN) });

    // Act
    const handler = await handlerOf('promote');
    const result = await handler({ rollout: rolloutDoc, route, phase: 'begin' }, context);

    // Assess
    expect(result).toMatchObject({ readiness: { attempts: 0, ready: false } });
    expect(elbv2.commandCalls(ModifyListenerCommand).map((c) => c.args[0].input)).toEqual([
      modify(0, 1, OFF),
    ]);
    expect(ecs.commandCalls(DescribeServicesCommand).map((c) => c.args[0].input)).toEqual([
      { cluster: ECS_CLUSTER, services: [CANARY_SERVICE] },
    ]);
    expect(ecs.commandCalls(UpdateServiceCommand).map((c) => c.args[0].input)).toEqual([
      { cluster: ECS_CLUSTER, service: STABLE_SERVICE, taskDefinition: CANARY_TASK_DEF },
    ]);
    expect(doc.commandCalls(UpdateCommand).map((c) => c.args[0].input)).toEqual([
      statusUpdate(
        { '#f0': 'status', '#f1': 'canaryPercent', '#f2': 'updatedAt' },
        { ':v0': 'promoting', ':v1': 100, ':v2': NOW },
        false,
      ),
      updateInput('SET #f0 = :v0', { '#f0': 'stableUpdated' }, { ':v0': true }),
    ]);
    expect(doc.commandCalls(PutCommand).map((c) => c.args[0].input)).toEqual([
      historyPut('promoting', `promoting acme/web:v1.4.2`),
    ]);
    // Traffic first (verified, then an abort read after the write), the record says the stable service is being
    // changed before it is.
    expect(timeline()).toEqual([
      'doc:GetCommand',
      'doc:GetCommand',
      'elbv2:DescribeListenersCommand',
      'elbv2:DescribeTargetGroupAttributesCommand',
      'elbv2:DescribeTargetGroupAttributesCommand',
      'elbv2:ModifyListenerCommand',
      'elbv2:DescribeListenersCommand',
      'doc:GetCommand',
      'doc:UpdateCommand',
      'doc:UpdateCommand',
      'ecs:DescribeServicesCommand',
      'ecs:UpdateServiceCommand',
      'doc:PutCommand',
    ]);
  });

  it('shiftBack: 100% back on the stable target group (verified), then the drain time', async () => {
    // Prepare
    table({ lock: true, record: record({ route, currentStep: 3, canaryPercent: 100, status: 'promoting' }) });
    elbv2
      .on(DescribeListenersCommand)
      .resolvesOnce(listener(0, 1, OFF))
      .resolves(listener(1, 0, OFF));
    elbv2.on(ModifyListenerCommand).resolves({ Listeners: listener(1, 0, OFF).Listeners });

    // Act
    const handler = await handlerOf('promote');
    const result = await handler({ rollout: rolloutDoc, route, phase: 'shiftBack' }, context);

    // Assess
    expect(result).toEqual({ seconds: 300 });
    expect(elbv2.commandCalls(ModifyListenerCommand).map((c) => c.args[0].input)).toEqual([
      modify(1, 0, OFF),
    ]);
    expect(doc.commandCalls(UpdateCommand).map((c) => c.args[0].input)).toEqual([
      updateInput(
        'SET #f0 = :v0, #f1 = :v1',
        { '#f0': 'canaryPercent', '#f1': 'updatedAt' },
        { ':v0': 0, ':v1': NOW },
      ),
    ]);
    expect(timeline()).toEqual([
      'doc:GetCommand',
      'doc:GetCommand',
      'elbv2:DescribeListenersCommand',
      'elbv2:ModifyListenerCommand',
      'elbv2:DescribeListenersCommand',
      'doc:UpdateCommand',
    ]);
    expect(ecs.calls()).toHaveLength(0);
  });

  it('finish: the canary’s weight read back at 0, then it is scaled to 0, the outcome recorded, the lock released', async () => {
    // Prepare
    table({ lock: true, record: record({ route, currentStep: 3, canaryPercent: 0, status: 'promoting' }) });
    elbv2.on(DescribeListenersCommand).resolves(listener(1, 0, OFF));
    ecs
      .on(UpdateServiceCommand)
      .resolves({ service: ecsService(CANARY_SERVICE, 0, CANARY_TASK_DEF, CANARY_TG_ARN) });

    // Act
    const handler = await handlerOf('promote');
    const result = await handler({ rollout: rolloutDoc, route, phase: 'finish' }, context);

    // Assess
    expect(result).toEqual({ promoted: true });
    expect(elbv2.commandCalls(DescribeListenersCommand).map((c) => c.args[0].input)).toEqual([
      { ListenerArns: [LISTENER_ARN] },
    ]);
    expect(elbv2.commandCalls(ModifyListenerCommand)).toHaveLength(0);
    expect(ecs.commandCalls(UpdateServiceCommand).map((c) => c.args[0].input)).toEqual([
      { cluster: ECS_CLUSTER, service: CANARY_SERVICE, desiredCount: 0 },
    ]);
    expect(doc.commandCalls(UpdateCommand).map((c) => c.args[0].input)).toEqual([
      statusUpdate(
        { '#f0': 'status', '#f1': 'updatedAt', '#f2': 'outcome' },
        {
          ':v0': 'promoted',
          ':v1': NOW,
          ':v2': { result: 'promoted', reason: 'every step passed', at: NOW },
        },
        true,
      ),
    ]);
    expect(doc.commandCalls(PutCommand).map((c) => c.args[0].input)).toEqual([
      historyPut('promoted', 'acme/web:v1.4.2 promoted'),
    ]);
    expect(doc.commandCalls(DeleteCommand).map((c) => c.args[0].input)).toEqual([
      expect.objectContaining({ TableName: TABLE, Key: LOCK_KEY }),
    ]);
    expect(timeline()).toEqual([
      'doc:GetCommand',
      'doc:GetCommand',
      'elbv2:DescribeListenersCommand',
      'ecs:UpdateServiceCommand',
      'doc:UpdateCommand',
      'doc:PutCommand',
      'doc:GetCommand',
      'doc:DeleteCommand',
    ]);
    expect(sfn.calls()).toHaveLength(0);
  });
});
