import { EventEmitter } from 'node:events';
import { TargetNotFoundError } from '../functions/core/errors';
import { albWeights, headerRuleOn } from '../functions/core/plan';
import type { AlbRoute as Route } from '../functions/core/rollout';
import type { TargetGroupWeights, TrafficRouter, WeightOptions } from '../functions/ports';

export interface ListenerState {
  weights: TargetGroupWeights;
  stickinessSeconds?: number;
  headerRule?: { header: string; values: string[] };
}

export const STICKY_COOKIE = 'AWSALBTG';

/**
 * Where a route's weighted forward action lives: its listener rule when it has one (ModifyRule), else the
 * listener's default action (ModifyListener). The local load balancer keeps one state per action.
 */
export function forwardKey(route: { listenerArn: string; ruleArn?: string | undefined }): string {
  return route.ruleArn ?? route.listenerArn;
}

/**
 * The part of an Application Load Balancer the controller drives: listeners with a weighted forward action,
 * target-group stickiness and a header rule. Like ALB, a change is accepted at once but takes effect on the
 * data plane a little later (`propagationMs`), which is why the controller verifies weights.
 */
export class LocalLoadBalancer extends EventEmitter {
  private readonly configured = new Map<string, ListenerState>();
  private readonly applied = new Map<string, ListenerState>();
  readonly targetGroups = new Set<string>();

  constructor(private readonly propagationMs = 20) {
    super();
  }

  createListener(listenerArn: string, state: ListenerState): void {
    for (const tg of Object.keys(state.weights)) this.targetGroups.add(tg);
    this.configured.set(listenerArn, structuredClone(state));
    this.applied.set(listenerArn, structuredClone(state));
  }

  /** A rule of a listener, with its own weighted forward action (several services can share a listener). */
  createRule(ruleArn: string, listenerArn: string, state: ListenerState): void {
    if (!this.configured.has(listenerArn)) throw new Error(`no listener ${listenerArn} for rule ${ruleArn}`);
    this.createListener(ruleArn, state);
  }

  hasListener(listenerArn: string): boolean {
    return this.configured.has(listenerArn);
  }

  configuredState(listenerArn: string): ListenerState | undefined {
    return structuredClone(this.configured.get(listenerArn));
  }

  appliedState(listenerArn: string): ListenerState | undefined {
    return structuredClone(this.applied.get(listenerArn));
  }

  configure(listenerArn: string, state: ListenerState): void {
    this.configured.set(listenerArn, structuredClone(state));
    const snapshot = structuredClone(state);
    setTimeout(() => {
      this.applied.set(listenerArn, snapshot);
      this.emit('applied', listenerArn, snapshot, performance.now());
    }, this.propagationMs);
  }

  /**
   * The target group for one request: the header rule first, then a sticky cookie naming a target group that
   * still has weight, then a weighted random pick.
   */
  pick(
    listenerArn: string,
    headers: Record<string, string | undefined>,
    stickyTg: string | undefined,
    random: number,
  ): string | undefined {
    const state = this.applied.get(listenerArn);
    if (!state) return undefined;
    const entries = Object.entries(state.weights).filter(([, w]) => w > 0);
    if (state.headerRule) {
      const value = headers[state.headerRule.header.toLowerCase()];
      const canary = Object.keys(state.weights)[1];
      // A rule of its own that forwards to the canary target group alone, evaluated before the weighted action by
      // its priority ("Listener rules for your Application Load Balancer"): it matches whatever the weights are,
      // at 0% too (a test step's test route).
      if (value && state.headerRule.values.includes(value) && canary) return canary;
    }
    if (state.stickinessSeconds && stickyTg && (state.weights[stickyTg] ?? 0) > 0) return stickyTg;
    const total = entries.reduce((sum, [, w]) => sum + w, 0);
    let r = random * total;
    for (const [tg, w] of entries) {
      r -= w;
      if (r < 0) return tg;
    }
    return entries[entries.length - 1]?.[0];
  }
}

/** The TrafficRouter port over the local load balancer, with ALB's weight rules (integers 0–999). */
export class LocalTrafficRouter implements TrafficRouter<Route> {
  constructor(private readonly lb: LocalLoadBalancer) {}

  private check(route: Route): ListenerState {
    if (!this.lb.hasListener(route.listenerArn))
      throw new TargetNotFoundError(`listener ${route.listenerArn} not found`);
    const state = this.lb.configuredState(forwardKey(route));
    if (!state) throw new TargetNotFoundError(`listener rule ${route.ruleArn} not found`);
    for (const tg of [route.stableTargetGroupArn, route.canaryTargetGroupArn]) {
      if (!this.lb.targetGroups.has(tg)) throw new TargetNotFoundError(`target group ${tg} not found`);
    }
    return state;
  }

  async describe(route: Route): Promise<TargetGroupWeights> {
    return this.check(route).weights;
  }

  async setWeights(route: Route, canaryPercent: number, options: WeightOptions = {}): Promise<void> {
    this.check(route);
    const w = albWeights(canaryPercent);
    this.lb.configure(forwardKey(route), {
      // Stable first, canary second: the order the header rule reads.
      weights: { [route.stableTargetGroupArn]: w.stable, [route.canaryTargetGroupArn]: w.canary },
      ...(route.stickinessSeconds ? { stickinessSeconds: route.stickinessSeconds } : {}),
      ...(route.headerRule && headerRuleOn(canaryPercent, options) ? { headerRule: route.headerRule } : {}),
    });
  }

  async verifyWeights(route: Route, canaryPercent: number, options: WeightOptions = {}): Promise<boolean> {
    const applied = this.lb.appliedState(forwardKey(route));
    const w = albWeights(canaryPercent);
    return (
      applied?.weights[route.stableTargetGroupArn] === w.stable &&
      applied?.weights[route.canaryTargetGroupArn] === w.canary &&
      (!route.headerRule || (applied.headerRule !== undefined) === headerRuleOn(canaryPercent, options))
    );
  }
}
