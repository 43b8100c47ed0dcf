/**
 * The optional header rule that sends chosen users to the canary: created tagged with its route and the controller's
 * id, modified or deleted only when its tag says it is the route's (and IAM, only when it carries the controller's id).
 */
import {
  CreateRuleCommand,
  DeleteRuleCommand,
  type ElasticLoadBalancingV2Client,
  ModifyRuleCommand,
  SetRulePrioritiesCommand,
  type Tag,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { ConfigInvalidError } from '../../../core/errors';
import type { AlbRoute as Route } from '../../../core/rollout';
import { HEADER_RULE_TAG } from '../../../core/route-checks';
import { type AwsCaller, errorName } from '../sdk';
import {
  canaryOnlyForward,
  type HeaderRule,
  headerRuleConditions,
  IAM,
  inputAction,
  type RoutingTarget,
} from './actions';
import type { AlbReads } from './reads';

export class HeaderRules {
  constructor(
    private readonly elbv2: ElasticLoadBalancingV2Client,
    private readonly aws: AwsCaller,
    private readonly reads: AlbReads,
    /** The controller's own tag (`canary-controller` = its id): its IAM changes only header rules that carry it. */
    private readonly controllerTag?: Tag,
  ) {}

  async ensureHeaderRule(route: Route, headerRule: HeaderRule, target: RoutingTarget): Promise<void> {
    const conditions = headerRuleConditions(target.conditions, headerRule);
    // Same actions as the route (an authenticate-oidc in front stays in front), forwarding to the canary only.
    const actions = target.actions.map((action) =>
      action.Type === 'forward' ? canaryOnlyForward(action, route.canaryTargetGroupArn) : inputAction(action),
    );
    const existing = await this.reads.findHeaderRule(route);
    if (existing?.RuleArn) {
      const ruleArn = existing.RuleArn;
      await this.aws.call(`${IAM}:ModifyRule`, ruleArn, () =>
        this.elbv2.send(
          new ModifyRuleCommand({ RuleArn: ruleArn, Conditions: conditions, Actions: actions }),
        ),
      );
      if (existing.Priority !== String(headerRule.priority)) {
        await this.aws.call(`${IAM}:SetRulePriorities`, ruleArn, () =>
          this.elbv2.send(
            new SetRulePrioritiesCommand({
              RulePriorities: [{ RuleArn: ruleArn, Priority: headerRule.priority }],
            }),
          ),
        );
      }
      return;
    }
    try {
      await this.aws.call(
        `${IAM}:CreateRule`,
        route.listenerArn,
        () =>
          this.elbv2.send(
            new CreateRuleCommand({
              ListenerArn: route.listenerArn,
              Priority: headerRule.priority,
              Conditions: conditions,
              Actions: actions,
              // Tagging on create needs elasticloadbalancing:AddTags as well as CreateRule (ELB Guide, "API
              // permissions to tag resources during creation"). The route's tag says which route the rule serves;
              // the controller's, whose rule it is (another controller's header rule is not this one's to change).
              Tags: [
                { Key: HEADER_RULE_TAG, Value: route.ruleArn ?? route.listenerArn },
                ...(this.controllerTag ? [this.controllerTag] : []),
              ],
            }),
          ),
        // Not idempotent: after a 5xx the rule may exist; the workflow's retry finds it and modifies it instead.
        {
          idempotent: false,
          notFound: { ListenerNotFoundException: `listener ${route.listenerArn} does not exist` },
        },
      );
    } catch (error) {
      if (errorName(error) !== 'PriorityInUseException') throw error;
      throw new ConfigInvalidError('service config', [
        {
          path: 'traffic.headerRule.priority',
          message: `priority ${headerRule.priority} is taken by another rule on listener ${route.listenerArn}`,
        },
      ]);
    }
  }

  async removeHeaderRule(route: Route): Promise<void> {
    const existing = await this.reads.findHeaderRule(route);
    if (!existing?.RuleArn) return;
    const ruleArn = existing.RuleArn;
    try {
      await this.aws.call(`${IAM}:DeleteRule`, ruleArn, () =>
        this.elbv2.send(new DeleteRuleCommand({ RuleArn: ruleArn })),
      );
    } catch (error) {
      if (errorName(error) !== 'RuleNotFoundException') throw error; // already gone: what we wanted
    }
  }
}
