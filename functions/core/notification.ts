/**
 * A rollout event as the notifiers receive it (functions/views/notification.ts words it for each channel), and
 * which severities page someone.
 */
import type { Verdict } from './verdict';

/** The fields of a rollout event that formatting needs; ports.RolloutEvent builds on them (core imports no port). */
export interface NotificationEvent {
  type: string;
  severity: 'info' | 'warning' | 'error' | 'critical';
  rolloutId: string;
  service: string;
  /** The image as imageLabel (core/rollout.ts) names it. */
  image: string;
  summary: string;
  reason?: string;
  step?: { index: number; weight: number };
  verdict?: Verdict;
  links?: Record<string, string>;
  at: string;
  /**
   * The PagerDuty incident the event goes to; absent: the rollout's (its id). A pause has its own (pauseDedupKey),
   * so an acknowledged pause folds neither a later pause nor the rollback's page into it.
   */
  dedupKey?: string;
  /**
   * The PagerDuty incidents (dedup keys) this event closes: a pause's, once the pause is over (a retry, an abort,
   * its timeout, the rollout's end). PagerDuty is sent a resolve for each, whatever the event's severity.
   */
  resolves?: string[];
}

/** One pause's incident: the rollout, the step (1-based) and when the pause began, so each pause pages anew. */
export function pauseDedupKey(rolloutId: string, stepIndex: number, pausedAt: string): string {
  return `${rolloutId}:pause:${stepIndex + 1}:${pausedAt}`;
}

/**
 * The incident of the pause on failure a rollout's record shows, still open until the pause is over (a retry,
 * the rollout's end); undefined when the record shows no such pause (an operator's pause never pages).
 */
export function failurePauseKey(
  record: { rolloutId: string; currentStep?: number; paused?: { cause: string; at: string } } | undefined,
): string | undefined {
  return record?.paused?.cause === 'failure'
    ? pauseDedupKey(record.rolloutId, record.currentStep ?? 0, record.paused.at)
    : undefined;
}

/**
 * The pause incidents a notification that ends the rollout or its pause resolves: the pause on failure the record
 * shows, and those whose resolve PagerDuty did not take earlier (`unresolvedPauses`).
 */
export function openPauseIncidents(
  record:
    | {
        rolloutId: string;
        currentStep?: number;
        paused?: { cause: string; at: string };
        unresolvedPauses?: string[];
      }
    | undefined,
): string[] {
  const current = failurePauseKey(record);
  return [...new Set([...(current ? [current] : []), ...(record?.unresolvedPauses ?? [])])];
}

/** Severities that open a PagerDuty incident; the rest are for SNS subscribers only. */
export function pages(severity: NotificationEvent['severity']): boolean {
  return severity === 'error' || severity === 'critical';
}
