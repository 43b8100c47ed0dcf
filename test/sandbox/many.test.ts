import { describe, expect, it } from 'vitest';
import {
  EXPECTED,
  firstWeight,
  type ManyResult,
  manyServices,
  notifiedService,
  runMany,
} from '../../sandbox/many';

describe('many rollouts at once on one controller', () => {
  it('20 services pushed together each end as their own version behaved, with nothing of another service', async () => {
    // Prepare: 20 services behind one listener (a rule each), a third healthy, a third failing the judge, a third
    // failing their alarm. Act: all pushed at the same moment, at ×120 time on synthetic traffic.
    const run: ManyResult = await runMany({
      services: 20,
      scale: 120,
      rps: 16_000,
      traffic: 'synthetic',
      seed: 7,
    });
    const { world, results } = run;
    const specs = manyServices(20);

    // Assess, per service.
    expect(results.map((r) => r.service)).toEqual(specs.map((s) => s.config.service));
    expect(new Set(results.map((r) => r.behaviour))).toEqual(
      new Set(['healthy', 'failsJudge', 'failsAlarm']),
    );
    for (const [i, r] of results.entries()) {
      const expected = EXPECTED[r.behaviour];
      const first = firstWeight(i);
      // The outcome is the one its own version called for, decided by what it called for.
      expect({ service: r.service, status: r.status, error: r.error, outcome: r.outcome }).toEqual({
        service: r.service,
        status: expected.status,
        error: expected.error,
        outcome: expected.outcome,
      });
      // Its rule only ever carried its own target groups, and only the weights of its own plan, ending on stable.
      expect(r.foreignTargetGroups).toEqual([]);
      expect(r.weights[0]).toBe(first);
      expect(r.weights.at(-1)).toBe(0);
      for (const w of r.weights) expect([0, first, 100]).toContain(w);
      if (r.behaviour === 'healthy') expect(r.weights).toEqual([first, 100, 0]);
      // Its records, lock and history are its own.
      expect(r.records).toEqual([{ rolloutId: r.rolloutId, service: r.service, tag: `${r.service}-v2` }]);
      expect(r.lockHeld).toBe(false);
      expect(r.history.length).toBeGreaterThan(0);
      // Its notifications name it and no other service; a rollback pages once, for its own rollout.
      expect(r.othersNamed).toEqual([]);
      expect(r.pages).toEqual(expected.outcome === 'rolledBack' ? [r.rolloutId] : []);
      expect(r.sns).toContain(expected.outcome === 'promoted' ? 'rollout.promoted' : 'rollout.rolledBack');
    }
    // Every notification is about exactly one of the services; nothing is left running, locked or violated.
    const names = new Set(results.map((r) => r.service));
    for (const m of world.receiver.messages) expect(names).toContain(notifiedService(m.body));
    expect(world.store.heldLocks()).toEqual([]);
    expect(world.violations).toEqual([]);
    expect(world.errors).toEqual([]);
  });
});
