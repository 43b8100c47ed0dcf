/**
 * The local world a rollout runs in: the real state machine on the local engine, the real task handlers built
 * with local adapters, a load balancer, app versions, traffic, alarms, a store and a notification receiver.
 */

import { randomBytes } from 'node:crypto';
import { Operations } from '../cli/operations';
import { StaticServiceCatalog } from '../functions/adapters/aws/catalog';
import { CloudWatchMetricSource } from '../functions/adapters/aws/cloudwatch';
import { PagerDutyNotifier } from '../functions/adapters/aws/pagerduty';
import { approvalUrl, mintApprovalLink } from '../functions/core/approval-links';
import { parseServiceConfigs, type ServiceConfig, type ServiceConfigInput } from '../functions/core/config';
import { CONTROLLER_EVENT_SOURCE } from '../functions/core/events';
import type { RolloutOutcome } from '../functions/core/outcome-metrics';
import { canaryPercent } from '../functions/core/plan';
import type { Log, MetricSource } from '../functions/ports';
import { makeAnalyze } from '../functions/tasks/analyze';
import { makeApprovalPage } from '../functions/tasks/approval-page';
import { makeBake } from '../functions/tasks/bake';
import { makeCheckReady } from '../functions/tasks/check-ready';
import { makeNotify } from '../functions/tasks/notify';
import { makeOnAlarm } from '../functions/tasks/on-alarm';
import { makePrepare } from '../functions/tasks/prepare';
import { makePromote } from '../functions/tasks/promote';
import { makeReconcile } from '../functions/tasks/reconcile';
import { makeRequestApproval } from '../functions/tasks/request-approval';
import { makeRollback } from '../functions/tasks/rollback';
import { makeSetWeight } from '../functions/tasks/set-weight';
import { makeStartRollout, type StartRolloutResult } from '../functions/tasks/start-rollout';
import { type LocalAlarmSpec, LocalAlarms } from './alarms';
import { ecrPushEvent } from './aws-events';
import { VirtualClock } from './clock';
import { LocalCloudWatch } from './cloudwatch';
import { ControlServer } from './control';
import { Backends, LocalNoDeployer, LocalServiceDeployer, localDeployerFor } from './deployer';
import { LocalEventBus } from './event-bus';
import { LocalLoadBalancer, LocalTrafficRouter } from './load-balancer';
import { MetricsRecorder } from './metrics';
import { LocalReceiver, LocalSnsNotifier } from './receiver';
import { definitionTimeoutSeconds, LocalStepFunctions } from './step-functions';
import { InMemoryRolloutStore, StoreOutage, storeWithOutage } from './store';
import { DEFAULT_TIME_KEEPING, PROBE_MS, TimeKeeper, type TimeKeepingLimits } from './timekeeping';
import { type DataPlane, HttpTraffic, SyntheticTraffic, sampleTargetHealth } from './traffic';
import { type FaultProfile, ImageRegistry, seededRandom } from './versions';
import { LocalXRay } from './xray';

export interface WorldOptions {
  /** Rollout seconds per real second. */
  scale: number;
  /** Requests per second through the listener. */
  rps: number;
  traffic: 'http' | 'synthetic';
  seed?: number;
  services: ServiceConfigInput[];
  /** The version each service runs when the world starts. */
  stable: { tag: string; profile: FaultProfile };
  images: { tag: string; profile: FaultProfile }[];
  alarms?: LocalAlarmSpec[];
  /** Rollout seconds a new version (and each new task of the canary) takes to become healthy. */
  startSeconds?: number;
  /** Canary tasks the cluster can place (the stable service runs 10); more stay PENDING. Default: no limit. */
  canaryTaskLimit?: number;
  /** Real ms between the workflow's retries. */
  retryIntervalMs?: number;
  /** ms the load balancer takes to apply a change. */
  propagationMs?: number;
  /** Rollout seconds an execution may run before it ends TIMED_OUT; default: the state machine's TimeoutSeconds. */
  executionTimeoutSeconds?: number;
  /**
   * Wraps every function invocation: the state machine's tasks, and the asynchronous ones EventBridge makes
   * (`OnAlarm` from the alarms, `Reconcile` on an execution's status change). Fault injection in tests.
   */
  invoke?: (fn: string, event: unknown, call: () => Promise<unknown>) => Promise<unknown>;
  /** What Analyze reads instead of the load balancer's recorded metrics (a scripted source, in tests). */
  metrics?: MetricSource;
  /** How far the sandbox may fall behind its compressed time before its run is invalid (sandbox/timekeeping.ts). */
  timeKeeping?: TimeKeepingLimits;
  /** Every log line of every task goes here (nothing is printed by default). */
  onLog?: (level: 'info' | 'warn' | 'error', message: string, extra?: Record<string, unknown>) => void;
}

/** A 32-character routing key, like PagerDuty's integration keys; never printed or notified. */
export const SANDBOX_ROUTING_KEY = 'R0ut1ngK3ySandb0xNeverLoggedXyZ1';

export class World {
  readonly clock: VirtualClock;
  readonly store = new InMemoryRolloutStore();
  /** Makes the store fail for every task and entry point, as a throttled or unavailable table does. */
  readonly storeOutage = new StoreOutage();
  readonly lb: LocalLoadBalancer;
  readonly router: LocalTrafficRouter;
  readonly backends = new Backends();
  readonly recorder = new MetricsRecorder();
  /** The recorded ALB metrics as CloudWatch serves them (GetMetricData). */
  readonly cloudwatch: LocalCloudWatch;
  readonly xray: LocalXRay;
  readonly images = new ImageRegistry();
  readonly receiver = new LocalReceiver();
  /** The controller's bus: every rollout state-change event the tasks, the page and the CLI announced. */
  readonly eventBus = new LocalEventBus();
  /** What the notify task counted (the controller's outcome metrics, core/outcome-metrics.ts). */
  readonly outcomes: RolloutOutcome[] = [];
  readonly configs: ServiceConfig[];
  readonly executions: LocalStepFunctions;
  readonly alarms: LocalAlarms;
  readonly traffic: DataPlane;
  readonly violations: string[] = [];
  readonly errors: unknown[] = [];
  /** Whether this machine keeps the compressed time: timer lag and requests sent against the plan. */
  readonly timekeeper: TimeKeeper;
  readonly handlers;
  readonly log: Log;
  /** The approval link signing key: random per world, never printed. */
  private readonly signingKey = randomBytes(32);
  /** The approval page and the CLI's control API, on loopback. */
  readonly control: ControlServer;
  readonly operations: Operations;
  /** The approval link of each rollout's latest approval wait (what the notification carried). */
  readonly approvalLinks = new Map<string, string>();
  private healthTimer: NodeJS.Timeout | undefined;
  private probeTimer: NodeJS.Timeout | undefined;

  constructor(readonly options: WorldOptions) {
    this.clock = new VirtualClock(options.scale);
    this.timekeeper = new TimeKeeper(options.scale, options.rps, options.timeKeeping ?? DEFAULT_TIME_KEEPING);
    this.lb = new LocalLoadBalancer(options.propagationMs ?? 20);
    this.router = new LocalTrafficRouter(this.lb);
    this.configs = parseServiceConfigs(options.services);
    const random = seededRandom(options.seed ?? 1);
    // The apps trace as X-Ray service `<service>` and annotate their traces with the deployment they serve as; each
    // service's X-Ray groups select by it.
    const deployments = new Map(
      this.configs.flatMap((c) => [
        [c.traffic.canaryTargetGroupArn, { service: c.service, deployment: `${c.service}-canary` }],
        [c.traffic.stableTargetGroupArn, { service: c.service, deployment: `${c.service}-stable` }],
      ]),
    );
    this.xray = new LocalXRay((tg) => deployments.get(tg), seededRandom((options.seed ?? 1) + 1));
    for (const c of this.configs) {
      const x = c.analysis.xray;
      if (!x) continue;
      this.xray.createGroup(x.canaryGroup, { annotation: 'deployment', value: `${c.service}-canary` });
      this.xray.createGroup(x.stableGroup, { annotation: 'deployment', value: `${c.service}-stable` });
    }
    const emit = options.onLog ?? (() => undefined);
    this.log = {
      info: (m, e) => emit('info', m, e),
      warn: (m, e) => emit('warn', m, e),
      error: (m, e) => emit('error', m, e),
    };

    const stable = this.images.add(options.stable.tag, options.stable.profile);
    for (const image of options.images) this.images.add(image.tag, image.profile);
    for (const c of this.configs) {
      const t = c.traffic;
      this.lb.createListener(t.listenerArn, {
        weights: { [t.stableTargetGroupArn]: 1, [t.canaryTargetGroupArn]: 0 },
      });
      this.backends.set(t.stableTargetGroupArn, {
        version: stable,
        startedAtMs: 0,
        readyAtMs: 0,
        capacityPercent: 100,
      });
    }
    this.backends.on('violation', (v: string) => this.violations.push(v));

    const deployerFor = localDeployerFor({
      ecs: new LocalServiceDeployer(this.backends, this.images, this.lb, this.clock, {
        startSeconds: options.startSeconds ?? 20,
        ...(options.canaryTaskLimit !== undefined ? { canaryTaskLimit: options.canaryTaskLimit } : {}),
      }),
      none: new LocalNoDeployer(this.backends, this.clock),
    });
    const catalog = new StaticServiceCatalog(this.configs);
    const notifiers = [
      new LocalSnsNotifier(() => this.receiver.url, 'arn:aws:sns:us-east-1:123456789012:canary-rollouts'),
      // The real PagerDuty notifier (body, retries, redaction); only its transport goes to the local receiver.
      new PagerDutyNotifier({
        secret: { secretId: 'sandbox/pagerduty-routing-key', get: async () => SANDBOX_ROUTING_KEY },
        fetch: (_url, init) => fetch(`${this.receiver.url}/v2/enqueue`, init),
        sleep: (ms) => this.clock.sleep(ms),
      }),
    ];
    // The executions port and the handlers need each other: handlers are built against a late-bound port.
    const executionsPort = {
      start: (...a: Parameters<LocalStepFunctions['start']>) => this.executions.start(...a),
      stop: (...a: Parameters<LocalStepFunctions['stop']>) => this.executions.stop(...a),
      isRunning: (name: string) => this.executions.isRunning(name),
      running: () => this.executions.running(),
      lastStateEntered: (name: string) => this.executions.lastStateEntered(name),
      sendTaskSuccess: (t: string, o: unknown) => this.executions.sendTaskSuccess(t, o),
      sendTaskFailure: (t: string, e: string, c: string) => this.executions.sendTaskFailure(t, e, c),
    };
    // Tasks, entry points, the CLI and the page see the store through the outage switch; checks read it directly.
    const store = storeWithOutage(this.store, this.storeOutage);
    const base = { store, clock: this.clock, log: this.log, events: this.eventBus };
    // Reconcile runs for up to its function timeout (infra: 280 s); the others are given a minute.
    const context = (fn: string) =>
      ({
        functionName: `canary-${fn}`,
        getRemainingTimeInMillis: () => (fn === 'Reconcile' ? 280_000 : 60_000),
      }) as never;
    const invoke = options.invoke ?? ((_fn: string, _event: unknown, call: () => Promise<unknown>) => call());
    // The alarm calls the on-alarm handler only when it fires, by which time the handlers exist.
    this.alarms = new LocalAlarms(
      options.alarms ?? [],
      this.recorder,
      this.clock,
      (event) => invoke('OnAlarm', event, () => this.handlers.OnAlarm(event, context('OnAlarm'))),
      (e) => this.errors.push(e),
    );
    // The real CloudWatch adapter over a local CloudWatch of the recorded ALB metrics. ALB sends each minute's
    // metrics within the next 60 s: the newest minute is partial, as on CloudWatch.
    this.cloudwatch = new LocalCloudWatch(this.recorder, this.clock, 60);
    const metrics = options.metrics ?? new CloudWatchMetricSource(this.cloudwatch.client());
    this.handlers = {
      StartRollout: makeStartRollout({ ...base, catalog, executions: executionsPort, notifiers }),
      Prepare: makePrepare({ ...base, router: this.router, deployerFor }),
      CheckReady: makeCheckReady({ ...base, deployerFor }),
      SetWeight: makeSetWeight({ ...base, router: this.router, deployerFor, metrics }),
      Bake: makeBake(base),
      Analyze: makeAnalyze({
        ...base,
        router: this.router,
        metrics,
        xrayFor: (x) => this.xray.source(x),
        alarms: this.alarms,
        notifiers,
      }),
      RequestApproval: makeRequestApproval({
        ...base,
        notifiers,
        links: {
          approval: (rolloutId, step, waitToken) => {
            const url = this.approvalLink(rolloutId, step, waitToken);
            this.approvalLinks.set(rolloutId, url);
            return url;
          },
        },
      }),
      Promote: makePromote({ ...base, router: this.router, deployerFor, executions: executionsPort }),
      Rollback: makeRollback({ ...base, router: this.router, deployerFor, executions: executionsPort }),
      Notify: makeNotify({ ...base, notifiers, countOutcome: (o) => this.outcomes.push(o) }),
      OnAlarm: makeOnAlarm({ ...base, router: this.router, deployerFor, executions: executionsPort }),
      Reconcile: makeReconcile({
        ...base,
        router: this.router,
        deployerFor,
        executions: executionsPort,
        catalog,
        notifiers,
      }),
    };
    this.executions = new LocalStepFunctions(this.handlers, {
      retryIntervalMs: options.retryIntervalMs ?? 20,
      executionTimeoutSeconds: this.clock.workflowSeconds(
        options.executionTimeoutSeconds ?? definitionTimeoutSeconds(),
      ),
      onStatusChange: (event) =>
        invoke('Reconcile', event, () => this.handlers.Reconcile(event, context('Reconcile'))),
      ...(options.invoke ? { invoke: options.invoke } : {}),
    });
    this.executions.on('error', (e) => this.errors.push(e));

    this.operations = new Operations({
      store,
      executions: executionsPort,
      clock: this.clock,
      services: async () => this.configs.map((c) => c.service),
      requestDeploy: async (service, image) => {
        const eventId = crypto.randomUUID();
        const result = await this.handlers.StartRollout(
          {
            version: '0',
            id: eventId,
            'detail-type': 'Deploy Requested',
            source: CONTROLLER_EVENT_SOURCE,
            time: this.clock.now().toISOString(),
            // `canary start` is the explicit request to run an image again.
            detail: { service, image, rerun: true },
          },
          context('StartRollout'),
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
      resolveTag: async (_service, tag) => this.images.byTag(tag)?.digest,
      metrics: async (record) => {
        const t = this.config(record.service).traffic;
        const from = Date.parse(record.createdAt);
        const to = Date.parse(record.outcome?.at ?? this.clock.now().toISOString());
        return {
          canary: this.recorder.timeline(t.canaryTargetGroupArn, from, to),
          stable: this.recorder.timeline(t.stableTargetGroupArn, from, to),
        };
      },
      actor: 'the sandbox CLI',
      events: this.eventBus,
    });
    this.control = new ControlServer(
      makeApprovalPage({ ...base, executions: executionsPort, signingKey: async () => this.signingKey }),
      this.operations,
    );

    const first = this.configs[0];
    if (!first) throw new Error('the sandbox needs at least one service');
    const header = first.traffic.headerRule;
    const common = {
      listenerArn: first.traffic.listenerArn,
      lb: this.lb,
      backends: this.backends,
      recorder: this.recorder,
      xray: this.xray,
      clock: this.clock,
      rps: options.rps,
      random,
      ...(header
        ? { internalHeader: { name: header.header, value: header.values[0] ?? '' }, internalShare: 0.02 }
        : {}),
    };
    this.traffic =
      options.traffic === 'http'
        ? new HttpTraffic({
            ...common,
            targetGroups: [first.traffic.stableTargetGroupArn, first.traffic.canaryTargetGroupArn],
          })
        : new SyntheticTraffic(common);
  }

  /**
   * A link to the approval page for a wait, signed with this world's key. It lives as long as an approval wait
   * can (a week of rollout time) unless told otherwise; the wait binding retires it sooner.
   */
  approvalLink(
    rolloutId: string,
    step: number,
    waitToken: string,
    options: { ttlSeconds?: number; now?: Date } = {},
  ): string {
    return approvalUrl(
      this.control.url,
      mintApprovalLink(this.signingKey, {
        rolloutId,
        step,
        waitToken,
        now: options.now ?? this.clock.now(),
        ttlSeconds: options.ttlSeconds ?? 7 * 86_400,
      }),
    );
  }

  async start(): Promise<void> {
    await this.control.start();
    await this.receiver.start();
    await this.traffic.start();
    this.timekeeper.observe(performance.now(), this.traffic.sent);
    this.probeTimer = setInterval(
      () => this.timekeeper.observe(performance.now(), this.traffic.sent),
      PROBE_MS,
    );
    this.alarms.start();
    // The target groups' health, sampled every 5 s of rollout time.
    const targetGroups = this.configs.flatMap((c) => [
      c.traffic.stableTargetGroupArn,
      c.traffic.canaryTargetGroupArn,
    ]);
    this.healthTimer = setInterval(
      () => sampleTargetHealth(this.backends, this.recorder, targetGroups, this.clock.now().getTime()),
      this.clock.realMs(5_000),
    );
  }

  async stop(): Promise<void> {
    clearInterval(this.probeTimer);
    clearInterval(this.healthTimer);
    this.alarms.stop();
    await this.traffic.stop();
    await this.receiver.stop();
    await this.control.stop();
  }

  config(service?: string): ServiceConfig {
    const c = service ? this.configs.find((x) => x.service === service) : this.configs[0];
    if (!c) throw new Error(`no service ${service}`);
    return c;
  }

  /**
   * An ECR push of a known image, through the real start-rollout handler. The same `eventId` and `time` again is
   * that event delivered again; an earlier `time` is a push made earlier and delivered late.
   */
  push(
    tag: string,
    service?: string,
    eventId: string = crypto.randomUUID(),
    time: string = this.clock.now().toISOString(),
  ): Promise<StartRolloutResult> {
    const image = this.imageByTag(tag);
    const config = this.config(service);
    return this.handlers.StartRollout(
      ecrPushEvent({ id: eventId, time, repository: config.repository, digest: image.digest, tag }),
      { functionName: 'canary-StartRollout' } as never,
    );
  }

  /** A Deploy Requested event; `rerun` is what `canary start` sends. */
  deployRequested(
    service: string,
    tag: string,
    options: { rerun?: boolean; eventId?: string; time?: string } = {},
  ): Promise<StartRolloutResult> {
    return this.handlers.StartRollout(
      {
        version: '0',
        id: options.eventId ?? crypto.randomUUID(),
        'detail-type': 'Deploy Requested',
        source: CONTROLLER_EVENT_SOURCE,
        time: options.time ?? this.clock.now().toISOString(),
        detail: {
          service,
          image: { digest: this.imageByTag(tag).digest, tag },
          ...(options.rerun ? { rerun: true } : {}),
        },
      },
      { functionName: 'canary-StartRollout' } as never,
    );
  }

  imageByTag(tag: string) {
    const version = this.images.byTag(tag);
    if (!version) throw new Error(`no image ${tag} in the local registry`);
    return version;
  }

  /** Resolve the current wait of a service's rollout, as the approval page or the CLI would. */
  async decideApproval(
    service: string,
    approve: boolean,
    reason = 'decided in the sandbox',
  ): Promise<boolean> {
    const lock = await this.store.getLock(service);
    const record = lock ? await this.store.getRollout(lock.rolloutId) : undefined;
    const wait = record?.wait;
    if (wait?.kind !== 'approval') return false;
    return approve
      ? this.executions.sendTaskSuccess(wait.token, { approved: true })
      : this.executions.sendTaskFailure(wait.token, 'ApprovalRejected', reason);
  }

  /** The canary's share the load balancer applies now, by service. */
  appliedCanaryPercent(service?: string): number | undefined {
    const t = this.config(service).traffic;
    const state = this.lb.appliedState(t.listenerArn);
    if (!state) return undefined;
    const serving = this.servingTargetGroups(service);
    return canaryPercent({
      stable: state.weights[serving.stable] ?? 0,
      canary: state.weights[serving.canary] ?? 0,
    });
  }

  /** The target groups in their current roles (a swapping deployer exchanges them on promotion). */
  servingTargetGroups(service?: string): { stable: string; canary: string } {
    const t = this.config(service).traffic;
    return { stable: t.stableTargetGroupArn, canary: t.canaryTargetGroupArn };
  }

  async waitFor(rolloutId: string, timeoutMs = 60_000) {
    const started = performance.now();
    for (;;) {
      const execution = this.executions.get(rolloutId);
      if (execution)
        return Promise.race([execution.done, timeout(timeoutMs - (performance.now() - started), rolloutId)]);
      if (performance.now() - started > timeoutMs) throw new Error(`execution ${rolloutId} never started`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  /** Wait until the rollout of a service reaches a wait of some kind (bake or approval). */
  async waitForWait(rolloutId: string, kind: 'bake' | 'approval', timeoutMs = 30_000): Promise<void> {
    const started = performance.now();
    while (performance.now() - started < timeoutMs) {
      const record = await this.store.getRollout(rolloutId);
      if (record?.wait?.kind === kind) return;
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error(`${rolloutId} never reached a ${kind} wait`);
  }
}

function timeout(ms: number, what: string): Promise<never> {
  return new Promise((_, reject) =>
    setTimeout(() => reject(new Error(`${what} did not finish in time`)), Math.max(1, ms)).unref(),
  );
}
