/**
 * rollback: any failure of the workflow lands here. Puts 100% back on stable (verified) before anything is
 * scaled down, restores the stable service if a promotion had begun, quarantines a faulty image, releases the
 * service. Idempotent, so the workflow retries it with backoff.
 */
import * as z from 'zod';
import { causeMessage } from '../core/errors';
import { caughtErrorSchema, rolloutDocSchema } from './lib/inputs';
import { type RollbackDeps, rollBack } from './lib/procedures';
import { task } from './lib/task';

export type { RollbackDeps } from './lib/procedures';

const input = z.object({ rollout: rolloutDocSchema, error: caughtErrorSchema });

export function makeRollback(deps: RollbackDeps) {
  return task('rollback input', input, async ({ rollout, error }) => {
    const reason = causeMessage(error.Cause) || error.Error;
    deps.log.warn('rolling back', { rolloutId: rollout.rolloutId, error: error.Error, reason });
    return rollBack(deps, rollout, error.Error, reason);
  });
}
