/**
 * The approval page after Step Functions took the decision: what the person is told when the store fails
 * afterwards, what a later visitor of a link sees of an earlier decision (who, when, which; never an address),
 * and the reason as it reaches the history and the workflow.
 */
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { mintApprovalLink } from '../../functions/core/approval-links';
import type { RolloutRecord, WaitToken } from '../../functions/core/rollout';
import type { Executions, Log } from '../../functions/ports';
import { makeApprovalPage } from '../../functions/tasks/approval-page';
import { InMemoryRolloutStore } from '../../sandbox/store';

const ctx = { functionName: 'approval-page', getRemainingTimeInMillis: () => 25_000 } as never;
const KEY = Buffer.alloc(32, 7);
const NOW = new Date('2026-01-01T12:00:00Z');
const ROLLOUT = 'web-0123456789abcdef';
const IP = '203.0.113.9';
const wait = (token: string, step: number): WaitToken => ({
  token,
  kind: 'approval',
  step,
  since: '2026-01-01T11:00:00.000Z',
});
const WAIT = wait('local-token-approval-1', 1);

const link = (w: WaitToken = WAIT) =>
  mintApprovalLink(KEY, { rolloutId: ROLLOUT, step: w.step, waitToken: w.token, now: NOW, ttlSeconds: 3600 });

function post(
  t: string,
  decision: 'approve' | 'reject' | 'pause' | 'resume',
  reason?: string,
): APIGatewayProxyEventV2 {
  return {
    rawPath: '/approve',
    requestContext: { http: { method: 'POST', path: '/approve', sourceIp: IP } },
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ t, decision, ...(reason ? { reason } : {}) }).toString(),
    isBase64Encoded: false,
  } as unknown as APIGatewayProxyEventV2;
}
const get = (t: string) =>
  ({
    rawPath: '/approve',
    requestContext: { http: { method: 'GET', path: '/approve', sourceIp: '198.51.100.7' } },
    queryStringParameters: { t },
  }) as unknown as APIGatewayProxyEventV2;

/** A store whose writes fail from `failFrom` on (a throttled or unavailable table). */
class FlakyStore extends InMemoryRolloutStore {
  failing = new Set<'clearWait' | 'appendHistory'>();
  override async clearWait(rolloutId: string, token: string) {
    if (this.failing.has('clearWait')) throw new Error('ProvisionedThroughputExceededException: throttled');
    return super.clearWait(rolloutId, token);
  }
  override async appendHistory(...args: Parameters<InMemoryRolloutStore['appendHistory']>) {
    if (this.failing.has('appendHistory'))
      throw new Error('ProvisionedThroughputExceededException: throttled');
    return super.appendHistory(...args);
  }
}

async function setup(record: Partial<RolloutRecord> = {}) {
  const store = new FlakyStore();
  await store.putRollout({
    rolloutId: ROLLOUT,
    service: 'web',
    image: { repository: 'shop/web', digest: `sha256:${'ab'.repeat(32)}`, tag: 'v2' },
    status: 'running',
    alarms: [],
    createdAt: '2026-01-01T11:00:00.000Z',
    updatedAt: '2026-01-01T11:00:00.000Z',
    currentStep: 1,
    canaryPercent: 25,
    wait: WAIT,
    ...record,
  });
  /** Step Functions: a token resolves once, then TaskTimedOut (the port's false). */
  const resolved = new Set<string>();
  const sent: { kind: string; token: string; detail: unknown }[] = [];
  const executions = {
    sendTaskSuccess: async (token: string, output: unknown) => {
      sent.push({ kind: 'success', token, detail: output });
      if (resolved.has(token)) return false;
      resolved.add(token);
      return true;
    },
    sendTaskFailure: async (token: string, error: string, cause: string) => {
      sent.push({ kind: 'failure', token, detail: { error, cause } });
      if (resolved.has(token)) return false;
      resolved.add(token);
      return true;
    },
  } as unknown as Executions;
  const logged: string[] = [];
  const log: Log = {
    info: (m, e) => logged.push(`INFO ${m} ${JSON.stringify(e)}`),
    warn: (m, e) => logged.push(`WARN ${m} ${JSON.stringify(e)}`),
    error: (m, e) => logged.push(`ERROR ${m} ${JSON.stringify(e)}`),
  };
  let now = NOW;
  const clock = { now: () => now, workflowSeconds: (s: number) => s, sleep: async () => undefined };
  const page = makeApprovalPage({ store, executions, clock, log, signingKey: async () => KEY });
  return {
    store,
    sent,
    logged,
    page: (e: APIGatewayProxyEventV2) => page(e, ctx),
    later: (ms: number) => {
      now = new Date(now.getTime() + ms);
    },
  };
}

describe('the approval page once Step Functions has the decision', () => {
  it.each([
    ['clearing the wait', ['clearWait'] as const],
    ['writing the history', ['appendHistory'] as const],
    ['every write', ['clearWait', 'appendHistory'] as const],
  ])('approve: the store failing at %s still answers “Approved”, never “try again”', async (_, failing) => {
    const w = await setup();
    for (const f of failing) w.store.failing.add(f);

    const res = await w.page(post(link(), 'approve'));

    expect(res.statusCode).toBe(200);
    expect(res.body).toContain('<h1 class="ok">Approved</h1>');
    expect(res.body).toContain(
      'Step 2 of web-0123456789abcdef (shop/web:v2) is approved: the rollout continues.',
    );
    expect(res.body).toMatch(/record of the rollout may show it late/);
    expect(res.body).not.toMatch(/Nothing was decided|Try again/i);
    expect(w.sent.map((s) => s.kind)).toEqual(['success']);
    expect(w.logged.filter((l) => l.startsWith('ERROR')).join('\n')).toMatch(/decision recorded late/);
  });

  it('reject: the store failing after SendTaskFailure answers “Rejected”', async () => {
    const w = await setup();
    w.store.failing.add('clearWait');
    w.store.failing.add('appendHistory');

    const res = await w.page(post(link(), 'reject', 'too slow'));

    expect(res.statusCode).toBe(200);
    expect(res.body).toContain('<h1 class="bad">Rejected</h1>');
    expect(res.body).not.toMatch(/Nothing was decided|Try again/i);
    expect(w.sent).toEqual([
      {
        kind: 'failure',
        token: WAIT.token,
        detail: { error: 'ApprovalRejected', cause: 'step 2 rejected from the approval page: too slow' },
      },
    ]);
  });

  it('a write that failed once is retried: the wait is cleared and the decision is in the history', async () => {
    const w = await setup();
    let failures = 1;
    const clear = w.store.clearWait.bind(w.store);
    w.store.clearWait = async (id, token) => {
      if (failures-- > 0) throw new Error('ThrottlingException');
      return clear(id, token);
    };

    const res = await w.page(post(link(), 'approve'));

    expect(res.statusCode).toBe(200);
    expect(res.body).not.toMatch(/may show it late/);
    expect((await w.store.getRollout(ROLLOUT))?.wait).toBeUndefined();
    expect((await w.store.history(ROLLOUT)).map((h) => h.type)).toEqual(['approved']);
  });

  it('the link posted again after such a failure decides nothing and says what was decided', async () => {
    const w = await setup();
    w.store.failing.add('clearWait');
    expect((await w.page(post(link(), 'approve'))).statusCode).toBe(200);
    w.store.failing.clear();
    w.later(60_000);

    const again = await w.page(post(link(), 'reject'));

    expect(again.statusCode).toBe(410);
    expect(again.body).toContain('Step 2 was approved from the approval page at 2026-01-01 12:00:00 UTC.');
    // The first decision stands: the second is not even sent, and the wait left behind is cleared.
    expect(w.sent.map((s) => s.kind)).toEqual(['success']);
    expect((await w.store.getRollout(ROLLOUT))?.wait).toBeUndefined();
  });

  it('when the history was not written either, Step Functions refuses the second decision', async () => {
    const w = await setup();
    w.store.failing.add('clearWait');
    w.store.failing.add('appendHistory');
    expect((await w.page(post(link(), 'approve'))).statusCode).toBe(200);
    w.store.failing.clear();

    const again = await w.page(post(link(), 'reject'));

    expect(again.statusCode).toBe(410);
    expect(again.body).toContain('The rollout had already stopped waiting for this approval.');
    expect(w.sent.map((s) => s.kind)).toEqual(['success', 'failure']);
    expect((await w.store.getRollout(ROLLOUT))?.wait).toBeUndefined();
  });

  it('Step Functions not answering: the page says the decision may or may not be taken', async () => {
    const w = await setup();
    const executions = {
      sendTaskSuccess: async () => {
        throw Object.assign(new Error('socket hang up'), { name: 'TimeoutError' });
      },
    } as unknown as Executions;
    const page = makeApprovalPage({
      store: w.store,
      executions,
      clock: { now: () => NOW, workflowSeconds: (s) => s, sleep: async () => undefined },
      log: { info: () => undefined, warn: () => undefined, error: () => undefined },
      signingKey: async () => KEY,
    });
    const res = await page(post(link(), 'approve'), ctx);
    expect(res.statusCode).toBe(503);
    expect(res.body).toContain('it may or may not have been taken');
    expect(res.body).not.toMatch(/Nothing was decided|Try again/i);
  });

  it('an error before the decision is sent says nothing was decided', async () => {
    const w = await setup();
    w.store.getRollout = async () => {
      throw new Error('ServiceUnavailable');
    };
    const res = await w.page(post(link(), 'approve'));
    expect(res.statusCode).toBe(500);
    expect(res.body).toContain('Nothing was decided');
    expect(w.sent).toEqual([]);
  });
});

describe('what the page shows of an earlier decision', () => {
  it('who decided, when and which, never the address it came from', async () => {
    const w = await setup();
    expect((await w.page(post(link(), 'approve', 'looks good'))).statusCode).toBe(200);

    // The next approval wait: its page has the earlier decision in its timeline.
    const next = wait('local-token-approval-2', 2);
    await w.store.setWait(ROLLOUT, next);
    const shown = await w.page(get(link(next)));
    expect(shown.statusCode).toBe(200);
    expect(shown.body).toContain('step 2 approved from the approval page: looks good');

    // The used link: a refusal naming the decision.
    const used = await w.page(get(link()));
    expect(used.statusCode).toBe(410);
    expect(used.body).toContain('Step 2 was approved from the approval page at 2026-01-01 12:00:00 UTC.');

    for (const body of [shown.body, used.body]) expect(body).not.toContain(IP);
    const history = JSON.stringify(await w.store.history(ROLLOUT));
    expect(history).not.toContain(IP);
    // The address is kept for audit in the structured log only.
    expect(w.logged.join('\n')).toContain(`"sourceIp":"${IP}"`);
  });

  it('the reason reaches the workflow and the history without escape sequences', async () => {
    const w = await setup();
    const reason = 'p99 \x1b[31mtoo\x1b[0m slow \x1b]8;;https://evil.example\x07here\x1b]8;;\x07 — très lent';

    await w.page(post(link(), 'reject', reason));

    const cause = (w.sent[0]?.detail as { cause: string } | undefined)?.cause;
    expect(cause).toBe('step 2 rejected from the approval page: p99 too slow here — très lent');
    const [entry] = await w.store.history(ROLLOUT);
    expect(entry?.message).toBe(cause);
  });
});

describe('pause and resume from the approval page', () => {
  it('pause holds the share with the same link, leaving the approval open; resume lifts it', async () => {
    const w = await setup();
    const shown = await w.page(get(link()));
    expect(shown.body).toContain('value="pause"');

    const paused = await w.page(post(link(), 'pause', 'looking at the dashboards'));
    expect(paused.statusCode).toBe(200);
    expect(paused.body).toContain('paused at 25%');
    const record = await w.store.getRollout(ROLLOUT);
    expect(record?.paused).toMatchObject({ cause: 'operator', via: 'approval-page', weight: 25 });
    expect(record?.wait).toEqual(WAIT);
    expect(w.sent).toEqual([]);
    expect((await w.page(get(link()))).body).toContain('value="resume"');
    expect((await w.page(post(link(), 'pause'))).statusCode).toBe(410);

    expect((await w.page(post(link(), 'resume'))).statusCode).toBe(200);
    expect((await w.store.getRollout(ROLLOUT))?.paused).toBeUndefined();
    expect((await w.store.history(ROLLOUT)).map((h) => [h.type, h.message])).toEqual([
      ['paused', 'paused at 25% (step 2) from the approval page: looking at the dashboards'],
      ['resumed', 'resumed at 25% from the approval page: the plan goes on'],
    ]);
  });

  it('a forged link pauses nothing', async () => {
    const w = await setup();
    const forged = `${link().slice(0, -4)}AAAA`;
    expect((await w.page(post(forged, 'pause'))).statusCode).toBe(403);
    expect((await w.store.getRollout(ROLLOUT))?.paused).toBeUndefined();
  });
});
