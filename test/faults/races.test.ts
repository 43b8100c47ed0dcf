import { describe, expect, it } from 'vitest';
import { DEMO_ALARM, demoService, HEALTHY } from '../../sandbox/demo';
import type { World } from '../../sandbox/world';
import { alarmEvent, ctx, expectSettled, SHORT_PLAN, startWorld } from '../helpers/world';

const IMAGES = ['v2', 'v5', 'v6', 'v7'].map((tag) => ({ tag, profile: HEALTHY }));

/**
 * Watches the store: the most rollouts of one service that were ever active (not yet promoted or rolled back)
 * at once. An execution may still be sending its notifications after it handed the service over; that is fine.
 */
function maxActive(world: World, service: string): () => number {
  let max = 0;
  world.store.on('history', () => {
    void world.store.listActive().then((active) => {
      max = Math.max(max, active.filter((r) => r.service === service).length);
    });
  });
  return () => max;
}

describe('races and duplicates', () => {
  it('concurrent pushes for one service: one rollout at a time, and the newest image ends up on stable', async () => {
    const world = await startWorld({ services: [demoService({ steps: SHORT_PLAN })], images: IMAGES });
    const peak = maxActive(world, 'web');
    const results = await Promise.all(['v2', 'v5', 'v6'].map((tag) => world.push(tag)));
    expect(results.filter((r) => r.status === 'started')).toHaveLength(1);
    expect(results.filter((r) => r.status === 'superseding')).toHaveLength(2);
    await world.executions.idle();
    await world.executions.idle();
    expect(peak()).toBe(1);
    const lastPending = results.filter((r) => r.status === 'superseding').map((r) => r.rolloutId);
    const promoted = (await world.store.listByService('web', 10)).filter((r) => r.status === 'promoted');
    expect(promoted).toHaveLength(1);
    expect(lastPending).toContain(promoted[0]?.rolloutId);
    await expectSettled(world, { stableTag: promoted[0]?.image.tag ?? '' });
  });

  it('concurrent pushes for many services: each service gets its own rollout', async () => {
    const services = [0, 1, 2].map((i) =>
      demoService({
        service: `svc${i}`,
        repository: `shop/svc${i}`,
        steps: [
          { weight: 50, bakeSeconds: 0 },
          { weight: 100, bakeSeconds: 0 },
        ],
        analysis: { alarms: [] },
        traffic: {
          kind: 'alb',
          listenerArn: `arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/svc${i}/50dc6c495c0c918${i}/f2f7dc8efc522ab${i}`,
          stableTargetGroupArn: `arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/svc${i}-stable/73e2d6bc24d8a06${i}`,
          canaryTargetGroupArn: `arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/svc${i}-canary/2453ed029918f21${i}`,
          deregistrationDelaySeconds: 0,
        },
      }),
    );
    const world = await startWorld({ services, images: IMAGES, alarms: [] });
    const results = await Promise.all(services.map((s) => world.push('v2', s.service)));
    expect(results.map((r) => r.status)).toEqual(['started', 'started', 'started']);
    await world.executions.idle();
    expect(world.executions.list().map((e) => e.status)).toEqual(['SUCCEEDED', 'SUCCEEDED', 'SUCCEEDED']);
    expect(world.store.heldLocks()).toEqual([]);
    for (const s of services)
      expect(
        world.backends.get((s.traffic as { stableTargetGroupArn: string }).stableTargetGroupArn)?.version.tag,
      ).toBe('v2');
  });

  it('duplicate and out-of-order alarm events roll back once', async () => {
    const world = await startWorld({
      services: [
        demoService({
          steps: [
            { weight: 25, bakeSeconds: 600 },
            { weight: 100, bakeSeconds: 60 },
          ],
        }),
      ],
    });
    const started = await world.push('v2');
    if (started.status !== 'started') throw new Error('not started');
    await world.waitForWait(started.rolloutId, 'bake');
    const results = await Promise.all([
      world.handlers.OnAlarm(alarmEvent(DEMO_ALARM, 'OK'), ctx),
      world.handlers.OnAlarm(alarmEvent(DEMO_ALARM), ctx),
      world.handlers.OnAlarm(alarmEvent(DEMO_ALARM), ctx),
    ]);
    expect(results.filter((r) => r.stopped.length > 0).length).toBeGreaterThanOrEqual(1);
    const execution = await world.waitFor(started.rolloutId);
    expect(execution.error).toBe('AlarmFired');
    // A late duplicate after the rollback finds nothing to stop.
    expect(await world.handlers.OnAlarm(alarmEvent(DEMO_ALARM), ctx)).toMatchObject({ stopped: [] });
    expect(world.executions.list()).toHaveLength(1);
    await expectSettled(world, { stableTag: 'v1' });
  });

  it('an alarm during Promote, after stable took the new image, restores the old stable', async () => {
    let world: World | undefined;
    let fired = false;
    world = await startWorld({
      services: [demoService({ steps: SHORT_PLAN })],
      invoke: async (fn, event, call) => {
        const result = await call();
        if (fn === 'Promote' && (event as { phase: string }).phase === 'begin' && !fired && world) {
          fired = true;
          await world.handlers.OnAlarm(alarmEvent(DEMO_ALARM), ctx);
        }
        return result;
      },
    });
    const started = await world.push('v2');
    if (started.status !== 'started') throw new Error('not started');
    const execution = await world.waitFor(started.rolloutId);
    expect(fired).toBe(true);
    expect(execution.error).toBe('AlarmFired');
    await expectSettled(world, { stableTag: 'v1' });
  });

  it('a push during a rollback waits for it, then rolls out', async () => {
    let world: World | undefined;
    let pushed: Promise<unknown> | undefined;
    world = await startWorld({
      images: [...IMAGES, { tag: 'v3', profile: { errorRate: 0.2, latencyMs: 8, jitterMs: 3 } }],
      alarms: [],
      services: [demoService({ steps: SHORT_PLAN, analysis: { alarms: [] } })],
      invoke: async (fn, _event, call) => {
        if (fn === 'Rollback' && !pushed && world) pushed = world.push('v5');
        return call();
      },
    });
    const first = await world.push('v3');
    if (first.status !== 'started') throw new Error('not started');
    expect((await world.waitFor(first.rolloutId)).error).toBe('CanaryFailed');
    expect(await pushed).toMatchObject({ status: 'superseding', supersedes: first.rolloutId });
    await world.executions.idle();
    await world.executions.idle();
    const statuses = world.executions.list().map((e) => [e.name, e.status]);
    expect(statuses).toHaveLength(2);
    expect(statuses[1]?.[1]).toBe('SUCCEEDED');
    await expectSettled(world, { stableTag: 'v5' });
  });
});
