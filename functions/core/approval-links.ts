/**
 * Signed, expiring, single-use approval links. A link is `<payload>.<signature>`, both base64url: the payload is
 * the claims as JSON, the signature HMAC-SHA256 over the payload with the approval signing key. A link carries no
 * secret and no task token: it names the rollout, the step, its scope and a hash of the wait it was minted for.
 * The wait token on the record changes with every wait and is cleared once a decision is taken, so a link for an
 * old (or already decided) wait no longer matches: that is how a link is used once, with nothing added to the
 * store. Pure: node:crypto only, the time is passed in.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** What a link lets its holder do: decide (approve or reject) one approval wait. */
export type ApprovalScope = 'approval';

export interface ApprovalClaims {
  /** Format version, so the format can change without accepting old links by accident. */
  v: 1;
  rolloutId: string;
  /** The plan step's index. */
  step: number;
  scope: ApprovalScope;
  /** Hash of the wait token the link was minted for (never the token itself). */
  wait: string;
  /** Expiry, epoch seconds. */
  exp: number;
  /** Random, so two links for the same wait differ. */
  nonce: string;
}

export type LinkRefusal = 'malformed' | 'forged' | 'expired';

export type VerifiedLink = { ok: true; claims: ApprovalClaims } | { ok: false; reason: LinkRefusal };

/** Link tokens longer than this are refused before any work (a page takes no unbounded input). */
export const MAX_LINK_LENGTH = 1024;

const SIGNATURE_BYTES = 32;

/** The hash a link carries for a wait token: SHA-256, hex, first 32 characters (128 bits). */
export function waitHash(waitToken: string): string {
  return createHash('sha256').update(waitToken, 'utf8').digest('hex').slice(0, 32);
}

function sign(key: Uint8Array | string, payload: string): Buffer {
  return createHmac('sha256', key).update(payload, 'ascii').digest();
}

/** A key needs at least 32 bytes of secret. */
function checkKey(key: Uint8Array | string): void {
  const length = typeof key === 'string' ? Buffer.byteLength(key, 'utf8') : key.byteLength;
  if (length < 32) throw new RangeError('the approval signing key must be at least 32 bytes');
}

export interface MintOptions {
  rolloutId: string;
  step: number;
  waitToken: string;
  now: Date;
  /** How long the link is valid, seconds. */
  ttlSeconds: number;
  /** For tests only: a fixed nonce. */
  nonce?: string;
}

export function mintApprovalLink(key: Uint8Array | string, options: MintOptions): string {
  checkKey(key);
  if (!(options.ttlSeconds > 0)) throw new RangeError('ttlSeconds must be positive');
  const claims: ApprovalClaims = {
    v: 1,
    rolloutId: options.rolloutId,
    step: options.step,
    scope: 'approval',
    wait: waitHash(options.waitToken),
    exp: Math.floor(options.now.getTime() / 1000) + Math.ceil(options.ttlSeconds),
    nonce: options.nonce ?? randomBytes(12).toString('base64url'),
  };
  const payload = Buffer.from(JSON.stringify(claims), 'utf8').toString('base64url');
  return `${payload}.${sign(key, payload).toString('base64url')}`;
}

const B64URL = /^[A-Za-z0-9_-]+$/;

function isClaims(value: unknown): value is ApprovalClaims {
  if (!value || typeof value !== 'object') return false;
  const c = value as Record<string, unknown>;
  return (
    c.v === 1 &&
    typeof c.rolloutId === 'string' &&
    /^[A-Za-z0-9_-]{1,80}$/.test(c.rolloutId) &&
    Number.isInteger(c.step) &&
    (c.step as number) >= 0 &&
    c.scope === 'approval' &&
    typeof c.wait === 'string' &&
    /^[0-9a-f]{32}$/.test(c.wait) &&
    Number.isInteger(c.exp) &&
    typeof c.nonce === 'string' &&
    c.nonce.length > 0 &&
    c.nonce.length <= 64
  );
}

/**
 * Check a link's signature (constant time) and expiry. The claims are read only once the signature is good: a
 * forged link never reaches JSON.parse. That the link's wait is still the record's wait is the caller's check
 * (`matchesWait`), since it needs the store.
 */
export function verifyApprovalLink(key: Uint8Array | string, link: string, now: Date): VerifiedLink {
  checkKey(key);
  if (typeof link !== 'string' || link.length === 0 || link.length > MAX_LINK_LENGTH)
    return { ok: false, reason: 'malformed' };
  const parts = link.split('.');
  if (parts.length !== 2) return { ok: false, reason: 'malformed' };
  const [payload, signature] = parts as [string, string];
  if (!B64URL.test(payload) || !B64URL.test(signature)) return { ok: false, reason: 'malformed' };
  const given = Buffer.from(signature, 'base64url');
  const expected = sign(key, payload);
  // timingSafeEqual needs equal lengths; compare against the expected MAC anyway so the work does not depend
  // on where a forged signature differs.
  const sameLength = given.length === SIGNATURE_BYTES;
  const equal = timingSafeEqual(sameLength ? given : Buffer.alloc(SIGNATURE_BYTES), expected);
  // base64url ignores the unused low bits of the last character: accept only the one canonical spelling.
  const canonical = given.toString('base64url') === signature;
  if (!sameLength || !equal || !canonical) return { ok: false, reason: 'forged' };
  let claims: unknown;
  try {
    claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  } catch {
    return { ok: false, reason: 'malformed' };
  }
  if (!isClaims(claims)) return { ok: false, reason: 'malformed' };
  if (Math.floor(now.getTime() / 1000) >= claims.exp) return { ok: false, reason: 'expired' };
  return { ok: true, claims };
}

/** Whether the link was minted for this wait (constant time on the hashes). */
export function matchesWait(
  claims: ApprovalClaims,
  wait: { token: string; step: number } | undefined,
): boolean {
  if (!wait) return false;
  const a = Buffer.from(claims.wait, 'ascii');
  const b = Buffer.from(waitHash(wait.token), 'ascii');
  return a.length === b.length && timingSafeEqual(a, b) && claims.step === wait.step;
}

/** The page's URL for a link: `<base>/approve?t=<link>`. */
export function approvalUrl(baseUrl: string, link: string): string {
  return `${baseUrl.replace(/\/+$/, '')}/approve?t=${encodeURIComponent(link)}`;
}
