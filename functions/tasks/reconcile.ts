/**
 * reconcile: the safety net for executions that ended without the workflow's own rollback (stopped from the
 * console, timed out, a rollback that ran out of retries). Puts stable back, releases the service, notifies.
 */
import { stepSpecs } from '../core/config';
import { executionStatusChangeEvent } from '../core/events';
import { buildPlan } from '../core/plan';
import type { RolloutDoc } from '../core/rollout';
import type { Notifier, ServiceCatalog } from '../ports';
import { rolloutDocSchema } from './lib/inputs';
import { channelsOf, notifyAll, type RollbackDeps, rollBack } from './lib/procedures';
import { task } from './lib/task';

export interface ReconcileDeps extends RollbackDeps {
  catalog: ServiceCatalog;
  notifiers: readonly Notifier[];
}

export function makeReconcile(deps: ReconcileDeps) {
  const { store, catalog, clock, log } = deps;

  async function documentFor(
    input: string | null | undefined,
    service: string,
    rolloutId: string,
  ): Promise<RolloutDoc | undefined> {
    if (input) {
      try {
        const parsed = rolloutDocSchema.safeParse((JSON.parse(input) as { rollout?: unknown }).rollout);
        if (parsed.success) return parsed.data;
      } catch {
        // fall through to the catalog
      }
    }
    const config = await catalog.byName(service);
    const record = await store.getRollout(rolloutId);
    if (!config || !record) return undefined;
    return {
      rolloutId,
      service,
      image: record.image,
      config,
      plan: buildPlan(stepSpecs(config)),
      trigger: 'deploy-requested',
      requestedAt: record.createdAt,
    };
  }

  return task('Step Functions Execution Status Change event', executionStatusChangeEvent, async (event) => {
    const { name, status, error, cause } = event.detail;
    if (!['FAILED', 'TIMED_OUT', 'ABORTED'].includes(status))
      return { rolloutId: name, action: 'none', status };
    const record = await store.getRollout(name);
    if (!record) return { rolloutId: name, action: 'none', status, detail: 'not a rollout' };
    if (record.status === 'promoted' || record.status === 'rolledBack')
      return { rolloutId: name, action: 'none', status, detail: record.status };

    const doc = await documentFor(event.detail.input, record.service, name);
    if (!doc)
      throw new Error(`cannot reconcile ${name}: no execution input and no config for ${record.service}`);
    const errorName = error ?? status;
    const reason = `execution ${status.toLowerCase()}${cause ? `: ${cause}` : ''}`;
    log.warn('reconciling an execution that ended without rolling back', { rolloutId: name, status });
    const outcome = await rollBack(deps, doc, errorName, reason);
    await notifyAll(deps, {
      type: 'rollout.rolledBack',
      severity: 'error',
      rolloutId: name,
      service: record.service,
      image: record.image.tag ?? record.image.digest,
      summary: `${record.service}: rollout ${name} ended ${status}; stable restored by the reconciler`,
      reason,
      channels: channelsOf(doc.config),
      at: clock.now().toISOString(),
    });
    return { rolloutId: name, action: 'rolledBack', status, restored: outcome.restored };
  });
}
