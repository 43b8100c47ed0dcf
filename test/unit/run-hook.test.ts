/**
 * run-hook, one call at a time: the test route opened and verified before a smoke test before traffic, a stage's
 * hooks called in turn, "running" polled, failed calls retried, and each answer kept in the history.
 */
import type { Context } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import type { HookOutcome } from '../../functions/core/hooks';
import type { Clock, HookCaller, TrafficRouter } from '../../functions/ports';
import { makeRunHook } from '../../functions/tasks/run-hook';
import { InMemoryRolloutStore } from '../../sandbox/store';
import { ROLLOUT_ID, ROUTE, rolloutDocFor, SERVICE, validParsedConfig } from '../helpers/config';

const FN = 'arn:aws:lambda:us-east-1:123456789012:function:web-smoke';
const config = validParsedConfig({
  traffic: { headerRule: { header: 'X-Canary', values: ['always'], priority: 10 } },
  hooks: {
    beforeTraffic: [
      { name: 'smoke', lambda: FN, pollSeconds: 20, timeoutSeconds: 120 },
      { name: 'contract', url: 'https://checks.example.com/web' },
    ],
  },
} as never);
const rollout = rolloutDocFor(config);
const route = { ...ROUTE, headerRule: { header: 'X-Canary', values: ['always'], priority: 10 } };
const context = {} as Context;
let now = Date.parse('2026-03-14T09:40:00.000Z');
const clock: Clock = { now: () => new Date(now), workflowSeconds: (s) => s, sleep: async () => {} };

async function world(answers: HookOutcome[], testRouteOpen = [true], canaryPercent?: number) {
  const calls: string[] = [];
  const testRoutes: unknown[] = [];
  const router: TrafficRouter = {
    describe: async () => ({}),
    setWeights: async (_r, percent, options) => {
      calls.push(`weights ${percent} ${JSON.stringify(options)}`);
    },
    verifyWeights: async (_r, percent, options) => {
      calls.push(`verify ${percent} ${JSON.stringify(options)}`);
      return testRouteOpen.shift() ?? true;
    },
  };
  const hooks: HookCaller = {
    call: async (hook, request, seconds) => {
      calls.push(`call ${hook.lambda ?? hook.url} #${request.call} ${seconds}s`);
      testRoutes.push(request.testRoute);
      return answers.shift() ?? { kind: 'error', message: 'no more answers' };
    },
  };
  const store = new InMemoryRolloutStore();
  await store.acquireLock(SERVICE, ROLLOUT_ID, new Date(now));
  await store.putRollout({
    rolloutId: ROLLOUT_ID,
    service: SERVICE,
    image: rollout.image,
    status: 'running',
    alarms: [],
    createdAt: '2026-03-14T09:30:00.000Z',
    updatedAt: '2026-03-14T09:30:00.000Z',
    route,
    ...(canaryPercent !== undefined ? { canaryPercent } : {}),
  });
  const handler = makeRunHook({ store, clock, router, hooks });
  return { calls, testRoutes, store, handler };
}

const answer = (status: 'pass' | 'fail' | 'running', message?: string): HookOutcome => ({
  kind: 'answer',
  answer: { status, ...(message ? { message } : {}) },
});

describe('run-hook', () => {
  it('opens the test route at 0% before the first call, then calls once it is verified', async () => {
    // Prepare
    const w = await world([answer('pass', '20 requests answered')], [false, true]);
    // Act
    const first = await w.handler({ rollout, route, hook: { stage: 'beforeTraffic' } }, context);
    now += 5_000;
    const second = await w.handler({ rollout, route, hook: first }, context);
    // Assess
    expect(first).toMatchObject({ done: false, waitSeconds: 5, calls: 0 });
    expect(w.calls).toEqual([
      'verify 0 {"testRoute":true}',
      'weights 0 {"testRoute":true}',
      'verify 0 {"testRoute":true}',
      `call ${FN} #1 25s`,
    ]);
    expect(second).toMatchObject({ stage: 'beforeTraffic', index: 1, calls: 0, done: false, waitSeconds: 0 });
    expect((await w.store.history(ROLLOUT_ID)).map((h) => h.message)).toEqual([
      'hook smoke (beforeTraffic) passed: 20 requests answered',
    ]);
  });

  it('with the canary serving a share, sends the test route only while the header rule is on (below 100%)', async () => {
    const step = { index: 1, weight: 100, bakeSeconds: 0, approval: false };
    for (const [percent, sent] of [
      [25, { header: 'X-Canary', value: 'always' }],
      [100, undefined],
    ] as const) {
      const w = await world([answer('pass')], [], percent);
      await w.handler({ rollout, route, hook: { stage: 'beforeTraffic', step } }, context);
      expect(w.calls).toEqual([`call ${FN} #1 25s`]);
      expect(w.testRoutes).toEqual([sent]);
    }
  });

  it('polls a hook that answers "running", recording it once, and ends the stage after the last hook', async () => {
    const w = await world([
      answer('running', 'suite 1 of 2'),
      answer('running'),
      answer('pass'),
      answer('pass'),
    ]);
    let p = await w.handler({ rollout, route, hook: { stage: 'beforeTraffic' } }, context);
    expect(p).toMatchObject({ done: false, waitSeconds: 20, calls: 1, running: true });
    for (let i = 0; i < 3; i++) {
      now += 20_000;
      p = await w.handler({ rollout, route, hook: p }, context);
    }
    expect(p).toMatchObject({ done: true, index: 2 });
    const history = await w.store.history(ROLLOUT_ID);
    expect(
      history.map((h) => h.type === 'hook' && `${h.detail.hook}:${h.detail.status}:${h.detail.calls}`),
    ).toEqual(['smoke:running:1', 'smoke:pass:3', 'contract:pass:1']);
  });

  it('fails the rollout with HookFailed on "fail", keeping what the hook said', async () => {
    const w = await world([answer('fail', '3 of 20 /checkout requests failed')]);
    await expect(
      w.handler({ rollout, route, hook: { stage: 'beforeTraffic' } }, context),
    ).rejects.toMatchObject({
      name: 'HookFailed',
      message: 'hook smoke (beforeTraffic) failed: 3 of 20 /checkout requests failed',
    });
    const [entry] = await w.store.history(ROLLOUT_ID);
    expect(entry).toMatchObject({
      type: 'hook',
      detail: {
        stage: 'beforeTraffic',
        hook: 'smoke',
        status: 'fail',
        message: '3 of 20 /checkout requests failed',
      },
    });
  });

  it('retries failed calls, then stops the rollout with HookUnavailable (the image not at fault)', async () => {
    const error: HookOutcome = { kind: 'error', message: 'the function failed (Unhandled): Error: boom' };
    const w = await world([error, error, error]);
    let p = await w.handler({ rollout, route, hook: { stage: 'beforeTraffic' } }, context);
    expect(p).toMatchObject({ done: false, waitSeconds: 1, failures: 1 });
    p = await w.handler({ rollout, route, hook: p }, context);
    expect(p).toMatchObject({ done: false, waitSeconds: 2, failures: 2 });
    await expect(w.handler({ rollout, route, hook: p }, context)).rejects.toMatchObject({
      name: 'HookUnavailable',
    });
    expect((await w.store.history(ROLLOUT_ID)).map((h) => h.type === 'hook' && h.detail.status)).toEqual([
      'unavailable',
    ]);
  });

  it('does nothing for a stage without hooks', async () => {
    const w = await world([]);
    const out = await w.handler({ rollout, route, hook: { stage: 'afterBake' } }, context);
    expect(out).toMatchObject({ done: true });
    expect(w.calls).toEqual([]);
  });
});
