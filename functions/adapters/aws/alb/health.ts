/** Health of a target group's targets, as the deployers read it before moving traffic. */
import {
  DescribeTargetHealthCommand,
  type ElasticLoadBalancingV2Client,
  type TargetHealthDescription,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import type { CanaryHealth } from '../../../ports';
import { type AdapterOptions, AwsCaller } from '../sdk';
import { IAM } from './actions';

/**
 * Health of a target group's registered targets (draining ones excluded): ready when there is at least one and
 * every one is healthy. Shared by the deployers.
 */
export class AlbTargetHealth {
  private readonly aws: AwsCaller;

  constructor(
    private readonly elbv2: ElasticLoadBalancingV2Client,
    options: AdapterOptions = {},
  ) {
    this.aws = new AwsCaller(options.retry);
  }

  async check(targetGroupArn: string): Promise<CanaryHealth> {
    const targets = await this.targets(targetGroupArn);
    const name = targetGroupName(targetGroupArn);
    if (targets.length === 0) return { ready: false, detail: `no registered targets in ${name}` };
    const notHealthy = targets.filter((d) => d.TargetHealth?.State !== 'healthy');
    if (notHealthy.length === 0)
      return { ready: true, detail: `${targets.length}/${targets.length} targets healthy in ${name}` };
    return {
      ready: false,
      detail: `${targets.length - notHealthy.length}/${targets.length} targets healthy in ${name}: ${examples(notHealthy)}`,
    };
  }

  /**
   * How many of the group's targets are in state `healthy`, the only state in which ALB routes to a target when
   * the group has healthy ones: `initial` (registering, or not yet past its health checks), `unhealthy`, `unused`,
   * `draining` and `unavailable` do not count (API reference, TargetHealth).
   */
  async healthyCount(targetGroupArn: string): Promise<{ healthy: number; detail: string }> {
    const targets = await this.targets(targetGroupArn);
    const notHealthy = targets.filter((d) => d.TargetHealth?.State !== 'healthy');
    const healthy = targets.length - notHealthy.length;
    const name = targetGroupName(targetGroupArn);
    return {
      healthy,
      detail:
        notHealthy.length === 0
          ? `${healthy} healthy in ${name}`
          : `${healthy} healthy in ${name} (${examples(notHealthy)})`,
    };
  }

  /** The group's targets with their health, draining ones left out (they are leaving the group). */
  private async targets(targetGroupArn: string): Promise<TargetHealthDescription[]> {
    const out = await this.aws.call(
      `${IAM}:DescribeTargetHealth`,
      targetGroupArn,
      () => this.elbv2.send(new DescribeTargetHealthCommand({ TargetGroupArn: targetGroupArn })),
      { notFound: { TargetGroupNotFoundException: `target group ${targetGroupArn} does not exist` } },
    );
    return (out.TargetHealthDescriptions ?? []).filter((d) => d.TargetHealth?.State !== 'draining');
  }
}

const targetGroupName = (arn: string) => arn.slice(arn.indexOf('targetgroup/'));

/** A few targets that are not healthy, with their state and reason code, for a message. */
function examples(notHealthy: readonly TargetHealthDescription[]): string {
  const shown = notHealthy
    .slice(0, 3)
    .map(
      (d) =>
        `${d.Target?.Id ?? '?'}${d.Target?.Port ? `:${d.Target.Port}` : ''} ${d.TargetHealth?.State ?? 'unknown'}${d.TargetHealth?.Reason ? ` (${d.TargetHealth.Reason})` : ''}`,
    );
  return shown.join(', ');
}
