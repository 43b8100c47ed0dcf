/**
 * How a rollout event reads in each channel. Pure formatting, shared by the AWS adapters and the sandbox, so
 * what people receive locally is what they receive from AWS. Each message leads with one sentence (what happened,
 * what it means, what to do), the figures and the statistics below it (notification-message.ts lays them out).
 */
import type { NotificationEvent } from '../core/notification';
import { evidenceText } from './evidence-text';
import { rolloutSentence, verdictSentence } from './headline';
import {
  OUTCOMES,
  pagerDutyTriggerIn,
  type SnsMessage,
  snsMessageIn,
  todoOf,
  verdictFreeSentence,
  type Wording,
} from './notification-message';
import { noAnalysisSentence } from './outcome-sentence';

export type { NotificationEvent } from '../core/notification';
export { pagerDutyResolve, type SnsMessage } from './notification-message';

/** The sentence a message leads with, for the event's type (and its verdict, when it carries one). */
export function eventSentence(event: NotificationEvent): string {
  const verdict = event.verdict;
  if (!verdict) return verdictFreeSentence(event);
  if (event.type === 'step.passed' || event.type === 'approval.requested')
    return verdictSentence(verdict, todoOf(event));
  if (event.type === 'rollout.rolledBack')
    return rolloutSentence({ ...event, outcome: OUTCOMES[event.type], verdict });
  return verdictFreeSentence(event);
}

/** Every event's wording, verdicts and their evidence included. */
export const WORDING: Wording = { sentence: eventSentence, evidence: evidenceText };

/** A passed step's event: all analyze sends. */
export type StepPassedNotification = NotificationEvent & { type: 'step.passed' };

/**
 * The wording of a passed step alone, as WORDING words it (eventSentence): a Lambda that sends nothing else
 * (analyze) bundles none of the other events' sentences.
 */
export const STEP_PASSED_WORDING: Wording<StepPassedNotification> = {
  sentence: (event) =>
    event.verdict ? verdictSentence(event.verdict, todoOf(event)) : noAnalysisSentence(todoOf(event)),
  evidence: evidenceText,
};

export function snsMessage(event: NotificationEvent): SnsMessage {
  return snsMessageIn(WORDING, event);
}

/** A PagerDuty Events API v2 `trigger` for the event (notification-message.ts pagerDutyTriggerIn). */
export function pagerDutyTrigger(event: NotificationEvent, routingKey: string) {
  return pagerDutyTriggerIn(WORDING, event, routingKey);
}
