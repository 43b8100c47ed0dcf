import { AsyncLocalStorage } from 'node:async_hooks';
import type { Route } from '../../functions/core/rollout';
import type { MetricSource } from '../../functions/ports';
import type { World } from '../world';
import {
  ALL_FAULT_KINDS,
  CONDITIONAL_OPS,
  FAULTS,
  type Fault,
  type FaultKind,
  LAMBDA_KINDS,
  type LambdaKind,
  named,
  type Schedule,
  STORE_ERRORS,
  STORE_KINDS,
  type StoreKind,
  storeError,
} from './kinds';
import { ScriptedMetrics } from './scripted-metrics';

interface Invocation {
  fn: string;
  call: number;
  /** Store operations made so far by this invocation, and how many of them were conditional writes. */
  ops: number;
  conditionalOps?: number;
  /** The rollout the invocation works for, when its event names one. */
  rolloutId?: string;
}

/** Never settles: what a stopped function's remaining work amounts to. */
const stopped = new Promise<never>(() => undefined);

export interface AsyncFailure {
  fn: string;
  event: unknown;
  error: string;
}

/**
 * How a schedule makes invocations fail: wraps every invocation (tasks through the local Step Functions, the
 * asynchronous ones through `asyncInvoke`), the store, the router, Step Functions' API and the notification
 * receiver. FaultInjector (./injector.ts) adds the events the schedule delivers and the operator.
 */
export abstract class InvocationFaults {
  private readonly calls = new Map<string, number>();
  protected readonly context = new AsyncLocalStorage<Invocation>();
  readonly injected = Object.fromEntries(ALL_FAULT_KINDS.map((k) => [k, 0])) as Record<FaultKind, number>;
  /** Events Lambda gave up on after its retries (the on-failure destination). */
  readonly deadLetters: AsyncFailure[] = [];
  /** Work started outside the executions (async invocations, operators); settle waits for it. */
  private readonly pending = new Set<Promise<unknown>>();
  protected world: World | undefined;
  /** Invocations left in a store outage. */
  private outageLeft = 0;
  protected readonly refusing = { pagerduty: 0, sns: 0 };
  readonly violations: string[] = [];
  /** start-rollout invocations that returned (pushes handled), and whether an older image's push came after one. */
  protected handledPushes = 0;
  private listenerOwner: { rolloutId: string; canary: number; share: boolean } | undefined;
  private faultsOn = true;

  constructor(readonly schedule: Schedule) {}

  protected find(fn: string, call: number, kinds?: readonly string[]): Fault[] {
    if (!this.faultsOn) return [];
    return this.schedule.faults.filter(
      (f) => f.fn === fn && f.call === call && (!kinds || kinds.includes(f.kind)),
    );
  }

  protected count(kind: FaultKind): void {
    this.injected[kind]++;
  }

  metricsFor(world: () => World): MetricSource {
    return new ScriptedMetrics(world, (n) => {
      const f = this.find('Analyze', n, ['metricsMissing', 'metricsLate', 'metricsBad'])[0];
      if (!f) return undefined;
      this.count(f.kind);
      return f.kind === 'metricsMissing' ? 'missing' : f.kind === 'metricsLate' ? 'late' : 'bad';
    });
  }

  /** Wraps the world's store, router, Step Functions API and receiver (instance methods: the handlers share them). */
  attach(world: World): void {
    this.world = world;
    const store = world.store as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>;
    const methods = Object.getOwnPropertyNames(Object.getPrototypeOf(world.store)).filter(
      (m) => m !== 'constructor' && m !== 'heldLocks' && typeof store[m] === 'function',
    );
    for (const m of methods) {
      const original = store[m]?.bind(world.store);
      if (!original) continue;
      store[m] = async (...args: unknown[]) => {
        await this.beforeStoreOp(m);
        return original(...args);
      };
    }
    const router = world.router;
    const setWeights = router.setWeights.bind(router);
    router.setWeights = async (route, canaryPercent, options) => {
      this.checkOwner(route, canaryPercent, options?.testRoute === true);
      return setWeights(route, canaryPercent, options);
    };
    const sfn = world.executions;
    for (const m of ['sendTaskSuccess', 'sendTaskFailure'] as const) {
      const original = sfn[m].bind(sfn) as (...a: unknown[]) => Promise<boolean>;
      (sfn as unknown as Record<string, unknown>)[m] = async (...args: unknown[]) => {
        this.apiFault('sendTaskFails', m === 'sendTaskSuccess' ? 'SendTaskSuccess' : 'SendTaskFailure');
        return original(...args);
      };
    }
    const start = sfn.start.bind(sfn);
    sfn.start = async (name, input) => {
      this.apiFault('startExecutionFails', 'StartExecution');
      return start(name, input);
    };
    world.receiver.refuse = (channel) => {
      if (this.refusing[channel] <= 0) return undefined;
      this.refusing[channel]--;
      // PagerDuty Events API v2: 5xx and 429 are to be retried; an SNS HTTP endpoint answering 5xx is redelivered.
      return channel === 'pagerduty' ? 503 : 500;
    };
  }

  /** Step Functions' API failing for calls made during a faulted invocation. */
  private apiFault(kind: 'sendTaskFails' | 'startExecutionFails', api: string): void {
    const inv = this.context.getStore();
    if (!inv) return;
    const f = this.find(inv.fn, inv.call, [kind])[0];
    if (!f) return;
    this.count(kind);
    const name = (f.at ?? 0) % 2 === 0 ? 'ThrottlingException' : 'ServiceUnavailable';
    throw named(name, `${api}: ${name} (injected)`);
  }

  /**
   * No two rollouts weight one listener: a rollout sets a canary share only once the previous one's is gone. Test
   * traffic (a 0% step with the header rule on) is a share of the listener too.
   */
  private checkOwner(route: Route, canaryPercent: number, testRoute: boolean): void {
    const inv = this.context.getStore();
    const rolloutId = inv?.rolloutId;
    const share = canaryPercent > 0 || testRoute;
    if (!rolloutId || !inv || ['OnAlarm', 'Reconcile', 'Drift'].includes(inv.fn)) {
      if (!share) this.listenerOwner = undefined;
      return;
    }
    const owner = this.listenerOwner;
    if (share && owner && owner.rolloutId !== rolloutId && owner.share)
      this.violations.push(
        `two executions weight one listener: ${rolloutId} set ${canaryPercent}%${testRoute ? ' (test traffic)' : ''} while ${owner.rolloutId}'s canary had ${owner.canary}% on ${route.kind === 'route53' ? route.recordName : route.listenerArn}`,
      );
    this.listenerOwner =
      share || owner?.rolloutId === rolloutId ? { rolloutId, canary: canaryPercent, share } : owner;
  }

  private async beforeStoreOp(op: string): Promise<void> {
    const inv = this.context.getStore();
    if (!inv) return;
    const n = inv.ops++;
    // A racing writer can only make a conditional write fail: `at` counts those for storeConditionRaced.
    let conditional = -1;
    if (CONDITIONAL_OPS.has(op)) {
      conditional = inv.conditionalOps ?? 0;
      inv.conditionalOps = conditional + 1;
    }
    if (this.outageLeft > 0 && this.faultsOn) throw storeError(STORE_ERRORS.storeOutage, op);
    for (const f of this.find(inv.fn, inv.call)) {
      if ((f.at ?? 0) !== (f.kind === 'storeConditionRaced' ? conditional : n)) continue;
      if (f.kind === 'halfway') {
        this.count('halfway');
        this.halted.add(inv);
        await stopped;
      }
      if (f.kind === 'alarmMidTask') {
        this.count('alarmMidTask');
        await this.alarm(inv.rolloutId);
      }
      if ((STORE_KINDS as readonly string[]).includes(f.kind) && f.kind !== 'storeOutage') {
        this.count(f.kind);
        throw storeError(STORE_ERRORS[f.kind as StoreKind], op);
      }
    }
  }

  private readonly halted = new Set<Invocation>();

  /** The rollout an invocation's event is about. */
  protected static rolloutOf(event: unknown): string | undefined {
    const e = event as { rollout?: { rolloutId?: string }; detail?: { name?: string } } | null;
    return e?.rollout?.rolloutId ?? e?.detail?.name;
  }

  /**
   * One invocation of a function: events the schedule delivers during it, then the function (or not), then the
   * fault it ends with, if any. Used by the local Step Functions for tasks and by the world for async invocations.
   */
  readonly invoke = async (fn: string, event: unknown, call: () => Promise<unknown>): Promise<unknown> => {
    if (fn === 'Reconcile' || fn === 'OnAlarm') return this.asyncInvoke(fn, event, call);
    return this.once(fn, event, call);
  };

  protected async once(fn: string, event: unknown, call: () => Promise<unknown>): Promise<unknown> {
    const n = this.calls.get(fn) ?? 0;
    this.calls.set(fn, n + 1);
    const rolloutId = InvocationFaults.rolloutOf(event);
    const inv: Invocation = { fn, call: n, ops: 0, ...(rolloutId ? { rolloutId } : {}) };
    const faults = this.find(fn, n);
    if (faults.some((f) => f.kind === 'storeOutage')) {
      this.count('storeOutage');
      this.outageLeft = Math.max(
        this.outageLeft,
        1 + (faults.find((f) => f.kind === 'storeOutage')?.at ?? 0),
      );
    }
    for (const f of faults) await this.deliverDuring(f, rolloutId);
    const lambda = faults.find((f) => (LAMBDA_KINDS as readonly string[]).includes(f.kind));
    try {
      if (lambda) {
        const { error, ran, what } = FAULTS[lambda.kind as LambdaKind];
        if (ran === 'halfway') {
          // Stopped at its store operation `at`, or, if it makes fewer, after it ran to the end.
          let finished = false;
          const run = this.context.run(inv, call).then(
            () => {
              finished = true;
            },
            () => {
              finished = true;
            },
          );
          await Promise.race([run, this.until(() => finished || this.halted.has(inv))]);
          if (!this.halted.has(inv)) this.count('halfway');
        } else {
          this.count(lambda.kind);
          if (ran) await this.context.run(inv, call).catch(() => undefined);
        }
        throw named(error, `${fn}: ${what} (injected)`);
      }
      const result = await this.context.run(inv, call);
      if (fn === 'StartRollout') this.handledPushes++;
      this.afterSuccess(fn, n, event);
      return result;
    } finally {
      if (this.outageLeft > 0) this.outageLeft--;
    }
  }

  private async until(condition: () => boolean): Promise<void> {
    while (!condition()) await new Promise((r) => setImmediate(r));
  }

  /**
   * An asynchronous invocation as Lambda runs one: on a function error, two more attempts (a minute, then two,
   * compressed here), then the on-failure destination.
   */
  protected asyncInvoke(fn: string, event: unknown, call: () => Promise<unknown>): Promise<unknown> {
    const run = (async () => {
      let last: unknown;
      for (let attempt = 0; attempt < 3; attempt++) {
        try {
          return await this.once(fn, event, call);
        } catch (error) {
          last = error;
          await new Promise((r) => setTimeout(r, 1));
        }
      }
      this.deadLetters.push({ fn, event, error: String(last) });
      return undefined;
    })();
    this.track(run);
    return run;
  }

  protected track(p: Promise<unknown>): void {
    const tracked = p.catch(() => undefined).finally(() => this.pending.delete(tracked));
    this.pending.add(tracked);
  }

  /** Until every execution has ended and nothing started outside them is left (or the deadline passes). */
  async settle(deadlineMs: number): Promise<boolean> {
    const world = this.world;
    if (!world) return true;
    const started = performance.now();
    for (;;) {
      const running = world.executions.list().filter((e) => e.status === 'RUNNING');
      if (running.length === 0 && this.pending.size === 0) return true;
      if (performance.now() - started > deadlineMs) return false;
      await Promise.race([
        Promise.all([...running.map((e) => e.done), ...this.pending]),
        new Promise((r) => setTimeout(r, 50)),
      ]);
    }
  }

  /** The faults are over: the store, the APIs and the receiver answer again, and the dead letters are redriven. */
  async recover(deadlineMs: number): Promise<boolean> {
    this.faultsOn = false;
    this.outageLeft = 0;
    this.refusing.pagerduty = 0;
    this.refusing.sns = 0;
    const letters = this.deadLetters.splice(0);
    const world = this.world;
    if (!world) return true;
    for (const l of letters) {
      const handler = world.handlers[l.fn as 'Reconcile'] as (e: unknown, c: never) => Promise<unknown>;
      await this.asyncInvoke(l.fn, l.event, () =>
        handler(l.event, { functionName: `canary-${l.fn}` } as never),
      );
    }
    return this.settle(deadlineMs);
  }

  // The schedule's events and the operator (FaultInjector).
  protected abstract deliverDuring(f: Fault, rolloutId: string | undefined): Promise<void>;
  protected abstract afterSuccess(fn: string, n: number, event: unknown): void;
  abstract alarm(rolloutId: string | undefined): Promise<unknown>;
}
