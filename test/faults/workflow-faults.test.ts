import { describe, expect, it } from 'vitest';
import { runCampaign } from '../../bench/faults';
import { albTraffic } from '../../functions/core/config-route';
import { scheduleFor } from '../../sandbox/fault-schedules';
import {
  FAULT_KINDS,
  FaultInjector,
  LAMBDA_KINDS,
  ROUTE53_KINDS,
  runSchedule,
  type Schedule,
  STORE_ERRORS,
} from '../../sandbox/faults';

const schedule = (faults: Schedule['faults'], bad = false): Schedule => ({ bad, approveVia: 'cli', faults });

describe('the real workflow under injected faults', () => {
  it('keeps every invariant over 1,000 schedules of every fault kind, on a plan with bakes, an approval and an alarm', async () => {
    const result = await runCampaign(20261123, 1000);
    const broken = Object.entries(result.byKind).map(
      ([kind, b]) =>
        `${kind}: ${b.schedules} schedule(s), e.g. ${JSON.stringify(b.schedule)}: ${b.violations.join('; ')}`,
    );
    expect(broken).toEqual([]);
    expect(result.violations).toBe(0);
    // The schedules exercise both endings and really inject every kind they may.
    expect(result.outcomes.promoted).toBeGreaterThan(150);
    expect(result.outcomes.rolledBack).toBeGreaterThan(150);
    for (const kind of FAULT_KINDS) expect(result.faults[kind], kind).toBeGreaterThan(0);
  }, 1_200_000);

  it('gives the same result for the same schedules, whatever the timing', async () => {
    const seeds = Array.from({ length: 12 }, (_, i) => 777 + i);
    const run = () =>
      Promise.all(
        seeds.map(async (s) => {
          const r = await runSchedule(scheduleFor(s));
          return { outcome: r.outcome, stable: r.stable, violations: r.violations, injected: r.injected };
        }),
      );
    const first = await run();
    // The second run shares the machine with a busy loop on the event loop's turns.
    let spinning = true;
    const spin = (async () => {
      while (spinning) {
        const until = performance.now() + 3;
        while (performance.now() < until);
        await new Promise((r) => setImmediate(r));
      }
    })();
    const second = await run();
    spinning = false;
    await spin;
    expect(second).toEqual(first);
  }, 120_000);

  it('keeps every invariant behind Route 53 weighted records, with its API throttled, busy or slow to sync', async () => {
    // Route 53's own failures, and the ones that move traffic on their own (alarm, drift) or interrupt a change.
    const kinds = [...ROUTE53_KINDS, 'alarm', 'drift', 'timeout'] as const;
    const result = await runCampaign(20261131, 10, kinds, undefined, [], undefined, 'route53');
    const broken = Object.entries(result.byKind).map(
      ([kind, b]) => `${kind}: e.g. ${JSON.stringify(b.schedule)}: ${b.violations.join('; ')}`,
    );
    expect(broken).toEqual([]);
    expect(result.outcomes.stuck).toBe(0);
    expect(result.outcomes.promoted).toBeGreaterThan(0);
    expect(result.outcomes.rolledBack).toBeGreaterThan(0);
    for (const kind of ROUTE53_KINDS) expect(result.faults[kind], kind).toBeGreaterThan(0);
  }, 300_000);

  it('behind weighted records, a change PENDING past the wait and a throttled change both end INSYNC, 100% on stable', async () => {
    const result = await runSchedule({
      ...schedule(
        [
          { fn: 'SetWeight', call: 1, kind: 'route53SyncSlow', at: 0 },
          { fn: 'Rollback', call: 0, kind: 'route53Throttled', at: 3 },
          { fn: 'Rollback', call: 0, kind: 'route53PriorRequest', at: 1 },
        ],
        true,
      ),
      route: 'route53',
    });
    expect(result.violations).toEqual([]);
    expect(result.outcome).toBe('rolledBack');
    expect(result.injected).toMatchObject({
      route53SyncSlow: 1,
      route53Throttled: 1,
      route53PriorRequest: 1,
    });
  });

  it('fails invocations under the names AWS reports: a timeout is Sandbox.Timedout, a crash or out-of-memory Lambda.Unknown', async () => {
    const raised: Record<string, string> = {};
    for (const kind of LAMBDA_KINDS.filter((k) => k !== 'halfway')) {
      const injector = new FaultInjector(schedule([{ fn: 'SetWeight', call: 0, kind }]));
      const error = await injector.invoke('SetWeight', {}, async () => ({})).catch((e: Error) => e);
      raised[kind] = (error as Error).name;
    }
    // Step Functions developer guide, "Handle transient Lambda service exceptions"; a function timeout carries
    // Lambda's errorType Sandbox.Timedout (Lambda developer guide, "Troubleshoot invocation issues").
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
    // DynamoDB API reference (PutItem/UpdateItem errors), raised through the adapter as Transient.
    expect(Object.values(STORE_ERRORS)).toEqual([
      'ProvisionedThroughputExceededException',
      'ThrottlingException',
      'InternalServerError',
      'ConditionalCheckFailedException',
      'InternalServerError',
    ]);
  });

  it('retries a function timeout, an out-of-memory exit, a lost response and a half-done task on any task, and promotes', async () => {
    const result = await runSchedule(
      schedule([
        { fn: 'Prepare', call: 0, kind: 'clientTimeout' },
        { fn: 'CheckReady', call: 0, kind: 'outOfMemory' },
        { fn: 'SetWeight', call: 0, kind: 'halfway', at: 1 },
        { fn: 'Bake', call: 0, kind: 'timeout' },
        { fn: 'Analyze', call: 1, kind: 'crashAfterEffect' },
        { fn: 'RequestApproval', call: 0, kind: 'timeout' },
        { fn: 'Promote', call: 0, kind: 'timeout' },
        { fn: 'Notify', call: 0, kind: 'timeout' },
      ]),
    );
    expect(result.violations).toEqual([]);
    expect(result.outcome).toBe('promoted');
    expect(result.injected).toMatchObject({
      timeout: 4,
      outOfMemory: 1,
      clientTimeout: 1,
      crashAfterEffect: 1,
      halfway: 1,
    });
  });

  it('retries the store throttled or failing on a task, and promotes', async () => {
    const result = await runSchedule(
      schedule([
        { fn: 'SetWeight', call: 0, kind: 'storeThroughputExceeded', at: 0 },
        { fn: 'Analyze', call: 0, kind: 'storeThrottling', at: 1 },
        { fn: 'Bake', call: 1, kind: 'storeInternalError', at: 0 },
      ]),
    );
    expect(result.violations).toEqual([]);
    expect(result.outcome).toBe('promoted');
  });

  it('rolls back at an alarm arriving in the middle of a task, and pages once', async () => {
    const result = await runSchedule(schedule([{ fn: 'Analyze', call: 1, kind: 'alarmMidTask', at: 2 }]));
    expect(result.violations).toEqual([]);
    expect(result.outcome).toBe('rolledBack');
  });

  it('pages a rollback once when PagerDuty refuses more requests than the notifier retries, or Notify fails for good once', async () => {
    const pagerDutyDown = await runSchedule(
      schedule([{ fn: 'SetWeight', call: 0, kind: 'pagerDutyDown', at: 5 }], true),
    );
    expect(pagerDutyDown.violations).toEqual([]);
    expect(pagerDutyDown.outcome).toBe('rolledBack');
    const notifyFails = await runSchedule({
      bad: true,
      approveVia: 'page',
      faults: [{ fn: 'Notify', call: 0, kind: 'permanent', at: 4 }],
    });
    expect(notifyFails.violations).toEqual([]);
    expect(notifyFails.outcome).toBe('rolledBack');
  });

  it('an alarm twice while the promotion is announced, with the store down for on-alarm: the promotion never pages', async () => {
    const result = await runSchedule(
      schedule([
        { fn: 'OnAlarm', call: 0, kind: 'storeOutage', at: 4 },
        { fn: 'Notify', call: 0, kind: 'duplicateAlarm', at: 1 },
      ]),
    );
    expect(result.violations).toEqual([]);
    expect(result.outcome).toBe('promoted');
  });

  it('a push of an older image handled before the newer one may roll out; once a newer push is handled, never', async () => {
    const result = await runSchedule(
      schedule(
        [
          { fn: 'StartRollout', call: 0, kind: 'olderPush', at: 0 },
          { fn: 'Reconcile', call: 1, kind: 'olderPush', at: 5 },
        ],
        true,
      ),
    );
    expect(result.violations).toEqual([]);
    expect(result.outcome).toBe('rolledBack');
  });

  it('reconcile failing is retried as Lambda retries an asynchronous invocation, then dead-lettered and redriven', async () => {
    const result = await runSchedule(
      schedule(
        [
          { fn: 'SetWeight', call: 0, kind: 'permanent' },
          ...Array.from({ length: 6 }, (_, call) => ({
            fn: 'Rollback' as const,
            call,
            kind: 'permanent' as const,
          })),
          ...Array.from({ length: 3 }, (_, call) => ({
            fn: 'Reconcile' as const,
            call,
            kind: 'serviceError' as const,
          })),
        ],
        true,
      ),
    );
    expect(result.violations).toEqual([]);
    expect(result.outcome).toBe('rolledBack');
    // Three attempts failed (the first and Lambda's two retries): the event went to the dead-letter queue.
    expect(result.injected.serviceError).toBe(3);
  });

  it('pauses a failed analysis with 100% on stable, the canary kept and on-call paged, under faults; retried then aborted, or aborted', async () => {
    // The hold itself times out once (retried), the page meets PagerDuty refusing, the store throttles the wait.
    const retried = await runSchedule({
      ...schedule(
        [
          { fn: 'Rollback', call: 0, kind: 'timeout' },
          { fn: 'Notify', call: 0, kind: 'pagerDutyDown', at: 2 },
          { fn: 'Bake', call: 1, kind: 'storeThrottling', at: 0 },
        ],
        true,
      ),
      onFailure: 'retry',
    });
    expect(retried.violations).toEqual([]);
    expect(retried.outcome).toBe('rolledBack');
    const aborted = await runSchedule({
      ...schedule([{ fn: 'Operator', call: 0, kind: 'crashAfterEffect' }], true),
      onFailure: 'abort',
    });
    expect(aborted.violations).toEqual([]);
    expect(aborted.outcome).toBe('rolledBack');
  });

  it('resolves a retried pause’s incident after a promotion whose every notification PagerDuty refused', async () => {
    // The first analysis fails (a dependency's errors that pass): paused and paged (Notify's first call). From the
    // next call on PagerDuty refuses everything until the faults are over: the resolve at ResolvePausePage, then at
    // NotifyPromoted, the last state. Reconcile resolves it at the execution's end (dead-lettered while PagerDuty
    // refuses, redriven after).
    const result = await runSchedule({
      ...schedule([
        { fn: 'Analyze', call: 0, kind: 'metricsBad' },
        { fn: 'Notify', call: 1, kind: 'pagerDutyDown', at: 1000 },
      ]),
      onFailure: 'retry',
    });
    expect(result.violations).toEqual([]);
    expect(result.outcome).toBe('promoted');
    expect(result.injected).toMatchObject({ metricsBad: 1, pagerDutyDown: 1 });
  });

  it('reports traffic left on the canary and a lock left behind (the checks can fail)', async () => {
    const result = await runSchedule(schedule([]), {
      tamper: async (world) => {
        await world.router.setWeights(albTraffic(world.config().traffic), 50);
        await new Promise((r) => setTimeout(r, 10));
        await world.store.acquireLock('web', 'someone', new Date());
      },
    });
    expect(result.violations.join('\n')).toMatch(/traffic not 100% on stable/);
    expect(result.violations.join('\n')).toMatch(/lock still held/);
  });
});
