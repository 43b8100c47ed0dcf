import { UpdateServiceCommand } from '@aws-sdk/client-ecs';
import { DescribeListenersCommand, ModifyListenerCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import { DeleteCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import {
  CANARY_STARTED,
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
  STABLE_IMAGE,
  STABLE_TASK_DEF,
  STICKY,
  statusUpdate,
  TABLE,
  table,
  timeline,
} from '../helpers/aws-mocks';
import { CANARY_SERVICE, CANARY_TG_ARN, ECS_CLUSTER, IMAGE_DIGEST, SERVICE } from '../helpers/config';

installAwsMockHooks();

describe('rollback', () => {
  it('stable first (verified), the canary scaled to 0, the image quarantined, the outcome recorded, the lock deleted', async () => {
    table({
      lock: true,
      record: record({
        route,
        currentStep: 1,
        canaryPercent: 25,
        canaryStartedAt: CANARY_STARTED,
        previousStable: { image: STABLE_IMAGE, revision: STABLE_TASK_DEF },
      }),
    });
    elbv2
      .on(DescribeListenersCommand)
      .resolvesOnce(listener(3, 1, STICKY))
      .resolves(listener(1, 0, OFF));
    elbv2.on(ModifyListenerCommand).resolves({ Listeners: listener(1, 0, OFF).Listeners });
    ecs
      .on(UpdateServiceCommand)
      .resolves({ service: ecsService(CANARY_SERVICE, 0, CANARY_TASK_DEF, CANARY_TG_ARN) });
    const cause = JSON.stringify({
      errorType: 'CanaryFailed',
      errorMessage: 'errorRate: canary 4.6% vs stable 0.1%',
    });

    const handler = await handlerOf('rollback');
    const error = { Error: 'CanaryFailed', Cause: cause };

    // Traffic first: nothing of the store is written but the status (best effort).
    const traffic = await handler({ rollout: rolloutDoc, error, prepared: { route } }, context);

    expect(traffic).toEqual({ restored: true, routed: true, stableRestored: false, canaryScaledDown: true });
    expect(elbv2.commandCalls(ModifyListenerCommand).map((c) => c.args[0].input)).toEqual([
      modify(1, 0, OFF),
    ]);
    expect(ecs.commandCalls(UpdateServiceCommand).map((c) => c.args[0].input)).toEqual([
      { cluster: ECS_CLUSTER, service: CANARY_SERVICE, desiredCount: 0 },
    ]);
    expect(timeline()).toEqual([
      'doc:GetCommand',
      'doc:GetCommand',
      'doc:UpdateCommand',
      'elbv2:DescribeListenersCommand',
      'elbv2:DescribeTargetGroupAttributesCommand',
      'elbv2:DescribeTargetGroupAttributesCommand',
      'elbv2:ModifyListenerCommand',
      'elbv2:DescribeListenersCommand',
      'ecs:UpdateServiceCommand',
    ]);

    // Then (after the page) the store: quarantine, outcome, history, the lock.
    const recorded = await handler(
      { phase: 'record', rollout: rolloutDoc, error, rollback: traffic },
      context,
    );

    expect(recorded).toMatchObject({ restored: true, errorName: 'CanaryFailed', quarantined: true });
    expect(elbv2.commandCalls(ModifyListenerCommand)).toHaveLength(1);
    expect(ecs.commandCalls(UpdateServiceCommand)).toHaveLength(1);
    const puts = doc.commandCalls(PutCommand).map((c) => c.args[0].input);
    expect(puts[0]).toMatchObject({
      TableName: TABLE,
      Item: { pk: `SERVICE#${SERVICE}`, sk: `QUARANTINE#${IMAGE_DIGEST}`, digest: IMAGE_DIGEST },
    });
    expect(String((puts[0]?.Item as { reason?: string } | undefined)?.reason)).toContain('CanaryFailed');
    expect(puts[1]).toEqual(
      historyPut('rolledBack', expect.stringMatching(/^acme\/web:v1\.4\.2 rolled back: /), {
        error: 'CanaryFailed',
        reason: expect.any(String),
        quarantined: true,
      }),
    );
    const updates = doc.commandCalls(UpdateCommand).map((c) => c.args[0].input);
    expect(updates[0]).toEqual(
      statusUpdate({ '#f0': 'status', '#f1': 'updatedAt' }, { ':v0': 'rollingBack', ':v1': NOW }, false),
    );
    expect(updates[1]).toEqual(
      statusUpdate(
        { '#f0': 'status', '#f1': 'updatedAt', '#f2': 'canaryPercent', '#f3': 'outcome' },
        {
          ':v0': 'rolledBack',
          ':v1': NOW,
          ':v2': 0,
          ':v3': { result: 'rolledBack', reason: expect.stringMatching(/^CanaryFailed: /), at: NOW },
        },
        true,
      ),
    );
    expect(updates).toHaveLength(2);
    expect(doc.commandCalls(DeleteCommand).map((c) => c.args[0].input)).toEqual([
      expect.objectContaining({ TableName: TABLE, Key: LOCK_KEY }),
    ]);
    expect(timeline().slice(9)).toEqual([
      'doc:GetCommand',
      'doc:GetCommand',
      'doc:PutCommand',
      'doc:UpdateCommand',
      'doc:PutCommand',
      'doc:GetCommand',
      'doc:DeleteCommand',
    ]);
  });

  it('refuses the record phase without the traffic phase result, naming the field, and sends nothing', async () => {
    // Prepare
    const handler = await handlerOf('rollback');
    const error = { Error: 'CanaryFailed', Cause: '{}' };

    // Act
    const act = handler({ phase: 'record', rollout: rolloutDoc, error }, context);

    // Assess
    await expect(act).rejects.toMatchObject({
      name: 'InputInvalid',
      issues: [{ path: 'rollback', message: 'the record phase needs the traffic phase result' }],
    });
    expect(timeline()).toEqual([]);
  });

  it('refuses carried state given as an array, naming the field, and sends nothing', async () => {
    // Prepare
    const handler = await handlerOf('rollback');
    const error = { Error: 'CanaryFailed', Cause: '{}' };

    // Act
    const act = handler({ rollout: rolloutDoc, error, prepared: [] }, context);

    // Assess
    await expect(act).rejects.toMatchObject({
      name: 'InputInvalid',
      issues: [{ path: 'prepared', message: 'Invalid input: expected object, received array' }],
    });
    expect(timeline()).toEqual([]);
  });
});
