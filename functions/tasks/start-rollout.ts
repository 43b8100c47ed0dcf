/**
 * start-rollout: an ECR push or a Deploy Requested event becomes at most one rollout. The newest push wins
 * (core/pushes.ts): a push older than one already accepted, a redelivered event, and a new push of an image that
 * ran before (or was superseded or aborted) change nothing; only `canary start` (a Deploy Requested with `rerun`)
 * runs an image again. Refuses quarantined images, and supersedes a rollout already running for the service (it
 * rolls back, then the newer image starts).
 */

import type { ServiceConfig } from '../core/config';
import { ErrorName, InputInvalidError, LockHeldError, TransientError } from '../core/errors';
import { ecrPushSkipReason, startRolloutEvent } from '../core/events';
import { buildPlan } from '../core/plan';
import { decidePush, type Push, rolloutIdForPush } from '../core/pushes';
import { type ImageRef, imageLabel, type RolloutDoc, TERMINAL_STATUSES, tagMatches } from '../core/rollout';
import { stepSpecs } from '../core/steps';
import type * as v from '../core/valibot';
import type {
  Clock,
  Executions,
  Log,
  Notifier,
  RolloutStore,
  ServiceCatalog,
  StateChangeBus,
  VerdictFreeEvent,
} from '../ports';
import {
  abortRollout,
  channelsOf,
  ensureHolderStarted,
  notifyAll,
  recordHistory,
  startRefused,
  startRolloutExecution,
} from './lib/procedures';
import { task } from './lib/task';

export interface StartRolloutDeps {
  catalog: ServiceCatalog;
  store: RolloutStore;
  executions: Executions;
  /** What these send carries no verdict (a refusal, a reconciled rollback). */
  notifiers: readonly Notifier<VerdictFreeEvent>[];
  clock: Clock;
  log: Log;
  /** Where each history entry is announced as a state-change event; absent: none. */
  events?: StateChangeBus;
}

export type StartRolloutResult =
  | { status: 'started'; rolloutId: string; executionArn: string }
  | { status: 'duplicate'; rolloutId: string; reason?: string }
  | { status: 'superseding'; rolloutId: string; supersedes: string }
  | { status: 'refused'; rolloutId: string; reason: string }
  | { status: 'ignored'; reason: string };

/** A lock younger than this whose holder has no record yet belongs to a rollout that is still starting. */
const STARTING_GRACE_MS = 5 * 60_000;

/** Attempts at taking the service's newest push before giving up as a transient conflict. */
const ADMIT_ATTEMPTS = 5;

export function makeStartRollout(deps: StartRolloutDeps) {
  const { store, log } = deps;

  return task('start-rollout event', startRolloutEvent, async (event): Promise<StartRolloutResult> => {
    const requested = await requestedImage(deps, event);
    if ('result' in requested) return requested.result;
    const { config, image } = requested;
    const service = config.service;
    const rerun = event['detail-type'] === 'Deploy Requested' && event.detail.rerun === true;
    const push: Push = { service, eventId: event.id, time: event.time, digest: image.digest, rerun };
    const admitted = await admit(deps, push, image, config);
    if ('result' in admitted) return admitted.result;
    const { rolloutId } = admitted;

    if (await store.getRollout(rolloutId)) {
      // This event's rollout is under way or over (this is a redelivery): make sure a holder whose start failed
      // gets started, and change nothing else.
      const lock = await store.getLock(service);
      if (lock?.rolloutId === rolloutId) await ensureHolderStarted(deps, lock);
      return { status: 'duplicate', rolloutId };
    }

    const fresh: RolloutDoc = {
      rolloutId,
      service,
      image,
      config,
      plan: buildPlan(stepSpecs(config)),
      trigger: event['detail-type'] === 'ECR Image Action' ? 'ecr-push' : 'deploy-requested',
      requestedAt: event.time,
    };

    const taken = await takeService(deps, fresh);
    if ('result' in taken) return taken.result;
    const { doc } = taken;

    // From here the lock belongs to this rollout's execution, which may be running even when a call below
    // fails: never release it here. A failure is retried (Lambda retries the event; the retry resumes this
    // rollout) or left to the execution; a later push or a hand-over's retry starts a holder that never started.
    let started: Awaited<ReturnType<typeof startRolloutExecution>>;
    try {
      started = await startRolloutExecution(deps, doc);
    } catch (error) {
      if (!startRefused(error)) throw error;
      // Step Functions started nothing: the rollout is recorded as rolled back and the service given back.
      const reason = `Step Functions refused to start ${rolloutId}: ${String(error)}`;
      log.error('a rollout could not start', { service, rolloutId, error: String(error) });
      return { status: 'refused', rolloutId, reason };
    }
    if (!started) {
      // Another delivery of this push (or the rollout that handed it the lock) started it, or it is over already.
      return {
        status: 'duplicate',
        rolloutId,
        reason: `${rolloutId} is started or over already: started nothing`,
      };
    }
    try {
      await recordHistory(deps, doc, 'started', `rollout of ${imageLabel(image)} started`, {
        trigger: doc.trigger,
      });
    } catch (error) {
      log.warn('could not record the start in the history', { rolloutId, error: String(error) });
    }
    log.info('rollout started', { service, rolloutId, executionArn: started.executionArn });
    return { status: 'started', rolloutId, executionArn: started.executionArn };
  });
}

/**
 * Whether this push may run (core/pushes.ts decidePush): its rollout id, or the result that ends the event here.
 * The image is marked first, then the newest push taken, both conditionally on what was read: two events racing
 * for one service leave one of them newest, and the other decides again.
 */
async function admit(
  deps: StartRolloutDeps,
  push: Push,
  image: ImageRef,
  config: ServiceConfig,
): Promise<{ rolloutId: string } | { result: StartRolloutResult }> {
  const { store, clock, log } = deps;
  const { service, digest } = push;
  for (let attempt = 0; attempt < ADMIT_ATTEMPTS; attempt++) {
    const [newest, seen] = await Promise.all([store.getNewestPush(service), store.getImage(service, digest)]);
    const decision = decidePush(push, newest, seen);
    if (decision.kind === 'resume') return { rolloutId: decision.rolloutId };
    if (decision.kind === 'stale') {
      // This push's rollout holds the service (its first delivery took the lock and stopped before it started it):
      // carry it through; it finds the newer push pending and hands the service over to it. Or it handed the
      // service over and its delivery stopped before it started the next holder: start that one.
      const mine = rolloutIdForPush(push);
      const lock = await store.getLock(service);
      if (lock?.rolloutId === mine && lock.doc?.rolloutId === mine) return { rolloutId: mine };
      if (lock?.handedOverBy === mine) await ensureHolderStarted(deps, lock, { handedOver: true });
      const reason = `${imageLabel(image)} (pushed ${push.time}) is not newer than ${decision.newest.digest.slice(0, 19)} (pushed ${decision.newest.time}, rollout ${decision.newest.rolloutId}): ignored`;
      log.info('ignored a push older than the newest', { service, digest, eventId: push.eventId, reason });
      return { result: { status: 'ignored', reason } };
    }
    const rolloutId = decision.kind === 'seen' ? decision.image.rolloutId : decision.rolloutId;
    if (await store.isQuarantined(service, digest)) {
      const reason = `${imageLabel(image)} is quarantined for ${service}: release it with \`canary release ${service} ${digest}\``;
      log.warn('refused a quarantined image', { service, digest });
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
      return { result: { status: 'refused', rolloutId, reason } };
    }
    if (decision.kind === 'seen') {
      const reason = `${imageLabel(image)} was asked for before (rollout ${rolloutId}): run it again with \`canary start ${service} --image ${digest}\``;
      log.info('ignored a push of an image already asked for', { service, digest, eventId: push.eventId });
      return { result: { status: 'duplicate', rolloutId, reason } };
    }
    if (seen && (await isUnderWay(store, service, seen.rolloutId))) {
      // `canary start` of the image rolling out now (or waiting to): that rollout is the run asked for.
      return { result: { status: 'duplicate', rolloutId: seen.rolloutId } };
    }
    const mark = { digest, eventId: push.eventId, rolloutId, time: push.time };
    if (!(await store.markImage(service, mark, seen?.eventId))) continue;
    const accepted = { eventId: push.eventId, time: push.time, digest, rolloutId };
    if (await store.setNewestPush(service, accepted, newest?.eventId)) return { rolloutId };
  }
  throw new TransientError(`pushes for ${service} kept racing while ${push.eventId} was judged`);
}

async function isUnderWay(store: RolloutStore, service: string, rolloutId: string): Promise<boolean> {
  const [record, lock] = await Promise.all([store.getRollout(rolloutId), store.getLock(service)]);
  if (record) return !TERMINAL_STATUSES.has(record.status);
  return lock?.rolloutId === rolloutId || lock?.pending?.rolloutId === rolloutId;
}

/** The service and image an event asks for, or the answer that ends the event here (a push that does not count). */
async function requestedImage(
  deps: StartRolloutDeps,
  event: v.InferOutput<typeof startRolloutEvent>,
): Promise<{ config: ServiceConfig; image: ImageRef } | { result: StartRolloutResult }> {
  const { catalog, log } = deps;
  let config: Awaited<ReturnType<ServiceCatalog['byName']>>;
  let image: ImageRef;
  if (event['detail-type'] === 'ECR Image Action') {
    const d = event.detail;
    if (d['action-type'] !== 'PUSH' || d.result !== 'SUCCESS') {
      return {
        result: { status: 'ignored', reason: `ECR ${d['action-type']} ${d.result} is not a successful push` },
      };
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
      return { result: { status: 'ignored', reason } };
    }
    if (!tagMatches(config.tagPattern, image.tag)) {
      return {
        result: {
          status: 'ignored',
          reason: `tag ${image.tag ?? '(none)'} does not match ${config.tagPattern}`,
        },
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
  return { config, image };
}

/** Supersede `holder` with `doc`, or the newer rollout pending on it already (then nothing changes). */
async function supersede(
  deps: StartRolloutDeps,
  holder: string,
  doc: RolloutDoc,
): Promise<RolloutDoc | undefined> {
  const { store, log } = deps;
  // A newer push that passed admission after this one holds the service or waits for it: it wins, as at admission.
  const newer = await store.setPending(doc.service, holder, doc);
  if (newer) return newer;
  // Pending first, then look for the holder's record: a holder that is still starting writes its record,
  // then looks for a pending image. One of the two sees the other, so the holder never runs to the end.
  const held = await store.getRollout(holder);
  // A holder that ended since (its lock handed to this one, or given up) is not marked: nothing to stop.
  const outcome = held
    ? await abortRollout(deps, held, {
        reason: ErrorName.Superseded,
        message: `superseded by ${imageLabel(doc.image)}`,
        entry: { type: 'superseded', detail: { by: doc.rolloutId } },
      })
    : undefined;
  log.info('superseding a rollout', {
    service: doc.service,
    holder,
    next: doc.rolloutId,
    ...(outcome?.status === 'notHolding' ? { ended: outcome.why } : {}),
  });
  return undefined;
}

/** The answer to a push that found a newer one on the lock (what a push older than the newest gets at admission). */
function olderThanPending(deps: StartRolloutDeps, doc: RolloutDoc, newer: RolloutDoc): StartRolloutResult {
  const reason = `${imageLabel(doc.image)} (pushed ${doc.requestedAt}) is not newer than ${newer.image.digest.slice(0, 19)} (pushed ${newer.requestedAt}, rollout ${newer.rolloutId}), which holds or awaits the service: ignored`;
  deps.log.info('ignored a push older than the one pending', {
    service: doc.service,
    rolloutId: doc.rolloutId,
    reason,
  });
  return { status: 'ignored', reason };
}

/**
 * Take the service's lock for `fresh`: the document to start (the lock's, when an earlier delivery or a hand-over
 * put it there), or the answer when a running holder is superseded instead (it hands the service over later).
 */
async function takeService(
  deps: StartRolloutDeps,
  fresh: RolloutDoc,
): Promise<{ doc: RolloutDoc } | { result: StartRolloutResult }> {
  const { store, clock, log } = deps;
  const { service, rolloutId } = fresh;
  let doc = fresh;
  try {
    await store.acquireLock(service, rolloutId, clock.now(), doc);
    // Ours already when an earlier delivery took it, or a hand-over gave it: start what the lock says.
    const lock = await store.getLock(service);
    if (lock?.rolloutId === rolloutId && lock.doc?.rolloutId === rolloutId) doc = lock.doc;
  } catch (error) {
    if (!(error instanceof LockHeldError)) throw error;
    const holder = error.holder;
    const [lock, held] = await Promise.all([store.getLock(service), store.getRollout(holder)]);
    const settled = held?.status === 'promoted' || held?.status === 'rolledBack';
    const starting =
      !held && lock !== undefined && clock.now().getTime() - Date.parse(lock.acquiredAt) < STARTING_GRACE_MS;
    if (!settled && (held || starting)) {
      // Running, starting, or ended without settling its traffic (the reconciler settles it): either way the
      // holder rolls back and hands the service to this image. Taking over now could leave traffic half-moved.
      const newer = await supersede(deps, holder, doc);
      if (newer) return { result: olderThanPending(deps, doc, newer) };
      // A holder whose start failed would never roll back and hand over: start it (it stops at once). One with no
      // record may have no starter left (handed the lock by a rollout that ended, or its first delivery died after
      // taking the lock): start it from the beginning; it finds this push pending, records itself rolled back,
      // gives it the lock and starts it. A starter still at work meets this one at the record, written only if
      // absent (lib/ownership.ts startRolloutExecution): one execution of the holder, stopped if it lost.
      if (lock?.rolloutId === holder) await ensureHolderStarted(deps, lock, { handedOver: !held });
      return { result: { status: 'superseding', rolloutId, supersedes: holder } };
    }
    // The holder finished (or died before it had a record) but kept the lock: take the service over. A holder
    // without a record loses it only as read: one that started since renewed it (lib/ownership.ts
    // startRolloutExecution) and is judged again.
    log.warn('releasing a stale lock', { service, holder });
    if (held) {
      // A rollout pending on the holder now holds the lock, and nothing else will start it: this push supersedes
      // it and starts it, which hands the service on to this push (the supersede branch above).
      if (await store.releaseLock(service, holder, clock.now())) return takeService(deps, fresh);
    } else if (lock && !(await store.releaseStaleLock(service, holder, lock.acquiredAt)))
      return takeService(deps, fresh);
    await store.acquireLock(service, rolloutId, clock.now(), doc);
  }
  return { doc };
}
