/**
 * start-rollout: an ECR push or a Deploy Requested event becomes at most one rollout. Refuses quarantined
 * images, ignores duplicates, and supersedes a rollout already running for the service (it rolls back, then
 * the newer image starts).
 */
import { stepSpecs } from '../core/config';
import { ErrorName, InputInvalidError, LockHeldError } from '../core/errors';
import { ecrPushSkipReason, startRolloutEvent } from '../core/events';
import { buildPlan } from '../core/plan';
import { type ImageRef, imageLabel, type RolloutDoc, rolloutIdFor, tagMatches } from '../core/rollout';
import type { Clock, Executions, Log, Notifier, RolloutStore, ServiceCatalog } from '../ports';
import { channelsOf, notifyAll, recordHistory, startRolloutExecution } from './lib/procedures';
import { task } from './lib/task';

export interface StartRolloutDeps {
  catalog: ServiceCatalog;
  store: RolloutStore;
  executions: Executions;
  notifiers: readonly Notifier[];
  clock: Clock;
  log: Log;
}

export type StartRolloutResult =
  | { status: 'started'; rolloutId: string; executionArn: string }
  | { status: 'duplicate'; rolloutId: string }
  | { status: 'superseding'; rolloutId: string; supersedes: string }
  | { status: 'refused'; rolloutId: string; reason: string }
  | { status: 'ignored'; reason: string };

/** A lock younger than this whose holder has no record yet belongs to a rollout that is still starting. */
const STARTING_GRACE_MS = 5 * 60_000;

/** How many times one image may be rolled out again after its quarantine is lifted. */
const MAX_ATTEMPTS = 20;

export function makeStartRollout(deps: StartRolloutDeps) {
  const { catalog, store, executions, clock, log } = deps;

  /** The rollout id for this image: a new attempt only once an earlier one rolled back and was released. */
  async function chooseRolloutId(
    service: string,
    digest: string,
  ): Promise<{ id: string; existing: boolean }> {
    const base = rolloutIdFor(service, digest);
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      const id = attempt === 1 ? base : `${base}-${attempt}`;
      const record = await store.getRollout(id);
      if (record?.status !== 'rolledBack') return { id, existing: record !== undefined };
    }
    throw new InputInvalidError('event', [
      { path: 'image', message: `rolled out ${MAX_ATTEMPTS} times already` },
    ]);
  }

  return task('start-rollout event', startRolloutEvent, async (event): Promise<StartRolloutResult> => {
    let config: Awaited<ReturnType<ServiceCatalog['byName']>>;
    let image: ImageRef;
    if (event['detail-type'] === 'ECR Image Action') {
      const d = event.detail;
      if (d['action-type'] !== 'PUSH' || d.result !== 'SUCCESS') {
        return { status: 'ignored', reason: `ECR ${d['action-type']} ${d.result} is not a successful push` };
      }
      config = await catalog.byRepository(d['repository-name']);
      if (!config) {
        throw new InputInvalidError('ECR Image Action event', [
          {
            path: 'detail.repository-name',
            message: `no service is configured for repository ${d['repository-name']}`,
          },
        ]);
      }
      image = {
        repository: d['repository-name'],
        digest: d['image-digest'],
        ...(d['image-tag'] ? { tag: d['image-tag'] } : {}),
      };
      const skip = ecrPushSkipReason(config.pushes, {
        tag: image.tag,
        manifestMediaType: d['manifest-media-type'],
        artifactMediaType: d['artifact-media-type'],
      });
      if (skip) {
        const reason = `${skip}: ignored (the service's pushes setting is ${config.pushes})`;
        log.info('ignored an ECR push', { service: config.service, digest: image.digest, reason });
        return { status: 'ignored', reason };
      }
      if (!tagMatches(config.tagPattern, image.tag)) {
        return {
          status: 'ignored',
          reason: `tag ${image.tag ?? '(none)'} does not match ${config.tagPattern}`,
        };
      }
    } else {
      const d = event.detail;
      config = await catalog.byName(d.service);
      if (!config) {
        throw new InputInvalidError('Deploy Requested event', [
          { path: 'detail.service', message: `unknown service ${d.service}` },
        ]);
      }
      image = {
        repository: config.repository,
        digest: d.image.digest,
        ...(d.image.tag ? { tag: d.image.tag } : {}),
      };
    }

    const service = config.service;
    const { id: rolloutId, existing } = await chooseRolloutId(service, image.digest);
    if (await store.isQuarantined(service, image.digest)) {
      const reason = `${imageLabel(image)} is quarantined for ${service}: release it with \`canary release ${service} ${image.digest}\``;
      log.warn('refused a quarantined image', { service, digest: image.digest });
      await notifyAll(deps, {
        type: 'rollout.refused',
        severity: 'warning',
        rolloutId,
        service,
        image: imageLabel(image),
        summary: `Refused ${imageLabel(image)} for ${service}: quarantined`,
        reason,
        channels: channelsOf(config),
        at: clock.now().toISOString(),
      });
      return { status: 'refused', rolloutId, reason };
    }
    if (existing) return { status: 'duplicate', rolloutId };

    const doc: RolloutDoc = {
      rolloutId,
      service,
      image,
      config,
      plan: buildPlan(stepSpecs(config)),
      trigger: event['detail-type'] === 'ECR Image Action' ? 'ecr-push' : 'deploy-requested',
      requestedAt: event.time,
    };

    try {
      await store.acquireLock(service, rolloutId, clock.now());
    } catch (error) {
      if (!(error instanceof LockHeldError)) throw error;
      const holder = error.holder;
      if (holder === rolloutId) return { status: 'duplicate', rolloutId };
      const [lock, held] = await Promise.all([store.getLock(service), store.getRollout(holder)]);
      const settled = held?.status === 'promoted' || held?.status === 'rolledBack';
      const starting =
        !held &&
        lock !== undefined &&
        clock.now().getTime() - Date.parse(lock.acquiredAt) < STARTING_GRACE_MS;
      if (!settled && (held || starting)) {
        // Running, starting, or ended without settling its traffic (the reconciler settles it): either way the
        // holder rolls back and hands the service to this image. Taking over now could leave traffic half-moved.
        await supersede(holder, doc);
        return { status: 'superseding', rolloutId, supersedes: holder };
      }
      // The holder finished (or died before it had a record) but kept the lock: take the service over.
      log.warn('releasing a stale lock', { service, holder });
      await store.releaseLock(service, holder, clock.now());
      await store.acquireLock(service, rolloutId, clock.now());
    }

    try {
      const started = await startRolloutExecution(deps, doc);
      await recordHistory(deps, rolloutId, 'started', `rollout of ${imageLabel(image)} started`, {
        trigger: doc.trigger,
      });
      log.info('rollout started', { service, rolloutId, executionArn: started.executionArn });
      return { status: 'started', rolloutId, executionArn: started.executionArn };
    } catch (error) {
      await store.releaseLock(service, rolloutId, clock.now());
      throw error;
    }
  });

  async function supersede(holder: string, doc: RolloutDoc): Promise<void> {
    await store.setPending(doc.service, holder, doc);
    const message = `superseded by ${imageLabel(doc.image)}`;
    // Pending first, then look for the holder's record: a holder that is still starting writes its record,
    // then looks for a pending image. One of the two sees the other, so the holder never runs to the end.
    if (await store.getRollout(holder)) {
      const record = await store.markAborted(holder, ErrorName.Superseded, message, clock.now());
      if (record.wait) await executions.sendTaskFailure(record.wait.token, ErrorName.Superseded, message);
      await recordHistory(deps, holder, 'superseded', message, { by: doc.rolloutId });
    }
    log.info('superseding a rollout', { service: doc.service, holder, next: doc.rolloutId });
  }
}
