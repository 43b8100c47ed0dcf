import { configuredTargetGroups } from '../../functions/core/routes';
import { DEMO_ALARM, DEMO_CANARY_TG, demoRoute53Traffic, demoService, HEALTHY, SERVER_ERRORS } from '../demo';
import { World } from '../world';
import { FaultInjector } from './injector';
import { checkInvariants } from './invariants';
import type { FaultKind, Schedule } from './kinds';

export type Outcome = 'promoted' | 'rolledBack' | 'stuck';

export interface ScheduleResult {
  outcome: Outcome;
  /** The image on stable at the end. */
  stable: string | undefined;
  violations: string[];
  injected: Record<FaultKind, number>;
  deadLetters: number;
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
  const world = faultWorld(schedule, injector);
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
    const stable = world.backends.get(configuredTargetGroups(world.config().traffic).stable)?.version.tag;
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
 * The world a schedule runs in: one service with a three-step plan (or blue/green's two), v1 on stable, the
 * scripted metrics.
 */
function faultWorld(schedule: Schedule, injector: FaultInjector): World {
  let world: World | undefined;
  const { steps: _steps, ...demo } = demoService({
    steps: [
      { weight: 10, bakeSeconds: 3600 },
      { weight: 50, bakeSeconds: 3600, approval: true },
      { weight: 100, bakeSeconds: 3600 },
    ],
  });
  const config = {
    ...(schedule.strategy === 'blueGreen'
      ? {
          strategy: 'blueGreen' as const,
          blueGreen: { testSeconds: 3600, approval: true, rollbackWindowSeconds: 3600 },
        }
      : { steps: _steps }),
    ...demo,
    traffic: {
      ...(schedule.route === 'route53' ? demoRoute53Traffic(5) : demoService().traffic),
      deregistrationDelaySeconds: 0,
    },
    analysis: {
      alarms: [DEMO_ALARM],
      minRequests: 100,
      maxExtensions: 2,
      ...(schedule.onFailure ? { onFailure: 'pause' as const, pauseTimeoutSeconds: 60 } : {}),
    },
    readiness: { timeoutSeconds: 60, pollSeconds: 1 },
    approvals: { timeoutSeconds: 86_400, onTimeout: 'rollback' as const },
  };
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
  return world;
}
