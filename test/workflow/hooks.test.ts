import { describe, expect, it } from 'vitest';
import { albTraffic } from '../../functions/core/config-route';
import { configuredTargetGroups } from '../../functions/core/routes';
import { BROKEN_CHECKOUT, demoService, HEALTHY, SERVER_ERRORS, SMOKE_TEST_ARN } from '../../sandbox/demo';
import { expectSettled, pages, SHORT_PLAN, startWorld } from '../helpers/world';

// Two rollouts on the real state machine at the sandbox's fast time scale; the polling, retries and test-route
// details are in test/unit/run-hook.test.ts.

const images = [
  { tag: 'v2', profile: HEALTHY },
  { tag: 'v3', profile: SERVER_ERRORS },
  { tag: 'v7', profile: BROKEN_CHECKOUT },
];
const smoke = { name: 'smoke', lambda: SMOKE_TEST_ARN, timeoutSeconds: 120 };

describe('hooks on the real state machine', () => {
  it('rolls back on a failing smoke test before traffic, with no public request served by the canary', async () => {
    // Prepare
    // Versions healthy at once: no readiness poll to wait for (every Wait lasts a real second at least).
    const world = await startWorld({
      images,
      startSeconds: 0,
      services: [demoService({ steps: SHORT_PLAN, hooks: { beforeTraffic: [smoke] } })],
    });
    const canaryTg = configuredTargetGroups(world.config().traffic).canary;
    // Act
    const started = await world.push('v7');
    if (started.status !== 'started') throw new Error(`not started: ${started.status}`);
    const execution = await world.waitFor(started.rolloutId);
    // Assess
    expect(execution.status).toBe('FAILED');
    expect(execution.error).toBe('HookFailed');
    // Only internal users (the header rule's header) could reach it, as testers; no public request did.
    expect(world.traffic.served.publicSnapshot(canaryTg)).toEqual({ requests: 0, serverErrors: 0 });
    const history = await world.store.history(started.rolloutId);
    expect(history.filter((h) => h.type === 'weight')).toEqual([]);
    const hook = history.find((h) => h.type === 'hook');
    expect(hook?.detail).toMatchObject({ stage: 'beforeTraffic', hook: 'smoke', status: 'fail', calls: 1 });
    expect(hook?.message).toMatch(/10 of 10 \/checkout requests failed/);
    expect((await world.store.getRollout(started.rolloutId))?.outcome?.reason).toMatch(/hook smoke/);
    expect(await world.store.isQuarantined('web', world.imageByTag('v7').digest)).toBe(true);
    await expectSettled(world, { stableTag: 'v1' });
    // The test route is closed again with the rollback.
    expect(world.lb.appliedState(albTraffic(world.config().traffic).listenerArn)?.headerRule).toBeUndefined();
    expect(pages(world)).toHaveLength(1);
  });

  it('opens the test route for a smoke test before the first step when there is no beforeTraffic hook', async () => {
    // Prepare
    // At step 1 the canary has no share yet: the header rule must be opened for the smoke test to reach it.
    const world = await startWorld({
      images,
      startSeconds: 0,
      services: [
        demoService({
          steps: [
            { weight: 10, bakeSeconds: 0 },
            { weight: 100, bakeSeconds: 0 },
          ],
          hooks: { beforeStep: [smoke] },
        }),
      ],
    });
    // Act
    const started = await world.push('v2');
    if (started.status !== 'started') throw new Error(`not started: ${started.status}`);
    const execution = await world.waitFor(started.rolloutId);
    // Assess
    expect(execution.error ?? '', execution.cause ?? '').toBe('');
    expect(execution.status).toBe('SUCCEEDED');
    const hooks = (await world.store.history(started.rolloutId)).filter((h) => h.type === 'hook');
    expect(hooks.map((h) => h.detail && `${h.detail.stage}:${h.detail.step}:${h.detail.status}`)).toEqual([
      'beforeStep:0:pass',
      'beforeStep:1:pass',
    ]);
    await expectSettled(world, { stableTag: 'v2' });
  });

  it('promotes once the smoke test passes and a post-promotion check that answers "running" passes', async () => {
    // Prepare
    // One step at 100%, healthy at once, no drain: the hook's poll is the only Wait.
    const world = await startWorld({
      images,
      startSeconds: 0,
      services: [
        demoService({
          traffic: { ...demoService().traffic, deregistrationDelaySeconds: 0 },
          steps: [{ weight: 100, bakeSeconds: 0 }],
          hooks: {
            beforeTraffic: [smoke],
            afterPromotion: [{ name: 'slow', lambda: 'slow-check', pollSeconds: 10, timeoutSeconds: 900 }],
          },
        }),
      ],
    });
    // Act
    const started = await world.push('v2');
    if (started.status !== 'started') throw new Error(`not started: ${started.status}`);
    const execution = await world.waitFor(started.rolloutId);
    // Assess
    expect(execution.error ?? '', execution.cause ?? '').toBe('');
    expect(execution.status).toBe('SUCCEEDED');
    const hooks = (await world.store.history(started.rolloutId)).filter((h) => h.type === 'hook');
    expect(hooks.map((h) => h.detail && `${h.detail.stage}:${h.detail.hook}:${h.detail.status}`)).toEqual([
      'beforeTraffic:smoke:pass',
      'afterPromotion:slow:running',
      'afterPromotion:slow:pass',
    ]);
    expect(hooks.at(-1)?.detail).toMatchObject({ calls: 2 });
    await expectSettled(world, { stableTag: 'v2' });
  });
});
