/**
 * How a rollout event reads in each channel. Pure formatting, shared by the AWS adapters and the sandbox, so
 * what people receive locally is what they receive from AWS. Each message leads with one sentence (what happened,
 * what it means, what to do), the figures and the statistics below it.
 */
import type { NotificationEvent } from '../core/notification';
import { evidenceText } from './evidence-text';
import { rolloutSentence, verdictSentence } from './headline';

export type { NotificationEvent } from '../core/notification';

export interface SnsMessage {
  /** SNS subjects: printable ASCII, under 100 characters, one line (see snsSubject). */
  subject: string;
  message: string;
  /** String attributes subscribers filter on (FilterPolicy). */
  attributes: Record<string, string>;
}

function evidenceLines(event: NotificationEvent): string[] {
  return (event.verdict?.metrics ?? []).map((m) => `  - ${m.metric}: ${m.result} (${evidenceText(m)})`);
}

const OUTCOMES = {
  'rollout.promoted': 'promoted',
  'rollout.rolledBack': 'rolledBack',
  'rollback.failed': 'rollbackFailed',
} as const;

/** The sentence a message leads with, for the event's type. */
export function eventSentence(event: NotificationEvent): string {
  switch (event.type) {
    case 'step.passed':
      return verdictSentence(
        event.verdict,
        event.step
          ? `step ${event.step.index + 1} at ${event.step.weight}% passed, nothing to do`
          : undefined,
      );
    case 'approval.requested':
      return verdictSentence(
        event.verdict,
        `approve to continue (\`canary approve ${event.service}\`), or reject to roll back to stable`,
      ).replace(/^No analysis has run yet/, `${event.service} waits for approval`);
    case 'rollout.promoted':
    case 'rollout.rolledBack':
    case 'rollback.failed':
      return rolloutSentence({
        service: event.service,
        image: event.image,
        outcome: OUTCOMES[event.type],
        ...(event.reason ? { reason: event.reason } : {}),
        ...(event.verdict ? { verdict: event.verdict } : {}),
      });
    case 'rollout.refused':
      return `${event.image} was not rolled out${event.reason ? `: ${event.reason}` : ''}`;
    default:
      return event.summary;
  }
}

/** SNS Publish refuses a Subject of 100 characters or more. */
const SNS_SUBJECT_MAX_LENGTH = 99;

/**
 * A text made a valid SNS Subject (SNS API Reference, Publish: "no line breaks or control characters, and less
 * than 100 characters long"; formerly also ASCII, beginning with a letter, number or punctuation mark, which is
 * kept: every caller starts it with "["). Runs of anything else become one space; a long text is cut with "...".
 */
function snsSubject(text: string): string {
  const clean = text
    .replace(/[^\x20-\x7e]+/g, ' ')
    .replace(/ {2,}/g, ' ')
    .trim();
  if (clean.length <= SNS_SUBJECT_MAX_LENGTH) return clean;
  return `${clean.slice(0, SNS_SUBJECT_MAX_LENGTH - 3).trimEnd()}...`;
}

export function snsMessage(event: NotificationEvent): SnsMessage {
  const subject = snsSubject(`[${event.severity.toUpperCase()}] ${event.summary}`);
  const lines = [
    eventSentence(event),
    '',
    event.summary,
    `Service: ${event.service}`,
    `Image: ${event.image}`,
    `Rollout: ${event.rolloutId}`,
    ...(event.step ? [`Step: ${event.step.index + 1} at ${event.step.weight}%`] : []),
    ...(event.reason ? [`Reason: ${event.reason}`] : []),
    ...(event.verdict ? ['', `Evidence (${event.verdict.result}):`, ...evidenceLines(event)] : []),
    ...(event.links ? ['', ...Object.entries(event.links).map(([k, v]) => `${k}: ${v}`)] : []),
    '',
    `At: ${event.at}`,
  ];
  return {
    subject,
    message: lines.join('\n'),
    attributes: { service: event.service, event: event.type, severity: event.severity },
  };
}

/**
 * A PagerDuty Events API v2 `trigger`, deduplicated per rollout (per pause for a pause, NotificationEvent.dedupKey)
 * so retries and repeats make one incident.
 */
export function pagerDutyTrigger(event: NotificationEvent, routingKey: string) {
  return {
    routing_key: routingKey,
    event_action: 'trigger' as const,
    dedup_key: event.dedupKey ?? event.rolloutId,
    payload: {
      summary: eventSentence(event).slice(0, 1024),
      source: `canary-controller/${event.service}`,
      severity: event.severity,
      timestamp: event.at,
      component: event.service,
      group: 'canary-rollouts',
      class: event.type,
      custom_details: {
        event: event.summary,
        rollout: event.rolloutId,
        image: event.image,
        ...(event.reason ? { reason: event.reason } : {}),
        ...(event.step ? { step: event.step } : {}),
        ...(event.verdict
          ? {
              verdict: event.verdict.result,
              evidence: event.verdict.metrics.map((m) => ({ ...m, detail: evidenceText(m) })),
            }
          : {}),
      },
    },
    ...(event.links ? { links: Object.entries(event.links).map(([text, href]) => ({ href, text })) } : {}),
  };
}

/**
 * A PagerDuty Events API v2 `resolve` of the incident `dedupKey` names (PagerDuty Developer Documentation, Events
 * API v2, "Send an Alert Event": a resolve carries the routing key, the action and the dedup_key, no payload).
 */
export function pagerDutyResolve(dedupKey: string, routingKey: string) {
  return { routing_key: routingKey, event_action: 'resolve' as const, dedup_key: dedupKey };
}
