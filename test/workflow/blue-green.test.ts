import { describe, expect, it, vi } from 'vitest';
import { albTraffic } from '../../functions/core/config-route';
import { DEMO_ALARM, demoService } from '../../sandbox/demo';
import type { World } from '../../sandbox/world';
import { alarmEvent, ctx, expectSettled, pages, startWorld } from '../helpers/world';

/**
 * Blue/green: tested a minute on test traffic only (the demo's internal users, 2% of them, carry the header), then
 * switched, the old version kept warm a minute; one analysis at the end of each bake (the sandbox's waits cost a
 * real second each at ×120, whatever their length), on the few requests the testers send.
 */
function blueGreenService(blueGreen = { testSeconds: 60, rollbackWindowSeconds: 60 }) {
  const { steps: _steps, ...service } = demoService();
  return {
    ...service,
    strategy: 'blueGreen' as const,
    blueGreen,
    analysis: { ...service.analysis, minRequests: 10, intervalSeconds: 120, metricDelaySeconds: 60 },
  };
}

async function startedId(p: Promise<{ status: string; rolloutId?: string }>): Promise<string> {
  const r = await p;
  if (r.status !== 'started' || !r.rolloutId) throw new Error(`expected a start, got ${JSON.stringify(r)}`);
  return r.rolloutId;
}

/** What the listener serves once applied: the canary's weight and whether the header rule sends testers to it. */
function listener(world: World) {
  const state = world.lb.appliedState(albTraffic(world.config().traffic).listenerArn);
  return { canaryPercent: world.appliedCanaryPercent(), headerRule: state?.headerRule !== undefined };
}

describe('a blue/green rollout on the real state machine', () => {
  it('tests the new version on test traffic only, switches all traffic at once, keeps the window, then promotes', async () => {
    // Prepare
    const world = await startWorld({ services: [blueGreenService()], rps: 3000 });
    const seen: { canaryPercent: number | undefined; headerRule: boolean }[] = [];
    world.lb.on('applied', () => seen.push(listener(world)));
    // Act
    const id = await startedId(world.push('v2'));
    const execution = await world.waitFor(id);
    // Assess
    expect(execution.status).toBe('SUCCEEDED');
    const history = await world.store.history(id);
    expect(history.filter((h) => h.type === 'weight').map((h) => h.detail?.weight)).toEqual([0, 100]);
    // Live traffic went 0 → 100 in one change, testers reached the new version before it (the header rule at 0%).
    const changes = seen.filter((s, i) => i === 0 || JSON.stringify(s) !== JSON.stringify(seen[i - 1]));
    expect(changes.slice(0, 2)).toEqual([
      { canaryPercent: 0, headerRule: true },
      { canaryPercent: 100, headerRule: false },
    ]);
    // The test phase was judged on the testers' requests alone.
    const analyses = history.filter((h) => h.type === 'analysis');
    const tested = analyses.filter((h) => h.detail?.weight === 0);
    expect(tested.at(-1)?.detail).toMatchObject({ verdict: 'pass', action: 'advance' });
    expect(tested.at(-1)?.detail?.canary.requests).toBeGreaterThan(0);
    // The rollback window is kept in full, whatever the analyses at 100% show (no early pass).
    const switched = history.find((h) => h.type === 'weight' && h.detail?.weight === 100);
    const promoting = history.find((h) => h.type === 'promoting');
    const windowMs = Date.parse(promoting?.at ?? '') - Date.parse(switched?.at ?? '');
    expect(windowMs).toBeGreaterThanOrEqual(60_000);
    expect(
      analyses.filter((h) => h.detail?.weight === 100).every((h) => h.detail?.action !== 'rollback'),
    ).toBe(true);
    await expectSettled(world, { stableTag: 'v2' });
    expect(pages(world)).toEqual([]);
  });

  it('an alarm in the rollback window switches all traffic back to the old version, still warm, at once', async () => {
    // No test phase, a long window: the alarm comes in the window's first bake.
    const world = await startWorld({
      services: [blueGreenService({ testSeconds: 0, rollbackWindowSeconds: 3600 })],
    });
    const id = await startedId(world.push('v2'));
    await vi.waitFor(
      async () => {
        const record = await world.store.getRollout(id);
        expect(record?.canaryPercent).toBe(100);
        expect(record?.wait?.kind).toBe('bake');
      },
      { timeout: 30_000, interval: 10 },
    );
    const { stable } = world.servingTargetGroups();
    expect(world.backends.get(stable)?.version.tag).toBe('v1');

    const handled = await world.handlers.OnAlarm(alarmEvent(DEMO_ALARM), ctx);

    // on-alarm verified 100% on stable before returning: the old version, never scaled down, serves everything.
    expect(handled).toMatchObject({ stopped: [id] });
    expect(listener(world)).toEqual({ canaryPercent: 0, headerRule: false });
    expect(world.backends.get(stable)?.version.tag).toBe('v1');
    const execution = await world.waitFor(id);
    expect(execution.error).toBe('AlarmFired');
    await expectSettled(world, { stableTag: 'v1' });
    expect(pages(world).map((p) => p.dedup_key)).toEqual([id]);
  });
});
