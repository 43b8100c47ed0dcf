/**
 * Notifier that publishes rollout events to an SNS topic, with message attributes (service, event, severity)
 * that subscribers filter on. The text is core's, so SNS reads the same locally and on AWS.
 */
import { createHash } from 'node:crypto';
import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import { snsMessage } from '../../core/notification';
import type { Notifier, RolloutEvent } from '../../ports';
import { type AdapterOptions, AwsCaller } from './sdk';

export class SnsNotifier implements Notifier {
  readonly name = 'sns';
  private readonly aws: AwsCaller;

  constructor(
    private readonly sns: SNSClient,
    private readonly topicArn: string,
    options: AdapterOptions = {},
  ) {
    this.aws = new AwsCaller(options.retry);
  }

  async notify(event: RolloutEvent): Promise<void> {
    const message = snsMessage(event);
    const fifo = this.topicArn.endsWith('.fifo');
    await this.aws.call(
      'sns:Publish',
      this.topicArn,
      () =>
        this.sns.send(
          new PublishCommand({
            TopicArn: this.topicArn,
            Subject: message.subject,
            Message: message.message,
            MessageAttributes: Object.fromEntries(
              Object.entries(message.attributes).map(([key, value]) => [
                key,
                { DataType: 'String', StringValue: value },
              ]),
            ),
            // FIFO topics need a group (one per service keeps its events in order) and a deduplication id.
            ...(fifo
              ? {
                  MessageGroupId: event.service,
                  MessageDeduplicationId: createHash('sha256')
                    .update(`${event.rolloutId}|${event.type}|${event.step?.index ?? ''}|${event.at}`)
                    .digest('hex'),
                }
              : {}),
          }),
        ),
      {
        notFound: {
          NotFoundException: `SNS topic ${this.topicArn} does not exist`,
          NotFound: `SNS topic ${this.topicArn} does not exist`,
        },
      },
    );
  }
}
