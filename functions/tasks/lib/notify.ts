/** Sending a rollout event to the service's notification channels. */
import type { ServiceConfig } from '../../core/config';
import type { Log, NotificationChannels, Notifier, RolloutEvent } from '../../ports';

/** A service's own notification channels for its events (undefined when it names none: the defaults apply). */
export function channelsOf(config: ServiceConfig): NotificationChannels | undefined {
  const n = config.notifications;
  const channels: NotificationChannels = {
    ...(n.snsTopicArn ? { snsTopicArn: n.snsTopicArn } : {}),
    ...(n.pagerDuty ? { pagerDutySecretArn: n.pagerDuty.routingKeySecretArn } : {}),
  };
  return Object.keys(channels).length > 0 ? channels : undefined;
}

/**
 * Send to every notifier; one failing never stops the others, nor the caller. Each notifier sends to the event's
 * `channels` (fill them with `channelsOf`) or to its default.
 */
export async function notifyAll<E extends RolloutEvent>(
  deps: { notifiers: readonly Notifier<E>[]; log: Log },
  event: E,
): Promise<{ delivered: string[]; failed: string[] }> {
  const results = await Promise.allSettled(deps.notifiers.map((n) => n.notify(event)));
  const delivered: string[] = [];
  const failed: string[] = [];
  results.forEach((r, i) => {
    const name = deps.notifiers[i]?.name ?? `notifier-${i}`;
    if (r.status === 'fulfilled') delivered.push(name);
    else {
      failed.push(name);
      deps.log.error('notification failed', { notifier: name, event: event.type, error: String(r.reason) });
    }
  });
  return { delivered, failed };
}

/** The notifier whose delivery wakes someone, and whose incidents are resolved (adapters/aws/pagerduty.ts). */
export const PAGER = 'pagerduty';

/** Send to PagerDuty alone (SNS had the event already, or it only resolves incidents); `notifyAll`'s answer. */
export function notifyPager<E extends RolloutEvent>(
  deps: { notifiers: readonly Notifier<E>[]; log: Log },
  event: E,
): Promise<{ delivered: string[]; failed: string[] }> {
  return notifyAll({ notifiers: deps.notifiers.filter((n) => n.name === PAGER), log: deps.log }, event);
}
