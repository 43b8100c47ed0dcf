/**
 * What an Application Load Balancer route must look like before the controller weights it, judged from the
 * described AWS objects alone (plain data shaped as the ELB API returns it, so Describe* outputs pass straight in).
 * Prepare refuses a route with an error finding before any traffic moves; the preflight check reports all of them.
 *
 * Each rule is AWS's, named where it is checked:
 * - "Listener rules for your Application Load Balancer": rules are evaluated from the lowest priority number;
 *   up to three comparison strings per condition and five per rule.
 * - "Quotas for your Application Load Balancers": load balancers per target group, 1; condition values per rule, 5.
 * - ELB API reference, AuthenticateOidcActionConfig: ClientSecret "is required if you are creating a rule";
 *   UseExistingClientSecret works only when modifying one. Describe* never returns the secret, so an OIDC action
 *   cannot be copied into a new rule. (AuthenticateCognitoActionConfig has no secret: copying it is valid.)
 * - Target group stickiness: a target group with stickiness.enabled behind a forward action whose group stickiness
 *   is disabled is refused by ELB ("You must enable group stickiness before enabling target stickiness").
 */

/** Tag the controller puts on the header rule it creates; the value is the route (rule ARN, else listener ARN). */
export const HEADER_RULE_TAG = 'canary-controller:header-rule-for';

/** ALB: up to three comparison strings per condition, five per rule ("Listener rules" and quotas). */
const MAX_VALUES_PER_CONDITION = 3;
const MAX_VALUES_PER_RULE = 5;

export interface RouteSpec {
  listenerArn: string;
  ruleArn?: string;
  stableTargetGroupArn: string;
  canaryTargetGroupArn: string;
  headerRule?: { header: string; values: readonly string[]; priority: number };
}

export interface ActionFacts {
  Type?: string;
  TargetGroupArn?: string;
  ForwardConfig?: {
    TargetGroups?: { TargetGroupArn?: string; Weight?: number }[];
    TargetGroupStickinessConfig?: { Enabled?: boolean; DurationSeconds?: number };
  };
  AuthenticateOidcConfig?: { ClientSecret?: string };
}

export interface ConditionFacts {
  Field?: string;
  Values?: string[];
  HostHeaderConfig?: { Values?: string[] };
  PathPatternConfig?: { Values?: string[] };
  HttpHeaderConfig?: { HttpHeaderName?: string; Values?: string[] };
  QueryStringConfig?: { Values?: unknown[] };
  HttpRequestMethodConfig?: { Values?: string[] };
  SourceIpConfig?: { Values?: string[] };
}

export interface RuleFacts {
  RuleArn?: string;
  Priority?: string;
  IsDefault?: boolean;
  Conditions?: ConditionFacts[];
  Actions?: ActionFacts[];
}

export interface ListenerFacts {
  ListenerArn?: string;
  LoadBalancerArn?: string;
  DefaultActions?: ActionFacts[];
}

export interface TargetGroupFacts {
  TargetGroupArn?: string;
  LoadBalancerArns?: string[];
}

export interface TagFacts {
  Key?: string;
  Value?: string;
}

export interface RouteFacts {
  route: RouteSpec;
  /** DescribeListeners' listener; undefined when it does not exist. */
  listener: ListenerFacts | undefined;
  /** Every rule of the listener (DescribeRules by ListenerArn, all pages). */
  rules: readonly RuleFacts[];
  /** DescribeTargetGroups' answer for the route's two target groups (a missing one is absent). */
  targetGroups: readonly TargetGroupFacts[];
  /** DescribeTargetGroupAttributes per target group ARN; a group left out is not judged on stickiness. */
  targetGroupAttributes?: Readonly<Record<string, readonly { Key?: string; Value?: string }[]>>;
  /** DescribeTags per rule ARN; a rule left out has no tags. */
  ruleTags?: Readonly<Record<string, readonly TagFacts[]>>;
}

export type RouteFindingCode =
  | 'ListenerNotFound'
  | 'RuleNotOnListener'
  | 'NoForwardAction'
  | 'TargetGroupNotFound'
  | 'TargetGroupOnOtherLoadBalancer'
  | 'TargetGroupNotInUse'
  | 'HeaderRuleCopiesOidc'
  | 'HeaderRuleTooManyValues'
  | 'HeaderRuleAfterRoute'
  | 'HeaderRulePriorityTaken'
  | 'TargetStickinessOn';

export interface RouteFinding {
  code: RouteFindingCode;
  /** error: the rollout cannot proceed; info: the controller adapts, the user may want to know. */
  severity: 'error' | 'info';
  /** The config field the finding is about, when there is one. */
  field?: string;
  message: string;
  fix: string;
}

/** Every finding about a route, errors first; an empty list means the controller can weight it as configured. */
export function routeFindings(facts: RouteFacts): RouteFinding[] {
  const target = routeTarget(facts);
  const info = 'findings' in target || !target.forward ? [] : stickinessFindings(facts, target.forward);
  return [...routeErrors(facts, target), ...info];
}

/**
 * The route's errors alone (routeFindings without its info): what a reader that only refuses a route needs, so
 * its bundle leaves the rest out.
 */
export function routeErrors(facts: RouteFacts, target = routeTarget(facts)): RouteFinding[] {
  if ('findings' in target) return target.findings;
  const { route, listener } = facts;
  const findings: RouteFinding[] = [];
  if (!target.forward) {
    findings.push({
      code: 'NoForwardAction',
      severity: 'error',
      field: route.ruleArn ? 'traffic.ruleArn' : 'traffic.listenerArn',
      message: `${routeName(route)} has no forward action to weight`,
      fix: 'route the traffic with a forward action to the stable target group',
    });
  }
  findings.push(...targetGroupFindings(facts, listener?.LoadBalancerArn));
  if (route.headerRule) findings.push(...headerRuleFindings(facts, target.actions, target.routeRule));
  return findings;
}

/** The actions the route weights (its rule's, else the listener's default ones), or why there are none. */
function routeTarget(
  facts: RouteFacts,
):
  | { findings: RouteFinding[] }
  | { actions: readonly ActionFacts[]; routeRule?: RuleFacts; forward?: ActionFacts } {
  const { route, listener } = facts;
  if (!listener) {
    return {
      findings: [
        {
          code: 'ListenerNotFound',
          severity: 'error',
          field: 'traffic.listenerArn',
          message: `listener ${route.listenerArn} does not exist`,
          fix: 'set traffic.listenerArn to an existing Application Load Balancer listener',
        },
      ],
    };
  }
  if (!route.ruleArn) {
    const actions = listener.DefaultActions ?? [];
    return { actions, forward: actions.find((a) => a.Type === 'forward') };
  }
  const routeRule = facts.rules.find((r) => r.RuleArn === route.ruleArn);
  if (!routeRule) {
    return {
      findings: [
        {
          code: 'RuleNotOnListener',
          severity: 'error',
          field: 'traffic.ruleArn',
          message: `listener rule ${route.ruleArn} is not a rule of listener ${route.listenerArn}`,
          fix: 'set traffic.ruleArn to a rule of traffic.listenerArn (DescribeRules --listener-arn lists them)',
        },
      ],
    };
  }
  const actions = routeRule.Actions ?? [];
  return { actions, routeRule, forward: actions.find((a) => a.Type === 'forward') };
}

function routeName(route: RouteSpec): string {
  return route.ruleArn ? `listener rule ${route.ruleArn}` : `listener ${route.listenerArn}`;
}

function targetGroupFindings(facts: RouteFacts, loadBalancerArn: string | undefined): RouteFinding[] {
  const { route } = facts;
  const findings: RouteFinding[] = [];
  const roles: [string, string][] = [
    ['traffic.stableTargetGroupArn', route.stableTargetGroupArn],
    ['traffic.canaryTargetGroupArn', route.canaryTargetGroupArn],
  ];
  for (const [field, arn] of roles) {
    const group = facts.targetGroups.find((g) => g.TargetGroupArn === arn);
    if (!group) {
      findings.push({
        code: 'TargetGroupNotFound',
        severity: 'error',
        field,
        message: `target group not found: ${arn}`,
        fix: `create the target group or correct ${field}`,
      });
      continue;
    }
    const lbs = group.LoadBalancerArns ?? [];
    if (lbs.length === 0) {
      // Its targets' health reads `unused` (Target.NotInUse): the canary would never become ready.
      findings.push({
        code: 'TargetGroupNotInUse',
        severity: 'error',
        field,
        message: `target group ${arn} is not used by any load balancer, so its targets are never health checked (Target.NotInUse)`,
        fix: `add it to the forward action of ${routeName(route)} with weight 0`,
      });
    } else if (loadBalancerArn && !lbs.includes(loadBalancerArn)) {
      findings.push({
        code: 'TargetGroupOnOtherLoadBalancer',
        severity: 'error',
        field,
        message: `target group ${arn} belongs to ${lbs.join(', ')}, not to the listener's load balancer ${loadBalancerArn} (a target group serves one load balancer)`,
        fix: `use a target group of ${loadBalancerArn} in ${field}`,
      });
    }
  }
  return findings;
}

/** Whether a target group's attributes (DescribeTargetGroupAttributes) turn target stickiness on. */
export function targetStickinessEnabled(attributes: readonly { Key?: string; Value?: string }[]): boolean {
  return attributes.some((a) => a.Key === 'stickiness.enabled' && a.Value === 'true');
}

function stickinessFindings(facts: RouteFacts, forward: ActionFacts): RouteFinding[] {
  const { route } = facts;
  const sticky = [route.stableTargetGroupArn, route.canaryTargetGroupArn].filter((arn) =>
    targetStickinessEnabled(facts.targetGroupAttributes?.[arn] ?? []),
  );
  if (sticky.length === 0) return [];
  const group = forward.ForwardConfig?.TargetGroupStickinessConfig;
  return [
    {
      code: 'TargetStickinessOn',
      severity: 'info',
      message: `target stickiness is on for ${sticky.join(', ')} (group stickiness ${group?.Enabled ? `on, ${group.DurationSeconds ?? '?'} s` : 'off'}): ELB requires group stickiness on the weighted forward action, so it stays on at 0% and 100% too, with the shortest duration (1 s) when the config sets no traffic.stickinessSeconds`,
      fix: 'nothing to do; set traffic.stickinessSeconds to choose how long a client stays on one version during the split',
    },
  ];
}

/** How many comparison strings a condition uses (typed config first: Describe* also returns the legacy Values). */
export function conditionValueCount(condition: ConditionFacts): number {
  const typed =
    condition.HostHeaderConfig ??
    condition.PathPatternConfig ??
    condition.HttpHeaderConfig ??
    condition.QueryStringConfig ??
    condition.HttpRequestMethodConfig ??
    condition.SourceIpConfig;
  return (typed?.Values ?? condition.Values ?? []).length;
}

/** The route's conditions the header rule copies: all but an http-header condition on the header it sets. */
export function copiedConditions<C extends ConditionFacts>(conditions: readonly C[], header: string): C[] {
  const name = header.toLowerCase();
  return conditions.filter(
    (c) => !(c.Field === 'http-header' && c.HttpHeaderConfig?.HttpHeaderName?.toLowerCase() === name),
  );
}

/** Whether a rule is the header rule the controller created for this route (its tag says so). */
export function isOwnHeaderRule(route: RouteSpec, tags: readonly TagFacts[]): boolean {
  const owner = route.ruleArn ?? route.listenerArn;
  return tags.some((t) => t.Key === HEADER_RULE_TAG && t.Value === owner);
}

/**
 * The rules whose tags (DescribeTags) tell whether one is this route's header rule: every non-default rule but the
 * route's own with an http-header condition on the header, or at the header rule's priority.
 */
export function headerRuleCandidates(route: RouteSpec, rules: readonly RuleFacts[]): string[] {
  const headerRule = route.headerRule;
  if (!headerRule) return [];
  const header = headerRule.header.toLowerCase();
  return rules
    .filter(
      (rule) =>
        !rule.IsDefault &&
        rule.RuleArn !== route.ruleArn &&
        (rule.Priority === String(headerRule.priority) ||
          (rule.Conditions ?? []).some(
            (c) => c.Field === 'http-header' && c.HttpHeaderConfig?.HttpHeaderName?.toLowerCase() === header,
          )),
    )
    .flatMap((rule) => (rule.RuleArn ? [rule.RuleArn] : []));
}

function headerRuleFindings(
  facts: RouteFacts,
  actions: readonly ActionFacts[],
  routeRule: RuleFacts | undefined,
): RouteFinding[] {
  const { route } = facts;
  const headerRule = route.headerRule;
  if (!headerRule) return [];
  const findings: RouteFinding[] = [];
  if (actions.some((a) => a.Type === 'authenticate-oidc')) {
    findings.push({
      code: 'HeaderRuleCopiesOidc',
      severity: 'error',
      field: 'traffic.headerRule',
      message: `${routeName(route)} authenticates with authenticate-oidc: the header rule must copy it, and CreateRule requires the OIDC client secret, which ELB never returns (UseExistingClientSecret works on ModifyRule and ModifyListener only)`,
      fix: 'remove traffic.headerRule for this service (testers reach the canary through the weights), or authenticate with Amazon Cognito (authenticate-cognito) instead',
    });
  }
  const copied = copiedConditions(routeRule?.Conditions ?? [], headerRule.header);
  const copiedValues = copied.reduce((n, c) => n + conditionValueCount(c), 0);
  const total = copiedValues + headerRule.values.length;
  if (headerRule.values.length > MAX_VALUES_PER_CONDITION || total > MAX_VALUES_PER_RULE) {
    findings.push({
      code: 'HeaderRuleTooManyValues',
      severity: 'error',
      field: 'traffic.headerRule.values',
      message: `the header rule would have ${total} condition values (${headerRule.values.length} header values + ${copiedValues} copied from ${routeName(route)}); ALB allows ${MAX_VALUES_PER_CONDITION} per condition and ${MAX_VALUES_PER_RULE} per rule`,
      fix:
        copiedValues >= MAX_VALUES_PER_RULE
          ? `the route rule's conditions use all ${MAX_VALUES_PER_RULE} values: remove traffic.headerRule, or reduce the route rule's condition values`
          : `use at most ${Math.min(MAX_VALUES_PER_CONDITION, MAX_VALUES_PER_RULE - copiedValues)} header value(s)`,
    });
  }
  const routePriority = routeRule ? Number(routeRule.Priority) : Number.NaN;
  if (routeRule && Number.isFinite(routePriority) && headerRule.priority >= routePriority) {
    findings.push({
      code: 'HeaderRuleAfterRoute',
      severity: 'error',
      field: 'traffic.headerRule.priority',
      message: `header rule priority ${headerRule.priority} is evaluated after the route rule's ${routePriority}, so it would never match (lower numbers are evaluated first)`,
      fix: `set traffic.headerRule.priority below ${routePriority}, to a priority no other rule uses`,
    });
  }
  const holder = facts.rules.find(
    (r) =>
      !r.IsDefault &&
      r.Priority === String(headerRule.priority) &&
      !isOwnHeaderRule(route, facts.ruleTags?.[r.RuleArn ?? ''] ?? []),
  );
  if (holder) {
    findings.push({
      code: 'HeaderRulePriorityTaken',
      severity: 'error',
      field: 'traffic.headerRule.priority',
      message: `priority ${headerRule.priority} is taken by rule ${holder.RuleArn ?? '?'}, which the controller did not create (no ${HEADER_RULE_TAG} tag for this route)`,
      fix: 'choose a free priority for traffic.headerRule.priority, or delete that rule if it is a header rule left over from an older controller',
    });
  }
  return findings;
}
