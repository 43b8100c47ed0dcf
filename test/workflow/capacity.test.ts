/**
 * Capacity before traffic: a step that needs more canary tasks moves its weight only once those tasks are
 * running and healthy in the canary target group; when they never come the rollout rolls back (CanaryNotReady)
 * with 100% on stable. The sandbox's ECS-like deployer starts each new task in `startSeconds` of rollout time and
 * reports, as a violation, any canary weight the load balancer applies above what the healthy tasks can serve.
 */
import { describe, expect, it } from 'vitest';
import { DEMO_CANARY_TG, demoService } from '../../sandbox/demo';
import type { World } from '../../sandbox/world';
import { expectSettled, pages, startWorld } from '../helpers/world';

/** 5% needs 1 of the stable service's 10 tasks' worth, 50% needs 5, 100% needs 10. */
const BIG_STEP_PLAN = [
  { weight: 5, bakeSeconds: 60 },
  { weight: 50, bakeSeconds: 60 },
  { weight: 100, bakeSeconds: 60 },
];

interface Applied {
  canaryPercent: number;
  healthyTasks: number;
}

/** Every weight change the load balancer applies, with the canary's healthy tasks at that moment. */
function recordApplied(world: World): Applied[] {
  const applied: Applied[] = [];
  world.lb.on('applied', (_arn: string, state: { weights: Record<string, number> }) => {
    const total = Object.values(state.weights).reduce((a, b) => a + b, 0);
    const now = world.clock.now().getTime();
    applied.push({
      canaryPercent: total === 0 ? 0 : ((state.weights[DEMO_CANARY_TG] ?? 0) / total) * 100,
      healthyTasks: (world.backends.get(DEMO_CANARY_TG)?.tasks ?? []).filter((t) => t.healthyAtMs <= now)
        .length,
    });
  });
  return applied;
}

/** The workflow's task invocations in order, named by function and what they were asked to do. */
function recordCalls(calls: string[]) {
  return async (fn: string, event: unknown, call: () => Promise<unknown>) => {
    const e = event as { phase?: string; which?: string; step?: { weight: number } };
    const weight = e.step ? ` ${e.step.weight}%` : '';
    if (fn === 'SetWeight') calls.push(`SetWeight ${e.phase ?? '(no phase)'}${weight}`);
    else if (fn === 'CheckReady') calls.push(`CheckReady ${e.which ?? '?'}`);
    return call();
  };
}

describe('capacity before traffic', () => {
  it('moves a bigger step onto the canary only once its new tasks are healthy', async () => {
    // Prepare: new tasks take 60 s of rollout time to pass their health check; the readiness poll is 10 s.
    const calls: string[] = [];
    const world = await startWorld({
      services: [demoService({ steps: BIG_STEP_PLAN })],
      startSeconds: 60,
      invoke: recordCalls(calls),
    });
    const applied = recordApplied(world);
    // Act
    const started = await world.push('v2');
    if (started.status !== 'started') throw new Error(`not started: ${started.status}`);
    const execution = await world.waitFor(started.rolloutId);
    // Assess: promoted, and no weight ever above what the healthy canary tasks could serve.
    expect(execution.status).toBe('SUCCEEDED');
    expect(world.violations).toEqual([]);
    for (const a of applied.filter((x) => x.canaryPercent > 0 && x.canaryPercent < 100)) {
      expect(a.healthyTasks * 10, JSON.stringify(a)).toBeGreaterThanOrEqual(a.canaryPercent);
    }
    expect(applied.map((a) => Math.round(a.canaryPercent))).toEqual(expect.arrayContaining([5, 50, 100]));
    // Scale, wait (at least one poll finds the new tasks still starting), then shift.
    const fifty = calls.indexOf('SetWeight scale 50%');
    const shift = calls.indexOf('SetWeight shift 50%');
    expect(fifty).toBeGreaterThan(-1);
    expect(shift).toBeGreaterThan(fifty);
    const between = calls.slice(fifty + 1, shift);
    expect(between.length).toBeGreaterThan(0);
    expect(between.every((c) => c === 'CheckReady capacity')).toBe(true);
    // The step's history entry carries what the last capacity poll found.
    const fiftyEntry = (await world.store.history(started.rolloutId))
      .filter((h) => h.type === 'weight')
      .find((h) => h.detail.weight === 50);
    expect(fiftyEntry?.detail.capacity).toMatchObject({ polls: between.length, needed: 5, healthy: 5 });
    await expectSettled(world, { stableTag: 'v2' });
  });

  it('rolls back with CanaryNotReady, traffic on stable, when the capacity for a step never comes', async () => {
    // Prepare: the cluster places 2 canary tasks at most (capacity for 20%); the 50% step needs 5.
    const world = await startWorld({
      services: [demoService({ steps: BIG_STEP_PLAN, readiness: { timeoutSeconds: 60, pollSeconds: 10 } })],
      canaryTaskLimit: 2,
    });
    const applied = recordApplied(world);
    // Act
    const started = await world.push('v2');
    if (started.status !== 'started') throw new Error(`not started: ${started.status}`);
    const execution = await world.waitFor(started.rolloutId);
    // Assess
    expect(execution.status).toBe('FAILED');
    expect(execution.error).toBe('CanaryNotReady');
    expect(execution.cause).toMatch(/2 healthy; 5 needed for 50%/);
    expect(world.violations).toEqual([]);
    expect(Math.max(...applied.map((a) => a.canaryPercent))).toBeLessThanOrEqual(5);
    const weights = (await world.store.history(started.rolloutId))
      .filter((h) => h.type === 'weight')
      .map((h) => h.detail?.weight);
    expect(weights).toEqual([5]);
    expect(world.appliedCanaryPercent()).toBe(0);
    await expectSettled(world, { stableTag: 'v1' });
    expect(pages(world).map((p) => p.dedup_key)).toEqual([started.rolloutId]);
  });
});
