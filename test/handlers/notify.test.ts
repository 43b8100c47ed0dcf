/**
 * Workflow task notify: the configured notifiers are told how the rollout ended.
 * Through the real handler and adapters with mocked SDK clients (requests checked against AWS's API models).
 */

import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { PublishCommand } from '@aws-sdk/client-sns';
import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it, vi } from 'vitest';
import type { RolloutDoc } from '../../functions/core/rollout';
import {
  context,
  DEFAULT_TOPIC,
  doc,
  fetchMock,
  handlerOf,
  installAwsMockHooks,
  ROUTING_KEY,
  record,
  recordItem,
  rolloutDoc,
  SERVICE_TOPIC,
  secrets,
  sns,
  stubEnv,
} from '../helpers/aws-mocks';
import { PAGERDUTY_SECRET_ARN, ROLLOUT_ID, SERVICE, validParsedConfig } from '../helpers/config';

installAwsMockHooks();

describe('notify', () => {
  it('a rollback: SNS Publish with service/event/severity attributes, and a PagerDuty page deduplicated by rollout', async () => {
    // Act
    doc.on(GetCommand).resolves({});
    const handler = await handlerOf('notify');
    const result = await handler(
      {
        rollout: rolloutDoc,
        outcome: 'rolledBack',
        error: { Error: 'CanaryFailed', Cause: 'errorRate: canary 4.6% vs stable 0.1%' },
      },
      context,
    );

    // Assess
    expect(result).toEqual({
      delivered: expect.arrayContaining([expect.any(String), expect.any(String)]),
      failed: [],
    });
    const published = sns.commandCalls(PublishCommand).map((c) => c.args[0].input);
    expect(published).toHaveLength(1);
    expect(published[0]).toMatchObject({
      TopicArn: SERVICE_TOPIC,
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
    const [url, init] = fetchMock.mock.calls[0] as [string, RequestInit];
    expect(String(url)).toBe('https://events.pagerduty.com/v2/enqueue');
    expect(init.method).toBe('POST');
    const body = JSON.parse(String(init.body));
    expect(body).toMatchObject({
      routing_key: ROUTING_KEY,
      event_action: 'trigger',
      dedup_key: ROLLOUT_ID,
      payload: { severity: 'error' },
    });
    // The routing key goes to PagerDuty only.
    expect(JSON.stringify(published)).not.toContain(ROUTING_KEY);
  });

  it('a promotion informs on SNS and does not page', async () => {
    doc.on(GetCommand).resolves({});
    const handler = await handlerOf('notify');
    await handler({ rollout: rolloutDoc, outcome: 'promoted' }, context);
    expect(sns.commandCalls(PublishCommand).map((c) => c.args[0].input.MessageAttributes)).toEqual([
      expect.objectContaining({
        event: { DataType: 'String', StringValue: 'rollout.promoted' },
        severity: { DataType: 'String', StringValue: 'info' },
      }),
    ]);
    expect(fetchMock).not.toHaveBeenCalled();
  });
});

describe('notify: the incident of a pause on failure, once the pause is over', () => {
  const PAUSED_AT = '2025-03-14T09:38:00.000Z';
  const PAUSE_KEY = `${ROLLOUT_ID}:pause:2:${PAUSED_AT}`;
  const pausedRecord = () =>
    recordItem(
      record({
        currentStep: 1,
        canaryPercent: 0,
        paused: { cause: 'failure', at: PAUSED_AT, by: 'the workflow', via: 'workflow', weight: 0 },
      }),
    );
  const sent = () => fetchMock.mock.calls.map(([, init]) => JSON.parse(String((init as RequestInit).body)));

  it('an abort of the paused rollout resolves the pause incident (the deliberate rollback pages nobody)', async () => {
    doc.on(GetCommand).resolves({ Item: pausedRecord() });
    const handler = await handlerOf('notify');
    await handler(
      {
        rollout: rolloutDoc,
        outcome: 'rolledBack',
        error: { Error: 'Aborted', Cause: 'aborted from the CLI' },
      },
      context,
    );
    // PagerDuty Events API v2: a resolve names the incident by its dedup_key; no payload.
    expect(sent()).toEqual([{ routing_key: ROUTING_KEY, event_action: 'resolve', dedup_key: PAUSE_KEY }]);
  });

  it('the pause timing out: the rollback pages on the rollout and resolves the pause incident', async () => {
    doc.on(GetCommand).resolves({ Item: pausedRecord() });
    const handler = await handlerOf('notify');
    await handler(
      { rollout: rolloutDoc, outcome: 'rolledBack', error: { Error: 'CanaryFailed', Cause: 'errorRate' } },
      context,
    );
    expect(sent().map((b) => [b.event_action, b.dedup_key])).toEqual([
      ['trigger', ROLLOUT_ID],
      ['resolve', PAUSE_KEY],
    ]);
  });

  it('a retry resolves the pause incident on PagerDuty only, and says when it could not', async () => {
    doc.on(GetCommand).resolves({ Item: pausedRecord() });
    const handler = await handlerOf('notify');
    await handler({ rollout: rolloutDoc, outcome: 'resumed' }, context);
    expect(sent()).toEqual([{ routing_key: ROUTING_KEY, event_action: 'resolve', dedup_key: PAUSE_KEY }]);
    expect(sns.commandCalls(PublishCommand)).toHaveLength(0);

    fetchMock.mockResolvedValue(new Response('unavailable', { status: 503 }));
    await expect(handler({ rollout: rolloutDoc, outcome: 'resumed' }, context)).rejects.toMatchObject({
      name: 'PageNotDelivered',
    });
  });
});

describe('notify: a pause incident whose resolve PagerDuty did not take', () => {
  const PAUSED_AT = '2025-03-14T09:38:00.000Z';
  const PAUSE_KEY = `${ROLLOUT_ID}:pause:2:${PAUSED_AT}`;
  const sent = () => fetchMock.mock.calls.map(([, init]) => JSON.parse(String((init as RequestInit).body)));

  it('the retry keeps the key on the record when the resolve is not delivered', async () => {
    const paused = { cause: 'failure' as const, at: PAUSED_AT, by: 'the workflow', via: 'workflow' as const };
    doc
      .on(GetCommand)
      .resolves({ Item: recordItem(record({ currentStep: 1, paused: { ...paused, weight: 0 } })) });
    doc.on(UpdateCommand).resolves({ Attributes: recordItem(record({})) });
    fetchMock.mockResolvedValue(new Response('unavailable', { status: 503 }));
    const handler = await handlerOf('notify');
    await expect(handler({ rollout: rolloutDoc, outcome: 'resumed' }, context)).rejects.toMatchObject({
      name: 'PageNotDelivered',
    });
    const values = doc.commandCalls(UpdateCommand).map((c) => c.args[0].input.ExpressionAttributeValues);
    expect(values).toContainEqual(expect.objectContaining({ ':v0': [PAUSE_KEY] }));
  });

  it('the rollout’s next notification resolves it (a promotion, which pages nobody), then clears it', async () => {
    doc.on(GetCommand).resolves({ Item: recordItem(record({ unresolvedPauses: [PAUSE_KEY] })) });
    doc.on(UpdateCommand).resolves({ Attributes: recordItem(record({})) });
    const handler = await handlerOf('notify');
    await handler({ rollout: rolloutDoc, outcome: 'promoted' }, context);
    expect(sent()).toEqual([{ routing_key: ROUTING_KEY, event_action: 'resolve', dedup_key: PAUSE_KEY }]);
    const updates = doc.commandCalls(UpdateCommand).map((c) => c.args[0].input.UpdateExpression);
    expect(updates).toContainEqual(expect.stringMatching(/REMOVE .*#f0/));
  });
});

describe('notify: the rollout’s end, PagerDuty refusing the resolve of a pause incident', () => {
  const PAUSED_AT = '2025-03-14T09:38:00.000Z';
  const PAUSE_KEY = `${ROLLOUT_ID}:pause:2:${PAUSED_AT}`;
  const EARLIER = `${ROLLOUT_ID}:pause:1:2025-03-14T09:20:00.000Z`;

  it('keeps every incident it could not resolve on the record (the reconciler resolves them at the execution’s end)', async () => {
    // Prepare: aborted while paused on a failure; an earlier pause's resolve was refused already.
    const paused = { cause: 'failure' as const, at: PAUSED_AT, by: 'the workflow', via: 'workflow' as const };
    const stored = record({ currentStep: 1, paused: { ...paused, weight: 0 }, unresolvedPauses: [EARLIER] });
    doc.on(GetCommand).resolves({ Item: recordItem(stored) });
    doc.on(UpdateCommand).resolves({ Attributes: recordItem(stored) });
    // Refused (a 4xx the adapter does not retry, so the test takes no backoff; a 5xx refused four times is the same).
    fetchMock.mockResolvedValue(new Response('{"status":"invalid event"}', { status: 400 }));
    const handler = await handlerOf('notify');
    // Act
    const notified = handler(
      {
        rollout: rolloutDoc,
        outcome: 'rolledBack',
        error: { Error: 'Aborted', Cause: 'aborted from the CLI' },
      },
      context,
    );
    // Assess: the workflow retries the notification; the record lists both incidents for whoever resolves them.
    await expect(notified).rejects.toMatchObject({ name: 'PageNotDelivered' });
    const updates = doc.commandCalls(UpdateCommand).map((c) => c.args[0].input);
    expect(updates).toHaveLength(1);
    expect(updates[0]?.ExpressionAttributeNames).toMatchObject({ '#f0': 'unresolvedPauses' });
    expect(updates[0]?.ExpressionAttributeValues).toMatchObject({ ':v0': [PAUSE_KEY, EARLIER] });
  });
});

describe('notification channels', () => {
  it('the service’s own topic wins over SNS_TOPIC_ARN, and the default takes a service that names none', async () => {
    // Prepare
    // Each rollout document carries its service's config: notify reads no catalog.
    stubEnv({ SNS_TOPIC_ARN: DEFAULT_TOPIC });
    doc.on(GetCommand).resolves({});
    const handler = await handlerOf('notify');
    const apiConfig = validParsedConfig({ service: 'api', repository: 'acme/api', notifications: undefined });
    const apiDoc: RolloutDoc = {
      ...rolloutDoc,
      rolloutId: 'api-faec26f150531ab9',
      service: 'api',
      image: { ...rolloutDoc.image, repository: 'acme/api' },
      config: apiConfig,
    };

    // Act
    await handler({ rollout: rolloutDoc, outcome: 'promoted' }, context);
    await handler({ rollout: apiDoc, outcome: 'promoted' }, context);

    // Assess
    expect(sns.commandCalls(PublishCommand).map((c) => c.args[0].input.TopicArn)).toEqual([
      SERVICE_TOPIC,
      DEFAULT_TOPIC,
    ]);
  });

  it('pages with the service’s secret (read once per cold start) and skips SNS when no topic exists', async () => {
    // Prepare
    const config = validParsedConfig({ notifications: { snsTopicArn: undefined } });
    doc.on(GetCommand).resolves({});
    const handler = await handlerOf('notify');
    const failed = { rollout: { ...rolloutDoc, config }, outcome: 'rollbackFailed' as const };

    // Act
    await handler(failed, context);
    await handler(failed, context);

    // Assess
    expect(sns.calls()).toHaveLength(0);
    expect(secrets.commandCalls(GetSecretValueCommand).map((c) => c.args[0].input)).toEqual([
      { SecretId: PAGERDUTY_SECRET_ARN },
    ]);
    expect(fetchMock).toHaveBeenCalledTimes(2);
  });

  it('counts the outcome as a CloudWatch metric (EMF), the count the RollbacksFailed alarm reads', async () => {
    // Metrics on (the other tests turn them off); POWERTOOLS_DEV prints them through the global console.
    stubEnv({ POWERTOOLS_METRICS_DISABLED: 'false' });
    doc.on(GetCommand).resolves({});
    const handler = await handlerOf('notify');
    const lines: string[] = [];
    const printed = vi.spyOn(console, 'log').mockImplementation((line: unknown) => {
      lines.push(String(line));
    });
    try {
      await handler({ rollout: rolloutDoc, outcome: 'rollbackFailed' }, context);
    } finally {
      printed.mockRestore();
    }
    const emf = lines.filter((line) => line.includes('"_aws"')).map((line) => JSON.parse(line));
    const counted = emf.find((m) => 'RollbacksFailed' in m);
    expect(counted).toMatchObject({ RollbacksFailed: 1, service: 'canary-controller' });
    expect(counted._aws.CloudWatchMetrics[0]).toMatchObject({
      Namespace: 'CanaryController',
      Dimensions: [['service']],
      Metrics: [expect.objectContaining({ Name: 'RollbacksFailed', Unit: 'Count' })],
    });
  });
});
