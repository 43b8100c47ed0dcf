/**
 * The metrics the sandbox's app versions and ECS publish per version (sandbox/published-metrics.ts keeps them):
 * - the app's business metric: a share of requests are checkouts, each an OrdersAttempted of 1 and an
 *   OrdersCompleted of 1 or 0 (a request the app failed completes nothing), namespace `Shop`, dimension Service = the
 *   ECS service the version runs as (`web`, `web-canary`);
 * - ECS CPUUtilization and MemoryUtilization per service (AWS/ECS, ClusterName and ServiceName), sampled with the
 *   target health, around each version's profile.
 * Their randomness is their own (seeded), so the traffic's draws, and every seeded run, stay as they were.
 */

import type { ServiceConfig } from '../functions/core/config';
import { configuredTargetGroups } from '../functions/core/routes';
import type { Backends } from './deployer';
import type { PublishedMetrics } from './published-metrics';
import { type FaultProfile, seededRandom } from './versions';

/** Share of requests that are checkouts. */
const CHECKOUT_SHARE = 0.3;
/** Defaults of a version's profile: orders completed per attempt, CPU and memory utilization (%). */
const ORDER_COMPLETION = 0.9;
const CPU_PERCENT = 30;
const MEMORY_PERCENT = 45;

interface Publisher {
  service: string;
  cluster?: string;
}

export class AppMetrics {
  private readonly random: () => number;
  private readonly byTargetGroup = new Map<string, Publisher>();

  constructor(
    private readonly published: PublishedMetrics,
    configs: readonly ServiceConfig[],
    seed: number,
  ) {
    this.random = seededRandom(seed * 7919 + 17);
    for (const c of configs) {
      const d = c.deployer;
      const [stable, canary] =
        d.kind === 'ecs' ? [d.stableService, d.canaryService] : [c.service, `${c.service}-canary`];
      const cluster = d.kind === 'ecs' ? { cluster: d.cluster } : {};
      const groups = configuredTargetGroups(c.traffic);
      this.byTargetGroup.set(groups.stable, { service: stable, ...cluster });
      this.byTargetGroup.set(groups.canary, { service: canary, ...cluster });
    }
  }

  /** A request the version behind `tg` answered with `status`. */
  served(tg: string, atMs: number, profile: FaultProfile, status: number): void {
    const p = this.byTargetGroup.get(tg);
    if (!p || this.random() >= CHECKOUT_SHARE) return;
    const dims = { Service: p.service };
    const completed = status < 500 && this.random() < (profile.orderCompletion ?? ORDER_COMPLETION);
    this.published.put('Shop', 'OrdersAttempted', dims, atMs, 1);
    this.published.put('Shop', 'OrdersCompleted', dims, atMs, completed ? 1 : 0);
  }

  /** ECS's utilization samples of every running ECS service. */
  sample(backends: Backends, atMs: number): void {
    for (const [tg, p] of this.byTargetGroup) {
      const running = backends.get(tg);
      if (!running || p.cluster === undefined) continue;
      const dims = { ClusterName: p.cluster, ServiceName: p.service };
      const jitter = () => 1 + (this.random() - 0.5) * 0.1;
      const { cpuPercent = CPU_PERCENT } = running.version.profile;
      this.published.put('AWS/ECS', 'CPUUtilization', dims, atMs, cpuPercent * jitter());
      this.published.put('AWS/ECS', 'MemoryUtilization', dims, atMs, MEMORY_PERCENT * jitter());
    }
  }
}
