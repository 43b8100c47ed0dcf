import { DescribeListenersCommand, ModifyListenerCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import { ListExecutionsCommand, SendTaskFailureCommand } from '@aws-sdk/client-sfn';
import { GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { ACTIVE_PARTITIONS, activePk } from '../../functions/adapters/aws/dynamodb/table';
import type { RolloutRecord } from '../../functions/core/rollout';
import {
  activeQueries,
  CANARY_STARTED,
  context,
  doc,
  ecs,
  elbv2,
  getInput,
  handlerOf,
  historyPut,
  installAwsMockHooks,
  listener,
  modify,
  NOW,
  record,
  recordItem,
  route,
  sfn,
  stubEnv,
  TASK_TOKEN,
  table,
  timeline,
  updateInput,
} from '../helpers/aws-mocks';
import { CANARY_TG_ARN, LISTENER_ARN, ROLLOUT_ID, STABLE_TG_ARN } from '../helpers/config';
import { loadEvent } from '../helpers/fixtures';

installAwsMockHooks();

describe('on-alarm: its event and environment', () => {
  it('looks up the active rollouts in the table for an alarm in ALARM', async () => {
    // Act
    doc.on(QueryCommand).resolves({ Items: [] });
    const { handler } = await import('../../functions/handlers/on-alarm');
    const result = await handler(loadEvent('cloudwatch/alarm'), context);

    // Assess
    expect(result).toEqual({ alarm: 'web-5xx-high', stopped: [] });
    const queries = doc.commandCalls(QueryCommand);
    expect(queries.map((q) => q.args[0].input)).toEqual(activeQueries());
    expect(sfn.calls()).toHaveLength(0);
    expect(elbv2.calls()).toHaveLength(0);
  });

  it('rejects a malformed event with InputInvalid and sends nothing', async () => {
    const { handler } = await import('../../functions/handlers/on-alarm');
    const event = loadEvent('cloudwatch/alarm') as unknown as { detail: Record<string, unknown> };
    delete event.detail.alarmName;
    await expect(handler(event, context)).rejects.toMatchObject({ name: 'InputInvalid' });
    expect(timeline()).toEqual([]);
  });

  it('does not need the service configs', async () => {
    stubEnv({ CONFIG_TABLE_NAME: undefined });
    await expect(import('../../functions/handlers/on-alarm')).resolves.toHaveProperty('handler');
  });
});

/**
 * `active` holding the service with 1% on its canary, as the alarm finds it: the abort mark taken, the listener
 * put back on stable. Returns the abort's message.
 */
function holdingAtCanary(active: RolloutRecord, reason: string | undefined): string {
  table({ lock: true, record: active });
  const message = `alarm web-5xx-high in ALARM: ${reason}`;
  doc.on(UpdateCommand).resolves({
    Attributes: recordItem({ ...active, abort: { reason: 'AlarmFired', message, at: NOW } }),
  });
  elbv2
    .on(DescribeListenersCommand)
    .resolvesOnce(listener(19, 1, { Enabled: true, DurationSeconds: 300 }))
    .resolves(listener(1, 0, { Enabled: false }));
  elbv2.on(ModifyListenerCommand).resolves({ Listeners: listener(1, 0, { Enabled: false }).Listeners });
  return message;
}

describe('on-alarm', () => {
  it('marks a gated rollout aborted, puts it back on stable and fails its wait with AlarmFired', async () => {
    // Prepare
    const event = loadEvent('cloudwatch/alarm');
    const active = record({
      route,
      currentStep: 0,
      canaryPercent: 5,
      canaryStartedAt: CANARY_STARTED,
      wait: { token: TASK_TOKEN, kind: 'bake', step: 0, since: CANARY_STARTED },
    });
    doc.on(QueryCommand).resolves({ Items: [recordItem(active)], Count: 1, ScannedCount: 1 });
    const message = holdingAtCanary(active, event.detail.state.reason);
    sfn.on(SendTaskFailureCommand).resolves({});

    // Act
    const handler = await handlerOf('on-alarm');
    const result = await handler(event, context);

    // Assess
    expect(result).toEqual({ alarm: 'web-5xx-high', stopped: [ROLLOUT_ID] });
    // Every partition of the `active` index is read; the one live rollout is found once.
    expect(doc.commandCalls(QueryCommand).map((c) => c.args[0].input)).toEqual(activeQueries());
    expect(elbv2.commandCalls(ModifyListenerCommand).map((c) => c.args[0].input)).toEqual([
      {
        ListenerArn: LISTENER_ARN,
        DefaultActions: [
          {
            Type: 'forward',
            Order: 1,
            ForwardConfig: {
              TargetGroups: [
                { TargetGroupArn: STABLE_TG_ARN, Weight: 1 },
                { TargetGroupArn: CANARY_TG_ARN, Weight: 0 },
              ],
              // Stickiness off at 100% stable, or sticky clients would stay on the canary.
              TargetGroupStickinessConfig: { Enabled: false },
            },
          },
        ],
      },
    ]);
    // The mark only while the rollout holds the service: its record and the service's lock read, then the mark
    // written on the condition that its status is still live; both read again before the listener is changed (its
    // rollback may have handed the service over since).
    expect(doc.commandCalls(GetCommand).map((c) => c.args[0].input)).toEqual([
      getInput(`ROLLOUT#${ROLLOUT_ID}`, 'RECORD'),
      getInput('SERVICE#web', 'LOCK'),
      getInput('SERVICE#web', 'LOCK'),
      getInput(`ROLLOUT#${ROLLOUT_ID}`, 'RECORD'),
    ]);
    expect(doc.commandCalls(UpdateCommand).map((c) => c.args[0].input)).toEqual([
      {
        ...updateInput(
          'SET #abort = if_not_exists(#abort, :abort)',
          { '#abort': 'abort', '#status': 'status' },
          {
            ':abort': { reason: 'AlarmFired', message, at: NOW },
            ':live0': 'running',
            ':live1': 'promoting',
            ':live2': 'rollingBack',
          },
        ),
        ConditionExpression: 'attribute_exists(pk) AND #status IN (:live0, :live1, :live2)',
      },
      updateInput('SET #f0 = :v0', { '#f0': 'canaryPercent' }, { ':v0': 0 }),
    ]);
    expect(sfn.commandCalls(SendTaskFailureCommand).map((c) => c.args[0].input)).toEqual([
      { taskToken: TASK_TOKEN, error: 'AlarmFired', cause: message },
    ]);
    expect(doc.commandCalls(PutCommand).map((c) => c.args[0].input)).toEqual([
      historyPut('alarm', message, { alarm: 'web-5xx-high' }),
    ]);
    // The abort first (a task moving traffic reads it after its own write), the service still its own, then traffic
    // (verified), then the wait.
    expect(timeline()).toEqual([
      ...activeQueries().map(() => 'doc:QueryCommand'),
      'doc:GetCommand',
      'doc:GetCommand',
      'doc:UpdateCommand',
      'doc:GetCommand',
      'doc:GetCommand',
      'elbv2:DescribeListenersCommand',
      'elbv2:DescribeTargetGroupAttributesCommand',
      'elbv2:DescribeTargetGroupAttributesCommand',
      'elbv2:ModifyListenerCommand',
      'elbv2:DescribeListenersCommand',
      'doc:UpdateCommand',
      'sfn:SendTaskFailureCommand',
      'doc:PutCommand',
    ]);
    expect(ecs.calls()).toHaveLength(0);
  });

  it('stops the rollouts it could list, then fails so the event is retried, when one partition cannot be read', async () => {
    // Prepare: the rollout's shard answers; another shard answers 500 to every attempt.
    const event = loadEvent('cloudwatch/alarm');
    const active = record({ route, currentStep: 0, canaryPercent: 5, canaryStartedAt: CANARY_STARTED });
    const own = activePk(ROLLOUT_ID);
    const broken = ACTIVE_PARTITIONS.find((p) => p !== own && p !== 'ACTIVE') as string;
    const unavailable = Object.assign(new Error('We encountered an internal error. Please try again.'), {
      name: 'InternalServerError',
      $fault: 'server',
      $metadata: { httpStatusCode: 500 },
    });
    doc.on(QueryCommand).resolves({ Items: [], Count: 0, ScannedCount: 0 });
    doc
      .on(QueryCommand, { ExpressionAttributeValues: { ':active': own } })
      .resolves({ Items: [recordItem(active)], Count: 1, ScannedCount: 1 });
    doc.on(QueryCommand, { ExpressionAttributeValues: { ':active': broken } }).rejects(unavailable);
    const message = holdingAtCanary(active, event.detail.state.reason);
    // No other rollout runs: the unread partition holds no gated rollout with a running execution.
    sfn.on(ListExecutionsCommand).resolves({ executions: [] });

    // Act
    const handler = await handlerOf('on-alarm');
    const outcome = handler(event, context);

    // Assess: the invocation fails (EventBridge and Lambda retry it), after the listed rollout was stopped.
    await expect(outcome).rejects.toMatchObject({ name: 'Transient' });
    const brokenReads = doc
      .commandCalls(QueryCommand)
      .filter((c) => c.args[0].input.ExpressionAttributeValues?.[':active'] === broken);
    expect(brokenReads).toHaveLength(3);
    // The running executions are read for gated rollouts the unread partition may hold.
    expect(sfn.commandCalls(ListExecutionsCommand).map((c) => c.args[0].input)).toEqual([
      expect.objectContaining({ statusFilter: 'RUNNING' }),
    ]);
    const updates = doc.commandCalls(UpdateCommand).map((c) => c.args[0].input);
    expect(updates[0]).toMatchObject({
      UpdateExpression: 'SET #abort = if_not_exists(#abort, :abort)',
      ExpressionAttributeValues: { ':abort': { reason: 'AlarmFired', message, at: NOW } },
    });
    expect(elbv2.commandCalls(ModifyListenerCommand).map((c) => c.args[0].input)).toEqual([
      modify(1, 0, { Enabled: false }),
    ]);
    expect(doc.commandCalls(PutCommand).map((c) => c.args[0].input)).toEqual([
      historyPut('alarm', message, { alarm: 'web-5xx-high' }),
    ]);
  });
});
