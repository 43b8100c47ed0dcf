/**
 * A person pausing or resuming a rollout (the CLI, the approval page). The mark goes on the record; the workflow
 * honours it where the canary's share would move up (an analysis that would advance holds, core/pause.ts; a
 * weight change that would raise the share is held, set-weight), so a pause needs nothing from Step Functions and a
 * pause that lands while a weight change runs is honoured by the next one. Resuming removes the mark: the next
 * analysis goes on with the plan.
 */
import type { RolloutRecord } from '../../core/rollout';
import type { RolloutStore } from '../../ports';
import { type HistoryDeps, recordHistory } from './history';

/** The part of the store pausing and resuming use. */
type PauseStore = Pick<RolloutStore, 'getRollout' | 'setPause' | 'appendHistory'>;

/** The pause mark changed since the record was read: nothing was written; the error says what holds now. */
async function changedMeanwhile(deps: HistoryDeps<PauseStore>, rolloutId: string): Promise<Error> {
  const paused = (await deps.store.getRollout(rolloutId))?.paused;
  if (paused?.cause === 'failure')
    return new PauseChangedError(
      `${rolloutId} is paused on a failed analysis (100% on stable): nothing changed; \`canary retry\` runs the step again, \`canary abort\` rolls back`,
    );
  return new PauseChangedError(
    paused
      ? `${rolloutId} is already paused by ${paused.by}: nothing changed`
      : `${rolloutId} is not paused any more: nothing changed`,
  );
}

/** A pause or resume refused because the pause mark changed since the record was read. */
export class PauseChangedError extends Error {}

/** Who pauses or resumes, from where (as the history says it). */
export interface PauseActor {
  via: 'approval-page' | 'cli';
  by: string;
}

/** Mark `record` paused at its current share and record it; the record as stored is returned. */
export async function pauseRollout(
  deps: HistoryDeps<PauseStore>,
  record: RolloutRecord,
  actor: PauseActor,
  reason?: string,
): Promise<RolloutRecord> {
  const at = deps.clock.now().toISOString();
  const weight = record.canaryPercent ?? 0;
  // Only over no mark: a pause on failure (or another person's pause) that landed since the record was read stays.
  const stored = await deps.store.setPause(
    record.rolloutId,
    { cause: 'operator', at, by: actor.by, via: actor.via, weight, ...(reason ? { reason } : {}) },
    'none',
    at,
  );
  if (!stored) throw await changedMeanwhile(deps, record.rolloutId);
  const step = record.currentStep ?? 0;
  await recordHistory(
    deps,
    record,
    'paused',
    `paused at ${weight}% (step ${step + 1}) from ${actor.by}${reason ? `: ${reason}` : ''}`,
    { step, weight, cause: 'operator', via: actor.via, by: actor.by },
  );
  return stored;
}

/** Remove the pause and record it: the plan goes on from the next analysis. */
export async function resumeRollout(
  deps: HistoryDeps<PauseStore>,
  record: RolloutRecord,
  actor: PauseActor,
): Promise<RolloutRecord> {
  const at = deps.clock.now().toISOString();
  // Only a person's pause: a pause on failure that replaced it meanwhile waits for `canary retry` or `canary abort`.
  const stored = await deps.store.setPause(record.rolloutId, undefined, 'operator', at);
  if (!stored) throw await changedMeanwhile(deps, record.rolloutId);
  await recordHistory(
    deps,
    record,
    'resumed',
    `resumed at ${record.canaryPercent ?? 0}% from ${actor.by}: the plan goes on`,
    { via: actor.via, by: actor.by },
  );
  return stored;
}
