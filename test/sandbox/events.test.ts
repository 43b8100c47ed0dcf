/**
 * Rollouts in the sandbox announce every state change on the controller's (local) bus: the sequence a promotion
 * and a rollback put there, each event valid against the published detail schema, in EventBridge's envelope.
 */
import { describe, expect, it } from 'vitest';
import { rolloutStateChangeDetail } from '../../functions/core/state-change';
import * as v from '../../functions/core/valibot';
import { demoService } from '../../sandbox/demo';
import { eventLine } from '../../sandbox/event-bus';
import type { World } from '../../sandbox/world';
import { SHORT_PLAN, startWorld } from '../helpers/world';

/** The states announced for a rollout, repeated analyses of a step folded into one. */
function sequence(world: World, rolloutId: string): string[] {
  return world.eventBus.states(rolloutId).filter((s, i, all) => s !== 'analyzed' || all[i - 1] !== s);
}

function expectValidEvents(world: World, rolloutId: string) {
  const events = world.eventBus.events.filter((e) => e.detail.rolloutId === rolloutId);
  for (const e of events) {
    expect(v.safeParse(rolloutStateChangeDetail, e.detail).success, e.detail.state).toBe(true);
    expect(e).toMatchObject({
      version: '0',
      source: 'canary.controller',
      'detail-type': 'Canary Rollout State Change',
      resources: [],
    });
    expect(e.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(eventLine(e)).not.toContain('\n');
  }
  return events.map((e) => e.detail);
}

describe('rollout state-change events in the sandbox', () => {
  it('a promotion announces started, the canary, each step and its analyses, promoting and promoted', async () => {
    // Prepare
    const lines: string[] = [];
    // One step keeps the test short; the rollback below shows a step that is not the last.
    const world = await startWorld({
      services: [demoService({ steps: [{ weight: 100, bakeSeconds: 60 }] })],
      onLog: (level, message) => lines.push(`${level} ${message}`),
    });
    // Act
    const started = await world.push('v2');
    if (started.status !== 'started') throw new Error(`not started: ${started.status}`);
    await world.waitFor(started.rolloutId);
    await world.executions.idle();
    // Assess
    expect(sequence(world, started.rolloutId)).toEqual([
      'started',
      'canaryDeployed',
      'stepSet',
      'analyzed',
      'promoting',
      'promoted',
    ]);
    const details = expectValidEvents(world, started.rolloutId);
    expect(details.filter((d) => d.state === 'stepSet').map((d) => [d.step, d.weight])).toEqual([[1, 100]]);
    const lastAnalysis = details.filter((d) => d.state === 'analyzed').at(-1);
    expect(lastAnalysis).toMatchObject({ verdict: 'pass', action: 'advance', step: 1, weight: 100 });
    if (lastAnalysis?.state !== 'analyzed') throw new Error('no analysis');
    expect(lastAnalysis.canary.requests).toBeGreaterThan(0);
    expect(lastAnalysis.evidence.map((e) => e.metric)).toContain('errorRate');
    expect(details.at(-1)).toMatchObject({ state: 'promoted', weight: 100, image: { tag: 'v2' } });
    expect(lines.filter((l) => l.includes('not published'))).toEqual([]);
  });

  it('a rollback announces the failing analysis and rolledBack with its error, reason and quarantine', async () => {
    const world = await startWorld({ services: [demoService({ steps: SHORT_PLAN })] });
    const started = await world.push('v3');
    if (started.status !== 'started') throw new Error(`not started: ${started.status}`);
    await world.waitFor(started.rolloutId);
    await world.executions.idle();

    expect(sequence(world, started.rolloutId)).toEqual([
      'started',
      'canaryDeployed',
      'stepSet',
      'analyzed',
      'rolledBack',
    ]);
    const details = expectValidEvents(world, started.rolloutId);
    expect(details.filter((d) => d.state === 'analyzed').at(-1)).toMatchObject({
      verdict: 'fail',
      action: 'rollback',
      step: 1,
      weight: 25,
    });
    expect(details.at(-1)).toMatchObject({
      state: 'rolledBack',
      error: 'CanaryFailed',
      reason: expect.stringMatching(/^errorRate/),
      quarantined: true,
      weight: 0,
    });
  });
});
