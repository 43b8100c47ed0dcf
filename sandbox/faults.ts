/**
 * Fault injection over the real workflow: a schedule makes chosen task invocations fail the way Lambda tasks
 * fail on AWS, under the error names Step Functions reports for them, and the invariants are checked once
 * everything has settled.
 *
 * The names are AWS's (Step Functions developer guide, "Handle transient Lambda service exceptions", and Lambda's
 * Invoke API errors): an unhandled error or an out-of-memory exit reaches the state machine as `Lambda.Unknown`, a
 * function timeout as `Sandbox.Timedout`, never as `States.Timeout` (that one is the Task state's own
 * TimeoutSeconds); a throttled invocation as `Lambda.TooManyRequestsException`; a Lambda service error as `Lambda.ServiceException`; an invoke
 * whose response never came back as `Lambda.ClientExecutionTimeoutException`. A function's own (handled) error
 * keeps its errorType as the name.
 */
import { demoService, HEALTHY, SERVER_ERRORS } from './demo';
import { World } from './world';

export const FAULT_KINDS = [
  'throttle',
  'serviceError',
  'clientTimeout',
  'permanent',
  'timeout',
  'outOfMemory',
  'crashAfterEffect',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/**
 * What each kind raises, and whether the function ran first (its side effects applied, its result lost: the
 * worst case for a retry, which must then be idempotent).
 */
export const FAULTS: Record<FaultKind, { error: string; ran: boolean; what: string }> = {
  throttle: { error: 'Lambda.TooManyRequestsException', ran: false, what: 'Lambda throttled the invocation' },
  serviceError: { error: 'Lambda.ServiceException', ran: false, what: 'Lambda service error' },
  clientTimeout: {
    error: 'Lambda.ClientExecutionTimeoutException',
    ran: true,
    what: 'the invocation ran but its response never came back',
  },
  permanent: { error: 'InjectedFailure', ran: false, what: 'failed for good' },
  // A function timeout's payload carries errorType Sandbox.Timedout (Lambda developer guide, "Troubleshoot
  // invocation issues"), and Step Functions names a function error by its errorType.
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
};

/** The functions the state machine calls (see statemachine/canary.asl.json). */
export const FAULTABLE_FUNCTIONS = [
  'Prepare',
  'CheckReady',
  'SetWeight',
  'Promote',
  'Rollback',
  'Notify',
] as const;

export interface Fault {
  fn: (typeof FAULTABLE_FUNCTIONS)[number];
  /** The nth invocation of that function in the execution (0-based). */
  call: number;
  kind: FaultKind;
}

function named(name: string, message: string): Error {
  const e = new Error(message);
  e.name = name;
  return e;
}

export class FaultInjector {
  private readonly calls = new Map<string, number>();
  readonly injected = Object.fromEntries(FAULT_KINDS.map((k) => [k, 0])) as Record<FaultKind, number>;

  constructor(private readonly schedule: readonly Fault[]) {}

  readonly invoke = async (fn: string, _event: unknown, call: () => Promise<unknown>): Promise<unknown> => {
    const n = this.calls.get(fn) ?? 0;
    this.calls.set(fn, n + 1);
    const fault = this.schedule.find((f) => f.fn === fn && f.call === n);
    if (!fault) return call();
    this.injected[fault.kind]++;
    const { error, ran, what } = FAULTS[fault.kind];
    if (ran) await call();
    throw named(error, `${fn}: ${what} (injected)`);
  };
}

export interface ScheduleResult {
  outcome: 'promoted' | 'rolledBack' | 'stuck';
  violations: string[];
  injected: Record<FaultKind, number>;
}

/**
 * One rollout under a fault schedule, with no bakes (so a schedule runs in milliseconds): the plan, promotion,
 * rollback, notifications and the reconciler are all real.
 */
export async function runSchedule(
  schedule: readonly Fault[],
  options: {
    badImage?: boolean /** Change the world before the checks (to show the checks can fail). */;
    tamper?: (world: World) => Promise<void>;
  } = {},
): Promise<ScheduleResult> {
  const injector = new FaultInjector(schedule);
  const world = new World({
    scale: 60,
    rps: 0,
    traffic: 'synthetic',
    services: [
      demoService({
        steps: [
          { weight: 10, bakeSeconds: 0 },
          { weight: 50, bakeSeconds: 0 },
          { weight: 100, bakeSeconds: 0 },
        ],
        traffic: { ...demoService().traffic, deregistrationDelaySeconds: 0 },
        analysis: { alarms: [] },
        readiness: { timeoutSeconds: 60, pollSeconds: 1 },
      }),
    ],
    stable: { tag: 'v1', profile: HEALTHY },
    images: [{ tag: 'v2', profile: options.badImage ? SERVER_ERRORS : HEALTHY }],
    startSeconds: 0,
    retryIntervalMs: 1,
    propagationMs: 1,
    invoke: injector.invoke,
  });
  await world.start();
  try {
    const started = await world.push('v2');
    if (started.status !== 'started')
      return {
        outcome: 'stuck',
        violations: [`push not started: ${started.status}`],
        injected: injector.injected,
      };
    const rolloutId = started.rolloutId;
    await world.waitFor(rolloutId, 30_000);
    await world.executions.idle();
    // The reconciler runs on the execution's status change; let it finish.
    await new Promise((r) => setTimeout(r, 5));
    await options.tamper?.(world);
    const violations = await checkInvariants(world, rolloutId);
    const record = await world.store.getRollout(rolloutId);
    const outcome =
      record?.status === 'promoted' ? 'promoted' : record?.status === 'rolledBack' ? 'rolledBack' : 'stuck';
    return { outcome, violations, injected: injector.injected };
  } finally {
    await world.stop();
  }
}

/** DESIGN.md section 9, as checks on a settled world. */
export async function checkInvariants(world: World, rolloutId: string): Promise<string[]> {
  const v: string[] = [...world.violations.map((x) => `scaled down with weight: ${x}`)];
  if (world.executions.list().some((e) => e.status === 'RUNNING')) v.push('an execution is still running');
  if (world.store.heldLocks().length > 0)
    v.push(`lock still held: ${JSON.stringify(world.store.heldLocks())}`);
  const record = await world.store.getRollout(rolloutId);
  const t = world.config().traffic;
  const configured = world.lb.configuredState(t.listenerArn);
  const applied = world.lb.appliedState(t.listenerArn);
  if (JSON.stringify(configured?.weights) !== JSON.stringify(applied?.weights)) v.push('weights not applied');
  const stableWeight = applied?.weights[t.stableTargetGroupArn] ?? 0;
  const canaryWeight = applied?.weights[t.canaryTargetGroupArn] ?? 0;
  if (!(stableWeight > 0 && canaryWeight === 0))
    v.push(`traffic not 100% on stable: ${JSON.stringify(applied?.weights)}`);
  const serving = world.backends.get(t.stableTargetGroupArn)?.version.tag;
  if (record?.status === 'promoted' && serving !== 'v2') v.push(`promoted but stable runs ${serving}`);
  if (record?.status === 'rolledBack' && serving !== 'v1') v.push(`rolled back but stable runs ${serving}`);
  if (record?.status !== 'promoted' && record?.status !== 'rolledBack')
    v.push(`rollout ended ${record?.status}`);
  if (world.backends.get(t.canaryTargetGroupArn)) v.push('canary still running');
  // Retries may deliver a page twice; they must all name this rollout, so PagerDuty opens one incident.
  const pages = world.receiver.messages.filter((m) => m.channel === 'pagerduty');
  if (pages.some((m) => m.body.dedup_key !== rolloutId))
    v.push('a page without the rollout as its dedup_key');
  if (record?.status === 'promoted' && pages.length > 0) v.push('a promotion paged on-call');
  if (record?.status === 'rolledBack') {
    const notified = world.receiver.messages.some((m) =>
      JSON.stringify(m.body).includes('rollout.rolledBack'),
    );
    const tried = world.executions.list().length > 0;
    if (!notified && !tried) v.push('rollback without a notification attempt');
  }
  if (world.errors.length > 0) v.push(`errors: ${world.errors.map(String).join('; ')}`);
  return v;
}
