/**
 * Lambda reconcile: an execution that failed, timed out or was stopped outside the workflow is cleaned up.
 * Through the real handler and adapters with mocked SDK clients (requests checked against AWS's API models).
 */

import { UpdateServiceCommand } from '@aws-sdk/client-ecs';
import { DescribeListenersCommand, ModifyListenerCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { GetExecutionHistoryCommand } from '@aws-sdk/client-sfn';
import { PublishCommand } from '@aws-sdk/client-sns';
import { DeleteCommand, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { activePk } from '../../functions/adapters/aws/dynamodb/table';
import { imageLabel, type RolloutRecord } from '../../functions/core/rollout';
import {
  CANARY_STARTED,
  CANARY_TASK_DEF,
  context,
  doc,
  ecs,
  ecsService,
  elbv2,
  fetchMock,
  forward,
  handlerOf,
  historyPut,
  installAwsMockHooks,
  listener,
  NOW,
  ROUTING_KEY,
  record,
  rolloutDoc,
  route,
  SERVICE_TOPIC,
  STABLE_IMAGE,
  STABLE_TASK_DEF,
  secrets,
  serveConfigs,
  sfn,
  sns,
  TABLE,
  table,
  timeline,
  updateInput,
} from '../helpers/aws-mocks';
import {
  CANARY_SERVICE,
  CANARY_TG_ARN,
  ECS_CLUSTER,
  IMAGE_DIGEST,
  LISTENER_ARN,
  PAGERDUTY_SECRET_ARN,
  ROLLOUT_ID,
  SERVICE,
  validServiceConfig,
} from '../helpers/config';
import { loadEvent } from '../helpers/fixtures';

installAwsMockHooks();

type Update = {
  ExpressionAttributeNames?: Record<string, string>;
  ExpressionAttributeValues?: Record<string, unknown>;
};

/** The fields an update writes, by name: the update that recorded the rollback, or the last one. */
function fieldsOf(update: Update | undefined): Record<string, unknown> {
  const names = update?.ExpressionAttributeNames ?? {};
  const values = update?.ExpressionAttributeValues ?? {};
  return Object.fromEntries(Object.entries(names).map(([k, name]) => [name, values[k.replace('#f', ':v')]]));
}

function rollbackWrite(): Record<string, unknown> {
  const updates = doc.commandCalls(UpdateCommand).map((c) => fieldsOf(c.args[0].input as Update));
  return updates.find((fields) => fields.status === 'rolledBack') ?? {};
}

/**
 * ELB and ECS as a rollback finds and leaves them: the listener as `found` (all on stable unless told), then all on
 * stable; the canary service scaled in.
 */
function trafficOnStable(found = listener(1, 0, { Enabled: false })): void {
  elbv2
    .on(DescribeListenersCommand)
    .resolvesOnce(found)
    .resolves(listener(1, 0, { Enabled: false }));
  elbv2.on(ModifyListenerCommand).resolves({ Listeners: listener(1, 0, { Enabled: false }).Listeners });
  ecs
    .on(UpdateServiceCommand)
    .resolves({ service: ecsService(CANARY_SERVICE, 0, CANARY_TASK_DEF, CANARY_TG_ARN) });
}

/** A running rollout paused on a failed analysis at step 1 since `pausedAt`, holding the lock, traffic on stable. */
function pausedOnFailure(pausedAt: string, extra: Partial<RolloutRecord> = {}): void {
  const paused = { cause: 'failure', at: pausedAt, by: 'the workflow', via: 'workflow', weight: 0 } as const;
  table({
    lock: true,
    record: record({
      route,
      currentStep: 0,
      canaryPercent: 0,
      canaryStartedAt: CANARY_STARTED,
      ...extra,
      paused,
    }),
  });
  trafficOnStable();
}

describe('reconcile: its event and environment', () => {
  it('reads the rollout of a failed execution from the table and leaves an unknown one alone', async () => {
    // Act
    doc.on(GetCommand).resolves({});
    const { handler } = await import('../../functions/handlers/reconcile');
    const event = loadEvent('states/failed');
    const result = await handler(event, context);

    // Assess
    expect(result).toMatchObject({ rolloutId: event.detail.name, action: 'none', detail: 'not a rollout' });
    const gets = doc.commandCalls(GetCommand);
    expect(gets).toHaveLength(1);
    expect(gets[0]?.args[0].input.TableName).toBe(TABLE);
    expect(sfn.calls()).toHaveLength(0);
    expect(elbv2.calls()).toHaveLength(0);
  });

  it('rejects a malformed event with InputInvalid and sends nothing', async () => {
    const { handler } = await import('../../functions/handlers/reconcile');
    const event = loadEvent('states/failed') as unknown as { detail: Record<string, unknown> };
    event.detail.status = 42;
    await expect(handler(event, context)).rejects.toMatchObject({ name: 'InputInvalid' });
    expect(timeline()).toEqual([]);
  });
});

describe('reconcile', () => {
  it('restores what the rollout started with, read from its execution when the event carries no input, not the config deployed since', async () => {
    // Prepare: the event leaves the input out (Step Functions does above 248 KB); a deploy changed the config since.
    const event = loadEvent('states/failed');
    event.detail.input = null;
    event.detail.inputDetails = { included: false };
    serveConfigs([
      validServiceConfig({
        traffic: { stickinessSeconds: 300 },
        notifications: { snsTopicArn: SERVICE_TOPIC },
        deployer: { canaryService: 'web-canary-next' },
      }),
    ]);
    sfn.on(GetExecutionHistoryCommand).resolves({
      events: [
        {
          id: 12,
          timestamp: new Date(NOW),
          type: 'TaskStateEntered',
          stateEnteredEventDetails: { name: 'Bake', input: JSON.stringify({ rollout: rolloutDoc }) },
        },
      ],
    });
    table({
      lock: true,
      record: record({
        route,
        currentStep: 0,
        canaryPercent: 5,
        canaryStartedAt: CANARY_STARTED,
        previousStable: { image: STABLE_IMAGE, revision: STABLE_TASK_DEF },
      }),
    });
    trafficOnStable(listener(19, 1, { Enabled: true, DurationSeconds: 300 }));

    // Act
    const handler = await handlerOf('reconcile');
    const result = await handler(event, context);

    // Assess: the canary service the rollout ran on is scaled in, not the one named by today's config.
    expect(result).toMatchObject({ rolloutId: ROLLOUT_ID, action: 'rolledBack', restored: true });
    expect(ecs.commandCalls(UpdateServiceCommand).map((c) => c.args[0].input)).toEqual([
      { cluster: ECS_CLUSTER, service: CANARY_SERVICE, desiredCount: 0 },
    ]);
  });

  it('resolves the incident of the pause on failure the record shows (stopped or timed out in AwaitRetry)', async () => {
    // Prepare: paused on a failed analysis at step 1, traffic on stable; the execution then timed out
    const pausedAt = '2026-03-14T09:20:00.000Z';
    pausedOnFailure(pausedAt, { previousStable: { image: STABLE_IMAGE, revision: STABLE_TASK_DEF } });
    const handler = await handlerOf('reconcile');
    // Act
    await handler(loadEvent('states/failed'), context);
    // Assess: the rollback's page, then the resolve of the pause's incident
    const sent = fetchMock.mock.calls.map((c) => JSON.parse(String(c[1]?.body)) as Record<string, unknown>);
    expect(sent).toEqual([
      expect.objectContaining({ event_action: 'trigger', dedup_key: ROLLOUT_ID }),
      expect.objectContaining({ event_action: 'resolve', dedup_key: `${ROLLOUT_ID}:pause:1:${pausedAt}` }),
    ]);
  });

  it('stopped while paused, PagerDuty refusing: the rollback recorded, the pause’s incident kept for the retried event', async () => {
    // Prepare: paused on a failed analysis, traffic on stable; the execution is then stopped; PagerDuty refuses.
    const pausedAt = '2026-03-14T09:20:00.000Z';
    const key = `${ROLLOUT_ID}:pause:1:${pausedAt}`;
    pausedOnFailure(pausedAt, { previousStable: { image: STABLE_IMAGE, revision: STABLE_TASK_DEF } });
    fetchMock.mockResolvedValue(new Response('{"status":"invalid event"}', { status: 400 }));
    const handler = await handlerOf('reconcile');
    // Act
    const outcome = handler(loadEvent('states/aborted'), context);
    // Assess: Lambda retries the event; the record is rolled back, the lock released, and the key kept after it.
    await expect(outcome).rejects.toMatchObject({ name: 'PageNotDelivered' });
    expect(doc.commandCalls(DeleteCommand)).toHaveLength(1);
    expect(rollbackWrite()).toMatchObject({ unresolvedPauses: [key], pageOwed: true });
  });

  it('stopped while paused, PagerDuty taking the page but refusing the resolve: only the resolve is kept', async () => {
    const pausedAt = '2026-03-14T09:20:00.000Z';
    pausedOnFailure(pausedAt);
    const accepted = '{"status":"success","message":"Event processed","dedup_key":"k"}';
    fetchMock
      .mockResolvedValueOnce(new Response(accepted, { status: 202 }))
      .mockResolvedValue(new Response('{"status":"invalid event"}', { status: 400 }));
    const handler = await handlerOf('reconcile');
    // Act
    const outcome = handler(loadEvent('states/aborted'), context);
    // Assess: the page is not owed (PagerDuty took it; the retry must not page again), the resolve is.
    await expect(outcome).rejects.toMatchObject({ name: 'PageNotDelivered' });
    expect(rollbackWrite()).toMatchObject({ unresolvedPauses: [`${ROLLOUT_ID}:pause:1:${pausedAt}`] });
    expect(rollbackWrite()).not.toHaveProperty('pageOwed');
  });

  it('restores stable, scales the canary to 0, releases the lock and notifies the service’s channels', async () => {
    // Act
    const event = loadEvent('states/failed');
    table({
      lock: true,
      record: record({
        route,
        currentStep: 0,
        canaryPercent: 5,
        canaryStartedAt: CANARY_STARTED,
        previousStable: { image: STABLE_IMAGE, revision: STABLE_TASK_DEF },
      }),
    });
    trafficOnStable(listener(19, 1, { Enabled: true, DurationSeconds: 300 }));
    // The service names its own PagerDuty secret; the controller has no default.
    const handler = await handlerOf('reconcile');
    const result = await handler(event, context);

    // Assess
    expect(result).toEqual({ rolloutId: ROLLOUT_ID, action: 'rolledBack', status: 'FAILED', restored: true });
    expect(elbv2.commandCalls(ModifyListenerCommand).map((c) => c.args[0].input)).toEqual([
      {
        ListenerArn: LISTENER_ARN,
        DefaultActions: [forward(1, 0, { Enabled: false })],
      },
    ]);
    expect(ecs.commandCalls(UpdateServiceCommand).map((c) => c.args[0].input)).toEqual([
      { cluster: ECS_CLUSTER, service: CANARY_SERVICE, desiredCount: 0 },
    ]);
    const reason = `execution failed: ${event.detail.cause}`;
    expect(doc.commandCalls(UpdateCommand).map((c) => c.args[0].input)).toEqual([
      updateInput(
        'SET #f0 = :v0, #f1 = :v1, #activePk = if_not_exists(#activePk, :active), #activeSk = :rolloutId',
        { '#f0': 'status', '#f1': 'updatedAt', '#activePk': 'activePk', '#activeSk': 'activeSk' },
        { ':v0': 'rollingBack', ':v1': NOW, ':active': activePk(ROLLOUT_ID), ':rolloutId': ROLLOUT_ID },
      ),
      updateInput(
        'SET #f0 = :v0, #f1 = :v1, #f2 = :v2, #f3 = :v3 REMOVE #activePk, #activeSk',
        {
          '#f0': 'status',
          '#f1': 'updatedAt',
          '#f2': 'canaryPercent',
          '#f3': 'outcome',
          '#activePk': 'activePk',
          '#activeSk': 'activeSk',
        },
        {
          ':v0': 'rolledBack',
          ':v1': NOW,
          ':v2': 0,
          ':v3': { result: 'rolledBack', reason: `CanaryFailed: ${reason}`, at: NOW },
        },
      ),
    ]);
    expect(doc.commandCalls(PutCommand).map((c) => c.args[0].input)).toEqual([
      {
        TableName: TABLE,
        Item: {
          pk: `SERVICE#${SERVICE}`,
          sk: `QUARANTINE#${IMAGE_DIGEST}`,
          service: SERVICE,
          digest: IMAGE_DIGEST,
          reason: `CanaryFailed: ${reason}`,
          at: NOW,
        },
      },
      historyPut('rolledBack', `${imageLabel(rolloutDoc.image)} rolled back: ${reason}`, {
        error: 'CanaryFailed',
        reason,
        quarantined: true,
      }),
    ]);
    expect(doc.commandCalls(DeleteCommand).map((c) => c.args[0].input)).toEqual([
      {
        TableName: TABLE,
        Key: { pk: `SERVICE#${SERVICE}`, sk: 'LOCK' },
        ConditionExpression: '#rolloutId = :holder AND attribute_not_exists(#pending)',
        ExpressionAttributeNames: { '#rolloutId': 'rolloutId', '#pending': 'pending' },
        ExpressionAttributeValues: { ':holder': ROLLOUT_ID },
      },
    ]);

    // Notified on the service's own channels (no defaults are configured), as the config the rollout started with
    // (the execution's input) names them, not as the catalog's config deployed since does.
    const startedTopic = JSON.parse(event.detail.input ?? '{}').rollout.config.notifications.snsTopicArn;
    expect(startedTopic).not.toBe(SERVICE_TOPIC);
    const published = sns.commandCalls(PublishCommand).map((c) => c.args[0].input);
    expect(published).toHaveLength(1);
    expect(published[0]).toMatchObject({
      TopicArn: startedTopic,
      MessageAttributes: {
        service: { DataType: 'String', StringValue: SERVICE },
        event: { DataType: 'String', StringValue: 'rollout.rolledBack' },
        severity: { DataType: 'String', StringValue: 'error' },
      },
    });
    expect(secrets.commandCalls(GetSecretValueCommand).map((c) => c.args[0].input)).toEqual([
      { SecretId: PAGERDUTY_SECRET_ARN },
    ]);
    expect(fetchMock).toHaveBeenCalledTimes(1);
    const page = JSON.parse(String(fetchMock.mock.calls[0]?.[1]?.body)) as Record<string, unknown>;
    expect(page).toMatchObject({ routing_key: ROUTING_KEY, event_action: 'trigger', dedup_key: ROLLOUT_ID });

    // Traffic back on stable (verified) before the canary is scaled down, then the page, then the store.
    const order = timeline();
    expect(order.indexOf('elbv2:ModifyListenerCommand')).toBeLessThan(
      order.indexOf('ecs:UpdateServiceCommand'),
    );
    expect(order.lastIndexOf('elbv2:DescribeListenersCommand')).toBeLessThan(
      order.indexOf('ecs:UpdateServiceCommand'),
    );
    expect(order.indexOf('ecs:UpdateServiceCommand')).toBeLessThan(order.indexOf('sns:PublishCommand'));
    expect(order.indexOf('sns:PublishCommand')).toBeLessThan(order.indexOf('doc:PutCommand'));
    expect(order.lastIndexOf('doc:PutCommand')).toBeLessThan(order.indexOf('doc:DeleteCommand'));
    // The event's input is the execution's ({ rollout }): nothing is asked of Step Functions for the document.
    expect(sfn.calls()).toHaveLength(0);
  });
});

describe('reconcile: pause incidents the rollout’s notifications could not resolve', () => {
  const KEY = `${ROLLOUT_ID}:pause:2:2026-03-14T09:20:00.000Z`;
  const sent = () => fetchMock.mock.calls.map(([, init]) => JSON.parse(String(init?.body)));

  it('a promotion (SUCCEEDED) whose NotifyPromoted PagerDuty refused: the incident resolved, then cleared; traffic untouched', async () => {
    // Prepare: nothing runs after NotifyPromoted, whose resolve PagerDuty did not take.
    table({ record: record({ status: 'promoted', canaryPercent: 0, unresolvedPauses: [KEY] }) });
    const handler = await handlerOf('reconcile');
    // Act
    const result = await handler(loadEvent('states/succeeded'), context);
    // Assess: a resolve on PagerDuty only (no page, no SNS), the key cleared, no traffic or lock touched.
    expect(result).toMatchObject({ rolloutId: ROLLOUT_ID, action: 'resolved', status: 'SUCCEEDED' });
    expect(sent()).toEqual([{ routing_key: ROUTING_KEY, event_action: 'resolve', dedup_key: KEY }]);
    expect(sns.calls()).toHaveLength(0);
    expect(elbv2.calls()).toHaveLength(0);
    expect(doc.commandCalls(DeleteCommand)).toHaveLength(0);
    const updates = doc.commandCalls(UpdateCommand).map((c) => c.args[0].input);
    expect(updates).toHaveLength(1);
    expect(updates[0]?.UpdateExpression).toMatch(/REMOVE .*#f0/);
    expect(updates[0]?.ExpressionAttributeNames).toMatchObject({ '#f0': 'unresolvedPauses' });
  });

  it('a rollback the workflow recorded (FAILED) after NotifyRollback ran out of retries: the incident resolved', async () => {
    table({ record: record({ status: 'rolledBack', canaryPercent: 0, unresolvedPauses: [KEY] }) });
    const handler = await handlerOf('reconcile');
    const result = await handler(loadEvent('states/failed'), context);
    expect(result).toMatchObject({ action: 'resolved', status: 'FAILED' });
    expect(sent().map((b) => [b.event_action, b.dedup_key])).toEqual([['resolve', KEY]]);
  });

  it('a rollback NotifyRollback could not read the record for: the pause on failure the record shows resolved', async () => {
    // Prepare: nothing was kept in unresolvedPauses; the record still shows the pause it ended in.
    const pausedAt = '2026-03-14T09:20:00.000Z';
    table({
      record: record({
        status: 'rolledBack',
        canaryPercent: 0,
        currentStep: 1,
        paused: { cause: 'failure', at: pausedAt, by: 'the workflow', via: 'workflow', weight: 0 },
      }),
    });
    const handler = await handlerOf('reconcile');
    const result = await handler(loadEvent('states/failed'), context);
    expect(result).toMatchObject({ action: 'resolved', status: 'FAILED' });
    expect(sent().map((b) => [b.event_action, b.dedup_key])).toEqual([
      ['resolve', `${ROLLOUT_ID}:pause:2:${pausedAt}`],
    ]);
  });

  it('PagerDuty refusing the rollback’s page: the rollback recorded, the page owed to the retried event', async () => {
    // Prepare: stopped while running, traffic on stable; PagerDuty refuses the trigger itself.
    table({
      lock: true,
      record: record({ route, currentStep: 0, canaryPercent: 0, canaryStartedAt: CANARY_STARTED }),
    });
    trafficOnStable();
    fetchMock.mockResolvedValue(new Response('{"status":"invalid event"}', { status: 400 }));
    const handler = await handlerOf('reconcile');
    // Act
    const outcome = handler(loadEvent('states/aborted'), context);
    // Assess: Lambda retries the event; the rollback is recorded, the lock released, the page marked owed.
    await expect(outcome).rejects.toMatchObject({ name: 'PageNotDelivered' });
    expect(sent().map((p) => p.event_action)).toEqual(['trigger']);
    expect(doc.commandCalls(DeleteCommand)).toHaveLength(1);
    expect(rollbackWrite()).toMatchObject({ status: 'rolledBack', pageOwed: true });
  });

  it('PagerDuty refusing the rollback’s page: the page owed written with the rollback, in one write', async () => {
    // Prepare: stopped while running, traffic on stable; PagerDuty refuses; the store takes the rollback, then fails.
    table({
      lock: true,
      record: record({ route, currentStep: 0, canaryPercent: 0, canaryStartedAt: CANARY_STARTED }),
    });
    trafficOnStable();
    fetchMock.mockResolvedValue(new Response('{"status":"invalid event"}', { status: 400 }));
    // Any write after the rollback's own that would mark the page owed fails.
    doc.on(UpdateCommand).callsFake((input: { ExpressionAttributeNames?: Record<string, string> }) => {
      const names = Object.values(input.ExpressionAttributeNames ?? {});
      if (names.includes('pageOwed') && !names.includes('status'))
        throw Object.assign(new Error('Throughput exceeds the current capacity'), {
          name: 'ProvisionedThroughputExceededException',
        });
      return {};
    });
    const handler = await handlerOf('reconcile');
    // Act
    await expect(handler(loadEvent('states/aborted'), context)).rejects.toThrow();
    // Assess: the write that recorded the rollback says the page is owed, so the retried event pages.
    expect(rollbackWrite()).toMatchObject({ status: 'rolledBack', pageOwed: true });
  });

  it('the retried event of a rollback whose page is owed: paged on PagerDuty only, once, then the mark cleared', async () => {
    const outcome = { result: 'rolledBack' as const, reason: 'execution aborted', at: NOW };
    table({ record: record({ status: 'rolledBack', canaryPercent: 0, pageOwed: true, outcome }) });
    const handler = await handlerOf('reconcile');
    // Act
    const result = await handler(loadEvent('states/aborted'), context);
    // Assess: the trigger (dedup key: the rollout id) on PagerDuty; no SNS, no traffic; the mark removed.
    expect(result).toMatchObject({ rolloutId: ROLLOUT_ID, action: 'paged' });
    expect(sent()).toEqual([
      expect.objectContaining({ routing_key: ROUTING_KEY, event_action: 'trigger', dedup_key: ROLLOUT_ID }),
    ]);
    expect(sns.calls()).toHaveLength(0);
    expect(elbv2.calls()).toHaveLength(0);
    const updates = doc.commandCalls(UpdateCommand).map((c) => c.args[0].input);
    expect(updates).toHaveLength(1);
    expect(updates[0]?.UpdateExpression).toMatch(/REMOVE .*#f0/);
    expect(updates[0]?.ExpressionAttributeNames).toMatchObject({ '#f0': 'pageOwed' });
  });

  it('PagerDuty refusing again: PageNotDelivered, for Lambda to retry the event; the key stays on the record', async () => {
    table({ record: record({ status: 'promoted', canaryPercent: 0, unresolvedPauses: [KEY] }) });
    fetchMock.mockResolvedValue(new Response('{"status":"invalid event"}', { status: 400 }));
    const handler = await handlerOf('reconcile');
    await expect(handler(loadEvent('states/succeeded'), context)).rejects.toMatchObject({
      name: 'PageNotDelivered',
    });
    expect(doc.commandCalls(UpdateCommand)).toHaveLength(0);
  });

  it('a promotion with nothing left open: the record read, nothing sent or written', async () => {
    table({ record: record({ status: 'promoted', canaryPercent: 0 }) });
    const handler = await handlerOf('reconcile');
    const result = await handler(loadEvent('states/succeeded'), context);
    expect(result).toMatchObject({ action: 'none', status: 'SUCCEEDED' });
    expect(fetchMock).not.toHaveBeenCalled();
    expect(doc.commandCalls(UpdateCommand)).toHaveLength(0);
  });
});
