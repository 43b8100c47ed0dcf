/**
 * TrafficRouter over an Application Load Balancer: the weights of the two target groups in the forward action of
 * a listener's default actions (or of one listener rule), and the optional header rule that sends chosen users
 * to the canary. ModifyListener and ModifyRule replace whole action lists, so every write starts from what the
 * listener has now and changes only the forward action. `describe` (Prepare, before any traffic moves) reads
 * everything core's route checks judge and refuses a route ELB would refuse later. The header rule is the
 * controller's only when its tag says so: a rule it did not create is never modified or deleted.
 */
import {
  type ElasticLoadBalancingV2Client,
  ModifyListenerCommand,
  ModifyRuleCommand,
  type Tag,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { albWeights, headerRuleOn } from '../../core/plan';
import type { AlbRoute as Route } from '../../core/rollout';
import { headerRuleCandidates, routeErrors } from '../../core/route-checks';
import type { RouteReader, TargetGroupWeights, TrafficRouter, WeightOptions } from '../../ports';
import {
  forwardAction,
  forwardsOnlyTo,
  groupStickiness,
  IAM,
  mayHaveTargetStickiness,
  notFoundMessages,
  routeError,
  sameWeights,
  weightsOf,
  withWeights,
} from './alb/actions';
import { AlbReads } from './alb/reads';
import { HeaderRules } from './alb/rules';
import { type AdapterOptions, AwsCaller } from './sdk';

export { AlbTargetHealth } from './alb/health';

/**
 * Reading a route's weights (describe, verifyWeights): all the drift check needs, so analyze's bundle leaves the
 * writes out (AlbTrafficRouter adds them).
 */
export class AlbRouteReader implements RouteReader<Route> {
  protected readonly aws: AwsCaller;
  protected readonly reads: AlbReads;

  constructor(
    protected readonly elbv2: ElasticLoadBalancingV2Client,
    options: AdapterOptions = {},
  ) {
    this.aws = new AwsCaller(options.retry);
    this.reads = new AlbReads(elbv2, this.aws);
  }

  async describe(route: Route): Promise<TargetGroupWeights> {
    const target = await this.reads.readTarget(route);
    const forward = forwardAction(target.actions, route);
    const listener = target.listener ?? (await this.reads.readListener(route));
    const rules = route.ruleArn || route.headerRule ? await this.reads.listenerRules(route.listenerArn) : [];
    const targetGroups = await this.reads.checkTargetGroups([
      route.stableTargetGroupArn,
      route.canaryTargetGroupArn,
    ]);
    const ruleTags = route.headerRule ? await this.reads.ruleTags(headerRuleCandidates(route, rules)) : {};
    // Stickiness is not judged here: the writes keep it valid (see groupStickiness), so its attributes are not read.
    const errors = routeErrors({ route, listener, rules, targetGroups, ruleTags });
    if (errors.length > 0) throw routeError(errors);
    return weightsOf(forward);
  }

  async verifyWeights(route: Route, canaryPercent: number, options: WeightOptions = {}): Promise<boolean> {
    const expected = albWeights(canaryPercent);
    const target = await this.reads.readTarget(route);
    if (!sameWeights(weightsOf(forwardAction(target.actions, route)), route, expected)) return false;
    if (!route.headerRule) return true;
    const headerRule = await this.reads.findHeaderRule(route);
    return headerRuleOn(canaryPercent, options)
      ? headerRule !== undefined && forwardsOnlyTo(headerRule, route.canaryTargetGroupArn)
      : headerRule === undefined;
  }
}

export class AlbTrafficRouter extends AlbRouteReader implements TrafficRouter<Route> {
  private readonly headerRules: HeaderRules;

  constructor(elbv2: ElasticLoadBalancingV2Client, options: AdapterOptions & { controllerTag?: Tag } = {}) {
    super(elbv2, options);
    this.headerRules = new HeaderRules(elbv2, this.aws, this.reads, options.controllerTag);
  }

  async setWeights(route: Route, canaryPercent: number, options: WeightOptions = {}): Promise<void> {
    const weights = albWeights(canaryPercent);
    const headerRuleWanted = headerRuleOn(canaryPercent, options);
    // Live traffic split between the two (stickiness is about live traffic; the header rule's requests are not split).
    const split = canaryPercent > 0 && canaryPercent < 100;
    // Take the side door away before the main one, and open it only after: the header rule is canary traffic too.
    if (route.headerRule && !headerRuleWanted) await this.headerRules.removeHeaderRule(route);
    const target = await this.reads.readTarget(route);
    const forward = forwardAction(target.actions, route);
    let stickiness = groupStickiness(forward, route, split, false);
    if (
      !stickiness?.Enabled &&
      mayHaveTargetStickiness(forward) &&
      (await this.reads.targetStickiness(route))
    ) {
      stickiness = groupStickiness(forward, route, split, true);
    }
    const actions = withWeights(target.actions, route, weights, stickiness);
    if (route.ruleArn) {
      const ruleArn = route.ruleArn;
      await this.aws.call(
        `${IAM}:ModifyRule`,
        ruleArn,
        () => this.elbv2.send(new ModifyRuleCommand({ RuleArn: ruleArn, Actions: actions })),
        { notFound: notFoundMessages(route) },
      );
    } else {
      await this.aws.call(
        `${IAM}:ModifyListener`,
        route.listenerArn,
        () =>
          this.elbv2.send(
            new ModifyListenerCommand({ ListenerArn: route.listenerArn, DefaultActions: actions }),
          ),
        { notFound: notFoundMessages(route) },
      );
    }
    if (route.headerRule && headerRuleWanted)
      await this.headerRules.ensureHeaderRule(route, route.headerRule, target);
  }
}
