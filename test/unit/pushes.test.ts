import { describe, expect, it } from 'vitest';
import {
  type AcceptedPush,
  comparePushes,
  decidePush,
  type Push,
  rolloutIdForPush,
  type SeenImage,
} from '../../functions/core/pushes';
import { rolloutIdFor } from '../../functions/core/rollout';

const DIGEST_A = `sha256:${'a'.repeat(64)}`;
const DIGEST_B = `sha256:${'b'.repeat(64)}`;
const T0 = '2026-03-04T12:00:00Z';
const T1 = '2026-03-04T12:00:01Z';

const push = (extra: Partial<Push> = {}): Push => ({
  service: 'web',
  eventId: 'event-b',
  time: T1,
  digest: DIGEST_B,
  rerun: false,
  ...extra,
});
const accepted = (extra: Partial<AcceptedPush> = {}): AcceptedPush => ({
  eventId: 'event-a',
  time: T0,
  digest: DIGEST_A,
  rolloutId: rolloutIdFor('web', DIGEST_A),
  ...extra,
});

describe('which push wins', () => {
  it('orders pushes by their event time, then by digest when the times tie', () => {
    expect(comparePushes({ time: T0, digest: DIGEST_B }, { time: T1, digest: DIGEST_A })).toBeLessThan(0);
    expect(comparePushes({ time: T1, digest: DIGEST_A }, { time: T0, digest: DIGEST_B })).toBeGreaterThan(0);
    expect(comparePushes({ time: T0, digest: DIGEST_A }, { time: T0, digest: DIGEST_B })).toBeLessThan(0);
    // The same instant written with and without milliseconds is the same instant.
    expect(
      comparePushes({ time: T0, digest: DIGEST_A }, { time: '2026-03-04T12:00:00.000Z', digest: DIGEST_A }),
    ).toBe(0);
  });

  it('accepts the first push of a service, and a newer push of a new image', () => {
    expect(decidePush(push(), undefined, undefined)).toEqual({
      kind: 'accept',
      rolloutId: rolloutIdFor('web', DIGEST_B),
    });
    expect(decidePush(push(), accepted(), undefined)).toEqual({
      kind: 'accept',
      rolloutId: rolloutIdFor('web', DIGEST_B),
    });
  });

  it('ignores a push made before the newest accepted one, however late it arrives', () => {
    const newest = accepted({ eventId: 'event-b', time: T1, digest: DIGEST_B });
    expect(decidePush(push({ eventId: 'event-a', time: T0, digest: DIGEST_A }), newest, undefined)).toEqual({
      kind: 'stale',
      newest,
    });
  });

  it('ties at one second go to the larger digest, in whichever order the two arrive', () => {
    const a = push({ eventId: 'event-a', time: T0, digest: DIGEST_A });
    const b = push({ eventId: 'event-b', time: T0, digest: DIGEST_B });
    const acceptedB = accepted({ eventId: 'event-b', time: T0, digest: DIGEST_B });
    // b first, then a: a is stale.
    expect(decidePush(a, acceptedB, undefined).kind).toBe('stale');
    // a first, then b: b supersedes it.
    expect(decidePush(b, accepted({ time: T0 }), undefined).kind).toBe('accept');
  });

  it('resumes the newest event delivered again, whatever its image went through since', () => {
    const newest = accepted({ eventId: 'event-b', time: T1, digest: DIGEST_B, rolloutId: 'web-x' });
    const seen: SeenImage = { digest: DIGEST_B, eventId: 'event-b', rolloutId: 'web-x', time: T1 };
    expect(decidePush(push(), newest, seen)).toEqual({ kind: 'resume', rolloutId: 'web-x' });
  });

  it('treats another push of an image already asked for as seen; only a rerun runs it again', () => {
    const seen: SeenImage = { digest: DIGEST_B, eventId: 'event-old', rolloutId: 'web-x', time: T0 };
    expect(decidePush(push(), accepted(), seen)).toEqual({ kind: 'seen', image: seen });
    const rerun = push({ rerun: true, eventId: 'event-rerun' });
    const decision = decidePush(rerun, accepted(), seen);
    expect(decision).toEqual({ kind: 'accept', rolloutId: rolloutIdForPush(rerun) });
    expect(rolloutIdForPush(rerun)).toMatch(new RegExp(`^${rolloutIdFor('web', DIGEST_B)}-r[0-9a-f]{8}$`));
    // The same request again names the same execution; another request a new one.
    expect(rolloutIdForPush({ ...rerun })).toBe(rolloutIdForPush(rerun));
    expect(rolloutIdForPush({ ...rerun, eventId: 'event-other' })).not.toBe(rolloutIdForPush(rerun));
  });

  it('does not count the mark its own first delivery left as an earlier request', () => {
    const ownMark: SeenImage = { digest: DIGEST_B, eventId: 'event-b', rolloutId: 'web-x', time: T1 };
    expect(decidePush(push(), accepted(), ownMark).kind).toBe('accept');
  });

  it('a rerun is still ordered: one made before the newest push is stale', () => {
    const newest = accepted({ eventId: 'event-n', time: T1, digest: DIGEST_B });
    expect(decidePush(push({ rerun: true, time: T0, digest: DIGEST_A }), newest, undefined).kind).toBe(
      'stale',
    );
  });
});
