/**
 * Pausing on the real state machine with the real tasks: a failed analysis under analysis.onFailure 'pause' (100%
 * on stable at once, the canary kept, on-call paged, an alarm recorded, then a retry and an abort), and a person's
 * pause (the share held while analyses go on, resumed, then aborted while paused). Fast time (scale 400).
 */

import { describe, expect, it, vi } from 'vitest';
import { configuredTargetGroups } from '../../functions/core/routes';
import { DEMO_ALARM, demoService } from '../../sandbox/demo';
import { alarmEvent, ctx, expectSettled, pages, SHORT_PLAN, snsEvents, startWorld } from '../helpers/world';

const pausing = () =>
  demoService({ steps: SHORT_PLAN, analysis: { ...demoService().analysis, onFailure: 'pause' } });

async function started(p: Promise<{ status: string; rolloutId?: string }>): Promise<string> {
  const r = await p;
  if (r.status !== 'started' || !r.rolloutId) throw new Error(`expected a start, got ${JSON.stringify(r)}`);
  return r.rolloutId;
}

describe('pause on a failed analysis', () => {
  it('holds on stable with the canary kept and pages; an alarm is recorded; a retry while a gating alarm is still in ALARM rolls back instead of putting the weight back', async () => {
    const world = await startWorld({ scale: 400, services: [pausing()] });
    const id = await started(world.push('v3'));
    await world.waitForWait(id, 'failure');

    // Stable has everything, the canary still runs, on-call was paged once for the rollout.
    expect(world.appliedCanaryPercent()).toBe(0);
    const canaryTg = configuredTargetGroups(world.config().traffic).canary;
    expect(world.backends.get(canaryTg)?.version.tag).toBe('v3');
    // The pause has its own incident: acknowledging it folds nothing later into it.
    const pauseKeys = pages(world).map((p) => p.dedup_key);
    expect(pages(world).map((p) => p.event_action)).toEqual(['trigger']);
    expect(pauseKeys).toEqual([expect.stringMatching(new RegExp(`^${id}:pause:1:`))]);
    expect(snsEvents(world)).toContain('rollout.paused');
    expect((await world.operations.status('web'))[0]?.status).toMatch(/^paused: analysis failed/);

    // An alarm while paused moves nothing (stable has it all) and does not end the pause: it is recorded.
    await world.handlers.OnAlarm(alarmEvent(DEMO_ALARM), ctx);
    expect((await world.store.getRollout(id))?.abort).toBeUndefined();

    // The alarm is still in ALARM when a person retries (CloudWatch sent its one state change during the pause):
    // the step's weight does not go back on the canary; the rollout rolls back as on any alarm.
    vi.spyOn(world.alarms, 'states').mockImplementation(async (names) =>
      names.map((name) => ({ name, state: name === DEMO_ALARM ? 'ALARM' : 'OK' })),
    );
    await world.operations.retry('web');
    const execution = await world.waitFor(id);
    // The retry ended the pause: its incident is resolved (PagerDuty Events API v2 resolve, the same dedup_key).
    expect(execution.status).toBe('FAILED');
    expect(execution.error).toBe('AlarmFired');
    expect(world.appliedCanaryPercent()).toBe(0);
    const types = (await world.store.history(id)).map((h) => h.type);
    expect(types).toEqual(expect.arrayContaining(['alarm', 'retried']));
    // No weight was set after the retry.
    expect(types.slice(types.lastIndexOf('retried'))).not.toContain('weight');
    await expectSettled(world, { stableTag: 'v1' });
    // The rollback pages on the rollout's own incident, not the acknowledged pause's; the pause's is resolved.
    const sent = pages(world).map((p) => `${p.event_action} ${p.dedup_key}`);
    expect(sent.filter((p) => p.startsWith('trigger'))).toEqual([`trigger ${pauseKeys[0]}`, `trigger ${id}`]);
    expect(sent.indexOf(`resolve ${pauseKeys[0]}`)).toBeGreaterThan(0);
    expect(sent.indexOf(`resolve ${pauseKeys[0]}`)).toBeLessThan(sent.indexOf(`trigger ${id}`));
  });
});

describe("a person's pause", () => {
  it('holds the share while analyses go on; resumed, the plan goes on; an abort of a paused rollout rolls back', async () => {
    const world = await startWorld({ scale: 400, services: [demoService({ steps: SHORT_PLAN })] });
    const id = await started(world.push('v2'));
    await world.waitForWait(id, 'bake');
    await world.operations.pause('web', 'watching');

    // The analysis that would advance holds instead: the share stays at the first step's.
    await vi.waitFor(async () => {
      const held = (await world.store.history(id)).filter(
        (h) => h.type === 'analysis' && h.detail.action === 'paused',
      );
      expect(held.length).toBeGreaterThanOrEqual(1);
    }, 20_000);
    expect(world.appliedCanaryPercent()).toBe(25);

    await world.operations.resume('web');
    await vi.waitFor(() => expect(world.appliedCanaryPercent()).toBe(100), 20_000);
    await world.operations.pause('web');
    await world.operations.abort('web');
    expect((await world.waitFor(id)).error).toBe('Aborted');
    const kinds = (await world.store.history(id)).map((h) => h.type);
    expect(kinds.filter((k) => ['paused', 'resumed', 'aborted', 'rolledBack'].includes(k))).toEqual([
      'paused',
      'resumed',
      'paused',
      'aborted',
      'rolledBack',
    ]);
    await expectSettled(world, { stableTag: 'v1' });
  });
});
