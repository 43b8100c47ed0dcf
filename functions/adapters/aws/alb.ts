/**
 * TrafficRouter over an Application Load Balancer: the weights of the two target groups in the forward action of
 * a listener's default actions (or of one listener rule), and the optional header rule that sends chosen users
 * to the canary. ModifyListener and ModifyRule replace whole action lists, so every write starts from what the
 * listener has now and changes only the forward action. `describe` (Prepare, before any traffic moves) reads
 * everything core's route checks judge and refuses a route ELB would refuse later. The header rule is the
 * controller's only when its tag says so: a rule it did not create is never modified or deleted.
 */
import {
  type Action,
  CreateRuleCommand,
  DeleteRuleCommand,
  DescribeListenersCommand,
  DescribeRulesCommand,
  DescribeTagsCommand,
  DescribeTargetGroupAttributesCommand,
  DescribeTargetGroupsCommand,
  DescribeTargetHealthCommand,
  type ElasticLoadBalancingV2Client,
  type Listener,
  ModifyListenerCommand,
  ModifyRuleCommand,
  type Rule,
  type RuleCondition,
  SetRulePrioritiesCommand,
  type Tag,
  type TargetGroup,
  type TargetGroupStickinessConfig,
  type TargetHealthDescription,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { ConfigInvalidError, TargetNotFoundError } from '../../core/errors';
import { type AlbWeights, albWeights } from '../../core/plan';
import type { Route } from '../../core/rollout';
import {
  copiedConditions,
  HEADER_RULE_TAG,
  headerRuleCandidates,
  isOwnHeaderRule,
  type RouteFinding,
  routeFindings,
  targetStickinessEnabled,
} from '../../core/route-checks';
import type { CanaryHealth, TargetGroupWeights, TrafficRouter } from '../../ports';
import { type AdapterOptions, AwsCaller, errorName } from './sdk';

type HeaderRule = NonNullable<Route['headerRule']>;

interface RoutingTarget {
  actions: Action[];
  /** The conditions of the route's rule; none when the route is the listener's default actions. */
  conditions: RuleCondition[];
  /** The listener, when the route is its default actions (read anyway). */
  listener?: Listener;
}

const IAM = 'elasticloadbalancing';

export class AlbTrafficRouter implements TrafficRouter {
  private readonly aws: AwsCaller;

  constructor(
    private readonly elbv2: ElasticLoadBalancingV2Client,
    options: AdapterOptions = {},
  ) {
    this.aws = new AwsCaller(options.retry);
  }

  async describe(route: Route): Promise<TargetGroupWeights> {
    const target = await this.readTarget(route);
    const forward = forwardAction(target.actions, route);
    const listener = target.listener ?? (await this.readListener(route));
    const rules = route.ruleArn || route.headerRule ? await this.listenerRules(route.listenerArn) : [];
    const targetGroups = await this.checkTargetGroups([
      route.stableTargetGroupArn,
      route.canaryTargetGroupArn,
    ]);
    const ruleTags = route.headerRule ? await this.ruleTags(headerRuleCandidates(route, rules)) : {};
    // Stickiness is not judged here: the writes keep it valid (see groupStickiness), so its attributes are not read.
    const errors = routeFindings({
      route,
      listener,
      rules,
      targetGroups,
      ruleTags,
    }).filter((f) => f.severity === 'error');
    if (errors.length > 0) throw routeError(errors);
    return weightsOf(forward);
  }

  async setWeights(route: Route, canaryPercent: number): Promise<void> {
    const weights = albWeights(canaryPercent);
    const headerRuleOn = canaryPercent > 0 && canaryPercent < 100;
    // Take the side door away before the main one, and open it only after: the header rule is canary traffic too.
    if (route.headerRule && !headerRuleOn) await this.removeHeaderRule(route);
    const target = await this.readTarget(route);
    const forward = forwardAction(target.actions, route);
    let stickiness = groupStickiness(forward, route, headerRuleOn, false);
    if (!stickiness?.Enabled && mayHaveTargetStickiness(forward) && (await this.targetStickiness(route))) {
      stickiness = groupStickiness(forward, route, headerRuleOn, true);
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
    if (route.headerRule && headerRuleOn) await this.ensureHeaderRule(route, route.headerRule, target);
  }

  async verifyWeights(route: Route, canaryPercent: number): Promise<boolean> {
    const expected = albWeights(canaryPercent);
    const target = await this.readTarget(route);
    if (!sameWeights(weightsOf(forwardAction(target.actions, route)), route, expected)) return false;
    if (!route.headerRule) return true;
    const headerRule = await this.findHeaderRule(route);
    const wanted = canaryPercent > 0 && canaryPercent < 100;
    return wanted
      ? headerRule !== undefined && forwardsOnlyTo(headerRule, route.canaryTargetGroupArn)
      : headerRule === undefined;
  }

  private async readTarget(route: Route): Promise<RoutingTarget> {
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

  private async readListener(route: Route): Promise<Listener> {
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

  private async targetGroupAttributes(arn: string): Promise<{ Key?: string; Value?: string }[]> {
    const out = await this.aws.call(
      `${IAM}:DescribeTargetGroupAttributes`,
      arn,
      () => this.elbv2.send(new DescribeTargetGroupAttributesCommand({ TargetGroupArn: arn })),
      { notFound: { TargetGroupNotFoundException: `target group not found: ${arn}` } },
    );
    return out.Attributes ?? [];
  }

  /** Whether either target group has target stickiness on (then ELB requires group stickiness on the forward). */
  private async targetStickiness(route: Route): Promise<boolean> {
    for (const arn of [route.stableTargetGroupArn, route.canaryTargetGroupArn]) {
      if (targetStickinessEnabled(await this.targetGroupAttributes(arn))) return true;
    }
    return false;
  }

  /** DescribeTags for rules, at most 20 ARNs a call (the API's limit). */
  private async ruleTags(ruleArns: string[]): Promise<Record<string, Tag[]>> {
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

  private async checkTargetGroups(arns: string[]): Promise<TargetGroup[]> {
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

  private async listenerRules(listenerArn: string): Promise<Rule[]> {
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
  private async findHeaderRule(route: Route): Promise<Rule | undefined> {
    const rules = await this.listenerRules(route.listenerArn);
    const candidates = headerRuleCandidates(route, rules);
    if (candidates.length === 0) return undefined;
    const tags = await this.ruleTags(candidates);
    return rules.find((rule) => rule.RuleArn && isOwnHeaderRule(route, tags[rule.RuleArn] ?? []));
  }

  private async ensureHeaderRule(route: Route, headerRule: HeaderRule, target: RoutingTarget): Promise<void> {
    const conditions = headerRuleConditions(target.conditions, headerRule);
    // Same actions as the route (an authenticate-oidc in front stays in front), forwarding to the canary only.
    const actions = target.actions.map((action) =>
      action.Type === 'forward' ? canaryOnlyForward(action, route.canaryTargetGroupArn) : inputAction(action),
    );
    const existing = await this.findHeaderRule(route);
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
              // permissions to tag resources during creation").
              Tags: [{ Key: HEADER_RULE_TAG, Value: route.ruleArn ?? route.listenerArn }],
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

  private async removeHeaderRule(route: Route): Promise<void> {
    const existing = await this.findHeaderRule(route);
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

function notFoundMessages(route: Route): Record<string, string> {
  return {
    ListenerNotFoundException: `listener ${route.listenerArn} does not exist`,
    RuleNotFoundException: `listener rule ${route.ruleArn ?? '(none)'} does not exist`,
    TargetGroupNotFoundException: `target group not found: ${route.stableTargetGroupArn} or ${route.canaryTargetGroupArn}`,
  };
}

function forwardAction(actions: readonly Action[], route: Route): Action {
  const forward = actions.find((a) => a.Type === 'forward');
  if (!forward) {
    throw new TargetNotFoundError(
      `${route.ruleArn ? `listener rule ${route.ruleArn}` : `listener ${route.listenerArn}`} has no forward action`,
    );
  }
  return forward;
}

function weightsOf(forward: Action): TargetGroupWeights {
  const groups = forward.ForwardConfig?.TargetGroups ?? [];
  if (groups.length > 0) {
    const weights: TargetGroupWeights = {};
    for (const g of groups) if (g.TargetGroupArn) weights[g.TargetGroupArn] = g.Weight ?? 1;
    return weights;
  }
  return forward.TargetGroupArn ? { [forward.TargetGroupArn]: 1 } : {};
}

function forwardsOnlyTo(rule: Rule, targetGroupArn: string): boolean {
  const forward = (rule.Actions ?? []).find((a) => a.Type === 'forward');
  if (!forward) return false;
  return Object.entries(weightsOf(forward)).every(([arn, w]) => (arn === targetGroupArn ? w > 0 : w === 0));
}

function sameWeights(found: TargetGroupWeights, route: Route, expected: AlbWeights): boolean {
  const { stableTargetGroupArn: stable, canaryTargetGroupArn: canary } = route;
  if ((found[stable] ?? 0) !== expected.stable || (found[canary] ?? 0) !== expected.canary) return false;
  return Object.entries(found).every(([arn, w]) => arn === stable || arn === canary || w === 0);
}

/**
 * An action as read back, made fit to send: Describe* never returns an OIDC client secret, so the rewrite must
 * ask ELB to keep the one it has.
 */
function inputAction(action: Action): Action {
  if (
    action.Type === 'authenticate-oidc' &&
    action.AuthenticateOidcConfig &&
    !action.AuthenticateOidcConfig.ClientSecret
  ) {
    return {
      ...action,
      AuthenticateOidcConfig: { ...action.AuthenticateOidcConfig, UseExistingClientSecret: true },
    };
  }
  return action;
}

/**
 * The group stickiness to write. ALB lets target-group stickiness win over weights (a sticky client stays on its
 * group until the cookie expires), so while both versions take traffic it follows traffic.stickinessSeconds and at
 * 0% or 100% it is switched off. Except when a target group has target stickiness on (`targetSticky`): ELB then
 * refuses a weighted forward whose group stickiness is disabled ("You must enable group stickiness before
 * enabling target stickiness"), so it stays on, with the shortest duration the API allows (1 s) where the
 * controller would have had it off.
 */
function groupStickiness(
  forward: Action,
  route: Route,
  split: boolean,
  targetSticky: boolean,
): TargetGroupStickinessConfig | undefined {
  const current = forward.ForwardConfig?.TargetGroupStickinessConfig;
  if (split && route.stickinessSeconds) return { Enabled: true, DurationSeconds: route.stickinessSeconds };
  if (!targetSticky) return !split && current?.Enabled ? { Enabled: false } : current;
  if (split && current?.Enabled) return current;
  return { Enabled: true, DurationSeconds: 1 };
}

/**
 * Whether the target groups may have target stickiness on, so that the write must read their attributes. ELB
 * refuses target stickiness on a group behind a weighted forward whose group stickiness is off, so a forward with
 * both groups and group stickiness off proves it is off; one with group stickiness on, or with a single target
 * group (the route before its first rollout), proves nothing.
 */
function mayHaveTargetStickiness(forward: Action): boolean {
  const config = forward.ForwardConfig;
  return config?.TargetGroupStickinessConfig?.Enabled === true || (config?.TargetGroups ?? []).length < 2;
}

/** The route's actions with the forward action weighted for the two target groups; every other action, and the
 * order, as it was. */
function withWeights(
  actions: readonly Action[],
  route: Route,
  weights: AlbWeights,
  stickiness: TargetGroupStickinessConfig | undefined,
): Action[] {
  const forward = forwardAction(actions, route);
  return actions.map((action) => {
    if (action !== forward) return inputAction(action);
    const { TargetGroupArn: _legacy, ForwardConfig: _config, ...rest } = action;
    return {
      ...rest,
      ForwardConfig: {
        TargetGroups: [
          { TargetGroupArn: route.stableTargetGroupArn, Weight: weights.stable },
          { TargetGroupArn: route.canaryTargetGroupArn, Weight: weights.canary },
        ],
        ...(stickiness ? { TargetGroupStickinessConfig: stickiness } : {}),
      },
    };
  });
}

/** Core's error findings as the workflow's errors: a missing resource is TargetNotFound, the rest ConfigInvalid. */
function routeError(findings: RouteFinding[]): Error {
  const missing = findings.filter((f) => f.code === 'ListenerNotFound' || f.code === 'TargetGroupNotFound');
  if (missing.length === findings.length) {
    return new TargetNotFoundError(missing.map((f) => f.message).join('; '));
  }
  return new ConfigInvalidError(
    'route',
    findings.map((f) => ({ path: f.field ?? 'traffic', message: `${f.message}. Fix: ${f.fix}` })),
  );
}

function canaryOnlyForward(action: Action, canaryTargetGroupArn: string): Action {
  const { TargetGroupArn: _legacy, ForwardConfig: _config, ...rest } = action;
  return { ...rest, ForwardConfig: { TargetGroups: [{ TargetGroupArn: canaryTargetGroupArn, Weight: 1 }] } };
}

/**
 * The header rule matches what the route's rule matches (host, path...) plus the header, so it never catches
 * another service's requests. Describe* returns the legacy `Values` next to the typed config; send only the latter.
 */
function headerRuleConditions(
  routeConditions: readonly RuleCondition[],
  headerRule: HeaderRule,
): RuleCondition[] {
  const kept = copiedConditions(routeConditions, headerRule.header).map((c) => {
    const typed =
      c.HostHeaderConfig ??
      c.PathPatternConfig ??
      c.HttpHeaderConfig ??
      c.QueryStringConfig ??
      c.HttpRequestMethodConfig ??
      c.SourceIpConfig;
    if (!typed) return c;
    const { Values: _legacy, ...rest } = c;
    return rest;
  });
  return [
    ...kept,
    {
      Field: 'http-header',
      HttpHeaderConfig: { HttpHeaderName: headerRule.header, Values: headerRule.values },
    },
  ];
}
