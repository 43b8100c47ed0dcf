/**
 * Notifier that publishes rollout events to an SNS topic (the service's own, else the controller's default), with
 * message attributes (service, event, severity) that subscribers filter on. The text is core's, so SNS reads the same locally and on AWS.
 */
import { createHash } from 'node:crypto';
import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import type { Notifier, RolloutEvent } from '../../ports';
import { WORDING } from '../../views/notification';
import { snsMessageIn, type Wording } from '../../views/notification-message';
import { type AdapterOptions, AwsCaller } from './sdk';

/** Publishes events of type E worded by `wording` (SnsNotifier: every event; a narrower wording bundles less). */
export class SnsWordedNotifier<E extends RolloutEvent = RolloutEvent> implements Notifier<E> {
  readonly name = 'sns';
  private readonly aws: AwsCaller;

  /**
   * `defaultTopicArn` (SNS_TOPIC_ARN) takes the events of services that name no topic of their own
   * (`notifications.snsTopicArn`, carried on the event as `channels.snsTopicArn`); without either an event is
   * not published.
   */
  constructor(
    private readonly sns: SNSClient,
    private readonly wording: Wording<E>,
    private readonly defaultTopicArn?: string,
    options: AdapterOptions = {},
  ) {
    this.aws = new AwsCaller(options.retry);
  }

  /** The topic an event goes to, if any. */
  topicFor(event: E): string | undefined {
    return event.channels?.snsTopicArn ?? this.defaultTopicArn;
  }

  async notify(event: E): Promise<void> {
    const topicArn = this.topicFor(event);
    if (!topicArn) return;
    const message = snsMessageIn(this.wording, event);
    const fifo = topicArn.endsWith('.fifo');
    await this.aws.call(
      'sns:Publish',
      topicArn,
      () =>
        this.sns.send(
          new PublishCommand({
            TopicArn: topicArn,
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
          NotFoundException: `SNS topic ${topicArn} does not exist`,
          NotFound: `SNS topic ${topicArn} does not exist`,
        },
      },
    );
  }
}

/** Every rollout event, verdicts and their evidence included. */
export class SnsNotifier extends SnsWordedNotifier {
  constructor(sns: SNSClient, defaultTopicArn?: string, options: AdapterOptions = {}) {
    super(sns, WORDING, defaultTopicArn, options);
  }
}
