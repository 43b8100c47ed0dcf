/**
 * rollback: any failure of the workflow lands here, in two phases the workflow calls in turn.
 * - `traffic` (the default): 100% back on stable (verified) before anything is scaled down, the stable service
 *   restored if a promotion had begun. It reads the store to learn whether the rollout still holds its service;
 *   when the store cannot be read, what the execution carries (`$.prepared`: the route, what stable ran, how far a
 *   promotion got) is enough, so traffic never waits for the store. Then the workflow pages.
 * - `record`: once on-call has heard, the store's side: quarantine a faulty image, mark the record rolled back,
 *   release the service (or hand it to a newer image). The workflow retries it with backoff until the store answers.
 * - `hold`: under analysis.onFailure 'pause', a failed analysis puts 100% back on stable (verified) and keeps the
 *   canary running; the workflow pages and waits for a retry or an abort (lib/hold.ts).
 * All are idempotent.
 */

import { causeMessage } from '../core/errors';
import * as v from '../core/valibot';
import { holdOnStable } from './lib/hold';
import { carriedStateSchema, caughtErrorSchema, rolloutDocSchema, trafficOutcomeSchema } from './lib/inputs';
import { type RollbackDeps, recordRollback, restoreTraffic } from './lib/procedures';
import { task } from './lib/task';

export type { RollbackDeps } from './lib/procedures';

const input = v.pipe(
  v.object({
    phase: v.optional(v.picklist(['traffic', 'record', 'hold']), 'traffic'),
    rollout: rolloutDocSchema,
    error: caughtErrorSchema,
    prepared: v.optional(carriedStateSchema),
    /** The traffic phase's result, for the record phase. */
    rollback: v.optional(trafficOutcomeSchema),
    /** The hold phase: analyses of the failed step before the failure wait (core/rollout.ts waitSeq). */
    analyses: v.optional(v.pipe(v.int(), v.minValue(0)), 0),
  }),
  v.forward(
    v.check(
      (i) => i.phase !== 'record' || i.rollback !== undefined,
      'the record phase needs the traffic phase result',
    ),
    ['rollback'],
  ),
);

export function makeRollback(deps: RollbackDeps) {
  return task('rollback input', input, async (event) => {
    const { rollout, error } = event;
    const reason = causeMessage(error.Cause) || error.Error;
    if (event.phase === 'record' && event.rollback) {
      const outcome = await recordRollback(deps, rollout, error.Error, reason, event.rollback);
      deps.log.info('rollback recorded', { rolloutId: rollout.rolloutId, ...outcome });
      return outcome;
    }
    if (event.phase === 'hold')
      return holdOnStable(deps, rollout, event.prepared ?? {}, { reason, analyses: event.analyses });
    deps.log.warn('rolling back', { rolloutId: rollout.rolloutId, error: error.Error, reason });
    return restoreTraffic(deps, rollout, event.prepared ?? {});
  });
}
