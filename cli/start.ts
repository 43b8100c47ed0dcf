/**
 * `canary start`: the image reference it takes (a tag, a digest or both), the answer it gives, and where its
 * request stands before the rollout has a record.
 */
import { rolloutIdForPush } from '../functions/core/pushes';
import { type ImageRef, isDigest, TERMINAL_STATUSES } from '../functions/core/rollout';
import type { RolloutStore } from '../functions/ports';
import {
  type DeployReceipt,
  type DeployRequest,
  OperationError,
  type RequestState,
  type StartResult,
} from './results';

/** A Docker image tag: up to 128 characters, the first a word character (docker/distribution reference grammar). */
const IMAGE_TAG = '[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}';

/** The image a `canary start` names: a digest, `<tag>@<digest>`, or a tag the backend resolves to its digest. */
export async function imageRef(
  service: string,
  image: string,
  resolveTag?: (service: string, tag: string) => Promise<string | undefined>,
): Promise<Omit<ImageRef, 'repository'>> {
  if (isDigest(image)) return { digest: image };
  if (new RegExp(`^${IMAGE_TAG}@sha256:[0-9a-f]{64}$`).test(image)) {
    const [tag, digest] = image.split('@') as [string, string];
    return { tag, digest };
  }
  if (!new RegExp(`^${IMAGE_TAG}$`).test(image)) {
    // Checked here, not by ECR: a tag ECR cannot hold (over 300 characters) is a request it rejects.
    throw new OperationError(
      `"${image}" is neither a digest nor an image tag: give --image <tag>, sha256:<64 hex> or <tag>@sha256:<64 hex> (a tag is [A-Za-z0-9_][A-Za-z0-9_.-]{0,127})`,
      'refused',
    );
  }
  const digest = resolveTag ? await resolveTag(service, image) : undefined;
  if (!digest)
    throw new OperationError(
      resolveTag
        ? `no image tagged "${image}" for ${service}`
        : `"${image}" is not a digest: give --image sha256:<64 hex> (or <tag>@sha256:<64 hex>)`,
      'refused',
    );
  return { tag: image, digest };
}

/** What `canary start` answers once the backend took its Deploy Requested event. */
export function startResult(
  service: string,
  ref: Omit<ImageRef, 'repository'>,
  receipt: DeployReceipt,
): StartResult {
  const request = { service, digest: ref.digest, eventId: receipt.eventId };
  const answer = receipt.answer;
  const rolloutId = answer?.rolloutId ?? rolloutIdForPush({ ...request, time: '', rerun: true });
  const refused =
    answer && (answer.status === 'refused' || answer.status === 'ignored')
      ? (answer.reason ?? answer.status)
      : undefined;
  return {
    ok: true,
    rolloutId,
    request,
    ...(refused ? { refused } : {}),
    message: `Deploy Requested for ${service}: ${ref.tag ?? ref.digest} (${receipt.via}): ${
      refused ? `refused: ${refused}` : `rollout ${rolloutId}`
    }`,
  };
}

/**
 * Where a `canary start` request stands, read the way start-rollout decides (core/pushes.ts): its own rollout
 * (named after the event id), queued behind the holder it supersedes, the run of that image already under way
 * (start-rollout answers such a request with that run), or nothing: the image is quarantined, or a newer push
 * took the service before this one started. Reads only what it needs, the rollout's record first.
 */
export async function locateRequest(store: RolloutStore, request: DeployRequest): Promise<RequestState> {
  const { service, digest, eventId } = request;
  const own = rolloutIdForPush({ ...request, time: '', rerun: true });
  if (await store.getRollout(own)) return { state: 'rollout', rolloutId: own };
  const lock = await store.getLock(service);
  if (lock?.rolloutId === own) return { state: 'starting', rolloutId: own, message: `${own} is starting` };
  if (lock?.pending?.rolloutId === own)
    return {
      state: 'queued',
      rolloutId: own,
      message: `${own} waits for ${lock.rolloutId} to roll back and hand ${service} over`,
    };
  const [image, quarantined, newest] = await Promise.all([
    store.getImage(service, digest),
    store.isQuarantined(service, digest),
    store.getNewestPush(service),
  ]);
  if (quarantined)
    return {
      state: 'refused',
      message: `${digest} is quarantined for ${service}: release it with \`canary release ${service} ${digest}\``,
    };
  if (image && image.eventId !== eventId) {
    const record = await store.getRollout(image.rolloutId);
    if (record && !TERMINAL_STATUSES.has(record.status))
      return { state: 'rollout', rolloutId: image.rolloutId };
    if (!record && (lock?.rolloutId === image.rolloutId || lock?.pending?.rolloutId === image.rolloutId))
      return {
        state: 'starting',
        rolloutId: image.rolloutId,
        message: `${image.rolloutId}, which runs this image, is starting`,
      };
  }
  if (image?.eventId === eventId && newest && newest.eventId !== eventId)
    return {
      state: 'refused',
      message: `a newer push (rollout ${newest.rolloutId}) took ${service} before ${own} started`,
    };
  return {
    state: 'requested',
    rolloutId: own,
    message: `the controller has not taken the request yet (event ${eventId})`,
  };
}
