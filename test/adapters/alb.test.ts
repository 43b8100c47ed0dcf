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
  ElasticLoadBalancingV2Client,
  ListenerNotFoundException,
  ModifyListenerCommand,
  ModifyRuleCommand,
  PriorityInUseException,
  type Rule,
  type RuleCondition,
  RuleNotFoundException,
  SetRulePrioritiesCommand,
  TargetGroupNotFoundException,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AlbTargetHealth, AlbTrafficRouter } from '../../functions/adapters/aws/alb';
import { AccessDeniedError } from '../../functions/adapters/aws/sdk';
import { ConfigInvalidError, TargetNotFoundError, TransientError } from '../../functions/core/errors';
import { HEADER_RULE_TAG } from '../../functions/core/route-checks';
import { CONTROLLER_TAG_KEY } from '../../functions/tasks/registry';
import { mockClient } from '../contract/mock';
import {
  awsError,
  CANARY_TG,
  fastRetry,
  HEADER_RULE_ARN,
  LISTENER_ARN,
  RULE_ARN,
  route,
  STABLE_TG,
  throttling,
} from './helpers';

const client = new ElasticLoadBalancingV2Client({ region: 'us-east-1' });
const elb = mockClient(client);

const OIDC: Action = {
  Type: 'authenticate-oidc',
  Order: 1,
  AuthenticateOidcConfig: {
    Issuer: 'https://idp.example.com',
    AuthorizationEndpoint: 'https://idp.example.com/authorize',
    TokenEndpoint: 'https://idp.example.com/token',
    UserInfoEndpoint: 'https://idp.example.com/userinfo',
    ClientId: 'web-client',
    SessionCookieName: 'AWSELBAuthSessionCookie',
    Scope: 'openid',
    SessionTimeout: 604800,
    OnUnauthenticatedRequest: 'authenticate',
  },
};

/** A forward action as DescribeListeners reports one: legacy TargetGroupArn next to ForwardConfig. */
function forward(weights: Record<string, number>, order?: number): Action {
  const groups = Object.entries(weights).map(([TargetGroupArn, Weight]) => ({ TargetGroupArn, Weight }));
  return {
    Type: 'forward',
    ...(groups.length === 1 ? { TargetGroupArn: groups[0]?.TargetGroupArn } : {}),
    ...(order !== undefined ? { Order: order } : {}),
    ForwardConfig: { TargetGroups: groups, TargetGroupStickinessConfig: { Enabled: false } },
  };
}

const LB = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/web/50dc6c495c0c9188';
const OTHER_LB = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/api/0a1b2c3d4e5f6a7b';

function listener(actions: Action[]) {
  return {
    Listeners: [
      {
        ListenerArn: LISTENER_ARN,
        LoadBalancerArn: LB,
        Port: 443,
        Protocol: 'HTTPS' as const,
        DefaultActions: actions,
      },
    ],
  };
}

function targetGroups(...arns: string[]) {
  return {
    TargetGroups: arns.map((TargetGroupArn) => ({
      TargetGroupArn,
      TargetGroupName: TargetGroupArn.split('/')[1],
      Protocol: 'HTTP' as const,
      Port: 8080,
      TargetType: 'ip' as const,
      LoadBalancerArns: [LB],
    })),
  };
}

/** DescribeTargetGroupAttributes as ELB answers it; `sticky` turns stickiness.enabled on. */
function attributes(sticky = false) {
  return {
    Attributes: [
      { Key: 'stickiness.enabled', Value: String(sticky) },
      { Key: 'stickiness.type', Value: 'lb_cookie' },
      { Key: 'stickiness.lb_cookie.duration_seconds', Value: '86400' },
      { Key: 'deregistration_delay.timeout_seconds', Value: '300' },
    ],
  };
}

/** The tag the controller puts on the header rule it creates for the listener route. */
const OWN_TAG = { Key: HEADER_RULE_TAG, Value: LISTENER_ARN };

/**
 * "Listener rules for your Application Load Balancer": up to three comparison strings per condition and five per
 * rule. The API model does not say so; every rule the router writes is held to it here.
 */
function expectAlbConditionLimits(conditions: readonly RuleCondition[]) {
  const counts = conditions.map((c) => {
    const typed = Object.entries(c).find(([k]) => k.endsWith('Config'))?.[1] as
      | { Values?: unknown[] }
      | undefined;
    return (typed?.Values ?? c.Values ?? []).length;
  });
  for (const n of counts) expect(n).toBeLessThanOrEqual(3);
  expect(counts.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(5);
}

function headerRule(extra: Partial<Rule> = {}): Rule {
  return {
    RuleArn: HEADER_RULE_ARN,
    Priority: '10',
    IsDefault: false,
    Conditions: [
      {
        Field: 'http-header',
        HttpHeaderConfig: { HttpHeaderName: 'X-Canary', Values: ['always'] },
      },
    ],
    Actions: [
      {
        Type: 'forward',
        TargetGroupArn: CANARY_TG,
        ForwardConfig: { TargetGroups: [{ TargetGroupArn: CANARY_TG, Weight: 1 }] },
      },
    ],
    ...extra,
  };
}

const defaultRule: Rule = {
  RuleArn: `${RULE_ARN}-default`,
  Priority: 'default',
  IsDefault: true,
  Conditions: [],
  Actions: [forward({ [STABLE_TG]: 1 })],
};

describe('AlbTrafficRouter', () => {
  let retry: ReturnType<typeof fastRetry>;
  let router: AlbTrafficRouter;

  beforeEach(() => {
    elb.reset();
    retry = fastRetry();
    router = new AlbTrafficRouter(client, { retry: retry.retry });
    elb.on(DescribeTargetGroupAttributesCommand).resolves(attributes());
    // The header rule fixture is the controller's own: it carries the tag CreateRule gave it.
    elb.on(DescribeTagsCommand).callsFake((input: { ResourceArns: string[] }) => ({
      TagDescriptions: input.ResourceArns.map((ResourceArn) => ({
        ResourceArn,
        Tags: ResourceArn === HEADER_RULE_ARN ? [OWN_TAG] : [],
      })),
    }));
  });

  describe('describe', () => {
    it('reads the listener forward action and checks both target groups', async () => {
      elb.on(DescribeListenersCommand).resolves(listener([forward({ [STABLE_TG]: 1, [CANARY_TG]: 0 })]));
      elb.on(DescribeTargetGroupsCommand).resolves(targetGroups(STABLE_TG, CANARY_TG));

      const weights = await router.describe(route());

      expect(weights).toEqual({ [STABLE_TG]: 1, [CANARY_TG]: 0 });
      expect(elb.commandCalls(DescribeListenersCommand)[0]?.args[0].input).toEqual({
        ListenerArns: [LISTENER_ARN],
      });
      expect(elb.commandCalls(DescribeTargetGroupsCommand)[0]?.args[0].input).toEqual({
        TargetGroupArns: [STABLE_TG, CANARY_TG],
      });
    });

    it('reads a legacy single-target-group forward as weight 1', async () => {
      elb.on(DescribeListenersCommand).resolves(listener([{ Type: 'forward', TargetGroupArn: STABLE_TG }]));
      elb.on(DescribeTargetGroupsCommand).resolves(targetGroups(STABLE_TG, CANARY_TG));

      expect(await router.describe(route())).toEqual({ [STABLE_TG]: 1 });
    });

    it('reads the rule instead of the listener when the route names one', async () => {
      elb.on(DescribeRulesCommand).resolves({
        Rules: [{ RuleArn: RULE_ARN, Priority: '5', Actions: [forward({ [STABLE_TG]: 9, [CANARY_TG]: 1 })] }],
      });
      elb.on(DescribeTargetGroupsCommand).resolves(targetGroups(STABLE_TG, CANARY_TG));

      elb.on(DescribeListenersCommand).resolves(listener([forward({ [STABLE_TG]: 1 })]));

      expect(await router.describe(route({ ruleArn: RULE_ARN }))).toEqual({ [STABLE_TG]: 9, [CANARY_TG]: 1 });
      expect(elb.commandCalls(DescribeRulesCommand)[0]?.args[0].input).toEqual({ RuleArns: [RULE_ARN] });
      // the rule's listener is read for its load balancer, and its rules to check the rule is one of them
      expect(elb.commandCalls(DescribeRulesCommand)[1]?.args[0].input).toEqual({ ListenerArn: LISTENER_ARN });
    });

    it('throws TargetNotFound naming a missing listener', async () => {
      elb
        .on(DescribeListenersCommand)
        .rejects(
          new ListenerNotFoundException({ message: 'One or more listeners not found', $metadata: {} }),
        );

      const error = await router.describe(route()).catch((e: unknown) => e);

      expect(error).toBeInstanceOf(TargetNotFoundError);
      expect((error as Error).name).toBe('TargetNotFound');
      expect((error as Error).message).toContain(LISTENER_ARN);
      expect(retry.sleeps).toEqual([]);
    });

    it('throws TargetNotFound naming a missing rule', async () => {
      elb
        .on(DescribeRulesCommand)
        .rejects(new RuleNotFoundException({ message: 'One or more rules not found', $metadata: {} }));

      await expect(router.describe(route({ ruleArn: RULE_ARN }))).rejects.toThrow(
        new TargetNotFoundError(`listener rule ${RULE_ARN} does not exist`),
      );
    });

    it('names the one target group that is missing', async () => {
      elb.on(DescribeListenersCommand).resolves(listener([forward({ [STABLE_TG]: 1 })]));
      const notFound = () =>
        new TargetGroupNotFoundException({ message: 'One or more target groups not found', $metadata: {} });
      elb.on(DescribeTargetGroupsCommand).rejects(notFound());
      elb.on(DescribeTargetGroupsCommand, { TargetGroupArns: [STABLE_TG] }).resolves(targetGroups(STABLE_TG));

      const error = await router.describe(route()).catch((e: unknown) => e);

      expect(error).toBeInstanceOf(TargetNotFoundError);
      expect((error as Error).message).toBe(`target group not found: ${CANARY_TG}`);
    });

    it('throws TargetNotFound when there is no forward action to weight', async () => {
      elb
        .on(DescribeListenersCommand)
        .resolves(
          listener([
            { Type: 'fixed-response', FixedResponseConfig: { StatusCode: '404', ContentType: 'text/plain' } },
          ]),
        );

      await expect(router.describe(route())).rejects.toBeInstanceOf(TargetNotFoundError);
    });
  });

  describe('describe refuses a route ELB would refuse later, before any traffic moves', () => {
    const hr = { header: 'X-Canary', values: ['always'], priority: 10 };
    const writes = () =>
      elb
        .calls()
        .map((c) => (c.args[0] as object).constructor.name)
        .filter((name) => !name.startsWith('Describe'));

    async function refusal(r: ReturnType<typeof route>): Promise<ConfigInvalidError> {
      const error = await router.describe(r).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ConfigInvalidError);
      expect(writes()).toEqual([]);
      return error as ConfigInvalidError;
    }

    it('a canary target group on another load balancer (a target group serves one load balancer)', async () => {
      elb.on(DescribeListenersCommand).resolves(listener([forward({ [STABLE_TG]: 1 })]));
      elb.on(DescribeTargetGroupsCommand).resolves({
        TargetGroups: [
          { TargetGroupArn: STABLE_TG, LoadBalancerArns: [LB] },
          { TargetGroupArn: CANARY_TG, LoadBalancerArns: [OTHER_LB] },
        ],
      });

      const error = await refusal(route());

      expect(error.issues[0]?.path).toBe('traffic.canaryTargetGroupArn');
      expect(error.message).toContain(OTHER_LB);
    });

    it('a canary target group no load balancer uses (its targets would read Target.NotInUse)', async () => {
      elb.on(DescribeListenersCommand).resolves(listener([forward({ [STABLE_TG]: 1 })]));
      elb.on(DescribeTargetGroupsCommand).resolves({
        TargetGroups: [
          { TargetGroupArn: STABLE_TG, LoadBalancerArns: [LB] },
          { TargetGroupArn: CANARY_TG, LoadBalancerArns: [] },
        ],
      });

      const error = await refusal(route());

      expect(error.issues[0]?.path).toBe('traffic.canaryTargetGroupArn');
      expect(error.message).toContain('Fix: add it to the forward action');
    });

    it('a rule that is not one of the listener’s rules', async () => {
      elb.on(DescribeRulesCommand, { RuleArns: [RULE_ARN] }).resolves({
        Rules: [{ RuleArn: RULE_ARN, Priority: '5', Actions: [forward({ [STABLE_TG]: 1 })] }],
      });
      elb.on(DescribeRulesCommand, { ListenerArn: LISTENER_ARN }).resolves({ Rules: [defaultRule] });
      elb.on(DescribeListenersCommand).resolves(listener([forward({ [STABLE_TG]: 1 })]));
      elb.on(DescribeTargetGroupsCommand).resolves(targetGroups(STABLE_TG, CANARY_TG));

      const error = await refusal(route({ ruleArn: RULE_ARN }));

      expect(error.issues[0]?.path).toBe('traffic.ruleArn');
    });

    it('a header rule that would copy authenticate-oidc (CreateRule needs the client secret ELB never returns)', async () => {
      elb.on(DescribeListenersCommand).resolves(listener([OIDC, forward({ [STABLE_TG]: 1 }, 2)]));
      elb.on(DescribeRulesCommand).resolves({ Rules: [defaultRule] });
      elb.on(DescribeTargetGroupsCommand).resolves(targetGroups(STABLE_TG, CANARY_TG));

      const error = await refusal(route({ headerRule: hr }));

      expect(error.issues[0]?.path).toBe('traffic.headerRule');
      expect(error.message).toContain('authenticate-oidc');
      expect(elb.commandCalls(CreateRuleCommand)).toHaveLength(0);
    });

    it('a header rule evaluated after the route rule (it would never match)', async () => {
      elb.on(DescribeRulesCommand).resolves({
        Rules: [{ RuleArn: RULE_ARN, Priority: '5', Actions: [forward({ [STABLE_TG]: 1 })] }],
      });
      elb.on(DescribeListenersCommand).resolves(listener([forward({ [STABLE_TG]: 1 })]));
      elb.on(DescribeTargetGroupsCommand).resolves(targetGroups(STABLE_TG, CANARY_TG));

      const error = await refusal(route({ ruleArn: RULE_ARN, headerRule: hr }));

      expect(error.issues[0]?.path).toBe('traffic.headerRule.priority');
      expect(error.message).toContain('below 5');
    });

    it('header values that with the copied route conditions exceed five per rule', async () => {
      elb.on(DescribeRulesCommand).resolves({
        Rules: [
          {
            RuleArn: RULE_ARN,
            Priority: '20',
            Conditions: [
              {
                Field: 'host-header',
                HostHeaderConfig: { Values: ['a.example.com', 'b.example.com', 'c.example.com'] },
              },
            ],
            Actions: [forward({ [STABLE_TG]: 1 })],
          },
        ],
      });
      elb.on(DescribeListenersCommand).resolves(listener([forward({ [STABLE_TG]: 1 })]));
      elb.on(DescribeTargetGroupsCommand).resolves(targetGroups(STABLE_TG, CANARY_TG));

      const error = await refusal(
        route({ ruleArn: RULE_ARN, headerRule: { ...hr, values: ['a', 'b', 'c'] } }),
      );

      expect(error.issues[0]?.path).toBe('traffic.headerRule.values');
    });

    it('a header rule priority held by a rule the controller did not create', async () => {
      elb.on(DescribeListenersCommand).resolves(listener([forward({ [STABLE_TG]: 1 })]));
      elb
        .on(DescribeRulesCommand)
        .resolves({ Rules: [headerRule({ RuleArn: `${HEADER_RULE_ARN}0` }), defaultRule] });
      elb.on(DescribeTargetGroupsCommand).resolves(targetGroups(STABLE_TG, CANARY_TG));

      const error = await refusal(route({ headerRule: hr }));

      expect(error.issues[0]?.path).toBe('traffic.headerRule.priority');
    });

    it('accepts its own header rule at the priority, known by its tag', async () => {
      elb.on(DescribeListenersCommand).resolves(listener([forward({ [STABLE_TG]: 1 })]));
      elb.on(DescribeRulesCommand).resolves({ Rules: [headerRule(), defaultRule] });
      elb.on(DescribeTargetGroupsCommand).resolves(targetGroups(STABLE_TG, CANARY_TG));

      await expect(router.describe(route({ headerRule: hr }))).resolves.toEqual({ [STABLE_TG]: 1 });
      expect(elb.commandCalls(DescribeTagsCommand)[0]?.args[0].input).toEqual({
        ResourceArns: [HEADER_RULE_ARN],
      });
    });
  });

  describe('setWeights', () => {
    it('replaces only the forward action, keeps authenticate-oidc and the order, drops the legacy TargetGroupArn', async () => {
      elb.on(DescribeListenersCommand).resolves(listener([OIDC, forward({ [STABLE_TG]: 1 }, 2)]));
      elb.on(ModifyListenerCommand).resolves({});

      await router.setWeights(route(), 5);

      expect(elb.commandCalls(ModifyListenerCommand)).toHaveLength(1);
      expect(elb.commandCalls(ModifyListenerCommand)[0]?.args[0].input).toEqual({
        ListenerArn: LISTENER_ARN,
        DefaultActions: [
          {
            ...OIDC,
            AuthenticateOidcConfig: { ...OIDC.AuthenticateOidcConfig, UseExistingClientSecret: true },
          },
          {
            Type: 'forward',
            Order: 2,
            ForwardConfig: {
              TargetGroups: [
                { TargetGroupArn: STABLE_TG, Weight: 19 },
                { TargetGroupArn: CANARY_TG, Weight: 1 },
              ],
              TargetGroupStickinessConfig: { Enabled: false },
            },
          },
        ],
      });
    });

    it('turns target-group stickiness on while split and off at 0% (stickiness beats weights)', async () => {
      const sticky = forward({ [STABLE_TG]: 3, [CANARY_TG]: 1 });
      sticky.ForwardConfig = {
        ...sticky.ForwardConfig,
        TargetGroupStickinessConfig: { Enabled: true, DurationSeconds: 3600 },
      };
      elb
        .on(DescribeListenersCommand)
        .resolvesOnce(listener([forward({ [STABLE_TG]: 1 })]))
        .resolves(listener([sticky]));
      elb.on(ModifyListenerCommand).resolves({});

      await router.setWeights(route({ stickinessSeconds: 3600 }), 25);
      await router.setWeights(route({ stickinessSeconds: 3600 }), 0);

      const [split, back] = elb
        .commandCalls(ModifyListenerCommand)
        .map((c) => c.args[0].input.DefaultActions?.[0]?.ForwardConfig);
      expect(split).toEqual({
        TargetGroups: [
          { TargetGroupArn: STABLE_TG, Weight: 3 },
          { TargetGroupArn: CANARY_TG, Weight: 1 },
        ],
        TargetGroupStickinessConfig: { Enabled: true, DurationSeconds: 3600 },
      });
      expect(back).toEqual({
        TargetGroups: [
          { TargetGroupArn: STABLE_TG, Weight: 1 },
          { TargetGroupArn: CANARY_TG, Weight: 0 },
        ],
        TargetGroupStickinessConfig: { Enabled: false },
      });
    });

    it('keeps group stickiness on at 0% and 100% when a target group has target stickiness (ELB requires it)', async () => {
      const sticky = forward({ [STABLE_TG]: 3, [CANARY_TG]: 1 });
      sticky.ForwardConfig = {
        ...sticky.ForwardConfig,
        TargetGroupStickinessConfig: { Enabled: true, DurationSeconds: 3600 },
      };
      elb.on(DescribeListenersCommand).resolves(listener([sticky]));
      elb.on(ModifyListenerCommand).resolves({});
      elb.on(DescribeTargetGroupAttributesCommand, { TargetGroupArn: STABLE_TG }).resolves(attributes(true));

      await router.setWeights(route({ stickinessSeconds: 3600 }), 0);
      await router.setWeights(route({ stickinessSeconds: 3600 }), 100);

      for (const call of elb.commandCalls(ModifyListenerCommand)) {
        expect(call.args[0].input.DefaultActions?.[0]?.ForwardConfig?.TargetGroupStickinessConfig).toEqual({
          Enabled: true,
          DurationSeconds: 1,
        });
      }
    });

    it('turns group stickiness on while split when a target group has target stickiness and the config sets none', async () => {
      elb.on(DescribeListenersCommand).resolves(listener([forward({ [STABLE_TG]: 1 })]));
      elb.on(ModifyListenerCommand).resolves({});
      elb.on(DescribeTargetGroupAttributesCommand, { TargetGroupArn: CANARY_TG }).resolves(attributes(true));

      await router.setWeights(route(), 10);

      expect(
        elb.commandCalls(ModifyListenerCommand)[0]?.args[0].input.DefaultActions?.[0]?.ForwardConfig
          ?.TargetGroupStickinessConfig,
      ).toEqual({ Enabled: true, DurationSeconds: 1 });
    });

    it('modifies the rule when the route is a rule', async () => {
      elb
        .on(DescribeRulesCommand)
        .resolves({ Rules: [{ RuleArn: RULE_ARN, Priority: '5', Actions: [forward({ [STABLE_TG]: 1 })] }] });
      elb.on(ModifyRuleCommand).resolves({});

      await router.setWeights(route({ ruleArn: RULE_ARN }), 100);

      expect(elb.commandCalls(ModifyRuleCommand)[0]?.args[0].input).toEqual({
        RuleArn: RULE_ARN,
        Actions: [
          {
            Type: 'forward',
            ForwardConfig: {
              TargetGroups: [
                { TargetGroupArn: STABLE_TG, Weight: 0 },
                { TargetGroupArn: CANARY_TG, Weight: 1 },
              ],
              TargetGroupStickinessConfig: { Enabled: false },
            },
          },
        ],
      });
      expect(elb.commandCalls(ModifyListenerCommand)).toHaveLength(0);
    });

    it('changes nothing when the listener does not exist', async () => {
      elb
        .on(DescribeListenersCommand)
        .rejects(
          new ListenerNotFoundException({ message: 'One or more listeners not found', $metadata: {} }),
        );

      await expect(router.setWeights(route(), 10)).rejects.toBeInstanceOf(TargetNotFoundError);
      expect(elb.commandCalls(ModifyListenerCommand)).toHaveLength(0);
    });

    it('retries throttling with capped, jittered backoff and then succeeds', async () => {
      elb
        .on(DescribeListenersCommand)
        .rejectsOnce(throttling())
        .rejectsOnce(throttling())
        .resolves(listener([forward({ [STABLE_TG]: 1 })]));
      elb.on(ModifyListenerCommand).resolves({});

      await router.setWeights(route(), 10);

      expect(elb.commandCalls(DescribeListenersCommand)).toHaveLength(3);
      expect(elb.commandCalls(ModifyListenerCommand)).toHaveLength(1);
      // random() = 0.5 of min(cap, 200 × 2^attempt)
      expect(retry.sleeps).toEqual([100, 200]);
    });

    it('surfaces throttling that outlasts the retries as Transient, and writes nothing', async () => {
      elb.on(DescribeListenersCommand).rejects(throttling());

      const error = await router.setWeights(route(), 10).catch((e: unknown) => e);

      expect(error).toBeInstanceOf(TransientError);
      expect((error as Error).name).toBe('Transient');
      expect((error as Error).message).toContain('elasticloadbalancing:DescribeListeners');
      expect(elb.commandCalls(DescribeListenersCommand)).toHaveLength(3);
      expect(elb.commandCalls(ModifyListenerCommand)).toHaveLength(0);
    });

    it('surfaces a 5xx as Transient', async () => {
      elb.on(DescribeListenersCommand).resolves(listener([forward({ [STABLE_TG]: 1 })]));
      elb.on(ModifyListenerCommand).rejects(awsError('InternalFailure', 500));

      await expect(router.setWeights(route(), 10)).rejects.toBeInstanceOf(TransientError);
      expect(elb.commandCalls(ModifyListenerCommand)).toHaveLength(3);
    });

    it('reports access denied once, naming the action and the listener', async () => {
      elb.on(DescribeListenersCommand).resolves(listener([forward({ [STABLE_TG]: 1 })]));
      elb
        .on(ModifyListenerCommand)
        .rejects(
          awsError(
            'AccessDenied',
            403,
            'User: arn:aws:sts::123456789012:assumed-role/set-weight/fn is not authorized to perform: elasticloadbalancing:ModifyListener',
          ),
        );

      const error = await router.setWeights(route(), 10).catch((e: unknown) => e);

      expect(error).toBeInstanceOf(AccessDeniedError);
      expect((error as Error).message).toContain('elasticloadbalancing:ModifyListener');
      expect((error as Error).message).toContain(LISTENER_ARN);
      expect(elb.commandCalls(ModifyListenerCommand)).toHaveLength(1);
    });

    it('rejects a percentage outside 0–100 before calling AWS', async () => {
      await expect(router.setWeights(route(), 101)).rejects.toThrow(RangeError);
      expect(elb.calls()).toHaveLength(0);
    });
  });

  describe('header rule', () => {
    const hr = { header: 'X-Canary', values: ['always'], priority: 10 };

    afterEach(() => {
      for (const call of [...elb.commandCalls(CreateRuleCommand), ...elb.commandCalls(ModifyRuleCommand)]) {
        expectAlbConditionLimits(call.args[0].input.Conditions ?? []);
      }
    });

    it('creates the rule after the weights, forwarding to the canary only, behind the same authentication', async () => {
      elb.on(DescribeListenersCommand).resolves(listener([OIDC, forward({ [STABLE_TG]: 1 }, 2)]));
      elb.on(ModifyListenerCommand).resolves({});
      elb.on(DescribeRulesCommand).resolves({ Rules: [defaultRule] });
      elb.on(CreateRuleCommand).resolves({ Rules: [headerRule()] });

      await router.setWeights(route({ headerRule: hr }), 10);

      expect(elb.commandCalls(CreateRuleCommand)[0]?.args[0].input).toEqual({
        ListenerArn: LISTENER_ARN,
        Priority: 10,
        Conditions: [
          { Field: 'http-header', HttpHeaderConfig: { HttpHeaderName: 'X-Canary', Values: ['always'] } },
        ],
        Actions: [
          {
            ...OIDC,
            AuthenticateOidcConfig: { ...OIDC.AuthenticateOidcConfig, UseExistingClientSecret: true },
          },
          {
            Type: 'forward',
            Order: 2,
            ForwardConfig: { TargetGroups: [{ TargetGroupArn: CANARY_TG, Weight: 1 }] },
          },
        ],
        Tags: [OWN_TAG],
      });
      const order = elb.calls().map((c) => (c.args[0] as object).constructor.name);
      expect(order.indexOf('ModifyListenerCommand')).toBeLessThan(order.indexOf('CreateRuleCommand'));
    });

    it("tags the header rule it creates with the controller's id, so only this controller may change it", async () => {
      const own = new AlbTrafficRouter(client, {
        retry: retry.retry,
        controllerTag: { Key: CONTROLLER_TAG_KEY, Value: 'Platform' },
      });
      elb.on(DescribeListenersCommand).resolves(listener([forward({ [STABLE_TG]: 1 })]));
      elb.on(ModifyListenerCommand).resolves({});
      elb.on(DescribeRulesCommand).resolves({ Rules: [defaultRule] });
      elb.on(CreateRuleCommand).resolves({ Rules: [headerRule()] });

      await own.setWeights(route({ headerRule: hr }), 10);

      expect(elb.commandCalls(CreateRuleCommand)[0]?.args[0].input.Tags).toEqual([
        OWN_TAG,
        { Key: CONTROLLER_TAG_KEY, Value: 'Platform' },
      ]);
    });

    it('follows DescribeRules pages and modifies the rule it finds instead of creating one', async () => {
      elb.on(DescribeListenersCommand).resolves(listener([forward({ [STABLE_TG]: 1 })]));
      elb.on(ModifyListenerCommand).resolves({});
      elb
        .on(DescribeRulesCommand)
        .resolvesOnce({ Rules: [defaultRule], NextMarker: 'page-2' })
        .resolves({ Rules: [headerRule({ Priority: '12' })] });
      elb.on(ModifyRuleCommand).resolves({});
      elb.on(SetRulePrioritiesCommand).resolves({});

      await router.setWeights(route({ headerRule: hr }), 25);

      expect(elb.commandCalls(DescribeRulesCommand).map((c) => c.args[0].input)).toEqual([
        { ListenerArn: LISTENER_ARN },
        { ListenerArn: LISTENER_ARN, Marker: 'page-2' },
      ]);
      expect(elb.commandCalls(CreateRuleCommand)).toHaveLength(0);
      expect(elb.commandCalls(ModifyRuleCommand)[0]?.args[0].input.RuleArn).toBe(HEADER_RULE_ARN);
      expect(elb.commandCalls(SetRulePrioritiesCommand)[0]?.args[0].input).toEqual({
        RulePriorities: [{ RuleArn: HEADER_RULE_ARN, Priority: 10 }],
      });
    });

    it('deletes the rule before moving the weights back to 0%', async () => {
      elb.on(DescribeRulesCommand).resolves({ Rules: [headerRule(), defaultRule] });
      elb.on(DeleteRuleCommand).resolves({});
      elb.on(DescribeListenersCommand).resolves(listener([forward({ [STABLE_TG]: 9, [CANARY_TG]: 1 })]));
      elb.on(ModifyListenerCommand).resolves({});

      await router.setWeights(route({ headerRule: hr }), 0);

      expect(elb.commandCalls(DeleteRuleCommand)[0]?.args[0].input).toEqual({ RuleArn: HEADER_RULE_ARN });
      const order = elb.calls().map((c) => (c.args[0] as object).constructor.name);
      expect(order.indexOf('DeleteRuleCommand')).toBeLessThan(order.indexOf('ModifyListenerCommand'));
    });

    it('never modifies or deletes a look-alike rule it did not create (no tag naming this route)', async () => {
      const lookAlike = headerRule({ RuleArn: `${HEADER_RULE_ARN}0`, Priority: '11' });
      const otherRoute = headerRule({ RuleArn: `${HEADER_RULE_ARN}1`, Priority: '12' });
      elb.on(DescribeRulesCommand).resolves({ Rules: [lookAlike, otherRoute, defaultRule] });
      elb.on(DescribeTagsCommand).resolves({
        TagDescriptions: [
          { ResourceArn: lookAlike.RuleArn, Tags: [] },
          { ResourceArn: otherRoute.RuleArn, Tags: [{ Key: HEADER_RULE_TAG, Value: RULE_ARN }] },
        ],
      });
      elb.on(DescribeListenersCommand).resolves(listener([forward({ [STABLE_TG]: 9, [CANARY_TG]: 1 })]));
      elb.on(ModifyListenerCommand).resolves({});
      elb.on(CreateRuleCommand).resolves({});

      await router.setWeights(route({ headerRule: hr }), 0);
      await router.setWeights(route({ headerRule: hr }), 25);

      expect(elb.commandCalls(DeleteRuleCommand)).toHaveLength(0);
      expect(elb.commandCalls(ModifyRuleCommand)).toHaveLength(0);
      expect(elb.commandCalls(SetRulePrioritiesCommand)).toHaveLength(0);
      // its own rule does not exist yet: it creates one, tagged
      expect(elb.commandCalls(CreateRuleCommand)[0]?.args[0].input.Tags).toEqual([OWN_TAG]);
      expect(elb.commandCalls(DescribeTagsCommand)[0]?.args[0].input).toEqual({
        ResourceArns: [lookAlike.RuleArn, otherRoute.RuleArn],
      });
    });

    it('never takes the route’s own rule for the header rule', async () => {
      const routeRule: Rule = {
        RuleArn: RULE_ARN,
        Priority: '20',
        Conditions: [
          { Field: 'http-header', HttpHeaderConfig: { HttpHeaderName: 'x-canary', Values: ['*'] } },
        ],
        Actions: [forward({ [STABLE_TG]: 1 })],
      };
      elb.on(DescribeRulesCommand).resolves({ Rules: [routeRule] });
      elb.on(ModifyRuleCommand).resolves({});

      await router.setWeights(route({ ruleArn: RULE_ARN, headerRule: hr }), 0);

      expect(elb.commandCalls(DeleteRuleCommand)).toHaveLength(0);
      expect(elb.commandCalls(ModifyRuleCommand).map((c) => c.args[0].input.RuleArn)).toEqual([RULE_ARN]);
    });

    it('an already deleted rule is what we wanted', async () => {
      elb.on(DescribeRulesCommand).resolves({ Rules: [headerRule()] });
      elb
        .on(DeleteRuleCommand)
        .rejects(new RuleNotFoundException({ message: 'One or more rules not found', $metadata: {} }));
      elb.on(DescribeListenersCommand).resolves(listener([forward({ [STABLE_TG]: 1 })]));
      elb.on(ModifyListenerCommand).resolves({});

      await expect(router.setWeights(route({ headerRule: hr }), 0)).resolves.toBeUndefined();
      expect(elb.commandCalls(ModifyListenerCommand)).toHaveLength(1);
    });

    it('opens the test route at 0%: the header rule to the canary, no weight, no group stickiness', async () => {
      elb.on(DescribeListenersCommand).resolves(listener([forward({ [STABLE_TG]: 1 })]));
      elb.on(ModifyListenerCommand).resolves({});
      elb.on(DescribeRulesCommand).resolves({ Rules: [] });
      elb.on(CreateRuleCommand).resolves({});

      await router.setWeights(route({ headerRule: hr, stickinessSeconds: 300 }), 0, { testRoute: true });

      const forwarded = elb.commandCalls(ModifyListenerCommand)[0]?.args[0].input.DefaultActions?.[0];
      expect(forwarded?.ForwardConfig?.TargetGroups).toEqual([
        { TargetGroupArn: STABLE_TG, Weight: 1 },
        { TargetGroupArn: CANARY_TG, Weight: 0 },
      ]);
      expect(forwarded?.ForwardConfig?.TargetGroupStickinessConfig?.Enabled).not.toBe(true);
      expect(elb.commandCalls(DeleteRuleCommand)).toHaveLength(0);
      const created = elb.commandCalls(CreateRuleCommand)[0]?.args[0].input;
      expect(created?.Actions?.[0]?.ForwardConfig?.TargetGroups).toEqual([
        { TargetGroupArn: CANARY_TG, Weight: 1 },
      ]);
      expect(created?.Tags).toEqual([OWN_TAG]);
    });

    it('names the field when the priority is taken', async () => {
      elb.on(DescribeListenersCommand).resolves(listener([forward({ [STABLE_TG]: 1 })]));
      elb.on(ModifyListenerCommand).resolves({});
      elb.on(DescribeRulesCommand).resolves({ Rules: [] });
      elb
        .on(CreateRuleCommand)
        .rejects(new PriorityInUseException({ message: 'Priority 10 is currently in use', $metadata: {} }));

      const error = await router.setWeights(route({ headerRule: hr }), 5).catch((e: unknown) => e);

      expect(error).toBeInstanceOf(ConfigInvalidError);
      expect((error as ConfigInvalidError).issues[0]?.path).toBe('traffic.headerRule.priority');
      expect(elb.commandCalls(CreateRuleCommand)).toHaveLength(1);
    });

    it('copies the route rule conditions (typed config only) so the header rule matches the same requests', async () => {
      elb.on(DescribeRulesCommand, { RuleArns: [RULE_ARN] }).resolves({
        Rules: [
          {
            RuleArn: RULE_ARN,
            Priority: '20',
            Conditions: [
              {
                Field: 'host-header',
                Values: ['web.example.com'],
                HostHeaderConfig: { Values: ['web.example.com'] },
              },
            ],
            Actions: [forward({ [STABLE_TG]: 1 })],
          },
        ],
      });
      elb.on(DescribeRulesCommand, { ListenerArn: LISTENER_ARN }).resolves({ Rules: [] });
      elb.on(ModifyRuleCommand).resolves({});
      elb.on(CreateRuleCommand).resolves({});

      await router.setWeights(route({ ruleArn: RULE_ARN, headerRule: hr }), 50);

      expect(elb.commandCalls(CreateRuleCommand)[0]?.args[0].input.Conditions).toEqual([
        { Field: 'host-header', HostHeaderConfig: { Values: ['web.example.com'] } },
        { Field: 'http-header', HttpHeaderConfig: { HttpHeaderName: 'X-Canary', Values: ['always'] } },
      ]);
    });
  });

  describe('verifyWeights', () => {
    it('is true only for the exact weights of the percentage', async () => {
      elb.on(DescribeListenersCommand).resolves(listener([forward({ [STABLE_TG]: 19, [CANARY_TG]: 1 })]));

      expect(await router.verifyWeights(route(), 5)).toBe(true);
      expect(await router.verifyWeights(route(), 10)).toBe(false);
    });

    it('is false while the listener still shows the old weights', async () => {
      elb.on(DescribeListenersCommand).resolves(listener([forward({ [STABLE_TG]: 1 })]));

      expect(await router.verifyWeights(route(), 5)).toBe(false);
      expect(await router.verifyWeights(route(), 0)).toBe(true);
    });

    it('is false when a third target group still takes traffic', async () => {
      elb
        .on(DescribeListenersCommand)
        .resolves(listener([forward({ [STABLE_TG]: 1, [CANARY_TG]: 0, [`${STABLE_TG}-old`]: 1 })]));

      expect(await router.verifyWeights(route(), 0)).toBe(false);
    });

    it('checks the header rule is there while split and gone at 0%', async () => {
      const hr = { header: 'X-Canary', values: ['always'], priority: 10 };
      elb.on(DescribeListenersCommand).resolves(listener([forward({ [STABLE_TG]: 1, [CANARY_TG]: 0 })]));
      elb.on(DescribeRulesCommand).resolves({ Rules: [headerRule()] });

      expect(await router.verifyWeights(route({ headerRule: hr }), 0)).toBe(false);

      elb.on(DescribeRulesCommand).resolves({ Rules: [defaultRule] });
      expect(await router.verifyWeights(route({ headerRule: hr }), 0)).toBe(true);
      // The test route (hooks before traffic) wants it at 0%.
      expect(await router.verifyWeights(route({ headerRule: hr }), 0, { testRoute: true })).toBe(false);
      elb.on(DescribeRulesCommand).resolves({ Rules: [headerRule()] });
      expect(await router.verifyWeights(route({ headerRule: hr }), 0, { testRoute: true })).toBe(true);
    });

    it('opens the test route at 0% (a test step): live traffic all on stable, the header rule to the canary', async () => {
      const hr = { header: 'X-Canary', values: ['always'], priority: 10 };
      elb.on(DescribeListenersCommand).resolves(listener([forward({ [STABLE_TG]: 1 })]));
      elb.on(ModifyListenerCommand).resolves({});
      elb.on(DescribeRulesCommand).resolves({ Rules: [defaultRule] });
      elb.on(CreateRuleCommand).resolves({ Rules: [headerRule()] });

      await router.setWeights(route({ headerRule: hr }), 0, { testRoute: true });

      const weights = elb.commandCalls(ModifyListenerCommand)[0]?.args[0].input.DefaultActions?.[0];
      expect(weights?.ForwardConfig?.TargetGroups).toEqual([
        { TargetGroupArn: STABLE_TG, Weight: 1 },
        { TargetGroupArn: CANARY_TG, Weight: 0 },
      ]);
      // No live traffic is split: group stickiness is not turned on for the header rule's requests.
      expect(weights?.ForwardConfig?.TargetGroupStickinessConfig?.Enabled).not.toBe(true);
      expect(elb.commandCalls(CreateRuleCommand)).toHaveLength(1);
      expect(elb.commandCalls(DeleteRuleCommand)).toHaveLength(0);
    });

    it('verifies the test route: at 0% with it the header rule must be there, without it gone', async () => {
      const hr = { header: 'X-Canary', values: ['always'], priority: 10 };
      elb.on(DescribeListenersCommand).resolves(listener([forward({ [STABLE_TG]: 1, [CANARY_TG]: 0 })]));
      elb.on(DescribeRulesCommand).resolves({ Rules: [headerRule()] });

      expect(await router.verifyWeights(route({ headerRule: hr }), 0, { testRoute: true })).toBe(true);
      expect(await router.verifyWeights(route({ headerRule: hr }), 0)).toBe(false);

      elb.on(DescribeRulesCommand).resolves({ Rules: [defaultRule] });
      expect(await router.verifyWeights(route({ headerRule: hr }), 0, { testRoute: true })).toBe(false);
      // At 100% the test route means nothing: every request goes to the canary, the header rule is taken away.
      elb.on(DescribeListenersCommand).resolves(listener([forward({ [STABLE_TG]: 0, [CANARY_TG]: 1 })]));
      expect(await router.verifyWeights(route({ headerRule: hr }), 100, { testRoute: true })).toBe(true);
    });
  });
});

describe('AlbTargetHealth', () => {
  beforeEach(() => elb.reset());
  const health = () => new AlbTargetHealth(client, { retry: fastRetry().retry });

  it('is ready when every registered target is healthy, draining ones aside', async () => {
    elb.on(DescribeTargetHealthCommand).resolves({
      TargetHealthDescriptions: [
        {
          Target: { Id: '10.0.1.12', Port: 8080 },
          HealthCheckPort: '8080',
          TargetHealth: { State: 'healthy' },
        },
        {
          Target: { Id: '10.0.2.40', Port: 8080 },
          HealthCheckPort: '8080',
          TargetHealth: { State: 'healthy' },
        },
        {
          Target: { Id: '10.0.3.7', Port: 8080 },
          TargetHealth: {
            State: 'draining',
            Reason: 'Target.DeregistrationInProgress',
            Description: 'Target deregistration is in progress',
          },
        },
      ],
    });

    const result = await health().check(CANARY_TG);

    expect(result).toEqual({
      ready: true,
      detail: '2/2 targets healthy in targetgroup/web-canary/2453ed029918f21f',
    });
    expect(elb.commandCalls(DescribeTargetHealthCommand)[0]?.args[0].input).toEqual({
      TargetGroupArn: CANARY_TG,
    });
  });

  it('is not ready with an unhealthy target, and says why', async () => {
    elb.on(DescribeTargetHealthCommand).resolves({
      TargetHealthDescriptions: [
        { Target: { Id: '10.0.1.12', Port: 8080 }, TargetHealth: { State: 'healthy' } },
        {
          Target: { Id: '10.0.2.40', Port: 8080 },
          TargetHealth: { State: 'unhealthy', Reason: 'Target.FailedHealthChecks' },
        },
      ],
    });

    const result = await health().check(CANARY_TG);

    expect(result.ready).toBe(false);
    expect(result.detail).toContain('10.0.2.40:8080 unhealthy (Target.FailedHealthChecks)');
  });

  it('is not ready with no targets at all', async () => {
    elb.on(DescribeTargetHealthCommand).resolves({ TargetHealthDescriptions: [] });

    expect((await health().check(CANARY_TG)).ready).toBe(false);
  });

  it('throws TargetNotFound for a missing target group', async () => {
    elb
      .on(DescribeTargetHealthCommand)
      .rejects(
        new TargetGroupNotFoundException({ message: 'One or more target groups not found', $metadata: {} }),
      );

    await expect(health().check(CANARY_TG)).rejects.toThrow(
      new TargetNotFoundError(`target group ${CANARY_TG} does not exist`),
    );
  });
});
