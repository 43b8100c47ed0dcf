import { describe, expect, it } from 'vitest';
import type { StoredHistoryEntry } from '../../functions/core/history';
import { runSchedule, type Schedule } from '../../sandbox/faults';
import type { World } from '../../sandbox/world';

/** A schedule on the blue/green plan: the test step at 0% (with the approval), then 100% for the rollback window. */
const blueGreen = (faults: Schedule['faults'], bad = false): Schedule => ({
  bad,
  approveVia: 'cli',
  faults,
  strategy: 'blueGreen',
});

/** The history of every rollout the schedule ran, read once everything settled. */
function histories(): { tamper: (world: World) => Promise<void>; entries: StoredHistoryEntry[] } {
  const entries: StoredHistoryEntry[] = [];
  return {
    entries,
    tamper: async (world) => {
      for (const e of world.executions.list()) entries.push(...(await world.store.history(e.name)));
    },
  };
}

const weights = (entries: StoredHistoryEntry[]) =>
  entries.filter((e) => e.type === 'weight').map((e) => e.detail?.weight);

describe('the blue/green workflow under injected faults', () => {
  it('an alarm in the rollback window (during the analysis at 100%) puts the old version back, and pages once', async () => {
    const seen = histories();
    const result = await runSchedule(blueGreen([{ fn: 'Analyze', call: 1, kind: 'alarmMidTask', at: 2 }]), {
      tamper: seen.tamper,
    });
    expect(result.violations).toEqual([]);
    expect(result.injected.alarmMidTask).toBe(1);
    expect(weights(seen.entries)).toEqual([0, 100]);
    expect(result).toMatchObject({ outcome: 'rolledBack', stable: 'v1' });
  });

  it('an image failing its tests is rolled back on the test traffic alone, before any live traffic', async () => {
    const seen = histories();
    const result = await runSchedule(blueGreen([], true), { tamper: seen.tamper });
    expect(result.violations).toEqual([]);
    expect(weights(seen.entries)).toEqual([0]);
    expect(seen.entries.find((e) => e.type === 'analysis')?.detail).toMatchObject({
      weight: 0,
      verdict: 'fail',
    });
    expect(result).toMatchObject({ outcome: 'rolledBack', stable: 'v1' });
  });

  it('a newer image pushed while one is promoted, its routing changed by hand in its test step: the promoted one stays', async () => {
    // Campaign seed 20261386 (--strategy blueGreen): v3 arrives while v2's promotion is announced, and someone puts
    // the listener back on stable by hand while v3 is tested (its header rule gone): v3 rolls back, v2 stays.
    const seen = histories();
    const result = await runSchedule(
      blueGreen([
        { fn: 'Bake', call: 2, kind: 'drift', at: 2 },
        { fn: 'Notify', call: 0, kind: 'newerPush', at: 1 },
      ]),
      { tamper: seen.tamper },
    );
    expect(result.violations).toEqual([]);
    expect(seen.entries.filter((e) => e.type === 'rolledBack').map((e) => e.message)).toEqual([
      expect.stringMatching(
        /shop\/web:v3 rolled back: the listener's routing was changed outside the rollout/,
      ),
    ]);
    expect(result).toMatchObject({ outcome: 'promoted', stable: 'v2' });
  });

  it('retries a lost response, a half-done switch and a timed-out promotion, and promotes', async () => {
    const result = await runSchedule(
      blueGreen([
        { fn: 'SetWeight', call: 1, kind: 'crashAfterEffect' },
        { fn: 'SetWeight', call: 3, kind: 'halfway', at: 1 },
        { fn: 'Bake', call: 1, kind: 'timeout' },
        { fn: 'Promote', call: 0, kind: 'timeout' },
      ]),
    );
    expect(result.violations).toEqual([]);
    expect(result.injected).toMatchObject({ crashAfterEffect: 1, halfway: 1, timeout: 2 });
    expect(result).toMatchObject({ outcome: 'promoted', stable: 'v2' });
  });
});
