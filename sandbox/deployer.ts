import { EventEmitter } from 'node:events';
import { canaryTaskCount } from '../functions/core/capacity';
import type { DeployerConfig, ServiceConfig } from '../functions/core/config';
import { ConfigInvalidError } from '../functions/core/errors';
import type { DeployedVersion, ImageRef, Route } from '../functions/core/rollout';
import type { CanaryCapacity, CanaryHealth, Deployer, DeployerFor } from '../functions/ports';
import type { VirtualClock } from './clock';
import { forwardKey, type LocalLoadBalancer } from './load-balancer';
import type { LocalRoute53 } from './route53';
import type { AppVersion, ImageRegistry } from './versions';

/**
 * One task of a service the controller sizes, as ECS and ALB take it into service: placed, then RUNNING (image
 * pulled, container started) and registered in the target group (state `initial`), then `healthy` once it has
 * passed the target group's health check ("After your target is registered, it must pass one health check to be
 * considered healthy": ALB guide, Health checks for Application Load Balancer target groups). A task the cluster
 * cannot place stays PENDING and never registers (both times infinite).
 */
export interface LocalTask {
  runningAtMs: number;
  healthyAtMs: number;
}

/** A version running behind a target group. */
export interface RunningVersion {
  version: AppVersion;
  startedAtMs: number;
  readyAtMs: number;
  /** Share of traffic it is sized for, in percent. */
  capacityPercent: number;
  /** Its tasks, when the deployer sizes it by task count (the canary service); absent: sized for all traffic. */
  tasks?: LocalTask[];
}

/**
 * Which version serves behind each target group. The data plane (HTTP proxy or synthetic traffic) reads it;
 * deployers write it. Emits `violation` when something is scaled down while it still has weight.
 */
export class Backends extends EventEmitter {
  private readonly running = new Map<string, RunningVersion>();

  get(targetGroupArn: string): RunningVersion | undefined {
    return this.running.get(targetGroupArn);
  }

  set(targetGroupArn: string, version: RunningVersion | undefined): void {
    if (version) this.running.set(targetGroupArn, version);
    else this.running.delete(targetGroupArn);
    this.emit('change', targetGroupArn, version);
  }
}

export interface LocalServiceOptions {
  /** Rollout seconds a new task takes to become healthy in its target group (half of it to reach RUNNING). */
  startSeconds?: number;
  /** Tasks of the stable service: the canary gets the same share of them as of the traffic. */
  stableTasks?: number;
  /** Canary tasks the cluster can place; more stay PENDING (ECS: "unable to place a task"). */
  canaryTaskLimit?: number;
  /** The records of services behind weighted records, read to tell whether the canary still has weight. */
  route53?: LocalRoute53;
}

/**
 * An ECS-like deployer: a stable and a canary service, each running one version behind its target group. The
 * canary runs a task count for its share of the traffic (`canaryTaskCount`, as the ECS adapter sizes it); a new
 * task takes `startSeconds` of rollout time to become healthy. Emits a `violation` on the backends when the load
 * balancer applies a canary weight above what its healthy tasks can serve.
 */
export class LocalServiceDeployer implements Deployer {
  readonly swapsTargetGroups = false;
  private readonly startSeconds: number;
  private readonly stableTasks: number;
  private readonly canaryTaskLimit: number;
  private readonly route53: LocalRoute53 | undefined;

  constructor(
    private readonly backends: Backends,
    private readonly images: ImageRegistry,
    private readonly lb: LocalLoadBalancer,
    private readonly clock: VirtualClock,
    options: LocalServiceOptions = {},
  ) {
    this.startSeconds = options.startSeconds ?? 20;
    this.stableTasks = options.stableTasks ?? 10;
    this.canaryTaskLimit = options.canaryTaskLimit ?? Number.POSITIVE_INFINITY;
    this.route53 = options.route53;
    lb.on('applied', (_listenerArn: string, state: { weights: Record<string, number> }) =>
      this.checkCapacity(state.weights),
    );
  }

  private launch(image: { digest: string }, capacityPercent: number): RunningVersion {
    const version = this.images.get(image.digest);
    if (!version) throw new Error(`image ${image.digest} is not in the local registry`);
    const now = this.clock.now().getTime();
    return { version, startedAtMs: now, readyAtMs: now + this.startSeconds * 1000, capacityPercent };
  }

  /** `count` more canary tasks placed now, after `existing` (the cluster places at most `canaryTaskLimit`). */
  private place(existing: number, count: number): LocalTask[] {
    const now = this.clock.now().getTime();
    return Array.from({ length: count }, (_, i) =>
      existing + i < this.canaryTaskLimit
        ? { runningAtMs: now + this.startSeconds * 500, healthyAtMs: now + this.startSeconds * 1000 }
        : { runningAtMs: Number.POSITIVE_INFINITY, healthyAtMs: Number.POSITIVE_INFINITY },
    );
  }

  private healthyTasks(running: RunningVersion | undefined): number {
    const now = this.clock.now().getTime();
    return (running?.tasks ?? []).filter((t) => t.healthyAtMs <= now).length;
  }

  private checkCapacity(weights: Record<string, number>): void {
    const total = Object.values(weights).reduce((sum, w) => sum + w, 0);
    if (total === 0) return;
    for (const [tg, weight] of Object.entries(weights)) {
      const running = this.backends.get(tg);
      if (weight === 0 || !running?.tasks) continue;
      const share = (weight / total) * 100;
      const healthy = this.healthyTasks(running);
      const capacity = (healthy / this.stableTasks) * 100;
      if (share > capacity + 1e-9) {
        this.backends.emit(
          'violation',
          `${tg.slice(tg.indexOf('targetgroup/'))} took ${share.toFixed(1)}% of the traffic with ${healthy} healthy tasks (capacity for ${capacity.toFixed(1)}%)`,
        );
      }
    }
  }

  async describeStable(_config: ServiceConfig, route: Route): Promise<DeployedVersion> {
    const stable = this.backends.get(route.stableTargetGroupArn);
    if (!stable) throw new Error(`nothing runs behind ${route.stableTargetGroupArn}`);
    return { image: stable.version.tag, revision: stable.version.digest };
  }

  async deployCanary(
    _config: ServiceConfig,
    route: Route,
    image: ImageRef,
    canaryPercent: number,
  ): Promise<void> {
    const tasks = this.place(0, canaryTaskCount(this.stableTasks, canaryPercent));
    this.backends.set(route.canaryTargetGroupArn, {
      ...this.launch(image, canaryPercent),
      readyAtMs: Math.max(...tasks.map((t) => t.healthyAtMs)),
      tasks,
    });
  }

  private health(running: RunningVersion | undefined, digest?: string): CanaryHealth {
    if (!running) return { ready: false, detail: 'no tasks running' };
    if (digest && running.version.digest !== digest)
      return { ready: false, detail: 'still on the previous version' };
    const ready = this.clock.now().getTime() >= running.readyAtMs;
    return { ready, detail: ready ? `${running.version.tag} healthy` : `${running.version.tag} starting` };
  }

  async canaryHealth(_config: ServiceConfig, route: Route): Promise<CanaryHealth> {
    return this.health(this.backends.get(route.canaryTargetGroupArn));
  }

  async scaleCanary(_config: ServiceConfig, route: Route, canaryPercent: number): Promise<void> {
    const canary = this.backends.get(route.canaryTargetGroupArn);
    if (!canary) throw new Error('the canary is not running');
    const tasks = canary.tasks ?? [];
    const missing = canaryTaskCount(this.stableTasks, canaryPercent) - tasks.length;
    this.backends.set(route.canaryTargetGroupArn, {
      ...canary,
      capacityPercent: Math.max(canary.capacityPercent, canaryPercent),
      tasks: missing > 0 ? [...tasks, ...this.place(tasks.length, missing)] : tasks,
    });
  }

  async canaryCapacity(_config: ServiceConfig, route: Route, canaryPercent: number): Promise<CanaryCapacity> {
    const canary = this.backends.get(route.canaryTargetGroupArn);
    if (!canary?.tasks) return { ready: false, healthy: 0, detail: 'the canary is not running' };
    const now = this.clock.now().getTime();
    const needed = canaryTaskCount(this.stableTasks, canaryPercent);
    const desired = canary.tasks.length;
    const running = canary.tasks.filter((t) => t.runningAtMs <= now).length;
    const healthy = this.healthyTasks(canary);
    return {
      ready: desired >= needed && running >= needed && healthy >= needed,
      needed,
      desired,
      running,
      healthy,
      detail: `${running}/${desired} canary tasks running, ${healthy} healthy; ${needed} needed for ${canaryPercent}%`,
    };
  }

  async promoteStable(_config: ServiceConfig, route: Route, image: ImageRef): Promise<void> {
    // A rolling update: the stable target group keeps serving while the new tasks start.
    this.backends.set(route.stableTargetGroupArn, this.launch(image, 100));
  }

  async stableHealth(_config: ServiceConfig, route: Route, image: ImageRef): Promise<CanaryHealth> {
    return this.health(this.backends.get(route.stableTargetGroupArn), image.digest);
  }

  async restoreStable(_config: ServiceConfig, route: Route, previous: DeployedVersion): Promise<void> {
    if (!previous.revision) throw new Error('no previous revision to restore');
    const restored = this.launch({ digest: previous.revision }, 100);
    // The previous version's tasks are known-good images: healthy as soon as placed.
    this.backends.set(route.stableTargetGroupArn, { ...restored, readyAtMs: restored.startedAtMs });
  }

  async scaleDownCanary(_config: ServiceConfig, route: Route): Promise<void> {
    const states =
      route.kind === 'route53'
        ? (['listed', 'answering'] as const).map((as) => ({ weights: this.route53?.weights(route, as) }))
        : [this.lb.configuredState(forwardKey(route)), this.lb.appliedState(forwardKey(route))];
    for (const state of states) {
      const weight = state?.weights?.[route.canaryTargetGroupArn] ?? 0;
      if (weight > 0) this.backends.emit('violation', `canary scaled down with weight ${weight}`);
    }
    this.backends.set(route.canaryTargetGroupArn, undefined);
  }
}

/** Someone else deploys behind the canary target group; the two target groups swap roles on promotion. */
export class LocalNoDeployer implements Deployer {
  readonly swapsTargetGroups = true;

  constructor(
    private readonly backends: Backends,
    private readonly clock: VirtualClock,
  ) {}

  async describeStable(_config: ServiceConfig, route: Route): Promise<DeployedVersion> {
    const stable = this.backends.get(route.stableTargetGroupArn);
    return { image: stable?.version.tag ?? 'unknown' };
  }
  async deployCanary(): Promise<void> {}
  async canaryHealth(_config: ServiceConfig, route: Route): Promise<CanaryHealth> {
    const canary = this.backends.get(route.canaryTargetGroupArn);
    const ready = canary !== undefined && this.clock.now().getTime() >= canary.readyAtMs;
    return { ready, detail: ready ? 'targets healthy' : 'no healthy targets' };
  }
  async scaleCanary(): Promise<void> {}
  async canaryCapacity(config: ServiceConfig, route: Route): Promise<CanaryCapacity> {
    // As the `none` adapter: the group's size is not the controller's to set, so one healthy target will do.
    const health = await this.canaryHealth(config, route);
    return { ...health, healthy: health.ready ? 1 : 0 };
  }
  async promoteStable(): Promise<void> {}
  async stableHealth(): Promise<CanaryHealth> {
    return { ready: true, detail: 'target groups swap roles' };
  }
  async restoreStable(): Promise<void> {}
  async scaleDownCanary(): Promise<void> {}
}

export function localDeployerFor(deployers: { ecs: Deployer; none: Deployer }): DeployerFor {
  return (config: ServiceConfig) => {
    const kind = (config.deployer as DeployerConfig).kind;
    const deployer = (deployers as Record<string, Deployer | undefined>)[kind];
    if (!deployer)
      throw new ConfigInvalidError('service config', [
        { path: 'deployer.kind', message: `unknown deployer kind ${kind}` },
      ]);
    return deployer;
  };
}
