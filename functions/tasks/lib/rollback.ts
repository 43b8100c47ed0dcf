/** Putting traffic back on stable and recording the rollback, then handing the service's lock over. */

import { quarantineRule } from '../../core/error-policy';
import { TransientError } from '../../core/errors';
import type { DeployedVersion, RolloutDoc, RolloutRecord, Route } from '../../core/rollout';
import { imageLabel } from '../../core/rollout';
import { quarantines } from '../../core/rules';
import { phaseAt, type WorkflowPhase } from '../../core/workflow-phase';
import type {
  Clock,
  Executions,
  Log,
  RollbackDeployerFor,
  RolloutStore,
  StateChangeBus,
  TrafficRouter,
} from '../../ports';
import { recordHistory } from './history';
import { type CarriedState, carriedStateOf, type TrafficOutcome } from './inputs';
import { ensureHolderStarted, releaseAndHandOver } from './ownership';
import { shiftTraffic } from './traffic';

export interface RollbackDeps {
  router: TrafficRouter;
  /** A rollback only restores stable and scales the canary down (RollbackDeployer). */
  deployerFor: RollbackDeployerFor;
  store: RolloutStore;
  executions: Executions;
  clock: Clock;
  log: Log;
  events?: StateChangeBus;
}

/**
 * How far an execution got, when the store cannot say: the phase of the state it entered last (or the one its
 * rollback path carries), and what that state's input carries (`$.prepared`). One GetExecutionHistory call.
 */
export async function executionProgress(
  executions: Executions,
  name: string,
): Promise<{ phase?: WorkflowPhase; carried: CarriedState }> {
  const entered = await executions.lastStateEntered(name);
  const carried = carriedStateOf(entered?.input);
  const phase = (entered && phaseAt(entered.name)) ?? carried.phase;
  return phase ? { phase, carried } : { carried };
}

export interface RollbackOutcome {
  /** False when this rollout never held the service (it changed nothing, so there was nothing to undo). */
  restored: boolean;
  reason: string;
  errorName: string;
  quarantined: boolean;
  startedNext?: string;
}

async function readOwnership(
  deps: { store: RolloutStore; log: Log },
  doc: RolloutDoc,
): Promise<{ record: RolloutRecord | undefined; holder: string | undefined } | undefined> {
  try {
    const record = await deps.store.getRollout(doc.rolloutId);
    const lock = await deps.store.getLock(doc.service);
    return { record, holder: lock?.rolloutId };
  } catch (error) {
    deps.log.warn('the rollout store cannot be read; restoring traffic from what the execution carries', {
      rolloutId: doc.rolloutId,
      error: String(error),
    });
    return undefined;
  }
}

/**
 * Put 100% back on stable (verified), restore the stable service if a promotion had updated it, then scale the
 * canary down. Reads the store to learn whether this rollout still holds the service; when the store cannot be
 * read, what the execution carries decides, and nothing is written: restoring traffic never waits for the store.
 * An execution holds its service's lock until its rollback's record is written (recordRollback, after this), so
 * only a promotion that may have finished (`finishing`) can have let the service go: then, without the store,
 * nothing is touched and the caller retries.
 */
export async function restoreTraffic(
  deps: RollbackDeps,
  doc: RolloutDoc,
  carried: CarriedState,
): Promise<TrafficOutcome> {
  const nothing = { routed: false, stableRestored: false, canaryScaledDown: false };
  const known = await readOwnership(deps, doc);
  let route: Route | undefined;
  let previous: DeployedVersion | undefined;
  if (known) {
    const { record, holder } = known;
    if (record?.status === 'promoted') return { restored: false, promoted: true, ...nothing };
    // This execution never took the service, or already gave it back (to a newer rollout, perhaps): touching
    // traffic now would hit another rollout.
    if (!record || holder !== doc.rolloutId) return { restored: false, ...nothing };
    route = record.route ?? carried.route;
    previous = record.stableUpdated ? record.previousStable : undefined;
    await deps.store
      .updateRollout(doc.rolloutId, { status: 'rollingBack', updatedAt: deps.clock.now().toISOString() })
      .catch((error: unknown) =>
        deps.log.warn('could not mark the rollout rolling back', {
          rolloutId: doc.rolloutId,
          error: String(error),
        }),
      );
  } else {
    if (carried.phase === 'finishing') {
      throw new TransientError(
        `the promotion of ${doc.rolloutId} may have finished and released ${doc.service}; whether it still holds the service is in the store, which cannot be read`,
      );
    }
    route = carried.route;
    previous = carried.phase === 'promoting' ? carried.previousStable : undefined;
  }
  const outcome = { restored: true, ...nothing, ...(known ? {} : { storeUnavailable: true }) };
  if (!route) return outcome; // Prepare never returned a route: this rollout never weighted the listener.
  const deployer = deps.deployerFor(doc.config);
  await shiftTraffic(deps, route, 0);
  let stableRestored = false;
  if (previous && !deployer.swapsTargetGroups) {
    await deployer.restoreStable(doc.config, route, previous);
    stableRestored = true;
  }
  await cachedAnswersExpire(deps, route);
  await deployer.scaleDownCanary(doc.config, route);
  return { ...outcome, routed: true, stableRestored, canaryScaledDown: true };
}

/**
 * Behind weighted records, resolvers keep answering with the canary's record for up to its TTL after the weights
 * are INSYNC: the canary keeps serving those clients until then, and is scaled down only after (config-route53.ts
 * bounds the TTL so this fits the rollback's function timeout).
 */
async function cachedAnswersExpire(deps: Pick<RollbackDeps, 'clock'>, route: Route): Promise<void> {
  if (route.kind === 'route53') await deps.clock.sleep(route.ttlSeconds * 1000);
}

/** A rollback with nothing left to restore: the outcome, and the next rollout started on hand-over, if any. */
function nothingRestored(
  reason: string,
  errorName: string,
  startedNext: RollbackOutcome['startedNext'] | undefined,
): RollbackOutcome {
  return { restored: false, reason, errorName, quarantined: false, ...(startedNext ? { startedNext } : {}) };
}

/**
 * The store's side of a rollback, once traffic is safe and on-call has heard: whatever traffic work could not be
 * done without the store (no route was carried, the stable service updated), the image quarantined when it was at
 * fault, the record marked rolled back, its history, the lock released (handing over to a newer image if one is
 * waiting). Needs the store: the workflow retries it with backoff until the store answers. Idempotent. `owed`
 * (what PagerDuty did not take) is written in the same write as the rollback: a retried event that finds the
 * rollback recorded finds it too.
 */
export async function recordRollback(
  deps: RollbackDeps,
  doc: RolloutDoc,
  errorName: string,
  reason: string,
  traffic: Pick<TrafficOutcome, 'routed' | 'stableRestored' | 'canaryScaledDown'>,
  owed: Pick<RolloutRecord, 'pageOwed' | 'unresolvedPauses'> = {},
): Promise<RollbackOutcome> {
  const { store, clock } = deps;
  const record = await store.getRollout(doc.rolloutId);
  const lock = await store.getLock(doc.service);
  if (!record || lock?.rolloutId !== doc.rolloutId) {
    if (record && record.status !== 'rolledBack' && record.status !== 'promoted') {
      await store.updateRollout(doc.rolloutId, {
        status: 'rolledBack',
        updatedAt: clock.now().toISOString(),
        outcome: { result: 'rolledBack', reason, at: clock.now().toISOString() },
        ...owed,
      });
    } else if (record?.status === 'rolledBack' && Object.keys(owed).length > 0) {
      await store.updateRollout(doc.rolloutId, owed);
    }
    // Handed over, but the start of the next rollout may have failed (this is the retry): finish the hand-over.
    const startedNext =
      lock?.handedOverBy === doc.rolloutId
        ? await ensureHolderStarted(deps, lock, { handedOver: true })
        : undefined;
    return nothingRestored(reason, errorName, startedNext);
  }
  if (record.status === 'promoted') {
    // The promotion finished (a retried task failed after it): nothing to undo; only the service to let go.
    return nothingRestored(reason, errorName, await releaseAndHandOver(deps, doc.service, doc.rolloutId));
  }

  if (record.route) {
    const deployer = deps.deployerFor(doc.config);
    if (!traffic.routed) await shiftTraffic(deps, record.route, 0);
    if (record.stableUpdated && record.previousStable && !traffic.stableRestored)
      await deployer.restoreStable(doc.config, record.route, record.previousStable);
    if (!traffic.routed || !traffic.canaryScaledDown) {
      if (!traffic.routed) await cachedAnswersExpire(deps, record.route);
      await deployer.scaleDownCanary(doc.config, record.route);
    }
  }

  const quarantined = quarantines(
    errorName,
    quarantineRule(errorName) === 'unlessDrift' ? await store.history(doc.rolloutId) : [],
  );
  if (quarantined)
    await store.quarantine(doc.service, doc.image.digest, `${errorName}: ${reason}`, clock.now());
  const at = clock.now().toISOString();
  await store.updateRollout(doc.rolloutId, {
    status: 'rolledBack',
    updatedAt: at,
    ...(record.route ? { canaryPercent: 0 } : {}),
    ...(record.stableUpdated ? { stableUpdated: false } : {}),
    outcome: { result: 'rolledBack', reason: `${errorName}: ${reason}`, at },
    ...owed,
  });
  await recordHistory(deps, doc, 'rolledBack', `${imageLabel(doc.image)} rolled back: ${reason}`, {
    error: errorName,
    reason,
    quarantined,
  });
  const startedNext = await releaseAndHandOver(deps, doc.service, doc.rolloutId);
  return { restored: true, reason, errorName, quarantined, ...(startedNext ? { startedNext } : {}) };
}
