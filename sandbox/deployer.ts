import { EventEmitter } from 'node:events';
import type { DeployerConfig, ServiceConfig } from '../functions/core/config';
import { ConfigInvalidError } from '../functions/core/errors';
import type { DeployedVersion, ImageRef, Route } from '../functions/core/rollout';
import type { CanaryHealth, Deployer, DeployerFor } from '../functions/ports';
import type { VirtualClock } from './clock';
import type { LocalLoadBalancer } from './load-balancer';
import type { AppVersion, ImageRegistry } from './versions';

/** A version running behind a target group. */
export interface RunningVersion {
  version: AppVersion;
  startedAtMs: number;
  readyAtMs: number;
  /** Share of traffic it is sized for, in percent. */
  capacityPercent: number;
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

/**
 * An ECS-like deployer: a stable and a canary service, each running one version behind its target group. A
 * new version takes `startSeconds` of rollout time to become healthy.
 */
export class LocalServiceDeployer implements Deployer {
  readonly swapsTargetGroups = false;

  constructor(
    private readonly backends: Backends,
    private readonly images: ImageRegistry,
    private readonly lb: LocalLoadBalancer,
    private readonly clock: VirtualClock,
    private readonly startSeconds = 20,
  ) {}

  private launch(image: { digest: string }, capacityPercent: number): RunningVersion {
    const version = this.images.get(image.digest);
    if (!version) throw new Error(`image ${image.digest} is not in the local registry`);
    const now = this.clock.now().getTime();
    return { version, startedAtMs: now, readyAtMs: now + this.startSeconds * 1000, capacityPercent };
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
    this.backends.set(route.canaryTargetGroupArn, this.launch(image, canaryPercent));
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
    this.backends.set(route.canaryTargetGroupArn, {
      ...canary,
      capacityPercent: Math.max(canary.capacityPercent, canaryPercent),
    });
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
    for (const state of [
      this.lb.configuredState(route.listenerArn),
      this.lb.appliedState(route.listenerArn),
    ]) {
      const weight = state?.weights[route.canaryTargetGroupArn] ?? 0;
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
