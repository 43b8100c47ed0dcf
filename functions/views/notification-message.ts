/**
 * How a rollout event reads in each channel (SNS, PagerDuty), given its wording: the sentence it leads with and
 * each check's evidence line. notification.ts words every event, verdicts included; an event that carries no
 * verdict (a refusal, the reconciler's rollback) is worded here alone, so a Lambda that sends only those bundles
 * none of the verdicts' text.
 */
import type { NotificationEvent } from '../core/notification';
import type { MetricEvidence } from '../core/verdict';
import { NO_ANALYSIS, noAnalysisSentence, outcomeSentence } from './outcome-sentence';

export interface SnsMessage {
  /** SNS subjects: printable ASCII, under 100 characters, one line (see snsSubject). */
  subject: string;
  message: string;
  /** String attributes subscribers filter on (FilterPolicy). */
  attributes: Record<string, string>;
}

/** An event that carries no verdict: what start-rollout and the reconciler send. */
export type VerdictFreeEvent = NotificationEvent & { verdict?: undefined };

/** The words of a message: its leading sentence and, when the event carries a verdict, each check's evidence. */
export interface Wording<E extends NotificationEvent = NotificationEvent> {
  sentence(event: E): string;
  evidence(m: MetricEvidence): string;
}

/** How a rollout ended, by the type of the event that says so. */
export const OUTCOMES = {
  'rollout.promoted': 'promoted',
  'rollout.rolledBack': 'rolledBack',
  'rollback.failed': 'rollbackFailed',
} as const;

/** What the reader of a passed step's or an approval request's message does. */
export function todoOf(event: NotificationEvent): string | undefined {
  if (event.type === 'approval.requested')
    return `approve to continue (\`canary approve ${event.service}\`), or reject to roll back to stable`;
  return event.step
    ? `step ${event.step.index + 1} at ${event.step.weight}% passed, nothing to do`
    : undefined;
}

/** The sentence an event without a verdict leads with. */
export function verdictFreeSentence(event: NotificationEvent): string {
  switch (event.type) {
    case 'step.passed':
      return noAnalysisSentence(todoOf(event));
    case 'approval.requested':
      return noAnalysisSentence(todoOf(event)).replace(NO_ANALYSIS, `${event.service} waits for approval`);
    case 'rollout.promoted':
    case 'rollout.rolledBack':
    case 'rollback.failed':
      return outcomeSentence({
        service: event.service,
        image: event.image,
        outcome: OUTCOMES[event.type],
        ...(event.reason ? { reason: event.reason } : {}),
      });
    case 'rollout.refused':
      return `${event.image} was not rolled out${event.reason ? `: ${event.reason}` : ''}`;
    default:
      return event.summary;
  }
}

/**
 * The wording of events without a verdict. Their type rules a verdict out; one that came all the same is still
 * sent, its checks named with their results only.
 */
export const VERDICT_FREE_WORDING: Wording<VerdictFreeEvent> = {
  sentence: verdictFreeSentence,
  evidence: (m) => `${m.result}, details in \`canary status\``,
};

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

export function snsMessageIn<E extends NotificationEvent>(wording: Wording<E>, event: E): SnsMessage {
  const subject = snsSubject(`[${event.severity.toUpperCase()}] ${event.summary}`);
  const evidenceLines = (event.verdict?.metrics ?? []).map(
    (m) => `  - ${m.metric}: ${m.result} (${wording.evidence(m)})`,
  );
  const lines = [
    wording.sentence(event),
    '',
    event.summary,
    `Service: ${event.service}`,
    `Image: ${event.image}`,
    `Rollout: ${event.rolloutId}`,
    ...(event.step ? [`Step: ${event.step.index + 1} at ${event.step.weight}%`] : []),
    ...(event.reason ? [`Reason: ${event.reason}`] : []),
    ...(event.verdict ? ['', `Evidence (${event.verdict.result}):`, ...evidenceLines] : []),
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
export function pagerDutyTriggerIn<E extends NotificationEvent>(
  wording: Wording<E>,
  event: E,
  routingKey: string,
) {
  return {
    routing_key: routingKey,
    event_action: 'trigger' as const,
    dedup_key: event.dedupKey ?? event.rolloutId,
    payload: {
      summary: wording.sentence(event).slice(0, 1024),
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
              evidence: event.verdict.metrics.map((m) => ({ ...m, detail: wording.evidence(m) })),
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
