/**
 * Fault injection over the real workflow: a schedule makes chosen invocations fail the way AWS fails them, under
 * the names AWS reports, delivers events twice, late, out of order or concurrently, and lets the world misbehave
 * (the store, the listener, metrics, notifications); the controller's invariants (checkInvariants) are checked
 * once everything has settled.
 *
 * The names are AWS's:
 * - Lambda (Step Functions developer guide, "Handle transient Lambda service exceptions", and Lambda's Invoke API
 *   errors): an unhandled error or an out-of-memory exit reaches the state machine as `Lambda.Unknown`, a function
 *   timeout as `Sandbox.Timedout` (its payload's errorType, Lambda developer guide, "Troubleshoot invocation
 *   issues"), never as `States.Timeout` (that one is the Task state's own TimeoutSeconds); a throttled
 *   invocation as `Lambda.TooManyRequestsException`; a Lambda service error as `Lambda.ServiceException`; an invoke
 *   whose response never came back as `Lambda.ClientExecutionTimeoutException`. A function's own (handled) error
 *   keeps its errorType as the name.
 * - DynamoDB (API reference, PutItem / UpdateItem / GetItem errors, and "Error handling with DynamoDB"):
 *   `ProvisionedThroughputExceededException`, `ThrottlingException`, `InternalServerError`,
 *   `ConditionalCheckFailedException`. The store port sees them as the DynamoDB adapter raises them once its own
 *   retries are spent: a `Transient` error naming the DynamoDB error (functions/adapters/aws/sdk.ts).
 * - Step Functions (API reference, SendTaskSuccess / SendTaskFailure / StartExecution, and Common Errors):
 *   `ThrottlingException`, `ServiceUnavailable`; a closed wait answers `TaskTimedOut` (the local engine does).
 * - Asynchronous invocations (Lambda developer guide, "How Lambda handles errors and retries with asynchronous
 *   invocation"): EventBridge invokes start-rollout, on-alarm and reconcile asynchronously; a function error is
 *   retried twice, then the event goes to the on-failure destination (the stack's dead-letter queue, infra:
 *   `configureAsyncInvoke({ retryAttempts: 2, onFailure })`). Here the queue is redriven once the faults are over,
 *   as the operator the queue's alarm pages would.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { OperationError } from '../cli/operations';
import type { MetricWindow, PeriodStats } from '../functions/core/judge';
import type { RolloutRecord, Route } from '../functions/core/rollout';
import type { MetricSource } from '../functions/ports';
import { alarmStateChangeEvent, ecrPushEvent } from './aws-events';
import { DEMO_ALARM, DEMO_CANARY_TG, demoService, HEALTHY, SERVER_ERRORS } from './demo';
import { World } from './world';

/** Lambda invocation faults (the first seven as before; `halfway` stops the function mid-way). */
export const LAMBDA_KINDS = [
  'throttle',
  'serviceError',
  'clientTimeout',
  'permanent',
  'timeout',
  'outOfMemory',
  'crashAfterEffect',
  'halfway',
] as const;
/** The store failing at one operation of an invocation, or for a whole stretch of invocations (an outage). */
export const STORE_KINDS = [
  'storeThroughputExceeded',
  'storeThrottling',
  'storeInternalError',
  'storeConditionRaced',
  'storeOutage',
] as const;
/** Events delivered while an invocation runs (before its body, or at one of its store operations). */
const EVENT_KINDS = [
  'duplicatePush',
  'concurrentPush',
  'newerPush',
  'olderPush',
  'alarm',
  'alarmMidTask',
  'duplicateAlarm',
  'drift',
  'reject',
] as const;
/** The rest of the world: Step Functions' API, notifications, metrics, and what arrives after the end. */
const WORLD_KINDS = [
  'sendTaskFails',
  'startExecutionFails',
  'pagerDutyDown',
  'snsDown',
  'metricsMissing',
  'metricsLate',
  'lateRedelivery',
  'lateAlarm',
] as const;
export const FAULT_KINDS = [...LAMBDA_KINDS, ...STORE_KINDS, ...EVENT_KINDS, ...WORLD_KINDS] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];
type LambdaKind = (typeof LAMBDA_KINDS)[number];
type StoreKind = (typeof STORE_KINDS)[number];

/**
 * What each Lambda kind raises, and whether the function ran first (its side effects applied, its result lost: the
 * worst case for a retry, which must then be idempotent). `halfway` runs up to one of its store operations and
 * stops there: nothing after it happens, as when Lambda stops a function at its timeout.
 */
const FAULTS: Record<LambdaKind, { error: string; ran: boolean | 'halfway'; what: string }> = {
  throttle: { error: 'Lambda.TooManyRequestsException', ran: false, what: 'Lambda throttled the invocation' },
  serviceError: { error: 'Lambda.ServiceException', ran: false, what: 'Lambda service error' },
  clientTimeout: {
    error: 'Lambda.ClientExecutionTimeoutException',
    ran: true,
    what: 'the invocation ran but its response never came back',
  },
  permanent: { error: 'InjectedFailure', ran: false, what: 'failed for good' },
  timeout: { error: 'Sandbox.Timedout', ran: true, what: 'the function timed out after its side effects' },
  outOfMemory: {
    error: 'Lambda.Unknown',
    ran: false,
    what: 'the function ran out of memory before any effect',
  },
  crashAfterEffect: {
    error: 'Lambda.Unknown',
    ran: true,
    what: 'the function crashed after its side effect',
  },
  halfway: {
    error: 'Sandbox.Timedout',
    ran: 'halfway',
    what: 'the function timed out half-way, part of its side effects applied',
  },
};

/** The DynamoDB error each store kind stands for. */
export const STORE_ERRORS: Record<StoreKind, string> = {
  storeThroughputExceeded: 'ProvisionedThroughputExceededException',
  storeThrottling: 'ThrottlingException',
  storeInternalError: 'InternalServerError',
  storeConditionRaced: 'ConditionalCheckFailedException',
  storeOutage: 'InternalServerError',
};

/** The store's conditional writes (a racing writer makes their condition fail). */
const CONDITIONAL_OPS = new Set(['acquireLock', 'setPending', 'releaseLock', 'setWait', 'markAborted']);

/** The functions the state machine calls (statemachine/canary.asl.json). */
export const TASK_FUNCTIONS = [
  'Prepare',
  'CheckReady',
  'SetWeight',
  'Bake',
  'Analyze',
  'RequestApproval',
  'Promote',
  'Rollback',
  'Notify',
] as const;
/** The entry points: EventBridge's asynchronous invocations, and an operator (CLI or approval page) acting. */
export const ENTRY_POINTS = ['StartRollout', 'OnAlarm', 'Reconcile', 'Operator'] as const;
const FAULTABLE_FUNCTIONS = [...TASK_FUNCTIONS, ...ENTRY_POINTS] as const;
export type FaultableFunction = (typeof FAULTABLE_FUNCTIONS)[number];

export interface Fault {
  fn: FaultableFunction;
  /** The nth invocation of that function in the world (0-based; operators count their attempts). */
  call: number;
  kind: FaultKind;
  /** Which store operation of the invocation (halfway, store kinds, alarmMidTask), or a count (outage span). */
  at?: number;
}

export interface Schedule {
  /** The pushed image v2 serves 5% server errors (the analysis must roll it back). */
  bad: boolean;
  /** How the operator answers approval requests. */
  approveVia: 'cli' | 'page';
  faults: Fault[];
}

function named(name: string, message: string): Error {
  const e = new Error(message);
  e.name = name;
  return e;
}

/** What the DynamoDB adapter raises when the table keeps failing with `awsName` (functions/adapters/aws/sdk.ts). */
function storeError(awsName: string, op: string): Error {
  const cause = named(awsName, `${awsName} (injected)`);
  const e = new Error(
    `dynamodb:${op} on table canary-rollouts failed after 3 attempt(s): ${awsName} (injected)`,
    {
      cause,
    },
  );
  e.name = 'Transient';
  return e;
}

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

/** Metric periods per analysis: enough requests for a verdict either way. */
const PERIODS = 5;

/**
 * The canary's and the stable version's metrics as a function of which image the canary runs and how many analyses
 * came before, never of timing: the same schedule gets the same verdicts on a busy machine. Analyses the schedule
 * names see no data (missing) or a fifth of it (late: fewer requests than minRequests).
 */
class ScriptedMetrics implements MetricSource {
  fetches = 0;
  constructor(
    private readonly world: () => World,
    private readonly missing: (n: number) => 'missing' | 'late' | undefined,
  ) {}

  async fetch(query: { route: Route; from: Date; periodSeconds: number }): Promise<MetricWindow> {
    const n = this.fetches++;
    const lack = this.missing(n);
    const canary = this.world().backends.get(query.route.canaryTargetGroupArn)?.version;
    const bad = canary?.profile === SERVER_ERRORS;
    const share = lack === 'missing' ? 0 : lack === 'late' ? 0.2 : 1;
    const periods = (requests: number, errorRate: number): PeriodStats[] =>
      Array.from({ length: PERIODS }, (_, i) => {
        const r = Math.round(requests * share);
        return {
          start: new Date(query.from.getTime() + i * query.periodSeconds * 1000).toISOString(),
          requests: r,
          errors: Math.round(r * errorRate),
          p99Ms: r > 0 ? 80 : null,
        };
      });
    return {
      from: query.from.toISOString(),
      to: new Date(query.from.getTime() + PERIODS * query.periodSeconds * 1000).toISOString(),
      periodSeconds: query.periodSeconds,
      canary: periods(40, bad ? 0.2 : 0),
      baseline: periods(4000, 0.001),
    };
  }

  async baselineThresholds(): Promise<undefined> {
    return undefined;
  }
}

export interface AsyncFailure {
  fn: string;
  event: unknown;
  error: string;
}

/**
 * Carries out a schedule on one world: wraps every invocation (tasks through the local Step Functions, the
 * asynchronous ones through `asyncInvoke`), the store, the router, Step Functions' API and the notification
 * receiver, and drives the operator (ends each bake, answers each approval) as a function of the schedule only.
 */
export class FaultInjector {
  private readonly calls = new Map<string, number>();
  private readonly context = new AsyncLocalStorage<Invocation>();
  readonly injected = Object.fromEntries(FAULT_KINDS.map((k) => [k, 0])) as Record<FaultKind, number>;
  /** Events Lambda gave up on after its retries (the on-failure destination). */
  readonly deadLetters: AsyncFailure[] = [];
  /** Work started outside the executions (async invocations, operators); settle waits for it. */
  private readonly pending = new Set<Promise<unknown>>();
  private world: World | undefined;
  /** Invocations left in a store outage. */
  private outageLeft = 0;
  private readonly refusing = { pagerduty: 0, sns: 0 };
  /** Rollouts an injected alarm, drift or rejection could legitimately stop (their image may be quarantined). */
  readonly blamed = new Set<string>();
  readonly rejected = new Set<string>();
  /** The events each push delivered, by tag, with their time (newest wins). */
  readonly pushes: { tag: string; id: string; time: string }[] = [];
  readonly violations: string[] = [];
  /** start-rollout invocations that returned (pushes handled), and whether an older image's push came after one. */
  private handledPushes = 0;
  /** Executions started before the first late push of an older image: a v0 rollout among the later ones is wrong. */
  lateOlderPushAfter: number | undefined;
  private listenerOwner: { rolloutId: string; canary: number } | undefined;
  private faultsOn = true;

  constructor(readonly schedule: Schedule) {}

  private find(fn: string, call: number, kinds?: readonly string[]): Fault[] {
    if (!this.faultsOn) return [];
    return this.schedule.faults.filter(
      (f) => f.fn === fn && f.call === call && (!kinds || kinds.includes(f.kind)),
    );
  }

  private count(kind: FaultKind): void {
    this.injected[kind]++;
  }

  metricsFor(world: () => World): MetricSource {
    return new ScriptedMetrics(world, (n) => {
      const f = this.find('Analyze', n, ['metricsMissing', 'metricsLate'])[0];
      if (!f) return undefined;
      this.count(f.kind);
      return f.kind === 'metricsMissing' ? 'missing' : 'late';
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
    router.setWeights = async (route, canaryPercent) => {
      this.checkOwner(route, canaryPercent);
      return setWeights(route, canaryPercent);
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

  /** No two rollouts weight one listener: a rollout sets a canary share only once the previous one's is gone. */
  private checkOwner(route: Route, canaryPercent: number): void {
    const inv = this.context.getStore();
    const rolloutId = inv?.rolloutId;
    if (!rolloutId || !inv || ['OnAlarm', 'Reconcile', 'Drift'].includes(inv.fn)) {
      if (canaryPercent === 0) this.listenerOwner = undefined;
      return;
    }
    const owner = this.listenerOwner;
    if (canaryPercent > 0 && owner && owner.rolloutId !== rolloutId && owner.canary > 0)
      this.violations.push(
        `two executions weight one listener: ${rolloutId} set ${canaryPercent}% while ${owner.rolloutId}'s canary had ${owner.canary}% on ${route.listenerArn}`,
      );
    this.listenerOwner =
      canaryPercent > 0 || owner?.rolloutId === rolloutId ? { rolloutId, canary: canaryPercent } : owner;
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
  private static rolloutOf(event: unknown): string | undefined {
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

  private async once(fn: string, event: unknown, call: () => Promise<unknown>): Promise<unknown> {
    const n = this.calls.get(fn) ?? 0;
    this.calls.set(fn, n + 1);
    const rolloutId = FaultInjector.rolloutOf(event);
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
  private asyncInvoke(fn: string, event: unknown, call: () => Promise<unknown>): Promise<unknown> {
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

  private track(p: Promise<unknown>): void {
    const tracked = p.catch(() => undefined).finally(() => this.pending.delete(tracked));
    this.pending.add(tracked);
  }

  /** Events the schedule delivers while the invocation runs, before its body. */
  private async deliverDuring(f: Fault, rolloutId: string | undefined): Promise<void> {
    const world = this.world;
    if (!world) return;
    switch (f.kind) {
      case 'duplicatePush': {
        this.count(f.kind);
        const first = this.pushes[0];
        if (first) await this.push(first.tag, first.id, first.time);
        return;
      }
      case 'concurrentPush': {
        this.count(f.kind);
        const first = this.pushes[0];
        if (first)
          await Promise.all([
            this.push(first.tag, first.id, first.time),
            this.push(first.tag, first.id, first.time),
          ]);
        return;
      }
      case 'newerPush':
        this.count(f.kind);
        if (!this.pushes.some((p) => p.tag === 'v3')) await this.push('v3');
        return;
      case 'olderPush': {
        this.count(f.kind);
        // An image pushed before v2, whose event arrives only now.
        const first = this.pushes[0];
        const time = new Date(
          Date.parse(first?.time ?? world.clock.now().toISOString()) - 60_000,
        ).toISOString();
        // Late only if a newer push was handled already; before that, the controller has not seen anything newer.
        if (this.handledPushes > 0) this.lateOlderPushAfter ??= world.executions.list().length;
        await this.push('v0', crypto.randomUUID(), time);
        return;
      }
      case 'alarm':
        this.count(f.kind);
        await this.alarm(rolloutId);
        return;
      case 'duplicateAlarm':
        this.count(f.kind);
        await Promise.all([this.alarm(rolloutId), this.alarm(rolloutId)]);
        return;
      case 'drift': {
        this.count(f.kind);
        if (rolloutId) this.blamed.add(rolloutId);
        const t = world.config().traffic;
        // Someone (a person, infrastructure as code reapplying its template) puts the listener back on stable.
        await this.context.run({ fn: 'Drift', call: 0, ops: 0 }, () =>
          world.router.setWeights(
            {
              listenerArn: t.listenerArn,
              stableTargetGroupArn: t.stableTargetGroupArn,
              canaryTargetGroupArn: t.canaryTargetGroupArn,
            },
            0,
          ),
        );
        await new Promise((r) => setTimeout(r, 3));
        return;
      }
      case 'pagerDutyDown':
        this.count(f.kind);
        this.refusing.pagerduty += 1 + (f.at ?? 0);
        return;
      case 'snsDown':
        this.count(f.kind);
        this.refusing.sns += 1 + (f.at ?? 0);
        return;
      default:
        return;
    }
  }

  /** What an operator does once a wait is stored: ends the bake early, or answers the approval. */
  private afterSuccess(fn: string, n: number, event: unknown): void {
    const rolloutId = FaultInjector.rolloutOf(event);
    if (fn === 'Bake') this.operate(rolloutId, 'bake');
    if (fn === 'RequestApproval') {
      const reject = this.find(fn, n, ['reject'])[0];
      if (reject) {
        this.count('reject');
        if (rolloutId) {
          this.rejected.add(rolloutId);
          this.blamed.add(rolloutId);
        }
      }
      this.operate(rolloutId, reject ? 'reject' : 'approve');
    }
  }

  private operate(rolloutId: string | undefined, action: 'bake' | 'approve' | 'reject'): void {
    const world = this.world;
    if (!world || !rolloutId) return;
    const run = (async () => {
      // Each attempt is an invocation like any other (the CLI's process, or the approval page's Lambda behind API
      // Gateway): it may fail before or after its effect, or meet the store failing; the operator tries again.
      for (let attempt = 0; attempt < 10; attempt++) {
        const outcome = await this.once('Operator', { rollout: { rolloutId } }, () =>
          this.act(world, rolloutId, action),
        ).catch((e: unknown) => (e instanceof OperationError && e.code !== 'failed' ? 'over' : 'retry'));
        if (outcome !== 'retry') return;
        await new Promise((r) => setTimeout(r, 2));
      }
    })();
    this.track(run);
  }

  /** One attempt: 'done', 'over' (the wait is no longer this rollout's), or throws to be retried. */
  private async act(world: World, rolloutId: string, action: 'bake' | 'approve' | 'reject'): Promise<string> {
    const record = await world.store.getRollout(rolloutId);
    if (record?.status !== 'running' || !record.wait) return 'over';
    if (action === 'bake') {
      if (record.wait.kind !== 'bake') return 'over';
      await world.operations.promote(record.service);
      return 'done';
    }
    if (record.wait.kind !== 'approval') return 'over';
    if (this.schedule.approveVia === 'page') {
      const link = world.approvalLinks.get(rolloutId);
      if (!link) return 'over';
      const url = new URL(link);
      const res = await fetch(`${url.origin}/approve`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          t: url.searchParams.get('t') ?? '',
          decision: action,
          reason: 'fault campaign',
        }).toString(),
      });
      if (res.status >= 500) throw new Error(`the approval page answered ${res.status}`);
      return 'done';
    }
    if (action === 'approve') await world.operations.approve(record.service);
    else await world.operations.reject(record.service, 'rejected by the fault campaign');
    return 'done';
  }

  /** A push through start-rollout, delivered as EventBridge does (asynchronously, retried, then dead-lettered). */
  push(tag: string, id: string = crypto.randomUUID(), time?: string): Promise<unknown> {
    const world = this.world;
    if (!world) throw new Error('attach the injector to a world first');
    const image = world.imageByTag(tag);
    const config = world.config();
    const at = time ?? world.clock.now().toISOString();
    if (!this.pushes.some((p) => p.id === id)) this.pushes.push({ tag, id, time: at });
    const event = ecrPushEvent({ id, time: at, repository: config.repository, digest: image.digest, tag });
    return this.asyncInvoke('StartRollout', event, () =>
      world.handlers.StartRollout(event, { functionName: 'canary-StartRollout' } as never),
    );
  }

  /** The gating alarm goes into ALARM: the event EventBridge delivers to on-alarm. */
  async alarm(rolloutId: string | undefined): Promise<unknown> {
    const world = this.world;
    if (!world) throw new Error('attach the injector to a world first');
    // Every rollout the alarm gates may be stopped by it (and its image quarantined, by design).
    const active = await this.context.exit(() => world.store.listActive());
    for (const r of active) this.blamed.add(r.rolloutId);
    if (rolloutId) this.blamed.add(rolloutId);
    const now = world.clock.now().toISOString();
    const event = alarmStateChangeEvent({
      id: crypto.randomUUID(),
      time: now,
      alarmName: DEMO_ALARM,
      value: 'ALARM',
      reason: 'Threshold Crossed (injected)',
      previous: 'OK',
    });
    return this.asyncInvoke('OnAlarm', event, () =>
      world.handlers.OnAlarm(event, { functionName: 'canary-OnAlarm' } as never),
    );
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

  /** Deliveries after everything ended: a redelivered push, a late alarm. */
  async late(): Promise<void> {
    const late = this.schedule.faults.filter((f) => f.kind === 'lateRedelivery' || f.kind === 'lateAlarm');
    for (const f of late) {
      this.count(f.kind);
      if (f.kind === 'lateAlarm') await this.alarm(undefined);
      else for (const p of [...this.pushes]) await this.push(p.tag, p.id, p.time);
    }
  }
}

export type Outcome = 'promoted' | 'rolledBack' | 'stuck';

export interface ScheduleResult {
  outcome: Outcome;
  /** The image on stable at the end. */
  stable: string | undefined;
  violations: string[];
  injected: Record<FaultKind, number>;
  deadLetters: number;
}

/** Kinds a correct controller rides out without rolling back: the newest healthy image must end on stable. */
const BENIGN: ReadonlySet<string> = new Set([
  'throttle',
  'serviceError',
  'clientTimeout',
  'timeout',
  'outOfMemory',
  'crashAfterEffect',
  'halfway',
  'storeThroughputExceeded',
  'storeThrottling',
  'storeInternalError',
  'storeConditionRaced',
  'duplicatePush',
  'concurrentPush',
  'newerPush',
  'olderPush',
  'pagerDutyDown',
  'snsDown',
  'metricsMissing',
  'metricsLate',
  'lateRedelivery',
  'lateAlarm',
]);

function isBenign(schedule: Schedule): boolean {
  return schedule.faults.every((f) => BENIGN.has(f.kind));
}

/**
 * One rollout of v2 (healthy or bad) over v1 under a schedule: a plan with three steps, a bake at each (ended by
 * the operator as soon as the bake's wait is stored, so no verdict waits on a timer), an approval at the second
 * step, the gating alarm, scripted metrics. The state machine, every task, start-rollout, on-alarm, reconcile,
 * the CLI's operations and the approval page are the real ones.
 */
export async function runSchedule(
  schedule: Schedule,
  options: {
    /** Change the world before the checks (to show the checks can fail). */
    tamper?: (world: World) => Promise<void>;
    /**
     * Real ms a schedule may take to settle before it counts as stuck: generous, since a settling schedule finishes
     * in well under a second and only a stuck one waits it out, while a machine busy with other work (25 schedules
     * run at once) can stretch a healthy one many times over.
     */
    deadlineMs?: number;
  } = {},
): Promise<ScheduleResult> {
  const injector = new FaultInjector(schedule);
  let world: World | undefined;
  const config = demoService({
    steps: [
      { weight: 10, bakeSeconds: 3600 },
      { weight: 50, bakeSeconds: 3600, approval: true },
      { weight: 100, bakeSeconds: 3600 },
    ],
    traffic: { ...demoService().traffic, deregistrationDelaySeconds: 0 },
    analysis: { alarms: [DEMO_ALARM], minRequests: 100, maxExtensions: 2 },
    readiness: { timeoutSeconds: 60, pollSeconds: 1 },
    approvals: { timeoutSeconds: 86_400, onTimeout: 'rollback' },
  });
  world = new World({
    scale: 60,
    rps: 0,
    traffic: 'synthetic',
    services: [config],
    stable: { tag: 'v1', profile: HEALTHY },
    images: [
      { tag: 'v0', profile: HEALTHY },
      { tag: 'v2', profile: schedule.bad ? SERVER_ERRORS : HEALTHY },
      { tag: 'v3', profile: HEALTHY },
    ],
    // The gating alarm exists (Analyze reads its state) but only the schedule sends its ALARM events.
    alarms: [
      {
        name: DEMO_ALARM,
        targetGroupArn: DEMO_CANARY_TG,
        threshold: 2,
        periodSeconds: 60,
        evaluationPeriods: 1,
        minRequests: 1,
      },
    ],
    startSeconds: 0,
    retryIntervalMs: 1,
    propagationMs: 1,
    invoke: injector.invoke,
    metrics: injector.metricsFor(() => world as World),
  });
  injector.attach(world);
  await world.start();
  const deadline = options.deadlineMs ?? 120_000;
  try {
    await injector.push('v2');
    const settled = (await injector.settle(deadline)) && (await injector.recover(deadline));
    await injector.late();
    const after = await injector.settle(deadline);
    await new Promise((r) => setTimeout(r, 5));
    await options.tamper?.(world);
    const violations = [...injector.violations, ...(await checkInvariants(world, injector))];
    if (!settled || !after) violations.push('did not settle: an execution or an operation never ended');
    const t = world.config().traffic;
    const stable = world.backends.get(t.stableTargetGroupArn)?.version.tag;
    const outcome: Outcome = violations.some((v) =>
      /^(did not settle|an execution is still running|lock still held|rollout .* ended)/.test(v),
    )
      ? 'stuck'
      : stable === 'v1'
        ? 'rolledBack'
        : 'promoted';
    return {
      outcome,
      stable,
      violations,
      injected: injector.injected,
      deadLetters: injector.deadLetters.length,
    };
  } finally {
    await world.stop();
  }
}

/**
 * The controller's invariants, as checks on a settled world: traffic 100% on stable, nothing scaled down with
 * weight, nothing left running or locked, one rollout per image, failures paged and promotions not.
 */
export async function checkInvariants(world: World, injector: FaultInjector): Promise<string[]> {
  const v: string[] = [...world.violations.map((x) => `scaled down with weight: ${x}`)];
  if (world.executions.list().some((e) => e.status === 'RUNNING')) v.push('an execution is still running');
  const locks = world.store.heldLocks();
  // What holds the lock, not when (the time differs from run to run).
  if (locks.length > 0)
    v.push(
      `lock still held: ${locks.map((l) => `${l.service} by ${l.rolloutId}${l.pending ? ` (pending ${l.pending.rolloutId})` : ''}`).join(', ')}`,
    );
  if (injector.deadLetters.length > 0)
    v.push(`dead letters left after a redrive: ${injector.deadLetters.map((d) => d.fn).join(', ')}`);
  const t = world.config().traffic;
  const configured = world.lb.configuredState(t.listenerArn);
  const applied = world.lb.appliedState(t.listenerArn);
  if (JSON.stringify(configured?.weights) !== JSON.stringify(applied?.weights)) v.push('weights not applied');
  const stableWeight = applied?.weights[t.stableTargetGroupArn] ?? 0;
  const canaryWeight = applied?.weights[t.canaryTargetGroupArn] ?? 0;
  if (!(stableWeight > 0 && canaryWeight === 0))
    v.push(`traffic not 100% on stable: ${JSON.stringify(applied?.weights)}`);
  if (world.backends.get(t.canaryTargetGroupArn)) v.push('canary still running');
  const serving = world.backends.get(t.stableTargetGroupArn)?.version.tag;

  const records = (await world.store.listByService(world.config().service, 100)).filter(
    Boolean,
  ) as RolloutRecord[];
  for (const r of records)
    if (r.status !== 'promoted' && r.status !== 'rolledBack')
      v.push(`rollout ${r.rolloutId} ended ${r.status}`);
  const promoted = records.filter((r) => r.status === 'promoted');
  const last = [...promoted].sort((a, b) => (a.outcome?.at ?? '').localeCompare(b.outcome?.at ?? '')).at(-1);
  const expectStable = last?.image.tag ?? 'v1';
  if (serving !== expectStable)
    v.push(`stable runs ${serving} but the last promoted rollout is ${expectStable}`);

  // The newest pushed image (event time) or the original stable; never an older or superseded image.
  const newest = [...injector.pushes].sort((a, b) => a.time.localeCompare(b.time)).at(-1)?.tag;
  if (serving !== 'v1' && serving !== newest)
    v.push(`stable runs ${serving}, not the newest pushed image ${newest}`);
  const healthy = (tag: string | undefined) =>
    tag !== undefined && world.imageByTag(tag).profile !== SERVER_ERRORS;
  if (isBenign(injector.schedule) && healthy(newest) && serving !== newest)
    v.push(
      `the newest healthy image ${newest} did not end on stable (${serving}) under faults it should ride out`,
    );

  // One event, at most one rollout: each image rolled out at most once (no event restarts it).
  const perImage = new Map<string, number>();
  for (const e of world.executions.list()) {
    const input = JSON.parse(e.input) as { rollout: { image: { tag?: string } } };
    const tag = input.rollout.image.tag ?? '?';
    perImage.set(tag, (perImage.get(tag) ?? 0) + 1);
  }
  for (const [tag, n] of perImage)
    if (n > 1) v.push(`image ${tag} rolled out ${n} times from its push events`);
  // (An older push handled before any newer one may roll out: the controller had seen nothing newer then.)
  const afterLate = world.executions.list().slice(injector.lateOlderPushAfter ?? Number.POSITIVE_INFINITY);
  if (
    afterLate.some(
      (e) => (JSON.parse(e.input) as { rollout: { image: { tag?: string } } }).rollout.image.tag === 'v0',
    )
  )
    v.push('a late push of an older image (v0) started a rollout');

  // Pages: every failed rollout pages, under its own dedup key (one incident); a promotion never pages.
  const pages = world.receiver.messages.filter(
    (m) => m.channel === 'pagerduty' && m.body.event_action !== 'resolve',
  );
  const keys = new Set(pages.map((m) => String(m.body.dedup_key)));
  for (const r of records) {
    const deliberate =
      r.abort?.reason === 'Superseded' || r.abort?.reason === 'Aborted' || injector.rejected.has(r.rolloutId);
    if (r.status === 'promoted' && keys.has(r.rolloutId))
      v.push(`a promotion paged on-call (${r.rolloutId})`);
    if (r.status === 'rolledBack' && !deliberate && !keys.has(r.rolloutId))
      v.push(`rollout ${r.rolloutId} rolled back without paging`);
  }
  for (const k of keys)
    if (!records.some((r) => r.rolloutId === k)) v.push(`a page whose dedup_key ${k} names no rollout`);

  // No healthy image is quarantined, unless an alarm, a rejection or a hand-made change stopped its rollout.
  for (const r of records) {
    const tag = r.image.tag;
    if (!healthy(tag)) continue;
    if ((await world.store.isQuarantined(r.service, r.image.digest)) && !injector.blamed.has(r.rolloutId))
      v.push(`healthy image ${tag} quarantined`);
  }
  if (world.errors.length > 0) v.push(`errors: ${world.errors.map(String).join('; ')}`);
  return v;
}
