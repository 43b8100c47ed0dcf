/**
 * The local world a rollout runs in: the real state machine on the local engine, the real task handlers built
 * with local adapters, a load balancer, app versions, traffic, alarms, a store and a notification receiver.
 */
import { randomBytes } from 'node:crypto';
import type { Operations } from '../cli/operations';
import { approvalUrl, mintApprovalLink } from '../functions/core/approval-links';
import { parseServiceConfigs, type ServiceConfig } from '../functions/core/config';
import { CONTROLLER_EVENT_SOURCE } from '../functions/core/events';
import type { RolloutOutcome } from '../functions/core/outcome-metrics';
import type { WaitToken } from '../functions/core/rollout';
import type { Executions, Log, MetricSource, TrafficRouter } from '../functions/ports';
import { makeApprovalPage } from '../functions/tasks/approval-page';
import type { StartRolloutResult } from '../functions/tasks/start-rollout';
import { LocalAlarms } from './alarms';
import { ApiCalls, counted, countedExecutions, countedRouter, countedStore } from './api-calls';
import { AppMetrics } from './app-metrics';
import { ecrPushEvent } from './aws-events';
import { VirtualClock } from './clock';
import { LocalCloudWatch } from './cloudwatch';
import { ControlServer } from './control';
import { Backends, LocalNoDeployer, LocalServiceDeployer, localDeployerFor } from './deployer';
import { LocalEventBus } from './event-bus';
import { LocalLoadBalancer, LocalTrafficRouter } from './load-balancer';
import { MetricsRecorder } from './metrics';
import { PublishedMetrics } from './published-metrics';
import { LocalReceiver, LocalSnsNotifier } from './receiver';
import { LocalRoute53 } from './route53';
import { servicesTraffic } from './services-traffic';
import { definitionTimeoutSeconds, LocalStepFunctions } from './step-functions';
import { InMemoryRolloutStore, StoreOutage, storeWithOutage, type WorldStore } from './store';
import { DEFAULT_TIME_KEEPING, PROBE_MS, TimeKeeper } from './timekeeping';
import { type DataPlane, sampleTargetHealth } from './traffic';
import { ImageRegistry, seededRandom } from './versions';
import type { WorldOptions } from './world-options';
import { appliedCanaryPercent, configuredTargetGroups, controllerRouter, createRoutes } from './world-routes';
import { lateExecutions, localNotifiers, localOperations, localXRay, makeHandlers } from './world-wiring';
import type { LocalXRay } from './xray';

export type { WorldOptions } from './world-options';
export { SANDBOX_ROUTING_KEY } from './world-wiring';

export class World {
  readonly clock: VirtualClock;
  readonly store = new InMemoryRolloutStore();
  /** Makes the store fail for every task and entry point, as a throttled or unavailable table does. */
  readonly storeOutage = new StoreOutage();
  readonly lb: LocalLoadBalancer;
  readonly router: LocalTrafficRouter;
  /** The hosted zones of services behind weighted records. */
  readonly route53: LocalRoute53;
  /** The router the controller's tasks use: each route to its kind's (counted as the APIs it calls). */
  readonly controllerRouter: TrafficRouter;
  readonly backends = new Backends();
  readonly recorder = new MetricsRecorder();
  /** What the apps and ECS publish per version besides the ALB's metrics (sandbox/app-metrics.ts). */
  readonly published = new PublishedMetrics();
  private readonly app: AppMetrics;
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
  readonly handlers: ReturnType<World['createHandlers']>;
  readonly log: Log;
  /** The controller's own AWS requests, per API, in rollout time (sandbox/api-calls.ts). */
  readonly calls: ApiCalls;
  /** The store as tasks, entry points, the CLI and the page see it: through the outage switch. */
  readonly guardedStore: WorldStore;
  /** The Executions port the controller uses (counted). */
  readonly executionsPort: Executions;
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
    this.calls = new ApiCalls(() => this.clock.now().getTime());
    this.timekeeper = new TimeKeeper(options.scale, options.rps, options.timeKeeping ?? DEFAULT_TIME_KEEPING);
    this.lb = new LocalLoadBalancer(options.propagationMs ?? 20);
    this.router = new LocalTrafficRouter(this.lb);
    this.route53 = new LocalRoute53(this.clock, options.route53SyncSeconds ?? 10);
    this.controllerRouter = controllerRouter(countedRouter(this.router, this.calls), this);
    this.configs = parseServiceConfigs(options.services);
    this.xray = localXRay(this.configs, options.seed ?? 1);
    const emit = options.onLog ?? (() => undefined);
    this.log = {
      info: (m, e) => emit('info', m, e),
      warn: (m, e) => emit('warn', m, e),
      error: (m, e) => emit('error', m, e),
    };
    this.createServices();
    this.backends.on('violation', (v: string) => this.violations.push(v));
    // Tasks, entry points, the CLI and the page see the store through the outage switch; checks read it directly.
    this.guardedStore = storeWithOutage(this.store, this.storeOutage);
    const executions = countedExecutions(
      lateExecutions(() => this.executions),
      this.calls,
    );
    this.executionsPort = executions;
    const invoke = options.invoke ?? ((_fn: string, _event: unknown, call: () => Promise<unknown>) => call());
    // The alarm calls the on-alarm handler only when it fires, by which time the handlers exist.
    this.alarms = new LocalAlarms(
      options.alarms ?? [],
      this.recorder,
      this.clock,
      (event) => invoke('OnAlarm', event, () => this.handlers.OnAlarm(event, context('OnAlarm'))),
      (e) => this.errors.push(e),
    );
    // ALB sends each minute's metrics within the next 60 s: the newest minute is partial, as on CloudWatch.
    this.cloudwatch = new LocalCloudWatch(this.recorder, this.clock, 60, this.published);
    this.app = new AppMetrics(this.published, this.configs, options.seed ?? 1);
    this.handlers = this.createHandlers(executions, options.metrics);
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
    this.executions.on('transition', () => this.calls.record('states:StateTransition'));
    this.operations = localOperations(this, executions);
    this.control = new ControlServer(
      makeApprovalPage({
        ...this.taskBase(),
        executions,
        signingKey: async () => this.signingKey,
      }),
      this.operations,
    );
    this.traffic = servicesTraffic(this.configs, {
      kind: options.traffic,
      seed: options.seed ?? 1,
      random: seededRandom(options.seed ?? 1),
      rps: options.rps,
      lb: this.lb,
      route53: this.route53,
      backends: this.backends,
      recorder: this.recorder,
      xray: this.xray,
      app: this.app,
      clock: this.clock,
    });
  }

  /**
   * Each service's route (its listener, or its rule of a shared listener: the listener is created once; or its
   * weighted records), 100% on stable, and its stable version running; the images that can be pushed.
   */
  private createServices(): void {
    const { stable, images } = this.options;
    const stableImage = this.images.add(stable.tag, stable.profile);
    for (const image of images) this.images.add(image.tag, image.profile);
    createRoutes(this.configs, this.lb, this.route53);
    for (const c of this.configs) {
      const own = stable.byService?.[c.service];
      const version = own ? this.images.add(own, stable.profile) : stableImage;
      this.backends.set(configuredTargetGroups(c.traffic).stable, {
        version,
        startedAtMs: 0,
        readyAtMs: 0,
        capacityPercent: 100,
      });
    }
  }

  /** What every task is built with: the store (through the outage switch), the clock, the log, the bus. */
  private taskBase() {
    return { store: this.guardedStore, clock: this.clock, log: this.log, events: this.eventBus };
  }

  private createHandlers(executions: Executions, metrics: MetricSource | undefined) {
    const options = this.options;
    const deployerFor = localDeployerFor({
      ecs: new LocalServiceDeployer(this.backends, this.images, this.lb, this.clock, {
        startSeconds: options.startSeconds ?? 20,
        ...(options.canaryTaskLimit !== undefined ? { canaryTaskLimit: options.canaryTaskLimit } : {}),
        route53: this.route53,
      }),
      none: new LocalNoDeployer(this.backends, this.clock),
    });
    const sns = new LocalSnsNotifier(
      () => this.receiver.url,
      'arn:aws:sns:us-east-1:123456789012:canary-rollouts',
    );
    return makeHandlers({
      ...this.taskBase(),
      store: countedStore(this.guardedStore, this.calls),
      events: counted(this.eventBus, { put: () => this.calls.record('events:PutEvents') }),
      configs: this.configs,
      router: this.controllerRouter,
      deployerFor,
      executions,
      alarms: counted(this.alarms, { states: () => this.calls.record('cloudwatch:DescribeAlarms') }),
      notifiers: localNotifiers(() => this.receiver.url, this.clock, this.calls, sns),
      cloudwatch: this.cloudwatch,
      xray: this.xray,
      calls: this.calls,
      metrics,
      approvalLink: (rolloutId, step, waitToken) => {
        const url = this.approvalLink(rolloutId, step, waitToken);
        this.approvalLinks.set(rolloutId, url);
        return url;
      },
      countOutcome: (o) => this.outcomes.push(o),
      hooks: { world: this, more: options.hookFunctions },
    });
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
    const targetGroups = this.configs.flatMap((c) => Object.values(configuredTargetGroups(c.traffic)));
    this.healthTimer = setInterval(() => {
      sampleTargetHealth(this.backends, this.recorder, targetGroups, this.clock.now().getTime());
      this.app.sample(this.backends, this.clock.now().getTime());
    }, this.clock.realMs(5_000));
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

  /** The canary's share the load balancer (or the records' DNS servers) applies now, by service. */
  appliedCanaryPercent(service?: string): number | undefined {
    return appliedCanaryPercent(
      this.config(service),
      this.servingTargetGroups(service),
      this.lb,
      this.route53,
    );
  }

  /** The target groups in their current roles (a swapping deployer exchanges them on promotion). */
  servingTargetGroups(service?: string): { stable: string; canary: string } {
    return configuredTargetGroups(this.config(service).traffic);
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

  /** Wait until the rollout of a service reaches a wait of some kind (bake, approval, failure). */
  async waitForWait(rolloutId: string, kind: WaitToken['kind'], timeoutMs = 30_000): Promise<void> {
    const started = performance.now();
    while (performance.now() - started < timeoutMs) {
      const record = await this.store.getRollout(rolloutId);
      if (record?.wait?.kind === kind) return;
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error(`${rolloutId} never reached a ${kind} wait`);
  }
}

/** A Lambda context for the functions EventBridge invokes: Reconcile runs for up to its function timeout (infra: 280 s). */
function context(fn: string): never {
  return {
    functionName: `canary-${fn}`,
    getRemainingTimeInMillis: () => (fn === 'Reconcile' ? 280_000 : 60_000),
  } as never;
}

function timeout(ms: number, what: string): Promise<never> {
  return new Promise((_, reject) =>
    setTimeout(() => reject(new Error(`${what} did not finish in time`)), Math.max(1, ms)).unref(),
  );
}
