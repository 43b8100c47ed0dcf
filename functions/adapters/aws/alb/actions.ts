/**
 * The listener's actions as ELB returns and takes them, changed only where the rollout needs: the forward action
 * weighted for the two target groups, the header rule's actions and conditions. Pure: no calls.
 */
import type {
  Action,
  Listener,
  Rule,
  RuleCondition,
  TargetGroupStickinessConfig,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { ConfigInvalidError, TargetNotFoundError } from '../../../core/errors';
import type { AlbWeights } from '../../../core/plan';
import type { AlbRoute as Route } from '../../../core/rollout';
import { copiedConditions, type RouteFinding } from '../../../core/route-checks';
import type { TargetGroupWeights } from '../../../ports';

export type HeaderRule = NonNullable<Route['headerRule']>;

export interface RoutingTarget {
  actions: Action[];
  /** The conditions of the route's rule; none when the route is the listener's default actions. */
  conditions: RuleCondition[];
  /** The listener, when the route is its default actions (read anyway). */
  listener?: Listener;
}

/** The service prefix of ELB's IAM actions, as each call names its action. */
export const IAM = 'elasticloadbalancing';

export function notFoundMessages(route: Route): Record<string, string> {
  return {
    ListenerNotFoundException: `listener ${route.listenerArn} does not exist`,
    RuleNotFoundException: `listener rule ${route.ruleArn ?? '(none)'} does not exist`,
    TargetGroupNotFoundException: `target group not found: ${route.stableTargetGroupArn} or ${route.canaryTargetGroupArn}`,
  };
}

export function forwardAction(actions: readonly Action[], route: Route): Action {
  const forward = actions.find((a) => a.Type === 'forward');
  if (!forward) {
    throw new TargetNotFoundError(
      `${route.ruleArn ? `listener rule ${route.ruleArn}` : `listener ${route.listenerArn}`} has no forward action`,
    );
  }
  return forward;
}

export function weightsOf(forward: Action): TargetGroupWeights {
  const groups = forward.ForwardConfig?.TargetGroups ?? [];
  if (groups.length > 0) {
    const weights: TargetGroupWeights = {};
    for (const g of groups) if (g.TargetGroupArn) weights[g.TargetGroupArn] = g.Weight ?? 1;
    return weights;
  }
  return forward.TargetGroupArn ? { [forward.TargetGroupArn]: 1 } : {};
}

export function forwardsOnlyTo(rule: Rule, targetGroupArn: string): boolean {
  const forward = (rule.Actions ?? []).find((a) => a.Type === 'forward');
  if (!forward) return false;
  return Object.entries(weightsOf(forward)).every(([arn, w]) => (arn === targetGroupArn ? w > 0 : w === 0));
}

export function sameWeights(found: TargetGroupWeights, route: Route, expected: AlbWeights): boolean {
  const { stableTargetGroupArn: stable, canaryTargetGroupArn: canary } = route;
  if ((found[stable] ?? 0) !== expected.stable || (found[canary] ?? 0) !== expected.canary) return false;
  return Object.entries(found).every(([arn, w]) => arn === stable || arn === canary || w === 0);
}

/**
 * An action as read back, made fit to send: Describe* never returns an OIDC client secret, so the rewrite must
 * ask ELB to keep the one it has.
 */
export function inputAction(action: Action): Action {
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
export function groupStickiness(
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
export function mayHaveTargetStickiness(forward: Action): boolean {
  const config = forward.ForwardConfig;
  return config?.TargetGroupStickinessConfig?.Enabled === true || (config?.TargetGroups ?? []).length < 2;
}

/** The route's actions with the forward action weighted for the two target groups; every other action, and the
 * order, as it was. */
export function withWeights(
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
export function routeError(findings: RouteFinding[]): Error {
  const missing = findings.filter((f) => f.code === 'ListenerNotFound' || f.code === 'TargetGroupNotFound');
  if (missing.length === findings.length) {
    return new TargetNotFoundError(missing.map((f) => f.message).join('; '));
  }
  return new ConfigInvalidError(
    'route',
    findings.map((f) => ({ path: f.field ?? 'traffic', message: `${f.message}. Fix: ${f.fix}` })),
  );
}

export function canaryOnlyForward(action: Action, canaryTargetGroupArn: string): Action {
  const { TargetGroupArn: _legacy, ForwardConfig: _config, ...rest } = action;
  return { ...rest, ForwardConfig: { TargetGroups: [{ TargetGroupArn: canaryTargetGroupArn, Weight: 1 }] } };
}

/**
 * The header rule matches what the route's rule matches (host, path...) plus the header, so it never catches
 * another service's requests. Describe* returns the legacy `Values` next to the typed config; send only the latter.
 */
export function headerRuleConditions(
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
