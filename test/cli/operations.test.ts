/**
 * The operator's decisions through the CLI's operations: once Step Functions has taken one, the store failing
 * afterwards does not turn it into an error (the record may lag, and the command says so); reasons reach the
 * history, the workflow and other operators' terminals without escape sequences.
 */
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { describe, expect, it } from 'vitest';
import { main } from '../../cli/main';
import { Operations } from '../../cli/operations';
import type { RolloutRecord, WaitToken } from '../../functions/core/rollout';
import type { Executions } from '../../functions/ports';
import { InMemoryRolloutStore } from '../../sandbox/store';
import { mockClient } from '../contract/mock';

const ROLLOUT = 'web-0123456789abcdef';
const NOW = new Date('2026-01-01T12:00:00Z');
const ESC = '\x1b';
const HOSTILE = `${ESC}[2J${ESC}[H${ESC}]0;owned\x07p99 ${ESC}[31mtoo slow${ESC}[0m\r\nFAKE: promoted\u009b1m`;
const CLEAN = 'p99 too slow FAKE: promoted';

class FlakyStore extends InMemoryRolloutStore {
  failing = new Set<'clearWait' | 'appendHistory'>();
  override async clearWait(rolloutId: string, token: string) {
    if (this.failing.has('clearWait')) throw new Error('ProvisionedThroughputExceededException');
    return super.clearWait(rolloutId, token);
  }
  override async appendHistory(...args: Parameters<InMemoryRolloutStore['appendHistory']>) {
    if (this.failing.has('appendHistory')) throw new Error('ProvisionedThroughputExceededException');
    return super.appendHistory(...args);
  }
}

async function setup(wait: WaitToken | undefined = { token: 'tok-1', kind: 'approval', step: 1, since: '' }) {
  const store = new FlakyStore();
  const record: RolloutRecord = {
    rolloutId: ROLLOUT,
    service: 'web',
    image: { repository: 'shop/web', digest: `sha256:${'ab'.repeat(32)}`, tag: 'v2' },
    status: 'running',
    alarms: [],
    createdAt: '2026-01-01T11:00:00.000Z',
    updatedAt: '2026-01-01T11:00:00.000Z',
    currentStep: 1,
    canaryPercent: 25,
    ...(wait ? { wait } : {}),
  };
  await store.putRollout(record);
  await store.acquireLock('web', ROLLOUT, NOW);
  const sent: { kind: string; token: string; error?: string; cause?: string }[] = [];
  const executions = {
    sendTaskSuccess: async (token: string) => {
      sent.push({ kind: 'success', token });
      return true;
    },
    sendTaskFailure: async (token: string, error: string, cause: string) => {
      sent.push({ kind: 'failure', token, error, cause });
      return true;
    },
  } as unknown as Executions;
  const deps = {
    store,
    executions,
    clock: { now: () => NOW, workflowSeconds: (s: number) => s, sleep: async () => undefined },
    requestDeploy: async () => ({ eventId: 'event', via: 'event' }),
    actor: 'the CLI (alice)',
  };
  const ops = new Operations(deps);
  return { store, sent, ops, executions, deps };
}

describe('CLI decisions on the controller’s bus', () => {
  it('approve, reject, promote and abort are announced as state changes, with who decided', async () => {
    const announced: string[] = [];
    for (const act of [
      (ops: Operations) => ops.approve('web'),
      (ops: Operations) => ops.reject('web', 'slow'),
      (ops: Operations) => ops.promote('web', { full: true }),
      (ops: Operations) => ops.abort('web', 'bad'),
    ]) {
      const w = await setup();
      const ops = new Operations({
        ...w.deps,
        events: {
          put: async (changes) =>
            void announced.push(...changes.map((c) => `${c.state} ${'by' in c ? c.by : ''}`)),
        },
      });
      await act(ops);
    }
    expect(announced).toEqual([
      'approved the CLI (alice)',
      'rejected the CLI (alice)',
      'bakeEnded the CLI (alice)',
      'aborted the CLI (alice)',
    ]);
  });
});

describe('CLI decisions once Step Functions has them', () => {
  it.each([
    ['approve', (ops: Operations) => ops.approve('web'), 'step 2 approved from the CLI (alice)'],
    ['reject', (ops: Operations) => ops.reject('web', 'slow'), 'step 2 rejected from the CLI (alice): slow'],
    [
      'promote --full',
      (ops: Operations) => ops.promote('web', { full: true }),
      'skipped from step 2 to 100% from the CLI (alice)',
    ],
  ])('%s: the store failing afterwards still reports the decision as made', async (_, act, said) => {
    const w = await setup();
    w.store.failing.add('clearWait');
    w.store.failing.add('appendHistory');

    const result = await act(w.ops);

    expect(result.ok).toBe(true);
    expect(result.message).toContain(said);
    expect(result.message).toMatch(/the record of the rollout may show it late/);
    expect(w.sent).toHaveLength(1);
  });

  it('a write failing once is retried: the wait is cleared and the decision is in the history', async () => {
    const w = await setup();
    let failures = 2;
    const append = w.store.appendHistory.bind(w.store);
    w.store.appendHistory = async (id, entry) => {
      if (failures-- > 0) throw new Error('ThrottlingException');
      return append(id, entry);
    };

    const result = await w.ops.approve('web');

    expect(result.message).not.toMatch(/late/);
    expect((await w.store.getRollout(ROLLOUT))?.wait).toBeUndefined();
    expect(
      (await w.store.history(ROLLOUT)).map((h) => [h.type, 'detail' in h ? h.detail : undefined]),
    ).toEqual([
      [
        'approved',
        { step: 1, via: 'cli', by: 'the CLI (alice)', wait: expect.stringMatching(/^[0-9a-f]{32}$/) },
      ],
    ]);
  });

  it('abort: a wait that cannot be interrupted leaves the recorded abort standing, and says so', async () => {
    const w = await setup({ token: 'tok-bake', kind: 'bake', step: 1, since: '' });
    w.executions.sendTaskFailure = async () => {
      throw Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
    };

    const result = await w.ops.abort('web', 'bad deploy');

    expect(result.ok).toBe(true);
    expect(result.message).toContain('aborted from the CLI (alice): bad deploy');
    expect(result.message).toMatch(/rolls back at its next task/);
    expect((await w.store.getRollout(ROLLOUT))?.abort?.message).toBe(
      'aborted from the CLI (alice): bad deploy',
    );
  });
});

describe('reasons without escape sequences', () => {
  it('reject --reason: the workflow’s cause, the history and the answer are clean', async () => {
    const w = await setup();

    const result = await w.ops.reject('web', HOSTILE);

    const expected = `step 2 rejected from the CLI (alice): ${CLEAN}`;
    expect(w.sent).toEqual([{ kind: 'failure', token: 'tok-1', error: 'ApprovalRejected', cause: expected }]);
    expect((await w.store.history(ROLLOUT)).map((h) => h.message)).toEqual([expected]);
    expect(result.message).toBe(`${ROLLOUT}: ${expected}; it rolls back`);
  });

  it('a reason of nothing but escapes falls back to the default', async () => {
    const w = await setup();
    await w.ops.reject('web', `${ESC}[31m${ESC}[0m`);
    expect(w.sent[0]?.cause).toBe('step 2 rejected from the CLI (alice): rejected by an operator');
  });

  it('approve --reason and abort --reason are cleaned the same way', async () => {
    const w = await setup();
    await w.ops.approve('web', HOSTILE);
    await w.ops.abort('web', HOSTILE);

    const messages = (await w.store.history(ROLLOUT)).map((h) => h.message);
    expect(messages).toEqual([
      `step 2 approved from the CLI (alice): ${CLEAN}`,
      `aborted from the CLI (alice): ${CLEAN}`,
    ]);
    expect((await w.store.getRollout(ROLLOUT))?.abort?.message).toBe(
      `aborted from the CLI (alice): ${CLEAN}`,
    );
  });
});

describe('what the CLI prints from the store', () => {
  it('history and status: a record holding escape sequences reaches the terminal without them', async () => {
    const w = await setup();
    await w.store.updateRollout(ROLLOUT, {
      status: 'rolledBack',
      outcome: { result: 'rolledBack', reason: HOSTILE, at: NOW.toISOString() },
    });
    const out: string[] = [];
    const err: string[] = [];
    const t = {
      stdout: (s: string) => out.push(s),
      stderr: (s: string) => err.push(s),
      env: {},
      cwd: '/tmp',
    };
    const backend = async (op: string, a: Record<string, unknown>) =>
      op === 'history' ? w.ops.history(a.service as string) : w.ops.status(a.service as string);

    expect(await main(['history', 'web'], t, backend)).toBe(0);
    expect(await main(['history', 'web', '--json'], t, backend)).toBe(0);

    const [text, json] = out;
    expect(text).toContain(`${ROLLOUT}: ${CLEAN}`);
    // Only the newlines between lines are left: no ESC, no C1, no carriage return.
    // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it finds
    const controls = /[\x00-\x09\x0b-\x1f\x7f-\x9f]/;
    expect(text).not.toMatch(controls);
    expect(json).not.toMatch(controls);
    expect(JSON.parse(json ?? '')[0].outcome).toBe(HOSTILE);
  });
});

describe('canary start puts Deploy Requested on the controller’s bus', () => {
  it('the bus is canary-controller unless EVENT_BUS_NAME names another, never the default bus', async () => {
    const eb = mockClient(EventBridgeClient);
    eb.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'evt-1' }] });
    const env = {
      TABLE_NAME: 'canary',
      STATE_MACHINE_ARN: 'arn:aws:states:us-east-1:123456789012:stateMachine:canary',
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
      AWS_SECRET_ACCESS_KEY: 'secret',
    };
    const out: string[] = [];
    const t = (e: NodeJS.ProcessEnv) => ({
      stdout: (s: string) => out.push(s),
      stderr: (s: string) => out.push(s),
      env: e,
      cwd: '/tmp',
    });
    const digest = `sha256:${'ab'.repeat(32)}`;

    expect(await main(['start', 'web', '--image', digest], t(env))).toBe(0);
    expect(
      await main(['start', 'web', '--image', digest], t({ ...env, EVENT_BUS_NAME: 'shop-canary' })),
    ).toBe(0);

    expect(eb.commandCalls(PutEventsCommand).map((c) => c.args[0].input.Entries?.[0]?.EventBusName)).toEqual([
      'canary-controller',
      'shop-canary',
    ]);
    expect(out.join('')).toContain('on bus canary-controller');
    eb.restore();
  });
});
