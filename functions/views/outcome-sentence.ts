/**
 * The sentences that need no analysis to say: how a rollout ended (promoted, rolled back, the rollback failed) and
 * that no analysis has run yet. headline.ts words the verdicts around them; a notification that carries no verdict
 * (notification-message.ts) needs only these.
 */

/** How a rollout ended, or that it is still running. */
export type Outcome = 'promoted' | 'rolledBack' | 'rollbackFailed' | 'running';

export const NO_ANALYSIS = 'No analysis has run yet';

/** Nothing judged yet, then `todo` (what the reader does). */
export function noAnalysisSentence(todo?: string): string {
  return `${NO_ANALYSIS}${todo ? `; ${todo}` : ''}`;
}

/** How a rollout ended and what to do, when no failed verdict explains it. */
export function outcomeSentence(r: {
  service: string;
  image: string;
  outcome: Exclude<Outcome, 'running'>;
  reason?: string;
}): string {
  const why = r.reason ? ` (${r.reason})` : '';
  switch (r.outcome) {
    case 'promoted':
      return `${r.image} was promoted and serves all of ${r.service}'s traffic; nothing to do`;
    case 'rolledBack':
      return `${r.image} was rolled back, stable serves all traffic${why}; look at the canary before pushing it again`;
    case 'rollbackFailed':
      return `The rollback of ${r.image} did not complete${why}: traffic may still reach the canary; check it now with \`canary status ${r.service}\``;
  }
}
