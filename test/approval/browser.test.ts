/**
 * The approval page in a real browser (the Chromium `npm install` brings, test/helpers/chromium.ts, driven by
 * playwright-core), served by the sandbox the way API Gateway would serve it: open the link from the
 * notification, read the evidence, click Approve, and the rollout is promoted. Forged, expired and reused links
 * each get a refusal and change nothing.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { demoService } from '../../sandbox/demo';
import { bundledChromium } from '../helpers/chromium';
import { startWorld } from '../helpers/world';

const APPROVAL_PLAN = [
  { weight: 25, bakeSeconds: 60, approval: true },
  { weight: 100, bakeSeconds: 60 },
];

let browser: BrowserContext;
let profile: string;

beforeAll(async () => {
  const { executablePath, env } = await bundledChromium();
  profile = mkdtempSync(join(tmpdir(), 'canary-chromium-'));
  browser = await chromium.launchPersistentContext(profile, {
    executablePath,
    env: { ...process.env, ...env },
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
});

afterAll(async () => {
  await browser?.close();
  if (profile) rmSync(profile, { recursive: true, force: true });
});

async function waitingRollout() {
  const world = await startWorld({
    services: [demoService({ steps: APPROVAL_PLAN, approvals: { timeoutSeconds: 86_400 } })],
  });
  const started = await world.push('v2');
  if (started.status !== 'started') throw new Error(JSON.stringify(started));
  await world.waitForWait(started.rolloutId, 'approval');
  const link = world.approvalLinks.get(started.rolloutId);
  if (!link) throw new Error('no approval link was minted');
  return { world, id: started.rolloutId, link };
}

describe('the approval page in a browser', () => {
  it('shows the evidence; Approve advances the rollout to SUCCEEDED; the link cannot be used again', async () => {
    const { world, id, link } = await waitingRollout();
    // The notification people receive carries the link.
    await vi.waitFor(() => {
      const messages = world.receiver.messages
        .filter((m) => m.channel === 'sns')
        .map((m) => String((m.body as { Message: string }).Message));
      expect(messages.some((m) => m.includes(`approve: ${link}`))).toBe(true);
    });

    const page = await browser.newPage();
    const violations: string[] = [];
    page.on('console', (m) => {
      if (/Content Security Policy|Refused/.test(m.text())) violations.push(m.text());
    });
    const response = await page.goto(link);
    expect(response?.status()).toBe(200);
    expect(response?.headers()['content-security-policy']).toContain("default-src 'none'");
    await expect(page.locator('h1').textContent()).resolves.toContain('Approve web step 1?');
    const evidence = await page.locator('#evidence').innerText();
    expect(evidence).toMatch(/canary\s+\d+/);
    expect(evidence).toMatch(/stable\s+\d+/);
    expect(await page.locator('#rollout').innerText()).toContain('canary 25%');
    expect(await page.locator('svg').count()).toBe(3);
    // A GET changed nothing.
    expect((await world.store.getRollout(id))?.wait?.kind).toBe('approval');
    await page.screenshot({ path: join(tmpdir(), 'canary-approval-page.png'), fullPage: true });

    await page.getByRole('button', { name: 'Approve' }).click();
    await page.waitForSelector('#result');
    expect(await page.locator('h1').textContent()).toBe('Approved');
    expect((await world.waitFor(id)).status).toBe('SUCCEEDED');
    expect((await world.store.getRollout(id))?.status).toBe('promoted');

    const again = await page.goto(link);
    expect(again?.status()).toBe(410);
    expect(await page.locator('.refusal').innerText()).toContain('Nothing was changed');
    expect(await page.locator('h1').textContent()).toContain('already used or is out of date');
    expect(violations).toEqual([]);
    await page.close();
  });

  it('refuses forged, expired and reused links with a clear page, and changes nothing', async () => {
    const { world, id, link } = await waitingRollout();
    const record = await world.store.getRollout(id);
    const wait = record?.wait;
    if (!wait) throw new Error('no wait');
    const page = await browser.newPage();

    // Forged: the claims changed (another step), the signature kept.
    const url = new URL(link);
    const [payload, sig] = (url.searchParams.get('t') ?? '').split('.') as [string, string];
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
    const forged = `${url.origin}/approve?t=${Buffer.from(JSON.stringify({ ...claims, exp: claims.exp + 1 })).toString('base64url')}.${sig}`;
    let r = await page.goto(forged);
    expect(r?.status()).toBe(403);
    expect(await page.locator('h1').textContent()).toBe('This approval link is not valid');

    // Expired: signed with the right key, for this very wait, but past its time.
    const expired = world.approvalLink(id, wait.step, wait.token, {
      ttlSeconds: 60,
      now: new Date(world.clock.now().getTime() - 3_600_000),
    });
    r = await page.goto(expired);
    expect(r?.status()).toBe(410);
    expect(await page.locator('h1').textContent()).toBe('This approval link has expired');

    // A POST with a forged link acts on nothing either.
    const post = await page.request.post(`${url.origin}/approve`, {
      form: { t: `${payload}.${sig.slice(0, -4)}AAAA`, decision: 'approve' },
    });
    expect(post.status()).toBe(403);
    expect((await world.store.getRollout(id))?.wait?.token).toBe(wait.token);

    // Reused: rejected once through the page; the same link again is refused and the rollout stays rolled back.
    await page.goto(link);
    await page.getByRole('button', { name: /Reject/ }).click();
    await page.waitForSelector('#result');
    expect(await page.locator('h1').textContent()).toBe('Rejected');
    const execution = await world.waitFor(id);
    expect(execution.error).toBe('ApprovalRejected');
    const replay = await page.request.post(`${url.origin}/approve`, {
      form: { t: url.searchParams.get('t') ?? '', decision: 'approve' },
    });
    expect(replay.status()).toBe(410);
    expect(await replay.text()).toContain('Nothing was changed');
    expect((await world.store.getRollout(id))?.status).toBe('rolledBack');
    await page.close();
  });
});

describe('the browser npm brings', () => {
  it('is the build inside the npm package, linking nothing from the machine but glibc and libgcc_s', async () => {
    const { executablePath, env } = await bundledChromium();
    expect(executablePath.startsWith(new URL('../../node_modules/.cache/', import.meta.url).pathname)).toBe(
      true,
    );
    // ldd (glibc's) lists every library the binary links, as the loader resolves it with the browser's env.
    const linked = execFileSync('ldd', [executablePath], {
      env: { ...process.env, ...env },
      encoding: 'utf8',
    })
      .trim()
      .split('\n')
      .map((line) => line.trim().split(/\s+/));
    const fromMachine = linked
      .filter(([, arrow, path]) => !(arrow === '=>' && path?.startsWith(`${env.LD_LIBRARY_PATH}/`)))
      .map(([name]) => name);
    expect(fromMachine.sort()).toEqual(
      [
        'linux-vdso.so.1',
        '/lib64/ld-linux-x86-64.so.2',
        'libc.so.6',
        'libdl.so.2',
        'libgcc_s.so.1',
        'libm.so.6',
        'libpthread.so.0',
      ].sort(),
    );
    expect(linked.map(([name]) => name)).toEqual(expect.arrayContaining(['libnss3.so', 'libnspr4.so']));
  });
});
