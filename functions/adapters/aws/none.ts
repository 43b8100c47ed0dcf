/**
 * The deployer for target groups someone else deploys: the controller only moves traffic. The new version is
 * already behind the canary target group, so readiness is that group's target health; on promotion the two
 * target groups swap roles instead of anything being redeployed, and there is nothing to scale or restore.
 */
import type { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import type { DeployedVersion, Route } from '../../core/rollout';
import type { CanaryCapacity, CanaryHealth, Deployer, RollbackDeployer } from '../../ports';
import { AlbTargetHealth } from './alb';
import type { AdapterOptions } from './sdk';

/** A rollback changes nothing here: the target groups hold what someone else deployed. */
export class NoRollback implements RollbackDeployer {
  readonly swapsTargetGroups = true;

  async restoreStable(): Promise<void> {}

  async scaleDownCanary(): Promise<void> {}
}

export class NoDeployer extends NoRollback implements Deployer {
  private readonly targetHealth: AlbTargetHealth;

  constructor(elbv2: ElasticLoadBalancingV2Client, options: AdapterOptions = {}) {
    super();
    this.targetHealth = new AlbTargetHealth(elbv2, options);
  }

  async describeStable(_config: unknown, route: Route): Promise<DeployedVersion> {
    return { image: `whatever serves ${route.stableTargetGroupArn} (deployed outside the controller)` };
  }

  async deployCanary(): Promise<void> {}

  canaryHealth(_config: unknown, route: Route): Promise<CanaryHealth> {
    return this.targetHealth.check(route.canaryTargetGroupArn);
  }

  async scaleCanary(): Promise<void> {}

  /**
   * Whoever deploys behind the canary target group also sizes it, often by scaling on the traffic it gets (target
   * tracking on ALBRequestCountPerTarget), which a wait for capacity before traffic would deadlock. So the share
   * moves once the group has a healthy target; how many it has is reported, not required.
   */
  async canaryCapacity(_config: unknown, route: Route, canaryPercent: number): Promise<CanaryCapacity> {
    const { healthy, detail } = await this.targetHealth.healthyCount(route.canaryTargetGroupArn);
    return {
      ready: healthy > 0,
      healthy,
      detail: `${detail}; sized outside the controller, ${canaryPercent}% moves once one target is healthy`,
    };
  }

  async promoteStable(): Promise<void> {}

  async stableHealth(): Promise<CanaryHealth> {
    return { ready: true, detail: 'nothing to redeploy: the target groups swap roles' };
  }
}
