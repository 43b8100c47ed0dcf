import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { DynamoDBDocumentClient, GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { main } from '../../cli/main';
import { Operations } from '../../cli/operations';
import { type DeployRequest, PROGRESS_PAGE } from '../../cli/results';
import { waitForRollout } from '../../cli/wait';
import { AccessDeniedError } from '../../functions/adapters/aws/sdk';
import { TransientError } from '../../functions/core/errors';
import type { HistoryEntry } from '../../functions/core/history';
import { rolloutIdForPush } from '../../functions/core/pushes';
import type { RolloutDoc, RolloutRecord } from '../../functions/core/rollout';
import type { Executions } from '../../functions/ports';
import { demoService } from '../../sandbox/demo';
import { InMemoryRolloutStore } from '../../sandbox/store';
import type { World } from '../../sandbox/world';
import { mockClient } from '../contract/mock';
import { SHORT_PLAN, startWorld } from '../helpers/world';

function io(env: NodeJS.ProcessEnv = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const cwd = mkdtempSync(join(tmpdir(), 'canary-wait-'));
  return {
    io: { stdout: (s: string) => out.push(s), stderr: (s: string) => err.push(s), env, cwd },
    out: () => out.join(''),
    err: () => err.join(''),
  };
}

/** The CLI's environment for `--sandbox` against this world (what `npm start` writes to reports/.sandbox.json). */
function sandboxEnv(world: World): NodeJS.ProcessEnv {
  const file = join(mkdtempSync(join(tmpdir(), 'canary-sandbox-')), 'sandbox.json');
  writeFileSync(file, JSON.stringify({ url: world.control.url, token: world.control.token }));
  return { CANARY_SANDBOX_FILE: file };
}

const lines = (text: string) =>
  text
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);

/** A step that waits for approval (a rollout that holds still), judged on settled minutes sooner. */
const APPROVAL_PLAN = {
  analysis: { ...demoService().analysis, metricDelaySeconds: 60 },
  steps: [
    { weight: 25, bakeSeconds: 60, approval: true },
    { weight: 100, bakeSeconds: 60 },
  ],
  approvals: { timeoutSeconds: 86_400 },
};

/** The rollout id of the service's newest rollout once it waits for approval (its record says so). */
async function approvalWaitOf(world: World): Promise<string> {
  for (;;) {
    const [latest] = await world.store.listByService('web', 1);
    if (latest?.wait?.kind === 'approval') return latest.rolloutId;
    if (latest && latest.status !== 'running') throw new Error(`${latest.rolloutId} is ${latest.status}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('canary start --wait and canary wait against the sandbox', () => {
  it('start --wait prints a line per step and decision and exits 0 once promoted; wait --timeout exits 3 and changes nothing', async () => {
    const world = await startWorld({ services: [demoService(APPROVAL_PLAN)] });
    const env = sandboxEnv(world);
    const waiter = io(env);
    const waiting = main(['start', 'web', '--image', 'v2', '--wait', '--sandbox'], waiter.io);
    const rolloutId = await approvalWaitOf(world);

    let t = io(env);
    try {
      expect(await main(['wait', rolloutId, '--sandbox', '--timeout', '300ms'], t.io)).toBe(3);
      expect(t.out()).toContain('step 1: 25% on the canary');
      expect(t.out().trim().split('\n').at(-1)).toBe(
        `Timed out after 300ms: ${rolloutId} is running, step 1, 25% on the canary, waiting for approval; the rollout goes on (follow it again with \`canary wait ${rolloutId}\`)`,
      );
      expect((await world.store.getRollout(rolloutId))?.wait?.kind).toBe('approval');
    } catch (error) {
      await world.operations.abort('web');
      throw error;
    }

    await world.operations.approve('web');
    expect(await waiting).toBe(0);
    expect(waiter.err()).toBe('');
    const text = waiter.out();
    expect(text).toMatch(
      /^Deploy Requested for web: v2 \(start-rollout: started\): rollout web-[0-9a-f]{16}-r[0-9a-f]{8}\n/,
    );
    expect(text).toContain(`Following ${rolloutId} (shop/web:v2 on web)`);
    const order = [
      'rollout of shop/web:v2 started',
      'step 1: 25% on the canary',
      'step 1 (25%): pass → awaitApproval',
      'step 1 (25%) waits for approval',
      'step 1 approved from the sandbox CLI',
      'step 2: 100% on the canary',
      'shop/web:v2 promoted',
    ];
    const at = order.map((line) => text.indexOf(line));
    expect(at.every((i) => i > 0)).toBe(true);
    expect(at).toEqual([...at].sort((a, b) => a - b));
    expect(text.trim().split('\n').at(-1)).toBe(`Promoted: shop/web:v2 (${rolloutId})`);

    // Waiting on a rollout that has ended: its whole history, then its outcome, at once.
    t = io(env);
    expect(await main(['wait', rolloutId, '--sandbox', '--json'], t.io)).toBe(0);
    const out = lines(t.out());
    expect(out[0]).toEqual({ type: 'rollout', rolloutId, service: 'web', image: 'shop/web:v2' });
    expect(out.filter((l) => l.type === 'history').map((l) => l.message)).toEqual(
      text
        .split('\n')
        .filter((l) => /^\d{4}-/.test(l))
        .map((l) => l.slice(31)),
    );
    expect(out.at(-1)).toMatchObject({ type: 'result', outcome: 'promoted', exitCode: 0, rolloutId });
  });

  it('--json: one JSON object per line, the history as it happened, the last line the result (rolled back: exit 1)', async () => {
    const world = await startWorld({ services: [demoService({ steps: SHORT_PLAN })] });
    const env = sandboxEnv(world);
    let t = io(env);

    const code = await main(['start', 'web', '--image', 'v3', '--wait', '--sandbox', '--json'], t.io);

    expect(code).toBe(1);
    expect(t.err()).toBe('');
    const out = lines(t.out());
    expect(out[0]).toMatchObject({ type: 'start', ok: true, request: { service: 'web' } });
    const rolloutId = out[0]?.rolloutId as string;
    expect(out[1]).toEqual({ type: 'rollout', rolloutId, service: 'web', image: 'shop/web:v3' });
    const events = out.filter((l) => l.type === 'history').map((l) => l.event);
    expect(events[0]).toBe('started');
    expect(events).toContain('weight');
    expect(events.at(-1)).toBe('rolledBack');
    const analyses = out.filter((l) => l.event === 'analysis');
    expect(analyses.at(-1)).toMatchObject({ rolloutId, detail: { verdict: 'fail', action: 'rollback' } });
    expect(out.at(-1)).toMatchObject({
      type: 'result',
      outcome: 'rolledBack',
      exitCode: 1,
      rolloutId,
      reason: expect.stringContaining('CanaryFailed'),
      rollout: { status: 'rolledBack' },
    });
    expect(out.filter((l) => l.type === 'result')).toHaveLength(1);

    t = io(env);
    expect(await main(['wait', rolloutId, '--sandbox'], t.io)).toBe(1);
    expect(t.out().trim().split('\n').at(-1)).toMatch(
      new RegExp(`^Rolled back: CanaryFailed: .* \\(${rolloutId}\\)$`),
    );
  });

  it('usage errors and an unknown rollout exit 2, changing nothing', async () => {
    const world = await startWorld({ services: [demoService({ steps: SHORT_PLAN })] });
    const env = sandboxEnv(world);
    for (const [argv, message] of [
      [['wait'], 'wait: missing <rolloutId>'],
      [['wait', 'web-0123456789abcdef', '--timeout', 'soon'], '--timeout must be a duration'],
      [['wait', 'web-0123456789abcdef', '--timeout', '0s'], '--timeout must be a duration'],
      [['start', 'web', '--image', 'v2', '--timeout', '1m'], '--timeout goes with --wait'],
      [['status', '--wait'], '--wait does not apply to status'],
      [['history', 'web', '--timeout', '1m'], '--timeout does not apply to history'],
    ] as const) {
      const t = io(env);
      expect(await main([...argv, '--sandbox'], t.io)).toBe(2);
      expect(t.err()).toContain(message);
      expect(t.out()).toBe('');
    }

    const t = io(env);
    expect(await main(['wait', 'web-0123456789abcdef', '--sandbox'], t.io)).toBe(2);
    expect(t.err()).toContain('no rollout web-0123456789abcdef');
    expect(t.out()).toBe('');
    expect(world.executions.list()).toEqual([]);
  });
});

const DIGEST = `sha256:${'ab'.repeat(32)}`;
const T0 = Date.UTC(2026, 0, 1, 12);
const iso = (seconds: number) => new Date(T0 + seconds * 1000).toISOString();

function record(rolloutId: string, extra: Partial<RolloutRecord> = {}): RolloutRecord {
  return {
    rolloutId,
    service: 'web',
    image: { repository: 'shop/web', digest: DIGEST, tag: 'v2' },
    status: 'running',
    alarms: [],
    createdAt: iso(0),
    updatedAt: iso(0),
    ...extra,
  };
}

function operationsOver(store: InMemoryRolloutStore): Operations {
  return new Operations({
    store,
    executions: {} as Executions,
    clock: { now: () => new Date(T0), workflowSeconds: (s) => s, sleep: async () => undefined },
    requestDeploy: async () => ({ eventId: 'evt', via: 'test' }),
  });
}

/** Output, a wall clock moved only by the waiter's pauses, and the pauses it took. */
function fakeIo(onSleep: (count: number) => Promise<void> = async () => undefined) {
  const out: string[] = [];
  const err: string[] = [];
  const sleeps: number[] = [];
  let now = 0;
  return {
    io: {
      stdout: (s: string) => out.push(s),
      stderr: (s: string) => err.push(s),
      now: () => now,
      sleep: async (ms: number) => {
        sleeps.push(ms);
        now += ms;
        await onSleep(sleeps.length);
      },
    },
    out: () => out.join(''),
    err: () => err.join(''),
    sleeps,
  };
}

const POLL = { initialMs: 100, maxMs: 1000, factor: 2, unknownAfterMs: 0 };

describe('waitForRollout: polling the store', () => {
  it('retries a failing read on its backoff instead of exiting, and backs off while nothing changes', async () => {
    const store = new InMemoryRolloutStore();
    const id = 'web-0123456789abcdef';
    await store.putRollout(record(id));
    await store.appendHistory(id, {
      at: iso(1),
      type: 'started',
      message: 'rollout of shop/web:v2 started',
      detail: { trigger: 'ecr-push' },
    });
    const ops = operationsOver(store);
    let reads = 0;
    const backend = {
      locate: (r: DeployRequest) => ops.locate(r),
      progress: async (rolloutId: string, since?: string) => {
        reads++;
        if (reads === 2 || reads === 3)
          throw new TransientError('GetItem on canary failed after 3 attempt(s): ThrottlingException');
        return ops.progress(rolloutId, since);
      },
    };
    const t = fakeIo(async (count) => {
      if (count !== 8) return;
      await store.updateRollout(id, {
        status: 'promoted',
        outcome: { result: 'promoted', reason: 'promoted', at: iso(600) },
      });
      await store.appendHistory(id, { at: iso(600), type: 'promoted', message: 'shop/web:v2 promoted' });
    });

    const code = await waitForRollout(backend, { rolloutId: id }, { json: false, poll: POLL }, t.io);

    expect(code).toBe(0);
    // A change: the first interval; a failure or nothing new: twice the last, up to the cap; the outcome is
    // read once more after the first interval, for a history entry written just after the record.
    expect(t.sleeps).toEqual([100, 200, 400, 800, 1000, 1000, 1000, 1000, 100]);
    expect(t.err().trim().split('\n')).toEqual([
      'canary: reading the rollout failed (GetItem on canary failed after 3 attempt(s): ThrottlingException); retrying in 200ms',
      'canary: reading the rollout failed (GetItem on canary failed after 3 attempt(s): ThrottlingException); retrying in 400ms',
    ]);
    expect(t.out()).toBe(
      [
        `Following ${id} (shop/web:v2 on web)`,
        '2026-01-01 12:00:01  started   rollout of shop/web:v2 started',
        '2026-01-01 12:10:00  promoted  shop/web:v2 promoted',
        `Promoted: shop/web:v2 (${id})`,
        '',
      ].join('\n'),
    );
  });

  it('a read that cannot succeed (access denied) ends the wait with exit 1, naming it', async () => {
    const t = fakeIo();
    const backend = {
      locate: async () => ({ state: 'refused', message: '' }) as const,
      progress: async () => {
        throw new AccessDeniedError('dynamodb:GetItem on table/canary was denied (AccessDeniedException)');
      },
    };

    const code = await waitForRollout(backend, { rolloutId: 'web-1' }, { json: false, poll: POLL }, t.io);

    expect(code).toBe(1);
    expect(t.err()).toContain('cannot follow the rollout: dynamodb:GetItem on table/canary was denied');
    expect(t.sleeps).toEqual([]);
  });

  it('reads a long history forward a bounded page at a time, printing every entry once', async () => {
    const store = new InMemoryRolloutStore();
    const id = 'web-0123456789abcdef';
    await store.putRollout(
      record(id, {
        status: 'rolledBack',
        outcome: { result: 'rolledBack', reason: 'Aborted: by hand', at: iso(999) },
      }),
    );
    for (let i = 0; i < 130; i++)
      await store.appendHistory(id, {
        at: iso(10 + i * 5),
        type: 'weight',
        message: `analysis ${i}`,
        detail: { step: 0, weight: 5 },
      });
    const ops = operationsOver(store);
    const pages: number[] = [];
    const backend = {
      locate: (r: DeployRequest) => ops.locate(r),
      progress: async (rolloutId: string, since?: string) => {
        const p = await ops.progress(rolloutId, since);
        pages.push(p.entries.length);
        return p;
      },
    };
    const t = fakeIo();

    const code = await waitForRollout(backend, { rolloutId: id }, { json: true, poll: POLL }, t.io);

    expect(code).toBe(1);
    expect(pages.every((n) => n <= PROGRESS_PAGE)).toBe(true);
    const history = lines(t.out()).filter((l) => l.type === 'history');
    expect(history.map((l) => l.message)).toEqual(Array.from({ length: 130 }, (_, i) => `analysis ${i}`));
    expect(lines(t.out()).at(-1)).toMatchObject({
      type: 'result',
      outcome: 'rolledBack',
      reason: 'Aborted: by hand',
    });
  });

  it('prints an entry of a kind it does not know (another version wrote it) as stored, type and detail', async () => {
    // Prepare: a rollout whose history holds an entry outside this version's kinds.
    const store = new InMemoryRolloutStore();
    const id = 'web-0123456789abcdef';
    await store.putRollout(
      record(id, { status: 'promoted', outcome: { result: 'promoted', reason: 'promoted', at: iso(60) } }),
    );
    const unknown = { at: iso(30), type: 'paused', message: 'paused by alice', detail: { by: 'alice' } };
    await store.appendHistory(id, unknown as unknown as HistoryEntry);
    await store.appendHistory(id, { at: iso(60), type: 'promoted', message: 'shop/web:v2 promoted' });
    const ops = operationsOver(store);
    const backend = { locate: (r: DeployRequest) => ops.locate(r), progress: ops.progress.bind(ops) };
    const text = fakeIo();
    const json = fakeIo();

    // Act
    const codes = [
      await waitForRollout(backend, { rolloutId: id }, { json: false, poll: POLL }, text.io),
      await waitForRollout(backend, { rolloutId: id }, { json: true, poll: POLL }, json.io),
    ];

    // Assess: both followed to the end; the entry shows as it was stored.
    expect(codes).toEqual([0, 0]);
    expect(text.out()).toMatch(/ paused {4}paused by alice\n/);
    expect(lines(json.out()).filter((l) => l.type === 'history')).toEqual([
      {
        type: 'history',
        rolloutId: id,
        at: iso(30),
        event: 'paused',
        message: 'paused by alice',
        detail: { by: 'alice' },
      },
      { type: 'history', rolloutId: id, at: iso(60), event: 'promoted', message: 'shop/web:v2 promoted' },
    ]);
  });
});

describe('Operations.locate: where a canary start request stands before its rollout has a record', () => {
  const request = { service: 'web', digest: DIGEST, eventId: 'evt-1' };
  const own = rolloutIdForPush({ ...request, time: '', rerun: true });
  const doc = (rolloutId: string) => ({ rolloutId }) as RolloutDoc;

  it('not taken yet, then starting, then its rollout', async () => {
    const store = new InMemoryRolloutStore();
    const ops = operationsOver(store);
    expect(await ops.locate(request)).toMatchObject({ state: 'requested', rolloutId: own });
    await store.acquireLock('web', own, new Date(T0), doc(own));
    expect(await ops.locate(request)).toMatchObject({ state: 'starting', rolloutId: own });
    await store.putRollout(record(own));
    expect(await ops.locate(request)).toEqual({ state: 'rollout', rolloutId: own });
  });

  it('queued behind the rollout it supersedes', async () => {
    const store = new InMemoryRolloutStore();
    await store.acquireLock('web', 'web-older', new Date(T0));
    await store.setPending('web', 'web-older', doc(own));
    expect(await operationsOver(store).locate(request)).toMatchObject({
      state: 'queued',
      rolloutId: own,
      message: `${own} waits for web-older to roll back and hand web over`,
    });
  });

  it('the run of that image already under way, which start-rollout answers the request with', async () => {
    const store = new InMemoryRolloutStore();
    await store.markImage(
      'web',
      { digest: DIGEST, eventId: 'evt-0', rolloutId: 'web-running', time: iso(0) },
      undefined,
    );
    await store.putRollout(record('web-running'));
    expect(await operationsOver(store).locate(request)).toEqual({
      state: 'rollout',
      rolloutId: 'web-running',
    });
  });

  it('refused: the image is quarantined, or a newer push took the service before it started', async () => {
    let store = new InMemoryRolloutStore();
    await store.quarantine('web', DIGEST, 'CanaryFailed: errors');
    expect(await operationsOver(store).locate(request)).toMatchObject({
      state: 'refused',
      message: expect.stringContaining('is quarantined for web'),
    });

    store = new InMemoryRolloutStore();
    await store.markImage(
      'web',
      { digest: DIGEST, eventId: 'evt-1', rolloutId: own, time: iso(0) },
      undefined,
    );
    await store.setNewestPush(
      'web',
      { eventId: 'evt-2', time: iso(5), digest: DIGEST.replace('ab', 'cd'), rolloutId: 'web-newer' },
      undefined,
    );
    expect(await operationsOver(store).locate(request)).toEqual({
      state: 'refused',
      message: `a newer push (rollout web-newer) took web before ${own} started`,
    });
  });
});

describe('canary wait against AWS (mocked SDK)', () => {
  const env = {
    TABLE_NAME: 'canary',
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
    AWS_SECRET_ACCESS_KEY: 'secret',
  };

  it('start --wait: the rollout is named after the event id PutEvents returns; followed once the controller has taken it', async () => {
    const eb = mockClient(EventBridgeClient);
    eb.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'evt-1' }] });
    const own = rolloutIdForPush({ service: 'web', digest: DIGEST, eventId: 'evt-1', time: '', rerun: true });
    const ddb = mockClient(DynamoDBDocumentClient);
    ddb.on(GetCommand).resolves({});
    ddb
      .on(GetCommand, { Key: { pk: `ROLLOUT#${own}`, sk: 'RECORD' } })
      .resolvesOnce({})
      .resolves({
        Item: {
          pk: `ROLLOUT#${own}`,
          sk: 'RECORD',
          ...record(own, {
            status: 'promoted',
            outcome: { result: 'promoted', reason: 'every step passed', at: iso(60) },
          }),
        },
      });
    ddb.on(QueryCommand).resolves({
      Items: [
        {
          pk: `ROLLOUT#${own}`,
          sk: `HISTORY#${iso(60)}#0000010000`,
          at: iso(60),
          type: 'promoted',
          message: 'shop/web:v2 promoted',
        },
      ],
    });
    const t = fakeIo();

    const code = await main(['start', 'web', '--image', `v2@${DIGEST}`, '--wait'], {
      ...t.io,
      env: { ...env, EVENT_BUS_NAME: 'ops' },
      cwd: tmpdir(),
    });

    expect(code).toBe(0);
    expect(t.out().trim().split('\n')).toEqual([
      `Deploy Requested for web: v2 (event evt-1 on bus ops): rollout ${own}`,
      'Waiting: the controller has not taken the request yet (event evt-1)',
      `Following ${own} (shop/web:v2 on web)`,
      '2026-01-01 12:01:00  promoted  shop/web:v2 promoted',
      `Promoted: shop/web:v2 (${own})`,
    ]);
    eb.restore();
    ddb.restore();
  });

  it('reads the record and a bounded page of history (GetItem and Query, both consistent), exit 1 on a rollback', async () => {
    const id = 'web-0123456789abcdef';
    const ddb = mockClient(DynamoDBDocumentClient);
    ddb.on(GetCommand, { Key: { pk: `ROLLOUT#${id}`, sk: 'RECORD' } }).resolves({
      Item: {
        pk: `ROLLOUT#${id}`,
        sk: 'RECORD',
        ...record(id, {
          status: 'rolledBack',
          outcome: { result: 'rolledBack', reason: 'AlarmFired: web-5xx', at: iso(90) },
        }),
      },
    });
    ddb.on(QueryCommand).resolves({
      Items: [
        {
          pk: `ROLLOUT#${id}`,
          sk: `HISTORY#${iso(1)}#0000010000`,
          at: iso(1),
          type: 'started',
          message: 'rollout of shop/web:v2 started',
        },
        {
          pk: `ROLLOUT#${id}`,
          sk: `HISTORY#${iso(90)}#0000020000`,
          at: iso(90),
          type: 'rolledBack',
          message: 'shop/web:v2 rolled back: web-5xx',
        },
      ],
    });
    const t = fakeIo();

    const code = await main(['wait', id], { ...t.io, env, cwd: tmpdir() });

    expect(code).toBe(1);
    expect(t.out().trim().split('\n').at(-1)).toBe(`Rolled back: AlarmFired: web-5xx (${id})`);
    const [first, second] = ddb.commandCalls(QueryCommand).map((c) => c.args[0].input);
    expect(first).toMatchObject({
      TableName: 'canary',
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :history)',
      ConsistentRead: true,
      Limit: PROGRESS_PAGE,
    });
    // The next read starts a margin before the newest entry seen, not at the beginning.
    expect(second).toMatchObject({
      KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
      ExpressionAttributeValues: { ':pk': `ROLLOUT#${id}`, ':from': `HISTORY#${iso(30)}`, ':to': 'HISTORY$' },
      Limit: PROGRESS_PAGE,
    });
    expect(ddb.commandCalls(GetCommand)[0]?.args[0].input).toMatchObject({ ConsistentRead: true });
    ddb.restore();
  });
});
