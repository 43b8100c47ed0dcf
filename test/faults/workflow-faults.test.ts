import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { faultSchedule } from '../../sandbox/fault-schedules';
import { runSchedule, type ScheduleResult } from '../../sandbox/faults';

const BATCH = 25;
const BATCHES = 40; // 1,000 schedules

describe('the real workflow under injected faults', () => {
  it('ends every schedule at 100% stable (rolled back or promoted), unlocked, nothing scaled down with weight', async () => {
    const outcomes: ScheduleResult['outcome'][] = [];
    let injected = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(faultSchedule, { minLength: BATCH, maxLength: BATCH }), async (schedules) => {
        const results = await Promise.all(schedules.map((s) => runSchedule(s)));
        results.forEach((r, i) => {
          outcomes.push(r.outcome);
          injected += Object.values(r.injected).reduce((a, b) => a + b, 0);
          if (r.violations.length > 0) {
            throw new Error(`schedule ${JSON.stringify(schedules[i])} broke: ${r.violations.join('; ')}`);
          }
        });
      }),
      { numRuns: BATCHES, seed: 20261123, endOnFailure: true },
    );
    expect(outcomes).toHaveLength(BATCH * BATCHES);
    // The schedules exercise both endings and really inject faults.
    expect(outcomes.filter((o) => o === 'promoted').length).toBeGreaterThan(50);
    expect(outcomes.filter((o) => o === 'rolledBack').length).toBeGreaterThan(50);
    expect(injected).toBeGreaterThan(500);
  }, 240_000);

  it('survives every Rollback attempt failing: the reconciler restores stable', async () => {
    const result = await runSchedule([
      { fn: 'SetWeight', call: 0, kind: 'permanent' },
      ...Array.from({ length: 10 }, (_, call) => ({
        fn: 'Rollback' as const,
        call,
        kind: 'permanent' as const,
      })),
    ]);
    expect(result.violations).toEqual([]);
    expect(result.outcome).toBe('rolledBack');
  });

  it('reports traffic left on the canary and a lock left behind (the checks can fail)', async () => {
    const result = await runSchedule([], {
      tamper: async (world) => {
        await world.router.setWeights(
          { ...world.config().traffic, stableTargetGroupArn: world.config().traffic.stableTargetGroupArn },
          50,
        );
        await new Promise((r) => setTimeout(r, 10));
        await world.store.acquireLock('web', 'someone', new Date());
      },
    });
    expect(result.violations.join('\n')).toMatch(/traffic not 100% on stable/);
    expect(result.violations.join('\n')).toMatch(/lock still held/);
  });
});
