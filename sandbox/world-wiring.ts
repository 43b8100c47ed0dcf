/**
 * The controller as the sandbox builds it: the real task handlers over local adapters, each adapter counted per
 * AWS API it stands for (sandbox/api-calls.ts), and each handler counted as a Lambda invocation.
 */
import type { Context } from 'aws-lambda';
import { Operations } from '../cli/operations';
import { StaticServiceCatalog } from '../functions/adapters/aws/catalog';
import { CloudWatchMetricSource } from '../functions/adapters/aws/cloudwatch';
import { AwsHookCaller } from '../functions/adapters/aws/hooks';
import { PagerDutyNotifier } from '../functions/adapters/aws/pagerduty';
import type { ServiceConfig } from '../functions/core/config';
import { CONTROLLER_EVENT_SOURCE } from '../functions/core/events';
import type { RolloutOutcome } from '../functions/core/outcome-metrics';
import { configuredTargetGroups } from '../functions/core/routes';
import type {
  AlarmSource,
  Clock,
  DeployerFor,
  Executions,
  Log,
  MetricSource,
  Notifier,
  StateChangeBus,
  TrafficRouter,
} from '../functions/ports';
import { makeAnalyze } from '../functions/tasks/analyze';
import { makeBake } from '../functions/tasks/bake';
import { makeCheckReady } from '../functions/tasks/check-ready';
import { makeNotify } from '../functions/tasks/notify';
import { makeOnAlarm } from '../functions/tasks/on-alarm';
import { makePrepare } from '../functions/tasks/prepare';
import { makePromote } from '../functions/tasks/promote';
import { makeReconcile } from '../functions/tasks/reconcile';
import { makeRequestApproval } from '../functions/tasks/request-approval';
import { makeRollback } from '../functions/tasks/rollback';
import { makeRunHook } from '../functions/tasks/run-hook';
import { makeSetWeight } from '../functions/tasks/set-weight';
import { makeStartRollout } from '../functions/tasks/start-rollout';
import { type ApiCalls, counted } from './api-calls';
import type { LocalCloudWatch } from './cloudwatch';
import { type HookWorld, type LocalFunction, localLambda, sandboxHookFunctions } from './hooks';
import type { LocalStepFunctions } from './step-functions';
import type { WorldStore } from './store';
import { seededRandom } from './versions';
import type { World } from './world';
import { LocalXRay } from './xray';

/** A 32-character routing key, like PagerDuty's integration keys; never printed or notified. */
export const SANDBOX_ROUTING_KEY = 'R0ut1ngK3ySandb0xNeverLoggedXyZ1';

/** The Executions port over a LocalStepFunctions built later (the handlers and the engine need each other). */
export function lateExecutions(engine: () => LocalStepFunctions): Executions {
  return {
    start: (...a) => engine().start(...a),
    stop: (name) => engine().stop(name),
    isRunning: (name) => engine().isRunning(name),
    running: () => engine().running(),
    lastStateEntered: (name) => engine().lastStateEntered(name),
    sendTaskSuccess: (t, o) => engine().sendTaskSuccess(t, o),
    sendTaskFailure: (t, e, c) => engine().sendTaskFailure(t, e, c),
  };
}

/** The SNS and PagerDuty notifiers, each publish counted; PagerDuty's transport goes to the local receiver. */
export function localNotifiers(
  receiverUrl: () => string,
  clock: Clock,
  calls: ApiCalls,
  sns: Notifier,
): Notifier[] {
  const pagerDuty = new PagerDutyNotifier({
    secret: { secretId: 'sandbox/pagerduty-routing-key', get: async () => SANDBOX_ROUTING_KEY },
    fetch: (_url, init) => fetch(`${receiverUrl()}/v2/enqueue`, init),
    sleep: (ms) => clock.sleep(ms),
  });
  return [
    counted(sns, { notify: () => calls.record('sns:Publish') }),
    counted(pagerDuty as Notifier, { notify: () => calls.record('pagerduty:Enqueue') }),
  ];
}

export interface ControllerDeps {
  configs: readonly ServiceConfig[];
  store: WorldStore;
  clock: Clock;
  log: Log;
  events: StateChangeBus;
  router: TrafficRouter;
  deployerFor: DeployerFor;
  executions: Executions;
  alarms: AlarmSource;
  notifiers: Notifier[];
  cloudwatch: LocalCloudWatch;
  xray: LocalXRay;
  calls: ApiCalls;
  /** What Analyze reads instead of the local CloudWatch (a scripted source, in tests). */
  metrics?: MetricSource | undefined;
  approvalLink: (rolloutId: string, step: number, waitToken: string) => string;
  /** The world the sandbox's hook functions test, and more functions hooks may name (by name), run in-process. */
  hooks: { world: HookWorld; more: Record<string, LocalFunction> | undefined };
  countOutcome: (o: RolloutOutcome) => void;
}

/** Every task handler of the controller, each invocation counted as Lambda's. */
export function makeHandlers(d: ControllerDeps) {
  const { calls } = d;
  const base = { store: d.store, clock: d.clock, log: d.log, events: d.events };
  const catalog = new StaticServiceCatalog([...d.configs]);
  const cwClient = d.cloudwatch.client();
  // The real CloudWatch adapter over the local CloudWatch, each GetMetricData request counted.
  const metrics =
    d.metrics ??
    new CloudWatchMetricSource({
      send: (command: never) => {
        calls.record('cloudwatch:GetMetricData');
        return cwClient.send(command);
      },
    } as unknown as typeof cwClient);
  const traffic = { router: d.router, deployerFor: d.deployerFor };
  const handlers = {
    StartRollout: makeStartRollout({ ...base, catalog, executions: d.executions, notifiers: d.notifiers }),
    Prepare: makePrepare({ ...base, ...traffic }),
    CheckReady: makeCheckReady({ ...base, deployerFor: d.deployerFor }),
    SetWeight: makeSetWeight({ ...base, ...traffic, metrics, alarms: d.alarms }),
    Bake: makeBake(base),
    Analyze: makeAnalyze({
      ...base,
      router: d.router,
      metrics,
      xrayFor: (x) => d.xray.source(x, () => calls.record('xray:GetTimeSeriesServiceStatistics')),
      alarms: d.alarms,
      notifiers: d.notifiers,
    }),
    RequestApproval: makeRequestApproval({
      ...base,
      notifiers: d.notifiers,
      links: { approval: d.approvalLink },
    }),
    RunHook: makeRunHook({
      ...base,
      router: d.router,
      hooks: new AwsHookCaller(
        localLambda({ ...sandboxHookFunctions(d.hooks.world), ...d.hooks.more }, () =>
          calls.record('lambda:Invoke'),
        ) as never,
      ),
    }),
    Promote: makePromote({ ...base, ...traffic, executions: d.executions }),
    Rollback: makeRollback({ ...base, ...traffic, executions: d.executions }),
    Notify: makeNotify({ ...base, notifiers: d.notifiers, countOutcome: d.countOutcome }),
    OnAlarm: makeOnAlarm({ ...base, ...traffic, executions: d.executions }),
    Reconcile: makeReconcile({
      ...base,
      ...traffic,
      executions: d.executions,
      catalog,
      notifiers: d.notifiers,
    }),
  };
  return countInvocations(handlers, calls);
}

/** Each handler's calls counted as Lambda invocations (and in flight while they run). */
function countInvocations<H extends Record<string, (event: never, context: Context) => Promise<unknown>>>(
  handlers: H,
  calls: ApiCalls,
): H {
  return Object.fromEntries(
    Object.entries(handlers).map(([fn, handler]) => [
      fn,
      (event: never, context: Context) => calls.invocation(fn, () => handler(event, context)),
    ]),
  ) as H;
}

/** The apps trace as X-Ray service `<service>`, annotated with the deployment they serve as; groups select by it. */
export function localXRay(configs: readonly ServiceConfig[], seed: number): LocalXRay {
  const deployments = new Map(
    configs.flatMap((c) => [
      [configuredTargetGroups(c.traffic).canary, { service: c.service, deployment: `${c.service}-canary` }],
      [configuredTargetGroups(c.traffic).stable, { service: c.service, deployment: `${c.service}-stable` }],
    ]),
  );
  const xray = new LocalXRay((tg) => deployments.get(tg), seededRandom(seed + 1));
  for (const c of configs) {
    const x = c.analysis.xray;
    if (!x) continue;
    xray.createGroup(x.canaryGroup, { annotation: 'deployment', value: `${c.service}-canary` });
    xray.createGroup(x.stableGroup, { annotation: 'deployment', value: `${c.service}-stable` });
  }
  return xray;
}

/** The CLI's operations over this world: the store, the executions, start-rollout for `canary start`. */
export function localOperations(world: World, executions: Executions): Operations {
  return new Operations({
    store: world.guardedStore,
    executions,
    clock: world.clock,
    // The operator of a sandbox may move its listener: an abort puts 100% on stable at once.
    router: world.router,
    services: async () => world.configs.map((c) => c.service),
    requestDeploy: async (service, image) => {
      const eventId = crypto.randomUUID();
      const result = await world.handlers.StartRollout(
        {
          version: '0',
          id: eventId,
          'detail-type': 'Deploy Requested',
          source: CONTROLLER_EVENT_SOURCE,
          time: world.clock.now().toISOString(),
          // `canary start` is the explicit request to run an image again.
          detail: { service, image, rerun: true },
        },
        { functionName: 'canary-StartRollout' } as never,
      );
      return {
        eventId,
        via: `start-rollout: ${result.status}`,
        answer: {
          status: result.status,
          ...('rolloutId' in result ? { rolloutId: result.rolloutId } : {}),
          ...('reason' in result && result.reason ? { reason: result.reason } : {}),
        },
      };
    },
    resolveTag: async (_service, tag) => world.images.byTag(tag)?.digest,
    metrics: async (record) => {
      const t = configuredTargetGroups(world.config(record.service).traffic);
      const from = Date.parse(record.createdAt);
      const to = Date.parse(record.outcome?.at ?? world.clock.now().toISOString());
      return {
        canary: world.recorder.timeline(t.canary, from, to),
        stable: world.recorder.timeline(t.stable, from, to),
      };
    },
    actor: 'the sandbox CLI',
    events: world.eventBus,
  });
}
