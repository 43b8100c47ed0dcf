import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { faultSchedule } from '../../sandbox/fault-schedules';
import { FAULT_KINDS, FaultInjector, runSchedule, type ScheduleResult } from '../../sandbox/faults';

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

  it('fails tasks under the names AWS reports: a timeout is Sandbox.Timedout, a crash or out-of-memory Lambda.Unknown', async () => {
    const raised: Record<string, string> = {};
    for (const kind of FAULT_KINDS) {
      const injector = new FaultInjector([{ fn: 'SetWeight', call: 0, kind }]);
      const error = await injector.invoke('SetWeight', {}, async () => ({})).catch((e: Error) => e);
      raised[kind] = (error as Error).name;
    }
    // Step Functions developer guide, "Handle transient Lambda service exceptions"; a function timeout carries
    // Lambda's errorType Sandbox.Timedout (Lambda developer guide, "Troubleshoot invocation issues"), which Step
    // Functions reports as the error name ("Handling error conditions" tutorial).
    expect(raised).toEqual({
      throttle: 'Lambda.TooManyRequestsException',
      serviceError: 'Lambda.ServiceException',
      clientTimeout: 'Lambda.ClientExecutionTimeoutException',
      permanent: 'InjectedFailure',
      timeout: 'Sandbox.Timedout',
      outOfMemory: 'Lambda.Unknown',
      crashAfterEffect: 'Lambda.Unknown',
    });
    expect(Object.values(raised)).not.toContain('States.Timeout');
  });

  it('retries a function timeout, an out-of-memory exit and a lost response on any task, and promotes', async () => {
    const result = await runSchedule([
      { fn: 'Prepare', call: 0, kind: 'clientTimeout' },
      { fn: 'CheckReady', call: 0, kind: 'outOfMemory' },
      { fn: 'SetWeight', call: 0, kind: 'timeout' },
      { fn: 'SetWeight', call: 2, kind: 'crashAfterEffect' },
      { fn: 'Promote', call: 0, kind: 'timeout' },
      { fn: 'Notify', call: 0, kind: 'timeout' },
    ]);
    expect(result.violations).toEqual([]);
    expect(result.outcome).toBe('promoted');
    expect(result.injected).toMatchObject({
      timeout: 3,
      outOfMemory: 1,
      clientTimeout: 1,
      crashAfterEffect: 1,
    });
  });

  it('does not page when a retry fails after the promotion finished (its first attempt lost its result)', async () => {
    const result = await runSchedule([
      { fn: 'Promote', call: 2, kind: 'crashAfterEffect' },
      { fn: 'Promote', call: 3, kind: 'permanent' },
    ]);
    expect(result.violations).toEqual([]);
    expect(result.outcome).toBe('promoted');
  });

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
