/**
 * Pause, resume, retry and abort from the CLI's operations: each refuses what it cannot do (naming why) and
 * changes nothing then; a pause and a resume are on the record, in the history and announced; an abort puts 100%
 * on stable at once when the caller may move traffic, and says so when it may not.
 */
import { describe, expect, it } from 'vitest';
import { Operations } from '../../cli/operations';
import type { RolloutRecord, Route, WaitToken } from '../../functions/core/rollout';
import type { RolloutStateChange } from '../../functions/core/state-change';
import type { Executions, TrafficRouter } from '../../functions/ports';
import { InMemoryRolloutStore } from '../../sandbox/store';

const ROLLOUT = 'web-0123456789abcdef';
const NOW = new Date('2026-01-01T12:00:00Z');
const ROUTE: Route = {
  listenerArn: 'l',
  stableTargetGroupArn: 'tg-stable',
  canaryTargetGroupArn: 'tg-canary',
};

async function setup(over: Partial<RolloutRecord> = {}, router?: TrafficRouter) {
  const store = new InMemoryRolloutStore();
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
    route: ROUTE,
    ...over,
  });
  await store.acquireLock('web', ROLLOUT, NOW);
  const sent: { kind: string; token: string; output?: unknown; error?: string }[] = [];
  const executions = {
    sendTaskSuccess: async (token: string, output: unknown) => {
      sent.push({ kind: 'success', token, output });
      return true;
    },
    sendTaskFailure: async (token: string, error: string) => {
      sent.push({ kind: 'failure', token, error });
      return true;
    },
  } as unknown as Executions;
  const events: RolloutStateChange[] = [];
  const ops = new Operations({
    store,
    executions,
    clock: { now: () => NOW, workflowSeconds: (s: number) => s, sleep: async () => undefined },
    requestDeploy: async () => ({ eventId: 'event', via: 'event' }),
    actor: 'the CLI (alice)',
    events: { put: async (changes) => void events.push(...changes) },
    ...(router ? { router } : {}),
  });
  return { store, sent, ops, events };
}

const failureWait: WaitToken = { token: 'tok-f', kind: 'failure', step: 1, since: '' };
const pausedOnFailure = {
  wait: failureWait,
  canaryPercent: 0,
  paused: { cause: 'failure', at: NOW.toISOString(), by: 'the workflow', via: 'workflow', weight: 0 },
} as const;

describe('canary pause and resume', () => {
  it('pause marks the record at its share, records and announces it; resume removes it', async () => {
    const w = await setup();
    const paused = await w.ops.pause('web', 'checking a dashboard');
    expect(paused.message).toContain('paused at 25%');
    expect((await w.store.getRollout(ROLLOUT))?.paused).toMatchObject({
      cause: 'operator',
      weight: 25,
      via: 'cli',
    });
    expect((await w.ops.status('web'))[0]?.status).toBe('paused at 25% by the CLI (alice)');
    await expect(w.ops.pause('web')).rejects.toThrow(/already paused at 25%/);

    await w.ops.resume('web');
    expect((await w.store.getRollout(ROLLOUT))?.paused).toBeUndefined();
    expect((await w.store.history(ROLLOUT)).map((h) => h.type)).toEqual(['paused', 'resumed']);
    expect(w.events.map((e) => [e.state, e.weight])).toEqual([
      ['paused', 25],
      ['resumed', 25],
    ]);
  });

  it('refuses to resume what is not paused, or what a failed analysis paused (retry or abort it)', async () => {
    const w = await setup();
    await expect(w.ops.resume('web')).rejects.toThrow(/is not paused/);
    const f = await setup(pausedOnFailure);
    await expect(f.ops.resume('web')).rejects.toThrow(/canary retry/);
    await expect(f.ops.pause('web')).rejects.toThrow(/already paused on a failed analysis/);
    expect(await f.store.history(ROLLOUT)).toEqual([]);
  });

  it('refuses a pause once a promotion has begun', async () => {
    const w = await setup({ status: 'promoting' });
    await expect(w.ops.pause('web')).rejects.toThrow(/is promoting: a pause no longer holds it/);
    expect((await w.store.getRollout(ROLLOUT))?.paused).toBeUndefined();
  });
});

describe('canary retry', () => {
  it('resolves the failure wait and records who retried which step', async () => {
    const w = await setup(pausedOnFailure);
    expect((await w.ops.status('web'))[0]?.status).toMatch(/^paused: analysis failed, 100% on stable/);
    const result = await w.ops.retry('web');
    expect(result.message).toContain('step 2 retried from the CLI (alice)');
    expect(w.sent).toEqual([{ kind: 'success', token: 'tok-f', output: { retry: true, by: 'cli' } }]);
    expect((await w.store.getRollout(ROLLOUT))?.wait).toBeUndefined();
    expect((await w.store.history(ROLLOUT)).map((h) => h.type)).toEqual(['retried']);
  });

  it('refuses when the rollout is not paused on a failure, sending nothing', async () => {
    const w = await setup({ wait: { token: 'tok-b', kind: 'bake', step: 1, since: '' } });
    await expect(w.ops.retry('web')).rejects.toThrow(/not paused on a failed analysis/);
    expect(w.sent).toEqual([]);
  });
});

describe('canary abort', () => {
  const router = (fail?: Error) => {
    const weights: number[] = [];
    const r: TrafficRouter = {
      describe: async () => ({}),
      setWeights: async (_route, percent) => {
        if (fail) throw fail;
        weights.push(percent);
      },
      verifyWeights: async (_route, percent) => weights.at(-1) === percent,
    };
    return { r, weights };
  };

  it('puts 100% on stable at once when the caller may move traffic, then fails the wait', async () => {
    const { r, weights } = router();
    const w = await setup(
      {
        paused: { cause: 'operator', at: '', by: 'bob', via: 'cli', weight: 25 },
        wait: { token: 'tok-b', kind: 'bake', step: 1, since: '' },
      },
      r,
    );
    const result = await w.ops.abort('web', 'enough');
    expect(weights).toEqual([0]);
    expect(result.message).toContain('100% is on stable now (verified)');
    expect(w.sent).toEqual([{ kind: 'failure', token: 'tok-b', error: 'Aborted' }]);
    expect((await w.store.getRollout(ROLLOUT))?.canaryPercent).toBe(0);
  });

  it('moves nothing when the rollout ended and a newer one took the service between the read and the abort', async () => {
    const { r, weights } = router();
    const w = await setup({ wait: { token: 'tok-b', kind: 'bake', step: 1, since: '' } }, r);
    const mark = w.store.markAborted.bind(w.store);
    w.store.markAborted = async (...args) => {
      // The rollout is promoted, lets its lock go, and the next one sets its canary to 10%.
      await w.store.updateRollout(ROLLOUT, { status: 'promoted' });
      await w.store.releaseLock('web', ROLLOUT, NOW);
      await w.store.acquireLock('web', 'web-fedcba9876543210', NOW);
      await r.setWeights(ROUTE, 10);
      return mark(...args);
    };
    await expect(w.ops.abort('web', 'enough')).rejects.toMatchObject({
      code: 'not-found',
      message: `${ROLLOUT} is promoted and web's lock is held by web-fedcba9876543210: no traffic was moved, nothing was aborted`,
    });
    expect(weights).toEqual([10]);
    expect(w.sent).toEqual([]);
    expect((await w.store.getRollout(ROLLOUT))?.abort).toBeUndefined();
  });

  it('aborts a rollout paused on a failure, and says when traffic could not be moved from here', async () => {
    const denied = Object.assign(new Error('not allowed'), { name: 'AccessDenied' });
    const w = await setup(pausedOnFailure, router(denied).r);
    const result = await w.ops.abort('web');
    expect(result.message).toContain(
      'traffic could not be moved from here (AccessDenied): the rollback moves it',
    );
    expect(w.sent).toEqual([{ kind: 'failure', token: 'tok-f', error: 'Aborted' }]);
    expect((await w.store.getRollout(ROLLOUT))?.abort?.reason).toBe('Aborted');
  });
});
