/**
 * The ALB side of a service, checked from what DescribeListeners, DescribeRules, DescribeTargetGroups and
 * DescribeTargetGroupAttributes return: the route exists and forwards to the service's target groups, the target
 * groups exist on the listener's load balancer, stickiness stays valid, and the header rule can be created and is
 * reached. Pure: every input is a described AWS object.
 */
import type {
  Action,
  Listener,
  Rule,
  RuleCondition,
  Tag,
  TargetGroup,
  TargetGroupAttribute,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import type { TrafficConfig } from '../../functions/core/config';
import { error, type Finding, ok, type Read, unreadable, warning } from './findings';

export interface RouteAccount {
  listener: Read<Listener>;
  /** Every rule of the listener (DescribeRules by ListenerArn, all pages). */
  rules: Read<Rule[]>;
  /** traffic.ruleArn described by its ARN, when one is configured. */
  rule?: Read<Rule>;
  /** The two configured target groups, by ARN. */
  targetGroups: Record<string, Read<TargetGroup>>;
  /** Their attributes, by ARN. */
  attributes: Record<string, Read<TargetGroupAttribute[]>>;
  /** Tags of the rules that could be the controller's header rule, by rule ARN (with a header rule only). */
  ruleTags?: Read<Record<string, Tag[]>>;
}

/** ALB's limits on a rule's conditions (ALB guide, "Listener rules": rule basics). */
export const VALUES_PER_CONDITION = 3;
export const VALUES_PER_RULE = 5;

/** An ELB ARN's resource part (`targetgroup/web-stable/73e2…`), where the account and region go without saying. */
const short = (arn: string) => arn.slice(arn.lastIndexOf(':') + 1);
const shortTg = short;
const routeName = (t: TrafficConfig) =>
  t.ruleArn ? `listener rule ${t.ruleArn}` : `listener ${t.listenerArn}`;
const shortRouteName = (t: TrafficConfig) => short(t.ruleArn ?? t.listenerArn);

/** The actions and conditions traffic takes today: the rule's, or the listener's default actions. */
export function routeOf(
  traffic: TrafficConfig,
  account: RouteAccount,
): { actions: Action[]; conditions: RuleCondition[]; rule?: Rule } | undefined {
  if (traffic.ruleArn) {
    const rule = ruleOfListener(traffic, account);
    return rule ? { actions: rule.Actions ?? [], conditions: rule.Conditions ?? [], rule } : undefined;
  }
  if (!('found' in account.listener)) return undefined;
  return { actions: account.listener.found.DefaultActions ?? [], conditions: [] };
}

function ruleOfListener(traffic: TrafficConfig, account: RouteAccount): Rule | undefined {
  if ('found' in account.rules) {
    const rule = account.rules.found.find((r) => r.RuleArn === traffic.ruleArn);
    if (rule) return rule;
  }
  return account.rule && 'found' in account.rule ? account.rule.found : undefined;
}

function forwardOf(actions: readonly Action[]): Action | undefined {
  return actions.find((a) => a.Type === 'forward');
}

/** Target group ARN → weight, from a forward action (its ForwardConfig, or the legacy single TargetGroupArn). */
export function forwardWeights(forward: Action): Map<string, number> {
  const groups = forward.ForwardConfig?.TargetGroups ?? [];
  if (groups.length > 0)
    return new Map(groups.flatMap((g) => (g.TargetGroupArn ? [[g.TargetGroupArn, g.Weight ?? 1]] : [])));
  return new Map(forward.TargetGroupArn ? [[forward.TargetGroupArn, 1]] : []);
}

/** The listener, the rule (on that listener, not the default rule) and its forward action. */
export function routeFindings(traffic: TrafficConfig, account: RouteAccount): Finding[] {
  const check = 'route';
  const { listener } = account;
  if ('missing' in listener)
    return [
      error(
        check,
        `listener ${traffic.listenerArn} does not exist`,
        'set traffic.listenerArn to a listener of the service’s Application Load Balancer',
      ),
    ];
  if ('failed' in listener) return [unreadable(check, `listener ${traffic.listenerArn}`, listener.failed)];
  const findings: Finding[] = [];
  if (traffic.ruleArn) {
    const onListener =
      'found' in account.rules && account.rules.found.some((r) => r.RuleArn === traffic.ruleArn);
    if (!onListener) {
      if ('failed' in account.rules)
        return [unreadable(check, `the rules of ${traffic.listenerArn}`, account.rules.failed)];
      const described = account.rule;
      if (described && 'found' in described)
        return [
          error(
            check,
            `listener rule ${traffic.ruleArn} belongs to another listener, not to ${traffic.listenerArn}`,
            'set traffic.ruleArn to a rule of traffic.listenerArn, or traffic.listenerArn to the rule’s listener',
          ),
        ];
      if (described && 'failed' in described)
        return [unreadable(check, `listener rule ${traffic.ruleArn}`, described.failed)];
      return [
        error(
          check,
          `listener rule ${traffic.ruleArn} does not exist`,
          'set traffic.ruleArn to an existing rule of traffic.listenerArn, or remove it to weight the default action',
        ),
      ];
    }
    const rule = ruleOfListener(traffic, account);
    if (rule?.IsDefault)
      return [
        error(
          check,
          `listener rule ${traffic.ruleArn} is the listener's default rule, which ModifyRule cannot change`,
          'remove traffic.ruleArn: the controller then weights the listener’s default action',
        ),
      ];
  }
  const route = routeOf(traffic, account);
  const forward = route && forwardOf(route.actions);
  if (!forward)
    return [
      error(
        check,
        `${routeName(traffic)} has no forward action`,
        'make the route forward to traffic.stableTargetGroupArn (weight 1) before the first rollout',
      ),
    ];
  const weights = forwardWeights(forward);
  const ours = [traffic.stableTargetGroupArn, traffic.canaryTargetGroupArn];
  const others = [...weights].filter(([arn, w]) => !ours.includes(arn) && w > 0).map(([arn]) => arn);
  if (!ours.some((arn) => (weights.get(arn) ?? 0) > 0)) {
    findings.push(
      error(
        check,
        `${routeName(traffic)} forwards to none of the service's target groups (it forwards to ${[...weights.keys()].map(shortTg).join(', ') || 'nothing'})`,
        'forward the route to traffic.stableTargetGroupArn, or set the target groups the route uses in traffic',
      ),
    );
  } else if (others.length > 0) {
    findings.push(
      warning(
        check,
        `${routeName(traffic)} also forwards to ${others.map(shortTg).join(', ')}: the first weight change moves that traffic to the service's target groups`,
        'take the other target groups out of the route first, if that is not what you want',
      ),
    );
  }
  if (findings.length === 0)
    findings.push(
      ok(
        check,
        `${shortRouteName(traffic)} forwards to ${[...weights].map(([arn, w]) => `${shortTg(arn)} (weight ${w})`).join(', ')}`,
      ),
    );
  return findings;
}

/** Both target groups exist and are on the listener's load balancer (a target group serves one load balancer). */
export function targetGroupFindings(traffic: TrafficConfig, account: RouteAccount): Finding[] {
  const check = 'target-groups';
  const findings: Finding[] = [];
  const loadBalancer = 'found' in account.listener ? account.listener.found.LoadBalancerArn : undefined;
  const roles: [string, string][] = [
    ['traffic.stableTargetGroupArn', traffic.stableTargetGroupArn],
    ['traffic.canaryTargetGroupArn', traffic.canaryTargetGroupArn],
  ];
  for (const [field, arn] of roles) {
    const read = account.targetGroups[arn] ?? { failed: 'not read' };
    if ('missing' in read) {
      findings.push(
        error(check, `target group not found: ${arn}`, `set ${field} to an existing target group`),
      );
      continue;
    }
    if ('failed' in read) {
      findings.push(unreadable(check, `target group ${arn}`, read.failed));
      continue;
    }
    const on = read.found.LoadBalancerArns ?? [];
    if (on.length === 0) {
      findings.push(
        error(
          check,
          `${shortTg(arn)} is on no load balancer: its targets report unused (Target.NotInUse) and never pass readiness`,
          `add it to the route's forward action with weight 0, so ${loadBalancer ? short(loadBalancer) : 'the listener’s load balancer'} health-checks its targets`,
        ),
      );
    } else if (loadBalancer && !on.includes(loadBalancer)) {
      findings.push(
        error(
          check,
          `${shortTg(arn)} is on load balancer ${on.join(', ')}, not on the listener's ${loadBalancer}: a target group serves one load balancer`,
          `set ${field} to a target group of ${loadBalancer}, or traffic.listenerArn to a listener of ${on[0]}`,
        ),
      );
    }
  }
  if (findings.length === 0)
    findings.push(
      ok(
        check,
        `${roles.map(([, arn]) => shortTg(arn)).join(' and ')} exist${loadBalancer ? ` on ${short(loadBalancer)}` : ''}`,
      ),
    );
  return findings;
}

const attribute = (attributes: readonly TargetGroupAttribute[], key: string) =>
  attributes.find((a) => a.Key === key)?.Value;

/**
 * Sticky target groups in a weighted forward (ALB guide, "Sticky sessions for your Application Load Balancer"):
 * with several target groups and sticky sessions on one of them, stickiness must be enabled at the target group
 * level of the forward action; application-based stickiness does not work with weighted target groups.
 */
export function stickinessFindings(traffic: TrafficConfig, account: RouteAccount): Finding[] {
  const check = 'stickiness';
  const findings: Finding[] = [];
  const sticky: string[] = [];
  for (const arn of [traffic.stableTargetGroupArn, traffic.canaryTargetGroupArn]) {
    const read = account.attributes[arn];
    if (!read || 'missing' in read) continue; // target-groups reports a missing group
    if ('failed' in read) {
      findings.push(unreadable(check, `the attributes of ${shortTg(arn)}`, read.failed));
      continue;
    }
    if (attribute(read.found, 'stickiness.enabled') !== 'true') continue;
    sticky.push(arn);
    if (attribute(read.found, 'stickiness.type') === 'app_cookie')
      findings.push(
        error(
          check,
          `${shortTg(arn)} uses application-based stickiness, which does not work with weighted target groups`,
          'switch the target group to duration-based stickiness (lb_cookie), or turn its stickiness off',
        ),
      );
  }
  if (sticky.length > 0) {
    const route = routeOf(traffic, account);
    const forward = route && forwardOf(route.actions);
    const groupLevel = forward?.ForwardConfig?.TargetGroupStickinessConfig?.Enabled === true;
    if (!traffic.stickinessSeconds && !groupLevel)
      findings.push(
        error(
          check,
          `${sticky.map(shortTg).join(' and ')} ${sticky.length > 1 ? 'have' : 'has'} sticky sessions, so the weighted forward action needs target group stickiness, which neither the route nor the config turns on`,
          'set traffic.stickinessSeconds (target group stickiness while both versions take traffic), or turn stickiness off on the target groups',
        ),
      );
  }
  if (findings.length === 0)
    findings.push(
      ok(
        check,
        sticky.length > 0
          ? `${sticky.map(shortTg).join(' and ')} sticky; the forward action keeps target group stickiness`
          : traffic.stickinessSeconds
            ? `target group stickiness of ${traffic.stickinessSeconds} s while both versions take traffic`
            : 'no stickiness',
      ),
    );
  return findings;
}

/**
 * The header rule copies the route's actions. An authenticate-oidc action cannot be copied into a new rule:
 * CreateRule needs its client secret, which Describe* never returns (UseExistingClientSecret works on modify
 * only; ELB API reference, AuthenticateOidcActionConfig).
 */
export function authenticateFindings(traffic: TrafficConfig, account: RouteAccount): Finding[] {
  const check = 'authenticate';
  const route = routeOf(traffic, account);
  if (!route) return [];
  const oidc = route.actions.filter((a) => a.Type === 'authenticate-oidc');
  const cognito = route.actions.some((a) => a.Type === 'authenticate-cognito');
  if (oidc.length > 0 && traffic.headerRule)
    return [
      error(
        check,
        `${routeName(traffic)} authenticates with authenticate-oidc: the header rule cannot copy it, because CreateRule needs the OIDC client secret, which ELB never returns`,
        'remove traffic.headerRule for this service (testers then reach the canary by weight only)',
      ),
    ];
  const kinds = [
    ...(oidc.length > 0 ? ['authenticate-oidc'] : []),
    ...(cognito ? ['authenticate-cognito'] : []),
  ];
  return [
    ok(
      check,
      kinds.length === 0
        ? 'no authenticate action on the route'
        : `${kinds.join(' and ')} on the route${traffic.headerRule ? ', copied into the header rule' : ''}`,
    ),
  ];
}

/** How many values a condition matches against (a query-string key/value pair counts as one). */
export function conditionValueCount(c: RuleCondition): number {
  const typed =
    c.HostHeaderConfig?.Values ??
    c.PathPatternConfig?.Values ??
    c.HttpHeaderConfig?.Values ??
    c.QueryStringConfig?.Values ??
    c.HttpRequestMethodConfig?.Values ??
    c.SourceIpConfig?.Values;
  return (typed ?? c.Values ?? []).length;
}

/** The controller's header rule on the listener, left over from a rollout: same header, forwarding only to ours. */
function isHeaderRule(rule: Rule, traffic: TrafficConfig, header: string): boolean {
  const ours = [traffic.stableTargetGroupArn, traffic.canaryTargetGroupArn];
  return (
    !rule.IsDefault &&
    rule.RuleArn !== traffic.ruleArn &&
    (rule.Conditions ?? []).some(
      (c) => c.Field === 'http-header' && c.HttpHeaderConfig?.HttpHeaderName?.toLowerCase() === header,
    ) &&
    (rule.Actions ?? [])
      .filter((a) => a.Type === 'forward')
      .every((a) => [...forwardWeights(a).keys()].every((arn) => ours.includes(arn)))
  );
}

/**
 * The header rule the controller creates: the route's conditions plus the header, at a priority evaluated before
 * the route's rule (lower number first), free on the listener, and within ALB's value limits counting the copied
 * route conditions.
 */
export function headerRuleFindings(traffic: TrafficConfig, account: RouteAccount): Finding[] {
  const check = 'header-rule';
  const h = traffic.headerRule;
  if (!h) return [ok(check, 'no header rule configured')];
  const route = routeOf(traffic, account);
  if (!route) return [];
  const findings: Finding[] = [];
  const header = h.header.toLowerCase();
  if (h.values.length > VALUES_PER_CONDITION)
    findings.push(
      error(
        check,
        `traffic.headerRule.values has ${h.values.length} values; ALB allows at most ${VALUES_PER_CONDITION} per condition`,
        `keep at most ${VALUES_PER_CONDITION} values in traffic.headerRule.values`,
      ),
    );
  const copied = route.conditions.filter(
    (c) => !(c.Field === 'http-header' && c.HttpHeaderConfig?.HttpHeaderName?.toLowerCase() === header),
  );
  const copiedValues = copied.reduce((n, c) => n + conditionValueCount(c), 0);
  const total = copiedValues + h.values.length;
  if (total > VALUES_PER_RULE)
    findings.push(
      error(
        check,
        `the header rule would match ${total} values (${copiedValues} copied from the route's conditions + ${h.values.length} header values); ALB allows at most ${VALUES_PER_RULE} per rule`,
        `keep at most ${Math.max(0, VALUES_PER_RULE - copiedValues)} values in traffic.headerRule.values, or fewer values in the route's conditions`,
      ),
    );
  const routePriority = route.rule ? Number(route.rule.Priority) : Number.NaN;
  if (Number.isFinite(routePriority) && h.priority >= routePriority)
    findings.push(
      error(
        check,
        `traffic.headerRule.priority ${h.priority} is evaluated after the route rule's priority ${routePriority}: requests never reach the header rule`,
        `set traffic.headerRule.priority below ${routePriority}`,
      ),
    );
  if ('failed' in account.rules)
    findings.push(unreadable(check, `the rules of ${traffic.listenerArn}`, account.rules.failed));
  else if ('found' in account.rules) {
    const taken = account.rules.found.find((r) => r.Priority === String(h.priority));
    if (taken && isHeaderRule(taken, traffic, header))
      findings.push(
        warning(
          check,
          `a header rule from an earlier rollout is still on the listener (${taken.RuleArn})`,
          'abort or finish the rollout that created it (the next rollout reuses it)',
        ),
      );
    else if (taken)
      findings.push(
        error(
          check,
          `priority ${h.priority} is taken by another rule on listener ${traffic.listenerArn} (${taken.RuleArn})`,
          'set traffic.headerRule.priority to a priority that is free on the listener',
        ),
      );
  }
  if (findings.length === 0)
    findings.push(
      ok(
        check,
        `header ${h.header} (${h.values.length} value${h.values.length > 1 ? 's' : ''}) at priority ${h.priority}${Number.isFinite(routePriority) ? `, before the route's ${routePriority}` : ''}; ${total} of ${VALUES_PER_RULE} condition values`,
      ),
    );
  return findings;
}
