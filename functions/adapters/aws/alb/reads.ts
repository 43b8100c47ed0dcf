/** What the listener, its rules, their tags and the target groups say now: every write starts from a read. */
import {
  DescribeListenersCommand,
  DescribeRulesCommand,
  DescribeTagsCommand,
  DescribeTargetGroupAttributesCommand,
  DescribeTargetGroupsCommand,
  type ElasticLoadBalancingV2Client,
  type Listener,
  type Rule,
  type Tag,
  type TargetGroup,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { TargetNotFoundError } from '../../../core/errors';
import type { AlbRoute as Route } from '../../../core/rollout';
import { headerRuleCandidates, isOwnHeaderRule, targetStickinessEnabled } from '../../../core/route-checks';
import { type AwsCaller, errorName } from '../sdk';
import { IAM, notFoundMessages, type RoutingTarget } from './actions';

export class AlbReads {
  constructor(
    private readonly elbv2: ElasticLoadBalancingV2Client,
    private readonly aws: AwsCaller,
  ) {}

  async readTarget(route: Route): Promise<RoutingTarget> {
    const notFound = notFoundMessages(route);
    if (route.ruleArn) {
      const ruleArn = route.ruleArn;
      const out = await this.aws.call(
        `${IAM}:DescribeRules`,
        ruleArn,
        () => this.elbv2.send(new DescribeRulesCommand({ RuleArns: [ruleArn] })),
        { notFound },
      );
      const rule = out.Rules?.[0];
      if (!rule) throw new TargetNotFoundError(`listener rule ${ruleArn} does not exist`);
      return { actions: rule.Actions ?? [], conditions: rule.Conditions ?? [] };
    }
    const listener = await this.readListener(route);
    return { actions: listener.DefaultActions ?? [], conditions: [], listener };
  }

  async readListener(route: Route): Promise<Listener> {
    const out = await this.aws.call(
      `${IAM}:DescribeListeners`,
      route.listenerArn,
      () => this.elbv2.send(new DescribeListenersCommand({ ListenerArns: [route.listenerArn] })),
      { notFound: notFoundMessages(route) },
    );
    const listener = out.Listeners?.[0];
    if (!listener) throw new TargetNotFoundError(`listener ${route.listenerArn} does not exist`);
    return listener;
  }

  async targetGroupAttributes(arn: string): Promise<{ Key?: string; Value?: string }[]> {
    const out = await this.aws.call(
      `${IAM}:DescribeTargetGroupAttributes`,
      arn,
      () => this.elbv2.send(new DescribeTargetGroupAttributesCommand({ TargetGroupArn: arn })),
      { notFound: { TargetGroupNotFoundException: `target group not found: ${arn}` } },
    );
    return out.Attributes ?? [];
  }

  /** Whether either target group has target stickiness on (then ELB requires group stickiness on the forward). */
  async targetStickiness(route: Route): Promise<boolean> {
    for (const arn of [route.stableTargetGroupArn, route.canaryTargetGroupArn]) {
      if (targetStickinessEnabled(await this.targetGroupAttributes(arn))) return true;
    }
    return false;
  }

  /** DescribeTags for rules, at most 20 ARNs a call (the API's limit). */
  async ruleTags(ruleArns: string[]): Promise<Record<string, Tag[]>> {
    const tags: Record<string, Tag[]> = {};
    for (let i = 0; i < ruleArns.length; i += 20) {
      const batch = ruleArns.slice(i, i + 20);
      const out = await this.aws.call(`${IAM}:DescribeTags`, batch.join(', '), () =>
        this.elbv2.send(new DescribeTagsCommand({ ResourceArns: batch })),
      );
      for (const d of out.TagDescriptions ?? []) if (d.ResourceArn) tags[d.ResourceArn] = d.Tags ?? [];
    }
    return tags;
  }

  async checkTargetGroups(arns: string[]): Promise<TargetGroup[]> {
    const describe = (list: string[]) =>
      this.aws.call(`${IAM}:DescribeTargetGroups`, list.join(', '), () =>
        this.elbv2.send(new DescribeTargetGroupsCommand({ TargetGroupArns: list })),
      );
    try {
      const out = await describe(arns);
      const found = new Set((out.TargetGroups ?? []).map((tg) => tg.TargetGroupArn));
      const missing = arns.filter((arn) => !found.has(arn));
      if (missing.length > 0) throw new TargetNotFoundError(`target group not found: ${missing.join(', ')}`);
      return out.TargetGroups ?? [];
    } catch (error) {
      if (errorName(error) !== 'TargetGroupNotFoundException') throw error;
      // The error does not say which one is missing: ask about each, so the message names it.
      const missing: string[] = [];
      for (const arn of arns) {
        try {
          await describe([arn]);
        } catch (single) {
          if (errorName(single) !== 'TargetGroupNotFoundException') throw single;
          missing.push(arn);
        }
      }
      throw new TargetNotFoundError(
        `target group not found: ${(missing.length > 0 ? missing : arns).join(', ')}`,
        {
          cause: error,
        },
      );
    }
  }

  async listenerRules(listenerArn: string): Promise<Rule[]> {
    const rules: Rule[] = [];
    let marker: string | undefined;
    do {
      const out = await this.aws.call(
        `${IAM}:DescribeRules`,
        listenerArn,
        () =>
          this.elbv2.send(
            new DescribeRulesCommand({ ListenerArn: listenerArn, ...(marker ? { Marker: marker } : {}) }),
          ),
        { notFound: { ListenerNotFoundException: `listener ${listenerArn} does not exist` } },
      );
      rules.push(...(out.Rules ?? []));
      marker = out.NextMarker;
    } while (marker);
    return rules;
  }

  /**
   * The controller's header rule for this route: one it created, as its tag says. A look-alike rule without the
   * tag (same header, same target groups) belongs to someone else and is left alone.
   */
  async findHeaderRule(route: Route): Promise<Rule | undefined> {
    const rules = await this.listenerRules(route.listenerArn);
    const candidates = headerRuleCandidates(route, rules);
    if (candidates.length === 0) return undefined;
    const tags = await this.ruleTags(candidates);
    return rules.find((rule) => rule.RuleArn && isOwnHeaderRule(route, tags[rule.RuleArn] ?? []));
  }
}
