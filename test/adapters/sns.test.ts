import {
  AuthorizationErrorException,
  NotFoundException,
  PublishCommand,
  SNSClient,
} from '@aws-sdk/client-sns';
import { beforeEach, describe, expect, it } from 'vitest';
import { AccessDeniedError } from '../../functions/adapters/aws/sdk';
import { SnsNotifier } from '../../functions/adapters/aws/sns';
import { ErrorName, TargetNotFoundError, TransientError } from '../../functions/core/errors';
import type { RolloutEvent } from '../../functions/ports';
import { snsMessage } from '../../functions/views/notification';
import { mockClient } from '../contract/mock';
import { awsError, fastRetry } from './helpers';

const client = new SNSClient({ region: 'us-east-1' });
const sns = mockClient(client);
const TOPIC = 'arn:aws:sns:us-east-1:123456789012:canary-rollouts';

const event: RolloutEvent = {
  type: 'rollout.rolledBack',
  severity: 'error',
  rolloutId: 'web-ab12ab12ab12ab12',
  service: 'web',
  image: 'team/web:v1.5.0',
  summary: 'web v1.5.0 rolled back at 10%: error rate 4.1% vs 0.3%',
  reason: 'CanaryFailed: errorRate',
  step: { index: 1, weight: 10 },
  at: '2025-03-04T12:10:00.000Z',
};

describe('SnsNotifier', () => {
  beforeEach(() => sns.reset());

  it('publishes core’s subject and message with String attributes to filter on', async () => {
    sns.on(PublishCommand).resolves({ MessageId: '5a1d3f0e-8b44-4c3e-9d0a-1f2e3d4c5b6a' });
    const expected = snsMessage(event);

    await new SnsNotifier(client, TOPIC, { retry: fastRetry().retry }).notify(event);

    expect(sns.commandCalls(PublishCommand)[0]?.args[0].input).toEqual({
      TopicArn: TOPIC,
      Subject: expected.subject,
      Message: expected.message,
      MessageAttributes: {
        service: { DataType: 'String', StringValue: 'web' },
        event: { DataType: 'String', StringValue: 'rollout.rolledBack' },
        severity: { DataType: 'String', StringValue: 'error' },
      },
    });
  });

  // SNS API Reference, Publish, Subject: "must be UTF-8 text with no line breaks or control characters, and less
  // than 100 characters long" (earlier: ASCII text beginning with a letter, number or punctuation mark). The API
  // model does not say so; the adapter test holds every subject it sends to it.
  it('sends a subject under 100 characters, one line, printable ASCII, even for a long service name', async () => {
    sns.on(PublishCommand).resolves({ MessageId: 'm' });
    const service = `payments-${'x'.repeat(31)}`; // 40 characters, the longest service name the config allows
    const long: RolloutEvent = {
      ...event,
      service,
      image: `team/${service}:v1.5.0-rc.1+build.20250304`,
      summary: `${service} team/${service}:v1.5.0-rc.1 rolled back at 10%:\nerror rate 4.1% vs 0.3% — p99 820 ms`,
    };

    await new SnsNotifier(client, TOPIC, { retry: fastRetry().retry }).notify(long);

    const subject = sns.commandCalls(PublishCommand)[0]?.args[0].input.Subject ?? '';
    expect(subject.length).toBeGreaterThan(0);
    expect(subject.length).toBeLessThan(100);
    expect(subject).toMatch(/^[A-Za-z0-9\p{P}][\x20-\x7e]*$/u);
    expect(subject).toContain(service);
  });

  it('adds a message group and a stable deduplication id on a FIFO topic', async () => {
    sns.on(PublishCommand).resolves({ MessageId: 'm', SequenceNumber: '1' });
    const notifier = new SnsNotifier(client, `${TOPIC}.fifo`, { retry: fastRetry().retry });

    await notifier.notify(event);
    await notifier.notify(event);

    const [first, second] = sns.commandCalls(PublishCommand).map((c) => c.args[0].input);
    expect(first?.MessageGroupId).toBe('web');
    expect(first?.MessageDeduplicationId).toMatch(/^[0-9a-f]{64}$/);
    expect(second?.MessageDeduplicationId).toBe(first?.MessageDeduplicationId);
  });

  it('a missing topic is TargetNotFound naming it', async () => {
    sns.on(PublishCommand).rejects(new NotFoundException({ message: 'Topic does not exist', $metadata: {} }));

    await expect(new SnsNotifier(client, TOPIC).notify(event)).rejects.toThrow(
      new TargetNotFoundError(`SNS topic ${TOPIC} does not exist`),
    );
  });

  it('authorization errors are AccessDenied naming sns:Publish and the topic', async () => {
    sns
      .on(PublishCommand)
      .rejects(new AuthorizationErrorException({ message: 'not authorized', $metadata: {} }));

    const error = await new SnsNotifier(client, TOPIC).notify(event).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(AccessDeniedError);
    expect((error as Error).message).toContain(`sns:Publish on ${TOPIC}`);
  });

  it('throttling is retried, then Transient', async () => {
    const retry = fastRetry();
    sns.on(PublishCommand).rejects(awsError('ThrottledException', 400, 'Rate exceeded'));

    await expect(new SnsNotifier(client, TOPIC, { retry: retry.retry }).notify(event)).rejects.toBeInstanceOf(
      TransientError,
    );
    expect(sns.commandCalls(PublishCommand)).toHaveLength(3);
    expect(retry.sleeps).toHaveLength(2);
  });

  it('names AccessDenied with core’s stable error name', async () => {
    sns
      .on(PublishCommand)
      .rejects(new AuthorizationErrorException({ message: 'not authorized', $metadata: {} }));

    await expect(new SnsNotifier(client, TOPIC).notify(event)).rejects.toMatchObject({
      name: ErrorName.AccessDenied,
    });
  });
});

describe('SnsNotifier channels', () => {
  const SERVICE_TOPIC = 'arn:aws:sns:us-east-1:123456789012:web-rollouts';

  beforeEach(() => {
    sns.reset();
    sns.on(PublishCommand).resolves({ MessageId: '5a1d3f0e-8b44-4c3e-9d0a-1f2e3d4c5b6a' });
  });

  const topics = () => sns.commandCalls(PublishCommand).map((c) => c.args[0].input.TopicArn);

  it('publishes to the service’s own topic over the default', async () => {
    await new SnsNotifier(client, TOPIC).notify({ ...event, channels: { snsTopicArn: SERVICE_TOPIC } });

    expect(topics()).toEqual([SERVICE_TOPIC]);
  });

  it('publishes to the default topic when the service names none', async () => {
    const notifier = new SnsNotifier(client, TOPIC);
    await notifier.notify(event);
    await notifier.notify({ ...event, channels: { pagerDutySecretArn: 'arn:aws:secretsmanager:x' } });

    expect(topics()).toEqual([TOPIC, TOPIC]);
  });

  it('publishes to a service’s topic without any default', async () => {
    await new SnsNotifier(client).notify({ ...event, channels: { snsTopicArn: SERVICE_TOPIC } });

    expect(topics()).toEqual([SERVICE_TOPIC]);
  });

  it('sends nothing when there is neither a service topic nor a default', async () => {
    const notifier = new SnsNotifier(client, undefined);
    await notifier.notify(event);
    await notifier.notify({ ...event, channels: {} });

    expect(sns.calls()).toHaveLength(0);
  });

  it('names the service’s topic when it does not exist', async () => {
    sns.on(PublishCommand).rejects(new NotFoundException({ message: 'Topic does not exist', $metadata: {} }));

    await expect(
      new SnsNotifier(client, TOPIC).notify({ ...event, channels: { snsTopicArn: SERVICE_TOPIC } }),
    ).rejects.toThrow(new TargetNotFoundError(`SNS topic ${SERVICE_TOPIC} does not exist`));
  });
});
