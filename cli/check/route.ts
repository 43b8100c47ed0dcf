/**
 * The ALB side of a service, from what DescribeListeners, DescribeRules, DescribeTargetGroups,
 * DescribeTargetGroupAttributes and DescribeTags return. What Prepare refuses is judged by the same code
 * (functions/core/route-checks.ts), so the preflight and the runtime say the same thing; the preflight adds what
 * only it looks at (reads it could not make, a default rule as the route, other target groups in the route,
 * application cookies, a header rule left from an earlier rollout). Pure: every input is a described AWS object.
 */
import type {
  Action,
  Listener,
  Rule,
  Tag,
  TargetGroup,
  TargetGroupAttribute,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import type { AlbTrafficConfig as TrafficConfig } from '../../functions/core/config-route';
import {
  isOwnHeaderRule,
  routeFindings as judgeRoute,
  type RouteFacts,
  type RouteFindingCode,
} from '../../functions/core/route-checks';
import { CONTROLLER_TAG_KEY } from '../../functions/tasks/registry';
import { type CheckName, error, type Finding, ok, type Read, unreadable, warning } from './findings';
import type { TaggedResource } from './tags';

export interface RouteAccount {
  listener: Read<Listener>;
  /** Every rule of the listener (DescribeRules by ListenerArn, all pages). */
  rules: Read<Rule[]>;
  /** The two configured target groups, by ARN. */
  targetGroups: Record<string, Read<TargetGroup>>;
  /** Their attributes, by ARN. */
  attributes: Record<string, Read<TargetGroupAttribute[]>>;
  /** Tags of the rules that could be the controller's header rule, by rule ARN (with a header rule only). */
  ruleTags?: Read<Record<string, Tag[]>>;
}

/** Which check reports each of Prepare's route findings. */
const CHECK_OF: Record<RouteFindingCode, CheckName> = {
  ListenerNotFound: 'route',
  RuleNotOnListener: 'route',
  NoForwardAction: 'route',
  TargetGroupNotFound: 'target-groups',
  TargetGroupOnOtherLoadBalancer: 'target-groups',
  TargetGroupNotInUse: 'target-groups',
  TargetStickinessOn: 'stickiness',
  HeaderRuleCopiesOidc: 'authenticate',
  HeaderRuleTooManyValues: 'header-rule',
  HeaderRuleAfterRoute: 'header-rule',
  HeaderRulePriorityTaken: 'header-rule',
};
const ROUTE_CHECKS: CheckName[] = ['route', 'target-groups', 'stickiness', 'authenticate', 'header-rule'];

/** An ELB ARN's resource part (`targetgroup/web-stable/73e2…`), where the account and region go without saying. */
const short = (arn: string) => arn.slice(arn.lastIndexOf(':') + 1);
const routeName = (t: TrafficConfig) => short(t.ruleArn ?? t.listenerArn);

/** Target group ARN → weight, from a forward action (its ForwardConfig, or the legacy single TargetGroupArn). */
function forwardWeights(forward: Action): Map<string, number> {
  const groups = forward.ForwardConfig?.TargetGroups ?? [];
  if (groups.length > 0)
    return new Map(groups.flatMap((g) => (g.TargetGroupArn ? [[g.TargetGroupArn, g.Weight ?? 1]] : [])));
  return new Map(forward.TargetGroupArn ? [[forward.TargetGroupArn, 1]] : []);
}

const found = <T>(read: Read<T> | undefined): T | undefined =>
  read && 'found' in read ? read.found : undefined;

export function albFindings(traffic: TrafficConfig, account: RouteAccount): Finding[] {
  if ('failed' in account.listener)
    return [unreadable('route', `listener ${traffic.listenerArn}`, account.listener.failed)];
  if ('failed' in account.rules && (traffic.ruleArn || traffic.headerRule))
    return [unreadable('route', `the rules of ${traffic.listenerArn}`, account.rules.failed)];
  const arns = [traffic.stableTargetGroupArn, traffic.canaryTargetGroupArn];
  const findings: Finding[] = [];
  const unread = arns.filter((arn) => {
    const read = account.targetGroups[arn];
    return !read || 'failed' in read;
  });
  for (const arn of unread) {
    const read = account.targetGroups[arn];
    findings.push(
      unreadable('target-groups', `target group ${arn}`, read && 'failed' in read ? read.failed : 'not read'),
    );
  }
  const attributes: Record<string, TargetGroupAttribute[]> = {};
  for (const arn of arns) {
    const read = account.attributes[arn];
    if (read && 'failed' in read)
      findings.push(unreadable('stickiness', `the attributes of ${short(arn)}`, read.failed));
    const value = found(read);
    if (value) attributes[arn] = value;
  }
  if (account.ruleTags && 'failed' in account.ruleTags)
    findings.push(unreadable('header-rule', 'the tags of the listener’s rules', account.ruleTags.failed));
  const listener = found(account.listener);
  const rules = found(account.rules) ?? [];
  const facts: RouteFacts = {
    // The configured traffic is the route the checks read (RouteSpec is its subset).
    route: traffic,
    listener,
    rules,
    targetGroups: arns.flatMap((arn) => found(account.targetGroups[arn]) ?? []),
    targetGroupAttributes: attributes,
    ruleTags: found(account.ruleTags) ?? {},
  };
  for (const f of judgeRoute(facts)) {
    // A target group that could not be read is not missing: it is reported as not checked above.
    if (f.code === 'TargetGroupNotFound' && unread.some((arn) => f.message.includes(arn))) continue;
    findings.push(
      f.severity === 'error'
        ? error(CHECK_OF[f.code], f.message, f.fix)
        : { check: CHECK_OF[f.code], status: 'ok', message: f.message },
    );
  }
  if (listener)
    findings.push(...preflightOnly(traffic, listener, rules, attributes, found(account.ruleTags) ?? {}));
  for (const check of ROUTE_CHECKS)
    if (!findings.some((f) => f.check === check))
      findings.push(ok(check, passed(check, traffic, listener, rules)));
  return findings;
}

/** What Prepare does not refuse but a person should know before the first rollout. */
function preflightOnly(
  traffic: TrafficConfig,
  listener: Listener,
  rules: readonly Rule[],
  attributes: Record<string, TargetGroupAttribute[]>,
  tags: Record<string, Tag[]>,
): Finding[] {
  const findings: Finding[] = [];
  const rule = traffic.ruleArn ? rules.find((r) => r.RuleArn === traffic.ruleArn) : undefined;
  if (rule?.IsDefault)
    findings.push(
      error(
        'route',
        `listener rule ${traffic.ruleArn} is the listener's default rule, which ModifyRule cannot change`,
        'remove traffic.ruleArn: the controller then weights the listener’s default action',
      ),
    );
  const actions = traffic.ruleArn ? (rule?.Actions ?? []) : (listener.DefaultActions ?? []);
  const forward = actions.find((a) => a.Type === 'forward');
  if ((!traffic.ruleArn || rule) && forward) {
    const weights = forwardWeights(forward);
    const ours = [traffic.stableTargetGroupArn, traffic.canaryTargetGroupArn];
    const others = [...weights].filter(([arn, w]) => !ours.includes(arn) && w > 0).map(([arn]) => arn);
    if (!ours.some((arn) => (weights.get(arn) ?? 0) > 0))
      findings.push(
        error(
          'route',
          `${routeName(traffic)} forwards to none of the service's target groups (it forwards to ${[...weights.keys()].map(short).join(', ') || 'nothing'})`,
          'forward the route to traffic.stableTargetGroupArn, or set the target groups the route uses in traffic',
        ),
      );
    else if (others.length > 0)
      findings.push(
        warning(
          'route',
          `${routeName(traffic)} also forwards to ${others.map(short).join(', ')}: the first weight change moves that traffic to the service's target groups`,
          'take the other target groups out of the route first, if that is not what you want',
        ),
      );
  }
  // ALB guide, "Sticky sessions": application-based stickiness does not work with weighted target groups.
  for (const [arn, attrs] of Object.entries(attributes)) {
    const enabled = attrs.some((a) => a.Key === 'stickiness.enabled' && a.Value === 'true');
    if (enabled && attrs.some((a) => a.Key === 'stickiness.type' && a.Value === 'app_cookie'))
      findings.push(
        error(
          'stickiness',
          `${short(arn)} uses application-based stickiness, which does not work with weighted target groups`,
          'switch the target group to duration-based stickiness (lb_cookie), or turn its stickiness off',
        ),
      );
  }
  const h = traffic.headerRule;
  if (h) {
    const own = rules.find(
      (r) => !r.IsDefault && r.RuleArn && isOwnHeaderRule(traffic, tags[r.RuleArn] ?? []),
    );
    if (own)
      findings.push(
        warning(
          'header-rule',
          `a header rule from an earlier rollout is still on the listener (${own.RuleArn}, priority ${own.Priority})`,
          'abort or finish the rollout that created it (the next rollout reuses it)',
        ),
      );
  }
  return findings;
}

function passed(
  check: CheckName,
  t: TrafficConfig,
  listener: Listener | undefined,
  rules: readonly Rule[],
): string {
  const rule = t.ruleArn ? rules.find((r) => r.RuleArn === t.ruleArn) : undefined;
  switch (check) {
    case 'route': {
      const actions = t.ruleArn ? (rule?.Actions ?? []) : (listener?.DefaultActions ?? []);
      const forward = actions.find((a) => a.Type === 'forward');
      const weights = forward ? [...forwardWeights(forward)] : [];
      return `${routeName(t)} forwards to ${weights.map(([arn, w]) => `${short(arn)} (weight ${w})`).join(', ')}`;
    }
    case 'target-groups':
      return `${short(t.stableTargetGroupArn)} and ${short(t.canaryTargetGroupArn)} exist${listener?.LoadBalancerArn ? ` on ${short(listener.LoadBalancerArn)}` : ''}`;
    case 'stickiness':
      return t.stickinessSeconds
        ? `target group stickiness of ${t.stickinessSeconds} s while both versions take traffic`
        : 'no stickiness';
    case 'authenticate': {
      const actions = t.ruleArn ? (rule?.Actions ?? []) : (listener?.DefaultActions ?? []);
      const kinds = [
        ...new Set(actions.filter((a) => a.Type?.startsWith('authenticate-')).map((a) => a.Type)),
      ];
      return kinds.length === 0
        ? 'no authenticate action on the route'
        : `${kinds.join(' and ')} on the route${t.headerRule ? ', copied into the header rule' : ''}`;
    }
    default: {
      const h = t.headerRule;
      if (!h) return 'no header rule configured';
      return `header ${h.header} (${h.values.length} value${h.values.length > 1 ? 's' : ''}) at priority ${h.priority}${rule?.Priority ? `, before the route's ${rule.Priority}` : ''}`;
    }
  }
}

/**
 * The route's resources a rollout changes, with the value of their controller tag (from DescribeTags of the listener
 * and the route rule): the controller's policies allow ModifyListener, ModifyRule and CreateRule only on resources
 * tagged for it. Target groups are only described (no resource-level permissions), so they need no tag.
 */
export function routeTaggedResources(
  traffic: TrafficConfig,
  tags: Read<Record<string, Tag[]>>,
): TaggedResource[] {
  const arns = [traffic.listenerArn, ...(traffic.ruleArn ? [traffic.ruleArn] : [])];
  return arns.map((arn) => ({
    what: arn === traffic.listenerArn ? 'listener' : 'listener rule',
    arn,
    value:
      'found' in tags
        ? (tags.found[arn]?.find((t) => t.Key === CONTROLLER_TAG_KEY)?.Value ?? undefined)
        : null,
    tagWith: (key, value) => `aws elbv2 add-tags --resource-arns ${arn} --tags Key=${key},Value=${value}`,
  }));
}
