/**
 * Which push wins. EventBridge delivers an event at least once, and Lambda's asynchronous queue may hand the same
 * event to start-rollout more than once, late, and in any order (AWS Lambda Developer Guide, "How Lambda handles
 * errors and retries with asynchronous invocation"; Amazon EventBridge User Guide, "How EventBridge retries
 * delivering events", up to 24 hours; EventBridge Events Reference, "Delivery level for AWS service events": a
 * durable service delivers an event at least once). So the order of arrival says nothing; the order of the pushes
 * does.
 *
 * A push is ordered by its event's `time` (Amazon EventBridge User Guide, "Amazon EventBridge events": the event
 * timestamp, set by the service the event comes from, ECR for a push, the sender or the PutEvents call for a
 * Deploy Requested), which does not change when the event is delivered again. ECR's timestamps have one-second
 * precision, so two pushes can tie: the larger digest wins then. Nothing says which of the two is newer, but any
 * fixed rule makes every order of delivery end with the same image.
 */
import { type RolloutDoc, rolloutIdFor, type ServiceLock } from './rollout';

/** The newest push start-rollout accepted for a service: the high-water mark older pushes are judged against. */
export interface AcceptedPush {
  eventId: string;
  /** The event's `time`. */
  time: string;
  digest: string;
  rolloutId: string;
}

/** An image a service was asked to run, and the event that last asked for it. */
export interface SeenImage {
  digest: string;
  eventId: string;
  rolloutId: string;
  time: string;
}

export interface Push {
  service: string;
  eventId: string;
  time: string;
  digest: string;
  /** `canary start`: run this image again even though it already ran, was superseded or was aborted. */
  rerun: boolean;
}

export type PushDecision =
  /** The event that set the high-water mark, delivered again: carry its rollout through (idempotently). */
  | { kind: 'resume'; rolloutId: string }
  /** Older than (or the same push as) one already accepted. */
  | { kind: 'stale'; newest: AcceptedPush }
  /** The image was asked for before (it ran, or was superseded or aborted): only `canary start` runs it again. */
  | { kind: 'seen'; image: SeenImage }
  | { kind: 'accept'; rolloutId: string };

/** Negative when `a` was pushed before `b`, positive after, 0 for the same push time and digest. */
export function comparePushes(
  a: { time: string; digest: string },
  b: { time: string; digest: string },
): number {
  const ta = Date.parse(a.time);
  const tb = Date.parse(b.time);
  if (ta !== tb) return ta < tb ? -1 : 1;
  return a.digest < b.digest ? -1 : a.digest > b.digest ? 1 : 0;
}

/** The push a rollout document was made for, as comparePushes orders it (its event's time, its digest). */
const pushOf = (doc: Pick<RolloutDoc, 'requestedAt' | 'image'>) => ({
  time: doc.requestedAt,
  digest: doc.image.digest,
});

/**
 * What keeps `doc` from becoming the rollout pending on a lock: the holder's or the pending rollout, when it is
 * another rollout pushed no earlier than `doc`. A push never displaces a newer one, nor waits on one. Undefined when
 * `doc` may be pending (nothing pending, the same rollout again, or older ones only).
 */
export function newerOnLock(
  lock: Pick<ServiceLock, 'doc' | 'pending'>,
  doc: RolloutDoc,
): RolloutDoc | undefined {
  return [lock.pending, lock.doc].find(
    (other) =>
      other !== undefined &&
      other.rolloutId !== doc.rolloutId &&
      comparePushes(pushOf(other), pushOf(doc)) >= 0,
  );
}

/**
 * The rollout id of a run: `<service>-<digest prefix>` for an image's first run; a `canary start` adds a suffix
 * taken from its event id, so the same request delivered twice names the same execution, and another request a
 * new one.
 */
export function rolloutIdForPush(push: Push): string {
  const base = rolloutIdFor(push.service, push.digest);
  return push.rerun ? `${base}-r${fnv1a(push.eventId)}` : base;
}

export function decidePush(
  push: Push,
  newest: AcceptedPush | undefined,
  image: SeenImage | undefined,
): PushDecision {
  if (newest?.eventId === push.eventId) return { kind: 'resume', rolloutId: newest.rolloutId };
  if (newest && comparePushes(push, newest) <= 0) return { kind: 'stale', newest };
  // An image mark left by this very event (its first delivery stopped before it took the high-water mark) is not
  // a previous request.
  if (image && image.eventId !== push.eventId && !push.rerun) return { kind: 'seen', image };
  return { kind: 'accept', rolloutId: rolloutIdForPush(push) };
}

/** FNV-1a, 32 bits, as 8 hex digits: a short, stable name for an event id. */
function fnv1a(text: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash.toString(16).padStart(8, '0');
}
