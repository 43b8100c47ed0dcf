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
import * as z from '../core/zod';
import { holdOnStable } from './lib/hold';
import { carriedStateSchema, caughtErrorSchema, rolloutDocSchema, trafficOutcomeSchema } from './lib/inputs';
import { type RollbackDeps, recordRollback, restoreTraffic } from './lib/procedures';
import { task } from './lib/task';

export type { RollbackDeps } from './lib/procedures';

const input = z
  .object({
    phase: z._default(z.enum(['traffic', 'record', 'hold']), 'traffic'),
    rollout: rolloutDocSchema,
    error: caughtErrorSchema,
    prepared: z.optional(carriedStateSchema),
    /** The traffic phase's result, for the record phase. */
    rollback: z.optional(trafficOutcomeSchema),
    /** The hold phase: analyses of the failed step before the failure wait (core/rollout.ts waitSeq). */
    analyses: z._default(z.int().check(z.gte(0)), 0),
  })
  .check(
    z.refine((i) => i.phase !== 'record' || i.rollback !== undefined, {
      path: ['rollback'],
      message: 'the record phase needs the traffic phase result',
    }),
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
