/**
 * Notifier that opens PagerDuty incidents through the Events API v2, for the severities core says page
 * (`pages`). One incident per rollout (dedup_key = rollout id), and one per pause, resolved when the pause is over
 * (the event's `resolves`). The routing key comes from Secrets Manager (the
 * service's own secret, else the controller's default), each secret read once per cold start, and never appears
 * in an error or a log line.
 */

import { TransientError } from '../../core/errors';
import { pages } from '../../core/notification';
import type { Notifier, RolloutEvent } from '../../ports';
import { WORDING } from '../../views/notification';
import { pagerDutyResolve, pagerDutyTriggerIn, type Wording } from '../../views/notification-message';
import { backoffDelay, realSleep } from './sdk';
import { routingKeyFrom } from './secretsmanager';

export const PAGERDUTY_EVENTS_ENDPOINT = 'https://events.pagerduty.com/v2/enqueue';

/** Where a routing key comes from: a SecretCache over Secrets Manager; its id is named in errors, never the key. */
export interface RoutingKeySource {
  readonly secretId: string;
  get(): Promise<string>;
}

export interface PagerDutyOptions {
  /** The default routing key (PAGERDUTY_SECRET_ARN): for the events of services that name no secret of their own. */
  secret?: RoutingKeySource;
  /**
   * A source for a service's own secret (`notifications.pagerDuty.routingKeySecretArn`, carried on the event as
   * `channels.pagerDutySecretArn`). Called once per secret ARN: the notifier keeps each source, so each secret is
   * read once per cold start. Without it, a service's own secret cannot be read and the default applies.
   */
  secretFor?: (secretArn: string) => RoutingKeySource;
  endpoint?: string;
  fetch?: typeof globalThis.fetch;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  attempts?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
}

/** Pages for events of type E worded by `wording` (PagerDutyNotifier: every event). */
export class PagerDutyWordedNotifier<E extends RolloutEvent = RolloutEvent> implements Notifier<E> {
  readonly name = 'pagerduty';
  private readonly endpoint: string;
  private readonly fetch: typeof globalThis.fetch;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;
  private readonly attempts: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly sources = new Map<string, RoutingKeySource>();

  constructor(
    private readonly options: PagerDutyOptions,
    private readonly wording: Wording<E>,
  ) {
    this.endpoint = options.endpoint ?? PAGERDUTY_EVENTS_ENDPOINT;
    this.fetch = options.fetch ?? globalThis.fetch.bind(globalThis);
    this.sleep = options.sleep ?? realSleep;
    this.random = options.random ?? Math.random;
    this.attempts = Math.max(1, options.attempts ?? 4);
    this.baseDelayMs = options.baseDelayMs ?? 500;
    this.maxDelayMs = options.maxDelayMs ?? 8000;
  }

  /** The secret an event's routing key comes from, if any: the service's own, else the default. */
  sourceFor(event: E): RoutingKeySource | undefined {
    const arn = event.channels?.pagerDutySecretArn;
    const fallback = this.options.secret;
    if (!arn || arn === fallback?.secretId || !this.options.secretFor) return fallback;
    let source = this.sources.get(arn);
    if (!source) {
      source = this.options.secretFor(arn);
      this.sources.set(arn, source);
    }
    return source;
  }

  /** A trigger when the event pages, then a resolve of each incident it closes (`resolves`). */
  async notify(event: E): Promise<void> {
    const resolves = event.resolves ?? [];
    if (!pages(event.severity) && resolves.length === 0) return;
    const secret = this.sourceFor(event);
    if (!secret) return;
    const routingKey = routingKeyFrom(await secret.get(), secret.secretId);
    if (pages(event.severity))
      await this.send(event, secret, routingKey, pagerDutyTriggerIn(this.wording, event, routingKey));
    for (const key of resolves) await this.send(event, secret, routingKey, pagerDutyResolve(key, routingKey));
  }

  private async send(
    event: E,
    secret: RoutingKeySource,
    routingKey: string,
    request: { event_action: string },
  ): Promise<void> {
    const body = JSON.stringify(request);
    const redact = (text: string) => text.split(routingKey).join('[redacted]');
    let last = '';
    for (let attempt = 0; attempt < this.attempts; attempt++) {
      if (attempt > 0) {
        await this.sleep(
          backoffDelay(attempt - 1, {
            baseDelayMs: this.baseDelayMs,
            maxDelayMs: this.maxDelayMs,
            random: this.random,
          }),
        );
      }
      let response: Response;
      try {
        response = await this.fetch(this.endpoint, {
          method: 'POST',
          headers: { 'content-type': 'application/json', accept: 'application/json' },
          body,
          signal: AbortSignal.timeout(10_000),
        });
      } catch (error) {
        // A dropped connection or a timeout: the event may or may not have arrived; dedup_key makes a resend safe.
        last = `request failed: ${redact(error instanceof Error ? `${error.name}: ${error.message}` : String(error))}`;
        continue;
      }
      if (response.status === 202) return;
      const detail = redact(await responseDetail(response));
      if (response.status === 429 || response.status >= 500) {
        last = `HTTP ${response.status}${detail ? `: ${detail}` : ''}`;
        continue;
      }
      throw new Error(
        `PagerDuty rejected the ${request.event_action} of the ${event.type} event for ${event.rolloutId} (HTTP ${response.status})${detail ? `: ${detail}` : ''}; ` +
          `check the routing key in ${secret.secretId}`,
      );
    }
    throw new TransientError(
      `PagerDuty did not accept the ${request.event_action} of the ${event.type} event for ${event.rolloutId} after ${this.attempts} attempts: ${last}`,
    );
  }
}

/** PagerDuty's own explanation (`{"status","message","errors"}`), short. */
async function responseDetail(response: Response): Promise<string> {
  let text: string;
  try {
    text = await response.text();
  } catch {
    return '';
  }
  try {
    const parsed = JSON.parse(text) as { message?: unknown; errors?: unknown };
    const errors = Array.isArray(parsed.errors) ? parsed.errors.map(String).join('; ') : '';
    return [typeof parsed.message === 'string' ? parsed.message : '', errors]
      .filter(Boolean)
      .join(': ')
      .slice(0, 500);
  } catch {
    return text.slice(0, 200);
  }
}

/** Every rollout event, verdicts and their evidence included. */
export class PagerDutyNotifier extends PagerDutyWordedNotifier {
  constructor(options: PagerDutyOptions) {
    super(options, WORDING);
  }
}
