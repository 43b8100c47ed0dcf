/** The pure checks of `canary check`, on described AWS objects: no SDK, no mocks. */
import { describe, expect, it } from 'vitest';
import {
  FUNCTION_NEEDS,
  nextRevisionArn,
  permissionFindings,
  requiredCalls,
} from '../../cli/check/permissions';
import { isShortServiceArn, xrayFindings } from '../../cli/check/resources';
import {
  authenticateFindings,
  conditionValueCount,
  headerRuleFindings,
  type RouteAccount,
  stickinessFindings,
} from '../../cli/check/route';
import { parseServiceConfig, type TrafficConfig } from '../../functions/core/config';
import { HANDLERS } from '../../infra/canary-controller';
import { checkedConfig, LOAD_BALANCER_ARN } from '../helpers/check-account';
import { CANARY_TG_ARN, LISTENER_ARN, LISTENER_RULE_ARN, STABLE_TG_ARN } from '../helpers/config';

const traffic = (over: Partial<TrafficConfig> = {}): TrafficConfig => ({
  kind: 'alb',
  listenerArn: LISTENER_ARN,
  stableTargetGroupArn: STABLE_TG_ARN,
  canaryTargetGroupArn: CANARY_TG_ARN,
  deregistrationDelaySeconds: 300,
  ...over,
});

const account = (over: Partial<RouteAccount> = {}): RouteAccount => ({
  listener: {
    found: {
      ListenerArn: LISTENER_ARN,
      LoadBalancerArn: LOAD_BALANCER_ARN,
      DefaultActions: [
        {
          Type: 'forward',
          ForwardConfig: {
            TargetGroups: [
              { TargetGroupArn: STABLE_TG_ARN, Weight: 1 },
              { TargetGroupArn: CANARY_TG_ARN, Weight: 0 },
            ],
          },
        },
      ],
    },
  },
  rules: { found: [] },
  targetGroups: {},
  attributes: {},
  ...over,
});

describe('header rule values (ALB: 3 per condition, 5 per rule)', () => {
  it('refuses more than 3 values in the header condition, whatever the config schema allows', () => {
    const findings = headerRuleFindings(
      traffic({ headerRule: { header: 'x-canary', values: ['a', 'b', 'c', 'd'], priority: 1 } }),
      account(),
    );
    expect(findings).toEqual([
      expect.objectContaining({
        status: 'error',
        message: 'traffic.headerRule.values has 4 values; ALB allows at most 3 per condition',
      }),
    ]);
  });

  it('counts query-string pairs one each, the legacy Values, and not the header the rule replaces', () => {
    expect(
      conditionValueCount({
        Field: 'query-string',
        QueryStringConfig: { Values: [{ Key: 'a', Value: '1' }, { Value: '2' }] },
      }),
    ).toBe(2);
    expect(conditionValueCount({ Field: 'path-pattern', Values: ['/a', '/b', '/c'] })).toBe(3);
    const rule = {
      RuleArn: LISTENER_RULE_ARN,
      Priority: '20',
      Conditions: [
        { Field: 'path-pattern', PathPatternConfig: { Values: ['/a', '/b', '/c'] } },
        { Field: 'http-header', HttpHeaderConfig: { HttpHeaderName: 'X-Canary', Values: ['x', 'y'] } },
      ],
      Actions: [{ Type: 'forward' as const, TargetGroupArn: STABLE_TG_ARN }],
    };
    const t = traffic({
      ruleArn: LISTENER_RULE_ARN,
      headerRule: { header: 'x-canary', values: ['a', 'b'], priority: 10 },
    });
    expect(headerRuleFindings(t, account({ rules: { found: [rule] } }))).toEqual([
      expect.objectContaining({ status: 'ok', message: expect.stringContaining('5 of 5 condition values') }),
    ]);
  });
});

describe('stickiness', () => {
  const sticky = { found: [{ Key: 'stickiness.enabled', Value: 'true' }] };

  it('is valid when the forward action already has target group stickiness', () => {
    const a = account({ attributes: { [STABLE_TG_ARN]: sticky } });
    const forward = (a.listener as { found: { DefaultActions: { ForwardConfig: object }[] } }).found
      .DefaultActions[0];
    if (forward)
      forward.ForwardConfig = {
        ...forward.ForwardConfig,
        TargetGroupStickinessConfig: { Enabled: true, DurationSeconds: 600 },
      };
    expect(stickinessFindings(traffic(), a)).toEqual([expect.objectContaining({ status: 'ok' })]);
  });

  it('is valid when the config turns target group stickiness on', () => {
    const findings = stickinessFindings(
      traffic({ stickinessSeconds: 3600 }),
      account({ attributes: { [STABLE_TG_ARN]: sticky } }),
    );
    expect(findings).toEqual([expect.objectContaining({ status: 'ok' })]);
  });
});

describe('authenticate actions', () => {
  it('an authenticate-cognito action copies (no client secret in its config); without a header rule OIDC is fine', () => {
    const withAuth = (type: 'authenticate-oidc' | 'authenticate-cognito') =>
      account({
        listener: {
          found: {
            ListenerArn: LISTENER_ARN,
            DefaultActions: [
              { Type: type, Order: 1 },
              { Type: 'forward', TargetGroupArn: STABLE_TG_ARN },
            ],
          },
        },
      });
    const header = { header: 'x-canary', values: ['1'], priority: 1 };
    expect(authenticateFindings(traffic({ headerRule: header }), withAuth('authenticate-cognito'))).toEqual([
      expect.objectContaining({ status: 'ok' }),
    ]);
    expect(authenticateFindings(traffic(), withAuth('authenticate-oidc'))).toEqual([
      expect.objectContaining({ status: 'ok' }),
    ]);
    expect(authenticateFindings(traffic({ headerRule: header }), withAuth('authenticate-oidc'))).toEqual([
      expect.objectContaining({ status: 'error' }),
    ]);
  });
});

describe('the calls each function makes', () => {
  it('lists the same capabilities as the functions the stack deploys and grants (infra HANDLERS)', () => {
    expect(Object.keys(FUNCTION_NEEDS).sort()).toEqual(Object.keys(HANDLERS).sort());
    for (const [fn, spec] of Object.entries(HANDLERS)) {
      const needs = FUNCTION_NEEDS[fn] ?? {};
      expect(needs.routes ?? false, fn).toBe(spec.routes ?? false);
      expect(needs.deploys, fn).toBe(spec.deploys);
      expect(needs.metrics, fn).toBe(spec.metrics);
      expect(needs.notifies ?? false, fn).toBe(spec.env.includes('SNS_TOPIC_ARN'));
    }
  });

  const facts = {
    serviceArns: [],
    passRoles: [],
    taskDefinitionTagged: false,
    alarmArns: [],
    composite: false,
    xrayGroups: [],
  };

  it('weights the listener when there is no rule; creates the header rule on the listener and a new rule', () => {
    const config = parseServiceConfig(checkedConfig());
    config.traffic.ruleArn = undefined;
    const calls = requiredCalls({ routes: true }, config, facts);
    expect(calls).toContainEqual({ action: 'elasticloadbalancing:ModifyListener', resource: LISTENER_ARN });
    expect(
      calls.some((c) => c.action === 'elasticloadbalancing:ModifyRule' && c.resource === LISTENER_RULE_ARN),
    ).toBe(false);
    expect(calls).toContainEqual({ action: 'elasticloadbalancing:CreateRule', resource: LISTENER_ARN });
    expect(calls).toContainEqual({
      action: 'elasticloadbalancing:CreateRule',
      resource: `${LISTENER_ARN.replace(':listener/', ':listener-rule/')}/*`,
    });
    config.traffic.headerRule = undefined;
    expect(requiredCalls({ routes: true }, config, facts).map((c) => c.action)).not.toContain(
      'elasticloadbalancing:CreateRule',
    );
  });

  it('tags the new task definition revision only when the stable one has tags, while registering', () => {
    const config = parseServiceConfig(checkedConfig());
    const td = 'arn:aws:ecs:us-east-1:123456789012:task-definition/web:7';
    const untagged = requiredCalls({ deploys: 'register' }, config, { ...facts, taskDefinitionArn: td });
    expect(untagged.map((c) => c.action)).not.toContain('ecs:TagResource');
    const tagged = requiredCalls({ deploys: 'register' }, config, {
      ...facts,
      taskDefinitionArn: td,
      taskDefinitionTagged: true,
    });
    expect(tagged).toContainEqual({
      action: 'ecs:TagResource',
      resource: nextRevisionArn(td),
      context: { 'ecs:CreateAction': 'RegisterTaskDefinition' },
    });
    expect(nextRevisionArn(td)).toBe('arn:aws:ecs:us-east-1:123456789012:task-definition/web:8');
  });

  it('lets analyze read X-Ray statistics when the analysis reads X-Ray groups', () => {
    const config = parseServiceConfig(checkedConfig());
    const judge = (xrayGroups: string[]) =>
      requiredCalls({ metrics: 'judge' }, config, { ...facts, xrayGroups }).map((c) => c.action);
    expect(judge([])).not.toContain('xray:GetTimeSeriesServiceStatistics');
    expect(judge(['web-canary', 'web-stable'])).toContain('xray:GetTimeSeriesServiceStatistics');
  });

  it('tells short from long ECS service ARNs', () => {
    expect(isShortServiceArn('arn:aws:ecs:us-east-1:123456789012:service/web')).toBe(true);
    expect(isShortServiceArn('arn:aws:ecs:us-east-1:123456789012:service/prod/web')).toBe(false);
  });

  it('reports the functions a denial affects once, not once per function', () => {
    const config = parseServiceConfig(checkedConfig());
    const deny = (fn: string) => ({
      fn,
      role: `arn:aws:iam::123456789012:role/${fn}`,
      action: 'cloudwatch:GetMetricData',
      resource: '*',
      decision: 'implicitDeny',
    });
    const findings = permissionFindings(config, {
      kind: 'simulated',
      decisions: [deny('set-weight'), deny('analyze')],
      unknownFunctions: [],
    });
    expect(findings).toEqual([
      expect.objectContaining({
        status: 'error',
        message: 'set-weight, analyze may not call cloudwatch:GetMetricData on * (implicitDeny)',
      }),
    ]);
  });
});

describe('X-Ray groups', () => {
  it('each group the analysis reads must exist', () => {
    expect(xrayFindings(['web-canary', 'web-stable'], { found: ['Default', 'web-stable'] })).toEqual([
      expect.objectContaining({
        check: 'xray',
        status: 'error',
        message: expect.stringContaining('X-Ray group not found: web-canary'),
      }),
    ]);
    expect(xrayFindings(['web-canary'], { found: ['web-canary'] })).toEqual([
      expect.objectContaining({ status: 'ok' }),
    ]);
    expect(xrayFindings([], undefined)).toEqual([]);
  });
});
