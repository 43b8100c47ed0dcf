/**
 * The operator of the `pause` scenario: a failed analysis paused the rollout (analysis.onFailure 'pause'), and
 * after a while of rollout time this operator answers it with the next of its answers (retry, then abort), through
 * the same operations `canary retry|abort --sandbox` sends to the control endpoint. A person can answer first.
 */
import type { HistoryEntry } from '../functions/core/history';
import type { World } from './world';

export type PauseAnswer = 'retry' | 'abort';

/** What answers each pause on failure, given the history entries as they are written. */
export function pauseOperator(
  world: World,
  say: (line: string) => void,
  answers: readonly PauseAnswer[],
  afterRolloutMs = 120_000,
): (entry: HistoryEntry) => void {
  let answered = 0;
  return (entry) => {
    if (entry.type !== 'paused' || entry.detail.cause !== 'failure') return;
    const answer = answers[answered++] ?? 'abort';
    const service = world.config().service;
    say(
      `      ⏸ 100% back on stable (the canary's share: ${world.appliedCanaryPercent() ?? 0}%), the canary kept running, on-call paged; it waits until ${entry.detail.until}`,
    );
    say(
      `      from another terminal: npx canary retry ${service} --sandbox  (or: npx canary abort ${service} --sandbox); else this run will ${answer} in ${afterRolloutMs / 60_000} minutes of rollout time`,
    );
    setTimeout(() => {
      const act =
        answer === 'retry'
          ? world.operations.retry(service)
          : world.operations.abort(service, 'aborted by the sandbox operator');
      act.then(
        (r) => say(`      ▶ ${r.message}`),
        (error: unknown) =>
          say(`      ▶ ${answer}: ${error instanceof Error ? error.message : String(error)}`),
      );
    }, world.clock.realMs(afterRolloutMs));
  };
}
