import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetFunctionConfigurationCommand } from '@aws-sdk/client-lambda';
import { GetGroupsCommand, XRayClient } from '@aws-sdk/client-xray';
import { afterEach, describe, expect, it } from 'vitest';
import type { Finding } from '../../cli/check/findings';
import { FUNCTION_NEEDS } from '../../cli/check/permissions';
import { main } from '../../cli/main';
import { HEADER_RULE_TAG } from '../../functions/core/route-checks';
import { mockClient } from '../contract/mock';
import {
  type AccountFixture,
  checkedConfig,
  cleanAccount,
  controllerRoles,
  mockAccount,
  OTHER_LOAD_BALANCER_ARN,
  roleArn,
  serviceArn,
  TASK_DEFINITION_ARN,
} from '../helpers/check-account';
import {
  ACCOUNT,
  CANARY_SERVICE,
  CANARY_TG_ARN,
  ECS_CLUSTER,
  EXECUTION_ROLE_ARN,
  LISTENER_ARN,
  LISTENER_RULE_ARN,
  REGION,
  STABLE_SERVICE,
  STABLE_TG_ARN,
} from '../helpers/config';

const ROLES = controllerRoles(Object.keys(FUNCTION_NEEDS));

function env(config: object = checkedConfig(), extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    AWS_REGION: REGION,
    AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
    AWS_SECRET_ACCESS_KEY: 'secret',
    SERVICES_JSON: JSON.stringify([config]),
    CONTROLLER_ROLES: ROLES,
    ...extra,
  };
}

function io(e: NodeJS.ProcessEnv) {
  const out: string[] = [];
  const err: string[] = [];
  return {
    io: {
      stdout: (s: string) => out.push(s),
      stderr: (s: string) => err.push(s),
      env: e,
      cwd: mkdtempSync(join(tmpdir(), 'canary-check-')),
    },
    out: () => out.join(''),
    err: () => err.join(''),
  };
}

let mocks: ReturnType<typeof mockAccount> | undefined;
afterEach(() => {
  mocks?.restore();
  mocks = undefined;
});

async function check(account: AccountFixture, e: NodeJS.ProcessEnv = env()) {
  mocks = mockAccount(account);
  const t = io(e);
  const code = await main(['check', '--json'], t.io);
  const body = JSON.parse(t.out()) as { ok: boolean; services: { service: string; findings: Finding[] }[] };
  return { code, body, findings: body.services[0]?.findings ?? [] };
}

const problems = (findings: Finding[]) => findings.filter((f) => f.status !== 'ok');

describe('canary check: a clean account', () => {
  it('reports every check ok, exits 0, and only reads', async () => {
    const { code, body, findings } = await check(cleanAccount());
    expect(problems(findings)).toEqual([]);
    expect(code).toBe(0);
    expect(body.ok).toBe(true);
    expect(new Set(findings.map((f) => f.check))).toEqual(
      new Set([
        'route',
        'target-groups',
        'stickiness',
        'authenticate',
        'header-rule',
        'ecs',
        'alarms',
        'repository',
        // The ECS deployer's CPU and memory, judged without configuration.
        'metrics',
        'iam',
      ]),
    );
    const sent = mocks
      ? [mocks.elb, mocks.ecs, mocks.cloudwatch, mocks.ecr, mocks.iam, mocks.lambda].flatMap((m) =>
          m.calls().map((c) => (c.args[0] as { constructor: { name: string } }).constructor.name),
        )
      : [];
    expect(sent.length).toBeGreaterThan(0);
    for (const name of sent)
      expect(name).toMatch(
        /^(Describe|SimulatePrincipalPolicy|GetGroups|ListMetrics|GetFunctionConfiguration)/,
      );
  });

  it('simulates each function’s calls against its own role, with the context keys its policy conditions use', async () => {
    const { findings } = await check(cleanAccount());
    expect(findings.find((f) => f.check === 'iam')?.message).toMatch(/calls of \d+ functions allowed/);
    const inputs =
      mocks?.iam.calls().map((c) => (c.args[0] as unknown as { input: Record<string, unknown> }).input) ?? [];
    const passRole = inputs.find((i) => (i.ActionNames as string[]).includes('iam:PassRole'));
    expect(passRole).toMatchObject({
      PolicySourceArn: roleArn('prepare'),
      // Both roles the task definition passes, in one request: each action is evaluated for each resource.
      ResourceArns: expect.arrayContaining([expect.stringMatching(/role\/web-task$/), EXECUTION_ROLE_ARN]),
      ContextEntries: [
        {
          ContextKeyName: 'iam:PassedToService',
          ContextKeyValues: ['ecs-tasks.amazonaws.com'],
          ContextKeyType: 'string',
        },
      ],
    });
    const register = inputs.find((i) => (i.ActionNames as string[]).includes('ecs:RegisterTaskDefinition'));
    expect(register?.ResourceArns).toEqual([TASK_DEFINITION_ARN.replace(':42', ':43')]);
    const modifyRule = inputs.filter((i) =>
      (i.ActionNames as string[]).includes('elasticloadbalancing:ModifyRule'),
    );
    expect(modifyRule.map((i) => i.PolicySourceArn)).toContain(roleArn('set-weight'));
    expect(inputs.some((i) => i.PolicySourceArn === roleArn('bake'))).toBe(false);
  });

  it("simulates the catalog's GetItem on the stack's service-config table for the functions that read it", async () => {
    const { findings } = await check(
      cleanAccount(),
      env(checkedConfig(), { CONFIG_TABLE_NAME: 'Platform-Configs' }),
    );
    expect(problems(findings)).toEqual([]);
    const inputs =
      mocks?.iam.calls().map((c) => (c.args[0] as unknown as { input: Record<string, unknown> }).input) ?? [];
    const getItem = inputs.filter((i) => (i.ActionNames as string[]).includes('dynamodb:GetItem'));
    const account = roleArn('start-rollout').split(':')[4];
    expect(getItem.map((i) => i.PolicySourceArn).sort()).toEqual(
      [roleArn('reconcile'), roleArn('start-rollout')].sort(),
    );
    for (const i of getItem)
      expect(i.ResourceArns).toEqual([`arn:aws:dynamodb:${REGION}:${account}:table/Platform-Configs`]);
  });

  it('prints readable text by default', async () => {
    mocks = mockAccount(cleanAccount());
    const t = io(env());
    expect(await main(['check', 'web'], t.io)).toBe(0);
    expect(t.out()).toMatch(/^web: ready\n/);
    expect(t.out()).toMatch(
      /ok\s+route\s+listener-rule\/app\/web\/\S+ forwards to targetgroup\/web-stable\/\S+ \(weight 1\)/,
    );
    expect(t.out()).toContain('No errors in 1 service.');
  });
});

type Break = (a: AccountFixture) => void;
const ruleOf = (a: AccountFixture) => a.rules[0] as NonNullable<AccountFixture['rules'][0]>;
const groupOf = (a: AccountFixture, arn: string) =>
  a.targetGroups.find((g) => g.TargetGroupArn === arn) as NonNullable<AccountFixture['targetGroups'][0]>;
const serviceOf = (a: AccountFixture, name: string) =>
  a.services.find((s) => s.serviceName === name) as NonNullable<AccountFixture['services'][0]>;
const taskDefinitionOf = (a: AccountFixture) =>
  (a.taskDefinitions[0] as NonNullable<AccountFixture['taskDefinitions'][0]>).taskDefinition;

describe('canary check: every failure it knows', () => {
  const cases: [string, Break, Finding['check'], Finding['status'], RegExp, RegExp][] = [
    [
      'the listener does not exist',
      (a) => {
        a.listeners = [];
      },
      'route',
      'error',
      /listener .* does not exist/,
      /traffic\.listenerArn/,
    ],
    [
      'the rule is not a rule of the listener',
      (a) => {
        a.rules = a.rules.slice(1);
      },
      'route',
      'error',
      new RegExp(`listener rule ${LISTENER_RULE_ARN} is not a rule of listener ${LISTENER_ARN}`),
      /traffic\.ruleArn/,
    ],
    [
      'the route rule is the default rule',
      (a) => {
        ruleOf(a).IsDefault = true;
      },
      'route',
      'error',
      /is the listener's default rule, which ModifyRule cannot change/,
      /remove traffic\.ruleArn/,
    ],
    [
      'the route has no forward action',
      (a) => {
        ruleOf(a).Actions = [{ Type: 'fixed-response', FixedResponseConfig: { StatusCode: '503' } }];
      },
      'route',
      'error',
      /has no forward action to weight/,
      /a forward action to the stable target group/,
    ],
    [
      'the route forwards to other target groups only',
      (a) => {
        const other = `arn:aws:elasticloadbalancing:${REGION}:${ACCOUNT}:targetgroup/legacy/0123456789abcdef`;
        ruleOf(a).Actions = [
          { Type: 'forward', ForwardConfig: { TargetGroups: [{ TargetGroupArn: other, Weight: 1 }] } },
        ];
      },
      'route',
      'error',
      /forwards to none of the service's target groups \(it forwards to targetgroup\/legacy/,
      /forward the route/,
    ],
    [
      'the route also forwards to another target group',
      (a) => {
        const other = `arn:aws:elasticloadbalancing:${REGION}:${ACCOUNT}:targetgroup/legacy/0123456789abcdef`;
        ruleOf(a).Actions?.[0]?.ForwardConfig?.TargetGroups?.push({ TargetGroupArn: other, Weight: 1 });
      },
      'route',
      'warning',
      /also forwards to targetgroup\/legacy/,
      /take the other target groups out/,
    ],
    [
      'a target group does not exist',
      (a) => {
        a.targetGroups = a.targetGroups.filter((g) => g.TargetGroupArn !== CANARY_TG_ARN);
      },
      'target-groups',
      'error',
      new RegExp(`target group not found: ${CANARY_TG_ARN}`),
      /traffic\.canaryTargetGroupArn/,
    ],
    [
      'the canary target group is on no load balancer',
      (a) => {
        groupOf(a, CANARY_TG_ARN).LoadBalancerArns = [];
      },
      'target-groups',
      'error',
      /is not used by any load balancer, so its targets are never health checked \(Target\.NotInUse\)/,
      /add it to the forward action of .* with weight 0/,
    ],
    [
      'a target group is on another load balancer',
      (a) => {
        groupOf(a, STABLE_TG_ARN).LoadBalancerArns = [OTHER_LOAD_BALANCER_ARN];
      },
      'target-groups',
      'error',
      /belongs to .*app\/api\/.*, not to the listener's load balancer/,
      /use a target group of .* in traffic\.stableTargetGroupArn/,
    ],
    [
      'application-based stickiness',
      (a) => {
        a.attributes[CANARY_TG_ARN] = [
          { Key: 'stickiness.enabled', Value: 'true' },
          { Key: 'stickiness.type', Value: 'app_cookie' },
        ];
      },
      'stickiness',
      'error',
      /application-based stickiness, which does not work with weighted target groups/,
      /lb_cookie/,
    ],
    [
      'an authenticate-oidc action on the route, with a header rule',
      (a) => {
        ruleOf(a).Actions?.unshift({
          Type: 'authenticate-oidc',
          Order: 1,
          AuthenticateOidcConfig: {
            Issuer: 'https://idp.example.com',
            AuthorizationEndpoint: 'https://idp.example.com/auth',
            TokenEndpoint: 'https://idp.example.com/token',
            UserInfoEndpoint: 'https://idp.example.com/userinfo',
            ClientId: 'shop',
          },
        });
      },
      'authenticate',
      'error',
      /CreateRule requires the OIDC client secret/,
      /remove traffic\.headerRule/,
    ],
    [
      'more than 5 condition values with the copied route conditions',
      (a) => {
        ruleOf(a).Conditions = [
          { Field: 'host-header', HostHeaderConfig: { Values: ['shop.example.com', 'www.example.com'] } },
          { Field: 'path-pattern', PathPatternConfig: { Values: ['/api/*', '/v2/*', '/cart/*'] } },
        ];
      },
      'header-rule',
      'error',
      /the header rule would have 6 condition values \(1 header values \+ 5 copied from .*\); ALB allows 3 per condition and 5 per rule/,
      /the route rule's conditions use all 5 values/,
    ],
    [
      'the header rule would come after the route rule',
      (a) => {
        ruleOf(a).Priority = '5';
      },
      'header-rule',
      'error',
      /header rule priority 10 is evaluated after the route rule's 5/,
      /set traffic\.headerRule\.priority below 5/,
    ],
    [
      'the header rule priority is taken',
      (a) => {
        a.rules.push({
          RuleArn: `${LISTENER_RULE_ARN.slice(0, LISTENER_RULE_ARN.lastIndexOf('/'))}/00000000000000aa`,
          Priority: '10',
          IsDefault: false,
          Conditions: [{ Field: 'path-pattern', PathPatternConfig: { Values: ['/admin/*'] } }],
          Actions: [{ Type: 'fixed-response', FixedResponseConfig: { StatusCode: '403' } }],
        });
      },
      'header-rule',
      'error',
      /priority 10 is taken by rule .*00000000000000aa, which the controller did not create/,
      /choose a free priority/,
    ],
    [
      'a header rule left from an earlier rollout',
      (a) => {
        const arn = `${LISTENER_RULE_ARN.slice(0, LISTENER_RULE_ARN.lastIndexOf('/'))}/00000000000000bb`;
        a.ruleTags[arn] = [{ Key: HEADER_RULE_TAG, Value: LISTENER_RULE_ARN }];
        a.rules.push({
          RuleArn: arn,
          Priority: '10',
          IsDefault: false,
          Conditions: [
            { Field: 'http-header', HttpHeaderConfig: { HttpHeaderName: 'X-Canary', Values: ['always'] } },
          ],
          Actions: [
            {
              Type: 'forward',
              ForwardConfig: { TargetGroups: [{ TargetGroupArn: CANARY_TG_ARN, Weight: 1 }] },
            },
          ],
        });
      },
      'header-rule',
      'warning',
      /a header rule from an earlier rollout is still on the listener/,
      /abort or finish/,
    ],
    [
      'the ECS cluster does not exist',
      (a) => {
        a.clusterExists = false;
      },
      'ecs',
      'error',
      new RegExp(`ECS cluster ${ECS_CLUSTER} does not exist`),
      /deployer\.cluster/,
    ],
    [
      'the canary service does not exist',
      (a) => {
        a.services = a.services.filter((s) => s.serviceName !== CANARY_SERVICE);
      },
      'ecs',
      'error',
      new RegExp(`ECS service not found in cluster ${ECS_CLUSTER}: ${CANARY_SERVICE} \\(MISSING\\)`),
      /deployer\.canaryService/,
    ],
    [
      'the stable service is draining',
      (a) => {
        serviceOf(a, STABLE_SERVICE).status = 'DRAINING';
      },
      'ecs',
      'error',
      new RegExp(`ECS service not found in cluster ${ECS_CLUSTER}: ${STABLE_SERVICE}`),
      /deployer\.stableService/,
    ],
    [
      'a service with the short ARN format',
      (a) => {
        serviceOf(a, STABLE_SERVICE).serviceArn =
          `arn:aws:ecs:${REGION}:${ACCOUNT}:service/${STABLE_SERVICE}`;
      },
      'ecs',
      'warning',
      /has the short ARN format/,
      /Migrate an Amazon ECS short service ARN to a long ARN/,
    ],
    [
      'the stable task definition uses a role the controller may not pass',
      (a) => {
        taskDefinitionOf(a).executionRoleArn = `arn:aws:iam::${ACCOUNT}:role/other-execution`;
      },
      'ecs',
      'error',
      /uses arn:aws:iam::123456789012:role\/other-execution, which the controller may not pass: set executionRoleArn to it/,
      /set deployer\.executionRoleArn in the service config/,
    ],
    [
      'a task role named by name, which the role may not pass',
      (a) => {
        taskDefinitionOf(a).taskRoleArn = 'web-task';
        a.denied[`iam:PassRole arn:aws:iam::${ACCOUNT}:role/web-task`] = 'implicitDeny';
      },
      'iam',
      'error',
      /prepare, .* may not call iam:PassRole on arn:aws:iam::123456789012:role\/web-task /,
      /deployer\.taskRoleArn/,
    ],
    [
      'the stable task definition is of another family',
      (a) => {
        taskDefinitionOf(a).family = 'shop-web';
      },
      'ecs',
      'error',
      /runs task definition family "shop-web", but canary revisions may be registered only in "web"/,
      /set deployer\.taskDefinitionFamily/,
    ],
    [
      'a service with the CodeDeploy deployment controller',
      (a) => {
        serviceOf(a, CANARY_SERVICE).deploymentController = { type: 'CODE_DEPLOY' };
      },
      'ecs',
      'error',
      /uses the CODE_DEPLOY deployment controller/,
      /rolling update \(ECS\) deployment controller/,
    ],
    [
      'the canary service registers in another target group',
      (a) => {
        serviceOf(a, CANARY_SERVICE).loadBalancers = [{ targetGroupArn: STABLE_TG_ARN }];
      },
      'ecs',
      'error',
      new RegExp(`${CANARY_SERVICE} does not register its tasks in traffic\\.canaryTargetGroupArn`),
      /attach web-canary/,
    ],
    [
      'the container is not in the task definition',
      (a) => {
        const c = taskDefinitionOf(a).containerDefinitions?.[0];
        if (c) c.name = 'app';
      },
      'ecs',
      'error',
      /no container "web" in .*\(has: app\)/,
      /deployer\.container/,
    ],
    [
      'an image without a registry',
      (a) => {
        const c = taskDefinitionOf(a).containerDefinitions?.[0];
        if (c) c.image = 'web:1.2';
      },
      'ecs',
      'error',
      /cannot tell the registry of the stable image "web:1\.2"/,
      /<registry>\/<repository>/,
    ],
    [
      'a gating alarm does not exist',
      (a) => {
        a.metricAlarms = a.metricAlarms.slice(1);
      },
      'alarms',
      'error',
      /CloudWatch alarm not found: web-5xx-high/,
      /analysis\.alarms/,
    ],
    [
      'the ECR repository does not exist',
      (a) => {
        a.repositories = [];
      },
      'repository',
      'error',
      /ECR repository acme\/web does not exist/,
      /create the repository/,
    ],
    [
      'a role may not modify the route rule',
      (a) => {
        a.denied[`elasticloadbalancing:ModifyRule ${LISTENER_RULE_ARN}`] = 'implicitDeny';
      },
      'iam',
      'error',
      new RegExp(
        `set-weight, run-hook, promote, rollback, on-alarm, reconcile may not call elasticloadbalancing:ModifyRule on ${LISTENER_RULE_ARN} \\(implicitDeny\\)`,
      ),
      /deploy the controller's stack with web in its service configs/,
    ],
    [
      'the task roles cannot be passed',
      (a) => {
        a.denied[`iam:PassRole ${EXECUTION_ROLE_ARN}`] = 'implicitDeny';
      },
      'iam',
      'error',
      new RegExp(
        `prepare, set-weight, promote, rollback, reconcile may not call iam:PassRole on ${EXECUTION_ROLE_ARN}`,
      ),
      /deployer\.taskRoleArn \/ deployer\.executionRoleArn/,
    ],
    [
      'a composite gating alarm with DescribeAlarms scoped to alarm ARNs',
      (a) => {
        const [first] = a.metricAlarms.splice(0, 1);
        a.compositeAlarms.push({ AlarmName: first?.AlarmName, AlarmArn: first?.AlarmArn, StateValue: 'OK' });
        a.denied['cloudwatch:DescribeAlarms *'] = 'implicitDeny';
      },
      'iam',
      'error',
      /analyze may not call cloudwatch:DescribeAlarms on \*/,
      /composite gating alarm .* on "\*"/,
    ],
    [
      'an explicit deny',
      (a) => {
        a.denied[`ecs:UpdateService ${serviceArn(CANARY_SERVICE)}`] = 'explicitDeny';
      },
      'iam',
      'error',
      /may not call ecs:UpdateService on .*\(explicitDeny\)/,
      /explicit Deny/,
    ],
    [
      'a short service ARN the policy does not grant',
      (a) => {
        const short = `arn:aws:ecs:${REGION}:${ACCOUNT}:service/${STABLE_SERVICE}`;
        serviceOf(a, STABLE_SERVICE).serviceArn = short;
        a.denied[`ecs:DescribeServices ${short}`] = 'implicitDeny';
      },
      'iam',
      'error',
      /check-ready.* may not call ecs:DescribeServices on arn:aws:ecs:us-east-1:123456789012:service\/web /,
      /short ARN format/,
    ],
  ];

  it.each(cases)('%s', async (_name, breakIt, checkName, status, message, fix) => {
    const account = structuredClone(cleanAccount());
    breakIt(account);
    const { code, body, findings } = await check(account);
    const finding = findings.find(
      (f) => f.check === checkName && f.status === status && message.test(f.message),
    );
    expect(finding, JSON.stringify(problems(findings), null, 2)).toBeDefined();
    expect(finding?.fix).toMatch(fix);
    expect(code).toBe(status === 'error' ? 1 : 0);
    expect(body.ok).toBe(status !== 'error');
  });

  it('sticky target groups: reported as kept valid (the controller keeps group stickiness on), not refused', async () => {
    const account = cleanAccount();
    const attrs = account.attributes[STABLE_TG_ARN] ?? [];
    (attrs.find((x) => x.Key === 'stickiness.enabled') as { Value?: string }).Value = 'true';
    const { code, findings } = await check(account);
    expect(problems(findings)).toEqual([]);
    expect(findings.find((f) => f.check === 'stickiness')?.message).toContain('target stickiness is on');
    expect(code).toBe(0);
  });

  it('X-Ray: the groups the analysis reads must exist, and analyze may read their statistics', async () => {
    const config = checkedConfig();
    const xrayConfig = {
      ...config,
      analysis: {
        ...config.analysis,
        xray: {
          canaryGroup: 'web-canary',
          stableGroup: 'web-stable',
          entitySelectorExpression: 'service("web")',
        },
      },
    };
    const account = cleanAccount();
    account.denied['xray:GetTimeSeriesServiceStatistics *'] = 'implicitDeny';
    mocks = mockAccount(account);
    const xray = mockClient(XRayClient);
    xray.on(GetGroupsCommand).resolves({ Groups: [{ GroupName: 'Default' }, { GroupName: 'web-stable' }] });
    try {
      const t = io(env(xrayConfig));
      expect(await main(['check', '--json'], t.io)).toBe(1);
      const findings =
        (JSON.parse(t.out()) as { services: { findings: Finding[] }[] }).services[0]?.findings ?? [];
      expect(problems(findings)).toEqual([
        expect.objectContaining({
          check: 'xray',
          status: 'error',
          message: expect.stringContaining('X-Ray group not found: web-canary'),
        }),
        expect.objectContaining({
          check: 'iam',
          status: 'error',
          message: 'analyze may not call xray:GetTimeSeriesServiceStatistics on * (implicitDeny)',
        }),
      ]);
    } finally {
      xray.restore();
    }
  });

  it('a composite gating alarm with DescribeAlarms granted on "*" is fine', async () => {
    const account = cleanAccount();
    const [first] = account.metricAlarms.splice(0, 1);
    account.compositeAlarms.push({
      AlarmName: first?.AlarmName,
      AlarmArn: first?.AlarmArn,
      StateValue: 'OK',
    });
    const { code, findings } = await check(account);
    expect(problems(findings)).toEqual([]);
    expect(findings.find((f) => f.check === 'alarms')?.message).toContain('web-5xx-high (composite)');
    expect(code).toBe(0);
  });
});

describe('canary check: custom metrics and hooks', () => {
  const VERSION = { name: 'Service', canary: 'web-canary', stable: 'web' };
  /** Completed orders per attempted, attempted the sum of first tries and retries (metric math). */
  const ordersConfig = () => ({
    ...checkedConfig(),
    analysis: {
      ...checkedConfig().analysis,
      metrics: [
        {
          name: 'orders',
          kind: 'counts',
          direction: 'lowerIsWorse',
          versionDimension: VERSION,
          good: { namespace: 'Shop', metricName: 'OrdersCompleted' },
          total: {
            expression: 'first + retried',
            metrics: {
              first: { namespace: 'Shop', metricName: 'OrdersAttempted' },
              retried: { namespace: 'Shop', metricName: 'OrdersRetried' },
            },
          },
        },
      ],
    },
  });
  const published = (metricName: string, service: string, more: Record<string, string> = {}) => ({
    Namespace: 'Shop',
    MetricName: metricName,
    Dimensions: Object.entries({ Service: service, ...more }).map(([Name, Value]) => ({ Name, Value })),
  });

  it("lists each metric a query reads for both versions' dimensions, and says which have no data in the last two weeks", async () => {
    // Prepare: completed orders for both versions; first tries for stable only; retries only with a Host dimension.
    const account = cleanAccount();
    account.metrics.push(
      published('OrdersCompleted', 'web'),
      published('OrdersCompleted', 'web-canary'),
      published('OrdersAttempted', 'web'),
      published('OrdersRetried', 'web', { Host: 'i-0abc' }),
    );
    // Act
    const { code, findings } = await check(account, env(ordersConfig()));
    // Assess
    expect(problems(findings)).toEqual([
      {
        check: 'metrics',
        status: 'error',
        message:
          'custom.orders (analysis.metrics[0].total.metrics.retried): Shop OrdersRetried with Service = web for stable: published only with more dimensions (Service, Host); a query reads the metric with exactly the dimensions it names',
        fix: "name every dimension the application publishes in web's analysis.metrics[0].total.metrics.retried.dimensions",
      },
      {
        check: 'metrics',
        status: 'warning',
        message:
          'custom.orders (analysis.metrics[0].total.metrics.first): Shop OrdersAttempted with Service = web-canary for the canary: no data in the last two weeks (ListMetrics lists only metrics with data in that time)',
        fix: expect.stringMatching(
          /^expected if the canary has not run in the last two weeks; otherwise check web's analysis\.metrics\[0\]\.total\.metrics\.first .* analysis\.metrics\[0\]\.versionDimension\.canary/,
        ),
      },
      expect.objectContaining({
        status: 'warning',
        message: expect.stringMatching(
          /^custom\.orders .*OrdersRetried with Service = web-canary for the canary: no data/,
        ),
      }),
    ]);
    expect(code).toBe(1);
    const filters = mocks?.cloudwatch
      .calls()
      .map((c) => c.args[0].input as { MetricName?: string; Dimensions?: unknown })
      .find((i) => i.MetricName === 'OrdersCompleted');
    expect(filters?.Dimensions).toEqual([{ Name: 'Service', Value: 'web-canary' }]);
  });

  it('all data there: one ok line naming the metrics', async () => {
    const account = cleanAccount();
    for (const name of ['OrdersCompleted', 'OrdersAttempted', 'OrdersRetried'])
      account.metrics.push(published(name, 'web'), published(name, 'web-canary'));
    const { code, findings } = await check(account, env(ordersConfig()));
    expect(problems(findings)).toEqual([]);
    expect(findings.find((f) => f.check === 'metrics')?.message).toBe(
      'custom.orders, custom.ecsCpu, custom.ecsMemory: data in the last two weeks for both versions',
    );
    expect(code).toBe(0);
  });

  it("checks each Lambda hook's function in its region and that run-hook may invoke it; an HTTPS hook is not called", async () => {
    // Prepare: smoke by name (the controller's region), load by ARN in another region, e2e missing.
    const load = `arn:aws:lambda:eu-west-1:${ACCOUNT}:function:web-load:live`;
    const smoke = `arn:aws:lambda:${REGION}:${ACCOUNT}:function:web-smoke`;
    const config = {
      ...checkedConfig(),
      hooks: {
        beforeTraffic: [{ name: 'smoke', lambda: 'web-smoke' }],
        afterPromotion: [
          { name: 'load', lambda: load },
          { name: 'e2e', lambda: 'web-e2e' },
          { name: 'contract', url: 'https://checks.example.com/web' },
        ],
      },
    };
    const account = cleanAccount();
    account.functions.push(
      { FunctionName: 'web-smoke', FunctionArn: smoke, State: 'Active' },
      { FunctionName: 'web-load', FunctionArn: load.replace(/:live$/, ''), State: 'Active' },
    );
    account.denied[`lambda:InvokeFunction ${smoke}`] = 'implicitDeny';
    // Act
    const { code, findings } = await check(account, env(config));
    // Assess
    expect(problems(findings)).toEqual([
      {
        check: 'hooks',
        status: 'error',
        message: `hook e2e (hooks.afterPromotion[1]): Lambda function web-e2e does not exist in ${REGION}`,
        fix: "create it, or set web's hooks.afterPromotion[1].lambda to an existing function (a name is looked up in the controller's region; one in another region by its ARN)",
      },
      {
        check: 'iam',
        status: 'error',
        message: `run-hook may not call lambda:InvokeFunction on ${smoke} (implicitDeny)`,
        fix: expect.stringContaining("deploy the controller's stack with web's config"),
      },
    ]);
    expect(code).toBe(1);
    const regions = await Promise.all(
      (mocks?.lambda.calls() ?? [])
        .filter((c) => c.args[0] instanceof GetFunctionConfigurationCommand)
        .map(async (c) => [
          (c.args[0].input as { FunctionName: string }).FunctionName,
          await (c.thisValue as { config: { region: () => Promise<string> } }).config.region(),
        ]),
    );
    expect(regions.sort()).toEqual([
      [load, 'eu-west-1'],
      ['web-e2e', REGION],
      ['web-smoke', REGION],
    ]);
    // run-hook's InvokeFunction simulated on each function, the names in the controller's region and account.
    const simulated = (mocks?.iam.calls() ?? [])
      .map((c) => c.args[0].input as { ActionNames?: string[]; ResourceArns?: string[] })
      .filter((i) => i.ActionNames?.includes('lambda:InvokeFunction'))
      .flatMap((i) => i.ResourceArns ?? []);
    expect(simulated.sort()).toEqual(
      [load, `arn:aws:lambda:${REGION}:${ACCOUNT}:function:web-e2e`, smoke].sort(),
    );
  });
});

describe('canary check: what it cannot check', () => {
  it('without CONTROLLER_ROLES the IAM check is "not checked", and the exit code stays 0', async () => {
    const { code, findings } = await check(cleanAccount(), env(checkedConfig(), { CONTROLLER_ROLES: '' }));
    expect(problems(findings)).toEqual([
      expect.objectContaining({
        check: 'iam',
        status: 'not-checked',
        message: expect.stringContaining('CONTROLLER_ROLES is not set'),
        fix: expect.stringContaining('ControllerRoles output'),
      }),
    ]);
    expect(code).toBe(0);
  });

  it('a role missing from CONTROLLER_ROLES: the others are checked, that one is not', async () => {
    const roles = JSON.parse(ROLES) as Record<string, string>;
    delete roles.prepare;
    const { findings } = await check(
      cleanAccount(),
      env(checkedConfig(), { CONTROLLER_ROLES: JSON.stringify(roles) }),
    );
    expect(problems(findings)).toEqual([
      expect.objectContaining({
        check: 'iam',
        status: 'not-checked',
        message: 'CONTROLLER_ROLES names no role for prepare',
      }),
    ]);
  });

  it('a read you may not make is "not checked", naming the call', async () => {
    const account = cleanAccount();
    mocks = mockAccount(account);
    const { DescribeTargetGroupAttributesCommand } = await import(
      '@aws-sdk/client-elastic-load-balancing-v2'
    );
    mocks.elb
      .on(DescribeTargetGroupAttributesCommand)
      .rejects(Object.assign(new Error('not authorized'), { name: 'AccessDenied' }));
    const t = io(env());
    expect(await main(['check', '--json'], t.io)).toBe(0);
    const findings =
      (JSON.parse(t.out()) as { services: { findings: Finding[] }[] }).services[0]?.findings ?? [];
    expect(problems(findings)).toEqual([
      expect.objectContaining({
        check: 'stickiness',
        status: 'not-checked',
        message: expect.stringContaining(
          'elasticloadbalancing:DescribeTargetGroupAttributes was denied to you',
        ),
      }),
      expect.objectContaining({ check: 'stickiness', status: 'not-checked' }),
    ]);
  });

  it('IAM simulation denied to the caller: "not checked"', async () => {
    mocks = mockAccount(cleanAccount());
    const { SimulatePrincipalPolicyCommand } = await import('@aws-sdk/client-iam');
    mocks.iam
      .on(SimulatePrincipalPolicyCommand)
      .rejects(Object.assign(new Error('no'), { name: 'AccessDenied' }));
    const t = io(env());
    expect(await main(['check', '--json'], t.io)).toBe(0);
    const findings =
      (JSON.parse(t.out()) as { services: { findings: Finding[] }[] }).services[0]?.findings ?? [];
    expect(problems(findings)).toEqual([
      expect.objectContaining({
        check: 'iam',
        status: 'not-checked',
        message: expect.stringContaining(
          `iam:SimulatePrincipalPolicy on ${roleArn('start-rollout')} was denied to you`,
        ),
      }),
    ]);
  });
});

describe('canary check: the README', () => {
  it('shows the real output for its misconfigured service', async () => {
    const a = cleanAccount();
    groupOf(a, CANARY_TG_ARN).LoadBalancerArns = [];
    ruleOf(a).Priority = '5';
    a.metricAlarms = a.metricAlarms.slice(1);
    const short = `arn:aws:ecs:${REGION}:${ACCOUNT}:service/${STABLE_SERVICE}`;
    serviceOf(a, STABLE_SERVICE).serviceArn = short;
    a.denied[`ecs:DescribeServices ${short}`] = 'implicitDeny';
    a.denied[`ecs:UpdateService ${short}`] = 'implicitDeny';
    mocks = mockAccount(a);
    const t = io(env());
    expect(await main(['check', 'web'], t.io)).toBe(1);
    const readme = readFileSync(join(import.meta.dirname, '..', '..', 'README.md'), 'utf8');
    const shown = /\$ npx canary check web\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(shown).toBe(t.out());
  });
});

describe('canary check: usage and settings', () => {
  it('--help explains the checks and exits 0', async () => {
    const t = io({});
    expect(await main(['check', '--help'], t.io)).toBe(0);
    expect(t.out()).toMatch(/^Usage: canary check \[service\] \[--json\]/);
    for (const c of [
      'route',
      'target-groups',
      'stickiness',
      'authenticate',
      'header-rule',
      'ecs',
      'alarms',
      'repository',
      'xray',
      'metrics',
      'hooks',
      'iam',
    ])
      expect(t.out()).toContain(`  ${c} `);
    const all = io({});
    expect(await main(['--help'], all.io)).toBe(0);
    expect(all.out()).toContain('  check [service] ');
  });

  it.each([
    [['check', 'web', 'extra'], 'check: unexpected argument "extra"'],
    [['check', '--sandbox'], 'check looks at an AWS account: it has no --sandbox mode'],
    [['check', '--reason', 'x'], '--reason does not apply to check'],
  ])('%j exits 2', async (argv, message) => {
    const t = io(env());
    expect(await main(argv, t.io)).toBe(2);
    expect(t.err()).toContain(message);
  });

  it.each([
    [{ SERVICES_JSON: '' }, 'SERVICES_JSON is not set'],
    [{ AWS_REGION: '' }, 'AWS_REGION is not set'],
    [{ SERVICES_JSON: '[{"service":"web"}]' }, 'SERVICES_JSON: services is invalid'],
    [{ CONTROLLER_ROLES: '["arn:aws:iam::123456789012:role/x"]' }, 'CONTROLLER_ROLES must be a JSON object'],
  ])('bad settings %j exit 1 naming the setting, before any call', async (extra, message) => {
    mocks = mockAccount(cleanAccount());
    const t = io(env(checkedConfig(), extra));
    expect(await main(['check'], t.io)).toBe(1);
    expect(t.err()).toContain(message);
    expect(mocks.elb.calls()).toHaveLength(0);
  });

  it('an unknown service exits 1 naming the services it knows', async () => {
    mocks = mockAccount(cleanAccount());
    const t = io(env());
    expect(await main(['check', 'nope'], t.io)).toBe(1);
    expect(t.err()).toContain('unknown service "nope" (SERVICES_JSON has: web)');
  });
});
