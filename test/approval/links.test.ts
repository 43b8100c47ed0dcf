import * as crypto from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';
import {
  approvalUrl,
  matchesWait,
  mintApprovalLink,
  verifyApprovalLink,
  waitHash,
} from '../../functions/core/approval-links';

vi.mock('node:crypto', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:crypto')>();
  return { ...real, timingSafeEqual: vi.fn(real.timingSafeEqual) };
});

const KEY = crypto.randomBytes(32);
const NOW = new Date('2026-01-01T00:00:00Z');
const mint = (over: Partial<Parameters<typeof mintApprovalLink>[1]> = {}) =>
  mintApprovalLink(KEY, {
    rolloutId: 'web-0123456789abcdef',
    step: 1,
    waitToken: 'token-1',
    now: NOW,
    ttlSeconds: 3600,
    ...over,
  });

describe('approval links', () => {
  it('a fresh link verifies and names the rollout, the step, the scope and the wait by hash only', () => {
    const link = mint();
    const v = verifyApprovalLink(KEY, link, NOW);
    expect(v).toMatchObject({
      ok: true,
      claims: { rolloutId: 'web-0123456789abcdef', step: 1, scope: 'approval', wait: waitHash('token-1') },
    });
    expect(Buffer.from(link.split('.')[0] ?? '', 'base64url').toString()).not.toContain('token-1');
    expect(link).not.toContain(KEY.toString('base64url'));
    if (v.ok) expect(matchesWait(v.claims, { token: 'token-1', step: 1 })).toBe(true);
  });

  it('two links for one wait differ (nonce)', () => {
    expect(mint()).not.toBe(mint());
  });

  it('refuses a link signed with another key', () => {
    const other = mintApprovalLink(crypto.randomBytes(32), {
      rolloutId: 'web-0123456789abcdef',
      step: 1,
      waitToken: 't',
      now: NOW,
      ttlSeconds: 60,
    });
    expect(verifyApprovalLink(KEY, other, NOW)).toEqual({ ok: false, reason: 'forged' });
  });

  it('refuses tampered claims (a different step or rollout) and tampered signatures', () => {
    const [payload, sig] = mint().split('.') as [string, string];
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
    const tampered = Buffer.from(JSON.stringify({ ...claims, step: 2 })).toString('base64url');
    expect(verifyApprovalLink(KEY, `${tampered}.${sig}`, NOW)).toEqual({ ok: false, reason: 'forged' });
    const flipped = `${sig.slice(0, -2)}${sig.endsWith('AA') ? 'BB' : 'AA'}`;
    expect(verifyApprovalLink(KEY, `${payload}.${flipped}`, NOW)).toEqual({ ok: false, reason: 'forged' });
    expect(verifyApprovalLink(KEY, `${payload}.${sig.slice(0, 10)}`, NOW)).toEqual({
      ok: false,
      reason: 'forged',
    });
    expect(verifyApprovalLink(KEY, `${payload}`, NOW)).toEqual({ ok: false, reason: 'malformed' });
    expect(verifyApprovalLink(KEY, 'a.b.c', NOW)).toEqual({ ok: false, reason: 'malformed' });
    expect(verifyApprovalLink(KEY, '', NOW)).toEqual({ ok: false, reason: 'malformed' });
    expect(verifyApprovalLink(KEY, `${'x'.repeat(2000)}.y`, NOW)).toEqual({ ok: false, reason: 'malformed' });
  });

  it('refuses a second spelling of the same signature (base64url padding bits changed)', () => {
    const [payload, sig] = mint().split('.') as [string, string];
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const last = alphabet.indexOf(sig.slice(-1));
    const respelled = `${sig.slice(0, -1)}${alphabet[last ^ 1]}`;
    // Same bytes, different text: the decoder ignores those bits, the verifier must not.
    expect(Buffer.from(respelled, 'base64url').equals(Buffer.from(sig, 'base64url'))).toBe(true);
    expect(verifyApprovalLink(KEY, `${payload}.${respelled}`, NOW)).toEqual({ ok: false, reason: 'forged' });
  });

  it('expires', () => {
    const link = mint({ ttlSeconds: 60 });
    expect(verifyApprovalLink(KEY, link, new Date(NOW.getTime() + 59_000)).ok).toBe(true);
    expect(verifyApprovalLink(KEY, link, new Date(NOW.getTime() + 60_000))).toEqual({
      ok: false,
      reason: 'expired',
    });
  });

  it('is bound to one wait: another wait token or step does not match', () => {
    const v = verifyApprovalLink(KEY, mint(), NOW);
    if (!v.ok) throw new Error('expected a good link');
    expect(matchesWait(v.claims, { token: 'token-2', step: 1 })).toBe(false);
    expect(matchesWait(v.claims, { token: 'token-1', step: 0 })).toBe(false);
    expect(matchesWait(v.claims, undefined)).toBe(false);
  });

  it('compares signatures with crypto.timingSafeEqual, also for wrong-length signatures', () => {
    const spy = vi.mocked(crypto.timingSafeEqual);
    const [payload] = mint().split('.') as [string];
    spy.mockClear();
    expect(verifyApprovalLink(KEY, `${payload}.AAAA`, NOW).ok).toBe(false);
    expect(spy).toHaveBeenCalledTimes(1);
    expect(verifyApprovalLink(KEY, mint(), NOW).ok).toBe(true);
    expect(spy).toHaveBeenCalledTimes(2);
  });

  it('refuses short keys', () => {
    expect(() =>
      mintApprovalLink('short', { rolloutId: 'a', step: 0, waitToken: 't', now: NOW, ttlSeconds: 1 }),
    ).toThrow(/32 bytes/);
  });

  it('builds the page URL without any secret', () => {
    expect(approvalUrl('https://x.example/prod/', 'a.b')).toBe('https://x.example/prod/approve?t=a.b');
  });
});
