import fc from 'fast-check';
import {
  ENTRY_POINTS,
  FAULT_KINDS,
  type Fault,
  type FaultKind,
  LAMBDA_KINDS,
  type Schedule,
  STORE_KINDS,
  TASK_FUNCTIONS,
} from './faults';

const tasks = fc.constantFrom(...TASK_FUNCTIONS);
const anywhere = fc.constantFrom(...TASK_FUNCTIONS, ...ENTRY_POINTS);
const call = fc.integer({ min: 0, max: 3 });
const at = fc.integer({ min: 0, max: 5 });

/** Where each kind of fault can strike (the functions it makes sense on), with its parameters. */
function faultOf(kind: FaultKind): fc.Arbitrary<Fault> {
  const on = (fn: fc.Arbitrary<Fault['fn']>, c: fc.Arbitrary<number> = call) =>
    fc.record({ fn, call: c, kind: fc.constant(kind), at });
  if ((LAMBDA_KINDS as readonly string[]).includes(kind)) return on(anywhere);
  if ((STORE_KINDS as readonly string[]).includes(kind) && kind !== 'storeConditionRaced')
    return on(anywhere);
  switch (kind) {
    case 'storeConditionRaced':
      // A task makes one to three conditional writes (lock, wait, abort).
      return fc.record({ fn: anywhere, call, kind: fc.constant(kind), at: fc.integer({ min: 0, max: 1 }) });
    case 'alarmMidTask':
      return on(tasks);
    case 'reject':
      return on(fc.constant('RequestApproval'));
    case 'sendTaskFails':
      return on(fc.constantFrom('Operator', 'OnAlarm', 'StartRollout'));
    case 'startExecutionFails':
      return on(fc.constantFrom('StartRollout', 'Rollback', 'Reconcile'));
    case 'route53Throttled':
    case 'route53PriorRequest':
    case 'route53SyncSlow':
      // The tasks that change the records, at their first calls (a rollout makes few changes).
      return on(fc.constantFrom('SetWeight', 'Promote', 'Rollback'), fc.integer({ min: 0, max: 1 }));
    case 'metricsMissing':
    case 'metricsLate':
      return on(fc.constant('Analyze'), fc.integer({ min: 0, max: 5 }));
    case 'lateRedelivery':
    case 'lateAlarm':
      return on(fc.constant('StartRollout'), fc.constant(0));
    default:
      return on(anywhere);
  }
}

/** A fault left out of a campaign: a kind (`olderPush`), or a kind on one function (`permanent@Notify`). */
export type Exclusion = FaultKind | `${FaultKind}@${Fault['fn']}`;

export function excluded(fault: Fault, exclusions: readonly Exclusion[]): boolean {
  return exclusions.some((e) => e === fault.kind || e === `${fault.kind}@${fault.fn}`);
}

/** Schedules of up to four faults of the given kinds (all by default), on a healthy or a bad image. */
function faultSchedule(
  kinds: readonly FaultKind[] = FAULT_KINDS,
  exclusions: readonly Exclusion[] = [],
): fc.Arbitrary<Schedule> {
  const fault = fc.oneof(...kinds.filter((k) => !exclusions.includes(k)).map(faultOf));
  return fc.record({
    bad: fc.boolean(),
    approveVia: fc.constantFrom('cli' as const, 'page' as const),
    faults: fc.array(exclusions.length > 0 ? fault.filter((f) => !excluded(f, exclusions)) : fault, {
      maxLength: 4,
    }),
  });
}

/**
 * How a schedule answers a pause on a failed analysis: one schedule in ten pauses (analysis.onFailure 'pause'),
 * answered each way. Drawn apart from the schedule's faults, so adding it left every campaign's faults as they were.
 */
const pauseAnswer = fc.oneof(
  { arbitrary: fc.constant(undefined), weight: 9 },
  { arbitrary: fc.constantFrom('retry' as const, 'abort' as const, 'timeout' as const), weight: 1 },
);

/** Schedule `i` of a campaign: derived from the seed alone, so any one schedule can be run again by its seed. */
export function scheduleFor(
  seed: number,
  kinds: readonly FaultKind[] = FAULT_KINDS,
  exclusions: readonly Exclusion[] = [],
): Schedule {
  const [s] = fc.sample(faultSchedule(kinds, exclusions), { seed, numRuns: 1 });
  if (!s) throw new Error(`no schedule for seed ${seed}`);
  const [onFailure] = fc.sample(pauseAnswer, { seed: seed + 0x5a5a, numRuns: 1 });
  return onFailure ? { ...s, onFailure } : s;
}
