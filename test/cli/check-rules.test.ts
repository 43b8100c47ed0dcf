/** The pure checks of `canary check`, on described AWS objects: no SDK, no mocks. */
import { describe, expect, it } from 'vitest';
import { sorted } from '../../cli/check/findings';
import { hookFindings } from '../../cli/check/hooks';
import {
  FUNCTION_NEEDS,
  nextRevisionArn,
  permissionFindings,
  requiredCalls,
} from '../../cli/check/permissions';
import { isShortServiceArn, xrayFindings } from '../../cli/check/resources';
import { albFindings, type RouteAccount } from '../../cli/check/route';
import { parseServiceConfig } from '../../functions/core/config';
import { albTraffic, type AlbTrafficConfig as TrafficConfig } from '../../functions/core/config-route';
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

const of = (findings: ReturnType<typeof albFindings>, check: string) =>
  findings.filter((f) => f.check === check);

describe('the route, judged as Prepare judges it (functions/core/route-checks.ts), plus what only the preflight sees', () => {
  it('refuses more than 3 header values, whatever the config schema allows, in the runtime’s words', () => {
    const findings = albFindings(
      traffic({ headerRule: { header: 'x-canary', values: ['a', 'b', 'c', 'd'], priority: 1 } }),
      account(),
    );
    expect(of(findings, 'header-rule')).toEqual([
      expect.objectContaining({
        status: 'error',
        message: expect.stringContaining('ALB allows 3 per condition and 5 per rule'),
      }),
    ]);
  });

  it('a route whose target groups were not read: those not checked, the rest judged', () => {
    const findings = sorted(albFindings(traffic(), account()));
    expect(findings.map((f) => [f.check, f.status])).toEqual([
      ['route', 'ok'],
      ['target-groups', 'not-checked'],
      ['target-groups', 'not-checked'],
      ['stickiness', 'ok'],
      ['authenticate', 'ok'],
      ['header-rule', 'ok'],
    ]);
  });

  it('sticky target groups: the controller keeps group stickiness on (reported, not refused); app cookies are refused', () => {
    const sticky = { found: [{ Key: 'stickiness.enabled', Value: 'true' }] };
    expect(
      of(albFindings(traffic(), account({ attributes: { [STABLE_TG_ARN]: sticky } })), 'stickiness'),
    ).toEqual([
      expect.objectContaining({ status: 'ok', message: expect.stringContaining('target stickiness is on') }),
    ]);
    const app = {
      found: [
        { Key: 'stickiness.enabled', Value: 'true' },
        { Key: 'stickiness.type', Value: 'app_cookie' },
      ],
    };
    expect(
      of(albFindings(traffic(), account({ attributes: { [CANARY_TG_ARN]: app } })), 'stickiness'),
    ).toContainEqual(
      expect.objectContaining({
        status: 'error',
        message: expect.stringContaining(
          'application-based stickiness, which does not work with weighted target groups',
        ),
      }),
    );
  });

  it('an authenticate-cognito action copies (no client secret in its config); without a header rule OIDC is fine', () => {
    const withAuth = (type: 'authenticate-oidc' | 'authenticate-cognito') =>
      account({
        listener: {
          found: {
            ListenerArn: LISTENER_ARN,
            LoadBalancerArn: LOAD_BALANCER_ARN,
            DefaultActions: [
              { Type: type, Order: 1 },
              { Type: 'forward', TargetGroupArn: STABLE_TG_ARN },
            ],
          },
        },
      });
    const header = { header: 'x-canary', values: ['1'], priority: 1 };
    const auth = (t: TrafficConfig, type: 'authenticate-oidc' | 'authenticate-cognito') =>
      of(albFindings(t, withAuth(type)), 'authenticate').map((f) => f.status);
    expect(auth(traffic({ headerRule: header }), 'authenticate-cognito')).toEqual(['ok']);
    expect(auth(traffic(), 'authenticate-oidc')).toEqual(['ok']);
    expect(auth(traffic({ headerRule: header }), 'authenticate-oidc')).toEqual(['error']);
  });

  it('a route rule that could not be read is not checked, not "missing"', () => {
    const findings = albFindings(
      traffic({ ruleArn: LISTENER_RULE_ARN }),
      account({ rules: { failed: 'elasticloadbalancing:DescribeRules was denied to you' } }),
    );
    expect(findings).toEqual([expect.objectContaining({ check: 'route', status: 'not-checked' })]);
  });
});

describe('the calls each function makes', () => {
  it('lists the same capabilities as the functions the stack deploys and grants (infra HANDLERS)', () => {
    expect(FUNCTION_NEEDS).toEqual({
      'start-rollout': { notifies: true, announces: true, readsConfigs: true },
      prepare: { routes: true, deploys: 'register', announces: true },
      'check-ready': { deploys: 'read' },
      'set-weight': { routes: true, deploys: 'update', metrics: 'alarms', announces: true },
      bake: {},
      analyze: { routes: 'read', metrics: 'judge', notifies: true, announces: true },
      'run-hook': { routes: true, announces: true, hooks: true },
      'request-approval': { notifies: true, announces: true },
      promote: { routes: true, deploys: 'update', announces: true },
      rollback: { routes: true, deploys: 'update', announces: true },
      notify: { notifies: true, announces: true },
      'on-alarm': { routes: true, announces: true },
      reconcile: { routes: true, deploys: 'update', notifies: true, announces: true, readsConfigs: true },
    });
    expect(Object.keys(FUNCTION_NEEDS).sort()).toEqual(Object.keys(HANDLERS).sort());
    for (const [fn, spec] of Object.entries(HANDLERS)) {
      const needs = FUNCTION_NEEDS[fn] ?? {};
      expect(needs.routes ?? false, fn).toBe(spec.routes ?? false);
      expect(needs.deploys, fn).toBe(spec.deploys);
      expect(needs.metrics, fn).toBe(spec.metrics);
      expect(needs.notifies ?? false, fn).toBe(spec.env.includes('SNS_TOPIC_ARN'));
      expect(needs.announces ?? false, fn).toBe(spec.env.includes('EVENT_BUS_NAME'));
      expect(needs.readsConfigs ?? false, fn).toBe(spec.env.includes('CONFIG_TABLE_NAME'));
      expect(needs.hooks ?? false, fn).toBe(spec.hooks ?? false);
    }
  });

  it("reads the service's config item from the service-config table when the catalog does (GetItem)", () => {
    const config = parseServiceConfig(checkedConfig());
    const table = 'arn:aws:dynamodb:us-east-1:123456789012:table/Platform-ServiceConfigsTable';
    const calls = requiredCalls(FUNCTION_NEEDS['start-rollout'] ?? {}, config, {
      ...facts,
      configTableArn: table,
    });
    expect(calls).toContainEqual({ action: 'dynamodb:GetItem', resource: table });
    // Without the table's name (no stack, no CONFIG_TABLE_NAME) there is nothing to simulate it on.
    expect(
      requiredCalls(FUNCTION_NEEDS['start-rollout'] ?? {}, config, facts).map((c) => c.action),
    ).not.toContain('dynamodb:GetItem');
    expect(
      requiredCalls(FUNCTION_NEEDS.prepare ?? {}, config, { ...facts, configTableArn: table }).map(
        (c) => c.action,
      ),
    ).not.toContain('dynamodb:GetItem');
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
    albTraffic(config.traffic).ruleArn = undefined;
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
    albTraffic(config.traffic).headerRule = undefined;
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

describe('HTTPS hooks', () => {
  it('an https URL is fine without calling it; one that does not parse, or is not https, is an error naming the field', () => {
    const at = (url: string, i: number) => ({ path: `hooks.afterPromotion[${i}]`, name: `h${i}`, url });
    const findings = hookFindings(
      'web',
      [at('https://checks.example.com/web', 0), at('http://checks.example.com/web', 1), at('checks', 2)],
      [undefined, undefined, undefined],
    );
    expect(findings).toEqual([
      {
        check: 'hooks',
        status: 'error',
        message:
          'hook h1 (hooks.afterPromotion[1]): url http://checks.example.com/web is not https (a hook’s answer decides a rollout)',
        fix: "set web's hooks.afterPromotion[1].url to an https:// URL",
      },
      expect.objectContaining({
        status: 'error',
        message: 'hook h2 (hooks.afterPromotion[2]): url checks is not a URL',
      }),
    ]);
    expect(hookFindings('web', [at('https://checks.example.com/web', 0)], [undefined])).toEqual([
      { check: 'hooks', status: 'ok', message: 'hooks h0 (https://checks.example.com/web)' },
    ]);
  });
});
