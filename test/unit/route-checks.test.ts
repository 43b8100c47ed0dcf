import { describe, expect, it } from 'vitest';
import {
  conditionValueCount,
  HEADER_RULE_TAG,
  headerRuleCandidates,
  type RouteFacts,
  type RuleFacts,
  routeErrors,
  routeFindings,
} from '../../functions/core/route-checks';
import { CANARY_TG_ARN, LISTENER_ARN, LISTENER_RULE_ARN, STABLE_TG_ARN } from '../helpers/config';

const LB = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/web/50dc6c495c0c9188';
const OTHER_LB = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/api/0a1b2c3d4e5f6a7b';
const HEADER_RULE_ARN = `${LISTENER_ARN.replace(':listener/', ':listener-rule/')}/1a2b3c4d5e6f7a8b`;
const HR = { header: 'X-Canary', values: ['always'], priority: 10 };

const forward = {
  Type: 'forward',
  ForwardConfig: {
    TargetGroups: [
      { TargetGroupArn: STABLE_TG_ARN, Weight: 1 },
      { TargetGroupArn: CANARY_TG_ARN, Weight: 0 },
    ],
    TargetGroupStickinessConfig: { Enabled: false },
  },
};

const routeRule: RuleFacts = {
  RuleArn: LISTENER_RULE_ARN,
  Priority: '20',
  Conditions: [{ Field: 'host-header', HostHeaderConfig: { Values: ['web.example.com'] } }],
  Actions: [forward],
};

/** A route that is fine as it is: listener default action, both groups on the listener's load balancer. */
function facts(extra: Partial<RouteFacts> = {}): RouteFacts {
  return {
    route: {
      listenerArn: LISTENER_ARN,
      stableTargetGroupArn: STABLE_TG_ARN,
      canaryTargetGroupArn: CANARY_TG_ARN,
    },
    listener: { ListenerArn: LISTENER_ARN, LoadBalancerArn: LB, DefaultActions: [forward] },
    rules: [{ RuleArn: `${LISTENER_RULE_ARN}-default`, Priority: 'default', IsDefault: true }],
    targetGroups: [
      { TargetGroupArn: STABLE_TG_ARN, LoadBalancerArns: [LB] },
      { TargetGroupArn: CANARY_TG_ARN, LoadBalancerArns: [LB] },
    ],
    ...extra,
  };
}

const codes = (f: RouteFacts) => routeFindings(f).map((x) => x.code);

describe('routeFindings', () => {
  it('finds nothing on a route the controller can weight', () => {
    expect(routeFindings(facts())).toEqual([]);
  });

  it('a missing listener is the only finding', () => {
    expect(codes(facts({ listener: undefined }))).toEqual(['ListenerNotFound']);
  });

  it('refuses a rule that is not one of the listener’s rules', () => {
    const f = facts({
      route: { ...facts().route, ruleArn: LISTENER_RULE_ARN },
      rules: [],
    });

    const [finding] = routeFindings(f);

    expect(finding?.code).toBe('RuleNotOnListener');
    expect(finding?.field).toBe('traffic.ruleArn');
    expect(finding?.message).toContain(LISTENER_ARN);
  });

  it('names a canary target group of another load balancer, and the fix', () => {
    const f = facts({
      targetGroups: [
        { TargetGroupArn: STABLE_TG_ARN, LoadBalancerArns: [LB] },
        { TargetGroupArn: CANARY_TG_ARN, LoadBalancerArns: [OTHER_LB] },
      ],
    });

    const [finding, ...rest] = routeFindings(f);

    expect(rest).toEqual([]);
    expect(finding).toMatchObject({
      code: 'TargetGroupOnOtherLoadBalancer',
      severity: 'error',
      field: 'traffic.canaryTargetGroupArn',
    });
    expect(finding?.message).toContain(OTHER_LB);
    expect(finding?.fix).toContain(LB);
  });

  it('refuses a canary target group no load balancer uses (its health would read Target.NotInUse)', () => {
    const f = facts({
      targetGroups: [
        { TargetGroupArn: STABLE_TG_ARN, LoadBalancerArns: [LB] },
        { TargetGroupArn: CANARY_TG_ARN, LoadBalancerArns: [] },
      ],
    });

    expect(routeFindings(f)[0]).toMatchObject({
      code: 'TargetGroupNotInUse',
      field: 'traffic.canaryTargetGroupArn',
    });
    expect(routeFindings(f)[0]?.fix).toContain('weight 0');
  });

  it('names a target group that does not exist', () => {
    const f = facts({ targetGroups: [{ TargetGroupArn: STABLE_TG_ARN, LoadBalancerArns: [LB] }] });

    expect(routeFindings(f)).toEqual([
      expect.objectContaining({ code: 'TargetGroupNotFound', field: 'traffic.canaryTargetGroupArn' }),
    ]);
  });

  it('refuses a route with no forward action', () => {
    const f = facts({
      listener: {
        LoadBalancerArn: LB,
        DefaultActions: [{ Type: 'fixed-response' }],
      },
    });

    expect(codes(f)).toEqual(['NoForwardAction']);
  });

  it('tells that group stickiness stays on when a target group has target stickiness', () => {
    const f = facts({
      targetGroupAttributes: {
        [STABLE_TG_ARN]: [{ Key: 'stickiness.enabled', Value: 'true' }],
        [CANARY_TG_ARN]: [{ Key: 'stickiness.enabled', Value: 'false' }],
      },
    });

    const findings = routeFindings(f);

    expect(findings).toEqual([expect.objectContaining({ code: 'TargetStickinessOn', severity: 'info' })]);
    expect(findings[0]?.message).toContain(STABLE_TG_ARN);
    expect(findings[0]?.message).not.toContain(CANARY_TG_ARN);
  });

  describe('the header rule', () => {
    it('refuses to copy an authenticate-oidc action (CreateRule needs the client secret)', () => {
      const f = facts({
        route: { ...facts().route, headerRule: HR },
        listener: {
          LoadBalancerArn: LB,
          DefaultActions: [{ Type: 'authenticate-oidc', AuthenticateOidcConfig: {} }, forward],
        },
      });

      const [finding] = routeFindings(f);

      expect(finding).toMatchObject({ code: 'HeaderRuleCopiesOidc', field: 'traffic.headerRule' });
      expect(finding?.message).toContain('UseExistingClientSecret');
      expect(finding?.fix).toContain('authenticate-cognito');
    });

    it('copies an authenticate-cognito action without complaint (it carries no secret)', () => {
      const f = facts({
        route: { ...facts().route, headerRule: HR },
        listener: {
          LoadBalancerArn: LB,
          DefaultActions: [{ Type: 'authenticate-cognito' }, forward],
        },
      });

      expect(routeFindings(f)).toEqual([]);
    });

    // "Listener rules for your Application Load Balancer": up to three comparison strings per condition and
    // five per rule; the copied route conditions count.
    it('counts the copied route conditions against the five values a rule may have', () => {
      const rule: RuleFacts = {
        ...routeRule,
        Conditions: [
          {
            Field: 'host-header',
            Values: ['a.example.com', 'b.example.com'],
            HostHeaderConfig: { Values: ['a.example.com', 'b.example.com'] },
          },
          { Field: 'path-pattern', PathPatternConfig: { Values: ['/api/*', '/v2/*'] } },
          // replaced by the header rule's own condition: not counted
          { Field: 'http-header', HttpHeaderConfig: { HttpHeaderName: 'x-canary', Values: ['a', 'b', 'c'] } },
        ],
      };
      const f = facts({
        route: {
          ...facts().route,
          ruleArn: LISTENER_RULE_ARN,
          headerRule: { ...HR, values: ['always', 'qa'] },
        },
        rules: [rule],
      });

      const [finding] = routeFindings(f);

      expect(finding).toMatchObject({ code: 'HeaderRuleTooManyValues', field: 'traffic.headerRule.values' });
      expect(finding?.message).toContain('6 condition values');
      expect(finding?.fix).toBe('use at most 1 header value(s)');
      expect(routeFindings({ ...f, route: { ...f.route, headerRule: HR } })).toEqual([]);
    });

    it('refuses more than three header values even alone', () => {
      const f = facts({ route: { ...facts().route, headerRule: { ...HR, values: ['a', 'b', 'c', 'd'] } } });

      expect(codes(f)).toEqual(['HeaderRuleTooManyValues']);
    });

    it('refuses a priority evaluated after the route rule’s (it would never match)', () => {
      const f = facts({
        route: { ...facts().route, ruleArn: LISTENER_RULE_ARN, headerRule: { ...HR, priority: 30 } },
        rules: [routeRule],
      });

      expect(routeFindings(f)).toEqual([
        expect.objectContaining({ code: 'HeaderRuleAfterRoute', field: 'traffic.headerRule.priority' }),
      ]);
    });

    it('refuses a priority held by a rule the controller did not create, and accepts its own', () => {
      const other: RuleFacts = { RuleArn: HEADER_RULE_ARN, Priority: '10', Actions: [forward] };
      const f = facts({ route: { ...facts().route, headerRule: HR }, rules: [other] });

      expect(codes(f)).toEqual(['HeaderRulePriorityTaken']);
      expect(
        routeFindings({
          ...f,
          ruleTags: { [HEADER_RULE_ARN]: [{ Key: HEADER_RULE_TAG, Value: LISTENER_ARN }] },
        }),
      ).toEqual([]);
      // a tag for another route is not ours
      expect(
        codes({
          ...f,
          ruleTags: { [HEADER_RULE_ARN]: [{ Key: HEADER_RULE_TAG, Value: LISTENER_RULE_ARN }] },
        }),
      ).toEqual(['HeaderRulePriorityTaken']);
    });
  });
});

describe('routeErrors', () => {
  it('is routeFindings without its info, in the same order', () => {
    const sticky = { [STABLE_TG_ARN]: [{ Key: 'stickiness.enabled', Value: 'true' }] };
    const cases: RouteFacts[] = [
      facts(),
      facts({ listener: undefined }),
      facts({
        route: { ...facts().route, ruleArn: 'arn:aws:elasticloadbalancing:us-east-1:1:listener-rule/x' },
      }),
      facts({ targetGroups: [], targetGroupAttributes: sticky }),
      facts({
        targetGroupAttributes: sticky,
        route: { ...facts().route, headerRule: { ...HR, values: ['a', 'b', 'c', 'd'] } },
      }),
    ];
    for (const f of cases)
      expect(routeErrors(f)).toEqual(routeFindings(f).filter((x) => x.severity === 'error'));
    expect(routeErrors(cases[4] as RouteFacts).map((x) => x.code)).toContain('HeaderRuleTooManyValues');
  });
});

describe('conditionValueCount', () => {
  it('counts the typed config, not the legacy Values next to it', () => {
    expect(
      conditionValueCount({ Field: 'host-header', Values: ['a'], HostHeaderConfig: { Values: ['a'] } }),
    ).toBe(1);
    expect(conditionValueCount({ Field: 'path-pattern', Values: ['/a', '/b'] })).toBe(2);
    expect(
      conditionValueCount({
        Field: 'query-string',
        QueryStringConfig: { Values: [{ Key: 'v', Value: '2' }, { Value: 'beta' }] },
      }),
    ).toBe(2);
  });
});

describe('headerRuleCandidates', () => {
  it('names the rules on the header or at the priority, never the route rule or the default', () => {
    const onHeader: RuleFacts = {
      RuleArn: `${HEADER_RULE_ARN}1`,
      Priority: '3',
      Conditions: [{ Field: 'http-header', HttpHeaderConfig: { HttpHeaderName: 'x-canary', Values: ['1'] } }],
    };
    const atPriority: RuleFacts = { RuleArn: `${HEADER_RULE_ARN}2`, Priority: '10' };
    const elsewhere: RuleFacts = { RuleArn: `${HEADER_RULE_ARN}3`, Priority: '40' };
    const route = {
      listenerArn: LISTENER_ARN,
      ruleArn: LISTENER_RULE_ARN,
      stableTargetGroupArn: STABLE_TG_ARN,
      canaryTargetGroupArn: CANARY_TG_ARN,
      headerRule: HR,
    };
    const ownRouteRule = { ...routeRule, Conditions: onHeader.Conditions ?? [] };

    expect(
      headerRuleCandidates(route, [
        onHeader,
        atPriority,
        elsewhere,
        ownRouteRule,
        { IsDefault: true, Priority: 'default' },
      ]),
    ).toEqual([onHeader.RuleArn, atPriority.RuleArn]);
  });
});
