import { PublishCommand } from '@aws-sdk/client-sns';
import { describe, expect, it } from 'vitest';
import {
  context,
  fetchMock,
  firstStep,
  handlerOf,
  installAwsMockHooks,
  record,
  rolloutDoc,
  route,
  SERVICE_TOPIC,
  sns,
  TASK_TOKEN,
  table,
  timeline,
} from '../helpers/aws-mocks';

installAwsMockHooks();

describe('notification channels', () => {
  it('request-approval asks on the service’s topic', async () => {
    // Prepare
    table({ lock: true, record: record({ route, currentStep: 0, canaryPercent: 5 }) });
    const handler = await handlerOf('request-approval');
    const step = { ...firstStep, approval: true };

    // Act
    await handler({ token: TASK_TOKEN, rollout: rolloutDoc, step, seconds: 3600 }, context);

    // Assess
    expect(sns.commandCalls(PublishCommand).map((c) => c.args[0].input)).toEqual([
      expect.objectContaining({
        TopicArn: SERVICE_TOPIC,
        MessageAttributes: expect.objectContaining({
          event: { DataType: 'String', StringValue: 'approval.requested' },
        }),
      }),
    ]);
    // A warning does not page.
    expect(fetchMock).not.toHaveBeenCalled();
  });
});

describe('request-approval input', () => {
  it('refuses an analysis given as an array, naming the field, and sends nothing', async () => {
    // Prepare
    table({ lock: true, record: record({ route, currentStep: 0, canaryPercent: 5 }) });
    const handler = await handlerOf('request-approval');
    const step = { ...firstStep, approval: true };

    // Act
    const act = handler(
      { token: TASK_TOKEN, rollout: rolloutDoc, step, seconds: 3600, analysis: [] },
      context,
    );

    // Assess
    await expect(act).rejects.toMatchObject({
      name: 'InputInvalid',
      issues: [{ path: 'analysis', message: 'Invalid input: expected object, received array' }],
    });
    expect(timeline()).toEqual([]);
  });
});
