import { describe, expect, it } from 'vitest';
import {
  parseServiceConfig,
  parseServiceConfigs,
  type ServiceConfigInput,
  serviceConfigSchema,
  stepSpecs,
  taskDefinitionFamily,
  xrayGroupNames,
} from '../../functions/core/config';
import { albTraffic } from '../../functions/core/config-route';
import { ConfigInvalidError, type FieldIssue } from '../../functions/core/errors';
import { buildPlan, STEP_PRESET_NAMES, STEP_PRESETS } from '../../functions/core/plan';
import {
  CANARY_TG_ARN,
  LISTENER_ARN,
  LISTENER_RULE_ARN,
  STABLE_TG_ARN,
  validServiceConfig,
} from '../helpers/config';

/** Parse and return the ConfigInvalidError it throws; fails the test when parsing succeeds. */
function configError(value: unknown): ConfigInvalidError {
  try {
    parseServiceConfig(value);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigInvalidError);
    return error as ConfigInvalidError;
  }
  throw new Error('expected the config to be rejected');
}

function configsError(values: unknown): ConfigInvalidError {
  try {
    parseServiceConfigs(values);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigInvalidError);
    return error as ConfigInvalidError;
  }
  throw new Error('expected the configs to be rejected');
}

function issueAt(error: ConfigInvalidError, path: string): FieldIssue {
  const issue = error.issues.find((i) => i.path === path);
  expect(issue, `no issue at ${path}; issues: ${JSON.stringify(error.issues)}`).toBeDefined();
  return issue as FieldIssue;
}

function withSteps(steps: ServiceConfigInput['steps']): ServiceConfigInput {
  return { ...validServiceConfig(), steps };
}

describe('parseServiceConfig', () => {
  describe('a valid config', () => {
    it('parses and keeps what was given', () => {
      // Prepare
      const input = validServiceConfig();

      // Act
      const config = parseServiceConfig(input);

      // Assess
      expect(config.service).toBe('web');
      expect(config.repository).toBe('acme/web');
      expect(config.traffic).toMatchObject({
        kind: 'alb',
        listenerArn: LISTENER_ARN,
        stableTargetGroupArn: STABLE_TG_ARN,
        canaryTargetGroupArn: CANARY_TG_ARN,
      });
      expect(config.deployer).toEqual({
        kind: 'ecs',
        cluster: 'prod',
        stableService: 'web',
        canaryService: 'web-canary',
        container: 'web',
        taskRoleArn: 'arn:aws:iam::123456789012:role/web-task',
        executionRoleArn: 'arn:aws:iam::123456789012:role/ecsTaskExecutionRole',
      });
      expect(config.analysis.alarms).toEqual(['web-5xx-high', 'web-p99-latency-high']);
    });

    it('fills every default when only the required fields are given', () => {
      // Prepare
      const input = validServiceConfig({ analysis: undefined, notifications: undefined });

      // Act
      const config = parseServiceConfig(input);

      // Assess
      expect(config.traffic.deregistrationDelaySeconds).toBe(300);
      expect(config.analysis).toEqual({
        minRequests: 200,
        maxExtensions: 10,
        extensionSeconds: 60,
        onInconclusive: 'rollback',
        onDrift: 'rollback',
        onFailure: 'rollback',
        pauseTimeoutSeconds: 14_400,
        errorRate: { tolerance: 0, minIncrease: 0.005, max: 0.05 },
        latency: { p99Tolerance: 0.25, p99MinIncreaseMs: 25 },
        alarms: [],
        metrics: [],
        ecsMetrics: { enabled: true, critical: false, tolerance: 0.5 },
      });
      expect(config.approvals).toEqual({ timeoutSeconds: 3600, onTimeout: 'rollback' });
      expect(config.readiness).toEqual({ timeoutSeconds: 600, pollSeconds: 15 });
      expect(config.notifications).toEqual({});
      expect(config.tagPattern).toBeUndefined();
    });

    it('fills nested defaults inside a partly given section', () => {
      // Prepare
      const input = validServiceConfig({
        analysis: { errorRate: { tolerance: 1 }, latency: { p99MaxMs: 800 } },
      });

      // Act
      const config = parseServiceConfig(input);

      // Assess
      expect(config.analysis.errorRate).toEqual({ tolerance: 1, minIncrease: 0.005, max: 0.05 });
      expect(config.analysis.latency).toEqual({ p99Tolerance: 0.25, p99MinIncreaseMs: 25, p99MaxMs: 800 });
      expect(config.analysis.minRequests).toBe(200);
    });

    it('accepts the optional routing features: listener rule, stickiness, header rule', () => {
      // Prepare
      const input = validServiceConfig({
        traffic: {
          ruleArn: LISTENER_RULE_ARN,
          stickinessSeconds: 3600,
          headerRule: { header: 'X-Canary', values: ['always'], priority: 10 },
          deregistrationDelaySeconds: 30,
        },
      });

      // Act
      const config = parseServiceConfig(input);

      // Assess
      expect(albTraffic(config.traffic).ruleArn).toBe(LISTENER_RULE_ARN);
      expect(albTraffic(config.traffic).stickinessSeconds).toBe(3600);
      expect(albTraffic(config.traffic).headerRule).toEqual({
        header: 'X-Canary',
        values: ['always'],
        priority: 10,
      });
      expect(config.traffic.deregistrationDelaySeconds).toBe(30);
    });

    // "Listener rules for your Application Load Balancer": up to three comparison strings per condition.
    it('refuses more than three header values (ALB allows three per condition)', () => {
      // Act
      const error = configError(
        validServiceConfig({
          traffic: { headerRule: { header: 'X-Canary', values: ['a', 'b', 'c', 'd'], priority: 10 } },
        }),
      );

      // Assess
      expect(issueAt(error, 'traffic.headerRule.values').message).toContain('3');
    });

    it('refuses a listener rule of another listener (its ARN names the listener)', () => {
      // Prepare
      const otherListenerRule = LISTENER_RULE_ARN.replace('/f2f7dc8efc522ab2/', '/0123456789abcdef/');

      // Act
      const error = configError(validServiceConfig({ traffic: { ruleArn: otherListenerRule } }));

      // Assess
      expect(issueAt(error, 'traffic.ruleArn').message).toContain('traffic.listenerArn');
    });

    it('takes tagged image pushes only unless told otherwise', () => {
      expect(parseServiceConfig(validServiceConfig()).pushes).toBe('tagged-images');
      expect(parseServiceConfig(validServiceConfig({ pushes: 'images' })).pushes).toBe('images');
      expect(
        issueAt(configError(validServiceConfig({ pushes: 'everything' as never })), 'pushes'),
      ).toBeDefined();
    });

    it('accepts the "none" deployer', () => {
      // Prepare
      const input = validServiceConfig({ deployer: { kind: 'none' } });

      // Act
      const config = parseServiceConfig(input);

      // Assess
      expect(config.deployer).toEqual({ kind: 'none' });
    });

    it('accepts ARNs of other partitions (GovCloud, China)', () => {
      // Prepare
      const input = validServiceConfig({
        traffic: {
          listenerArn:
            'arn:aws-us-gov:elasticloadbalancing:us-gov-west-1:123456789012:listener/app/web/50dc6c495c0c9188/f2f7dc8efc522ab2',
          stableTargetGroupArn:
            'arn:aws-cn:elasticloadbalancing:cn-north-1:123456789012:targetgroup/web-stable/73e2d6bc24d8a067',
        },
      });

      // Act
      const config = parseServiceConfig(input);

      // Assess
      expect(albTraffic(config.traffic).listenerArn).toContain('aws-us-gov');
      expect(albTraffic(config.traffic).stableTargetGroupArn).toContain('aws-cn');
    });

    it('does not modify its input', () => {
      // Prepare
      const input = validServiceConfig({ analysis: undefined });
      const before = structuredClone(input);

      // Act
      parseServiceConfig(input);

      // Assess
      expect(input).toEqual(before);
    });
  });

  describe('steps', () => {
    it.each(STEP_PRESET_NAMES)('accepts the preset %s and resolves it to its step list', (name) => {
      // Prepare
      const input = withSteps(name);

      // Act
      const config = parseServiceConfig(input);

      // Assess
      expect(config.steps).toBe(name);
      expect(stepSpecs(config)).toEqual(STEP_PRESETS[name]);
      expect(buildPlan(stepSpecs(config)).at(-1)?.weight).toBe(100);
    });

    it('accepts an explicit step list with approvals and one-decimal weights', () => {
      // Prepare
      const steps = [
        { weight: 0.5, bakeSeconds: 120 },
        { weight: 12.5, bakeSeconds: 300, approval: true },
        { weight: 100, bakeSeconds: 0 },
      ];

      // Act
      const config = parseServiceConfig(withSteps(steps));

      // Assess
      expect(stepSpecs(config)).toEqual(steps);
    });

    it('accepts a single step at 100', () => {
      // Act
      const config = parseServiceConfig(withSteps([{ weight: 100, bakeSeconds: 60 }]));

      // Assess
      expect(stepSpecs(config)).toEqual([{ weight: 100, bakeSeconds: 60 }]);
    });

    it('rejects weights that do not increase, naming the step', () => {
      // Act
      const error = configError(
        withSteps([
          { weight: 50, bakeSeconds: 60 },
          { weight: 10, bakeSeconds: 60 },
          { weight: 100, bakeSeconds: 0 },
        ]),
      );

      // Assess
      expect(issueAt(error, 'steps[1].weight').message).toMatch(/increase/);
    });

    it('rejects a repeated weight, naming the step', () => {
      // Act
      const error = configError(
        withSteps([
          { weight: 10, bakeSeconds: 60 },
          { weight: 10, bakeSeconds: 60 },
          { weight: 100, bakeSeconds: 0 },
        ]),
      );

      // Assess
      expect(issueAt(error, 'steps[1].weight').message).toMatch(/increase/);
    });

    it('rejects a list whose last step is not 100, naming the last step', () => {
      // Act
      const error = configError(
        withSteps([
          { weight: 10, bakeSeconds: 60 },
          { weight: 50, bakeSeconds: 60 },
        ]),
      );

      // Assess
      expect(issueAt(error, 'steps[1].weight').message).toMatch(/last step must be 100/);
    });

    it.each([
      [0, 'zero'],
      [-5, 'negative'],
    ])('rejects weight %s (%s), naming the step', (weight) => {
      // Act
      const error = configError(
        withSteps([
          { weight, bakeSeconds: 60 },
          { weight: 100, bakeSeconds: 0 },
        ]),
      );

      // Assess
      expect(issueAt(error, 'steps[0].weight').message).toMatch(/above 0 and at most 100/);
    });

    it('rejects a weight above 100, naming the step', () => {
      // Act
      const error = configError(
        withSteps([
          { weight: 50, bakeSeconds: 60 },
          { weight: 150, bakeSeconds: 0 },
        ]),
      );

      // Assess
      expect(issueAt(error, 'steps[1].weight').message).toMatch(/above 0 and at most 100/);
    });

    it('rejects a weight with more than one decimal, naming the step', () => {
      // Act
      const error = configError(
        withSteps([
          { weight: 5, bakeSeconds: 60 },
          { weight: 12.25, bakeSeconds: 60 },
          { weight: 100, bakeSeconds: 0 },
        ]),
      );

      // Assess
      expect(issueAt(error, 'steps[1].weight').message).toMatch(/one decimal/);
    });

    it('rejects an empty step list', () => {
      // Act
      const error = configError(withSteps([]));

      // Assess
      expect(issueAt(error, 'steps').message).toMatch(/at least one step/);
    });

    it('rejects a plan of more than 50 steps (the execution history would not hold it)', () => {
      const steps = Array.from({ length: 51 }, (_, i) => ({
        weight: i === 50 ? 100 : (i + 1) * 1.5,
        bakeSeconds: 60,
      }));
      expect(issueAt(configError(withSteps(steps)), 'steps').message).toBe('at most 50 steps, got 51');
      expect(() => parseServiceConfig(withSteps(steps.slice(1)))).not.toThrow();
    });

    it('rejects an approval step with bakeSeconds 0, naming the field', () => {
      // Act
      const error = configError(
        withSteps([
          { weight: 10, bakeSeconds: 0, approval: true },
          { weight: 100, bakeSeconds: 0 },
        ]),
      );

      // Assess
      expect(issueAt(error, 'steps[0].bakeSeconds').message).toMatch(/approval/);
    });

    it('reports every wrong step, not just the first', () => {
      // Act
      const error = configError(
        withSteps([
          { weight: 0, bakeSeconds: 60 },
          { weight: 1.25, bakeSeconds: 60 },
          { weight: 90, bakeSeconds: 60 },
        ]),
      );

      // Assess
      expect(error.issues.map((i) => i.path)).toEqual(
        expect.arrayContaining(['steps[0].weight', 'steps[1].weight', 'steps[2].weight']),
      );
    });

    it('rejects an unknown key inside a step, naming it', () => {
      // Act
      const error = configError(
        withSteps([{ weight: 10, bakeSeconds: 60, pause: true } as never, { weight: 100, bakeSeconds: 0 }]),
      );

      // Assess
      expect(issueAt(error, 'steps[0].pause').message).toBe('unknown field');
    });

    it('names the field when a step has a value of the wrong type', () => {
      // Act
      const error = configError(
        withSteps([
          { weight: '10' as never, bakeSeconds: 60 },
          { weight: 100, bakeSeconds: 0 },
        ]),
      );

      // Assess
      expect(issueAt(error, 'steps[0].weight').message).toMatch(/number/);
    });

    it('says which presets exist when the preset name is unknown', () => {
      // Act
      const error = configError(withSteps('Canary5Percent15Minutes' as never));

      // Assess
      const issue = issueAt(error, 'steps');
      for (const name of STEP_PRESET_NAMES) expect(issue.message).toContain(name);
    });
  });

  describe('unknown keys', () => {
    it('rejects an unknown top-level key, naming it', () => {
      // Act
      const error = configError({ ...validServiceConfig(), stepz: 'Canary5Percent10Minutes' });

      // Assess
      expect(error.issues).toContainEqual({ path: 'stepz', message: 'unknown field' });
      expect(error.message).toContain('stepz: unknown field');
    });

    it('rejects a misspelt nested key with its full path', () => {
      // Prepare
      const input = validServiceConfig();
      const { listenerArn, ...traffic } = input.traffic as Extract<typeof input.traffic, { kind: 'alb' }>;

      // Act
      const error = configError({ ...input, traffic: { ...traffic, listenerArnn: listenerArn } });

      // Assess
      expect(error.issues).toContainEqual({ path: 'traffic.listenerArnn', message: 'unknown field' });
      expect(error.message).toContain('traffic.listenerArnn: unknown field');
      // ...and the field it replaced is missing
      expect(issueAt(error, 'traffic.listenerArn')).toBeDefined();
    });

    it.each([
      ['analysis.errorRate.tolerence', { analysis: { errorRate: { tolerence: 0.2 } } }],
      ['analysis.latency.p99', { analysis: { latency: { p99: 300 } } }],
      ['approvals.timeout', { approvals: { timeout: 60 } }],
      ['readiness.interval', { readiness: { interval: 5 } }],
      ['notifications.slack', { notifications: { slack: 'https://hooks.slack.com/x' } }],
      ['notifications.pagerDuty.routingKey', { notifications: { pagerDuty: { routingKey: 'R0UT1NGK3Y' } } }],
      [
        'traffic.headerRule.prio',
        { traffic: { headerRule: { header: 'X-Canary', values: ['1'], priority: 1, prio: 2 } } },
      ],
      ['deployer.taskDefinition', { deployer: { taskDefinition: 'web:42' } }],
    ])('rejects %s', (path, overrides) => {
      // Act
      const error = configError(validServiceConfig(overrides as never));

      // Assess
      expect(error.issues).toContainEqual({ path, message: 'unknown field' });
    });
  });

  it.each([
    ['analysis.intervalSeconds', { analysis: { intervalSeconds: 30 } }, /at least 60|>=60|too small/i],
    ['analysis.intervalSeconds', { analysis: { intervalSeconds: 90.5 } }, /int/i],
    ['analysis.earlyPass', { analysis: { earlyPass: 'yes' } }, /boolean/i],
    ['analysis.metricDelaySeconds', { analysis: { metricDelaySeconds: -1 } }, /too small|>=0/i],
    ['analysis.metricDelaySeconds', { analysis: { metricDelaySeconds: 901 } }, /too big|<=900/i],
    ['analysis.metricDelaySeconds', { analysis: { metricDelaySeconds: 60.5 } }, /int/i],
  ])('rejects a wrong %s (%j), naming the field', (path, overrides, message) => {
    const error = configError(validServiceConfig(overrides as never));
    expect(issueAt(error, path).message).toMatch(message);
  });

  describe('ARNs', () => {
    it.each([
      [
        'traffic.listenerArn',
        {
          traffic: {
            listenerArn:
              'arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/web/50dc6c495c0c9188',
          },
        },
      ],
      [
        'traffic.listenerArn',
        {
          traffic: {
            listenerArn:
              'arn:aws:elasticloadbalancing:us-east-1:1234:listener/app/web/50dc6c495c0c9188/f2f7dc8efc522ab2',
          },
        },
      ],
      ['traffic.ruleArn', { traffic: { ruleArn: LISTENER_ARN } }],
      [
        'traffic.stableTargetGroupArn',
        {
          traffic: {
            stableTargetGroupArn:
              'arn:aws:ec2:us-east-1:123456789012:targetgroup/web-stable/73e2d6bc24d8a067',
          },
        },
      ],
      ['traffic.canaryTargetGroupArn', { traffic: { canaryTargetGroupArn: 'web-canary' } }],
      [
        'notifications.snsTopicArn',
        { notifications: { snsTopicArn: 'arn:aws:sqs:us-east-1:123456789012:canary-rollouts' } },
      ],
      [
        'notifications.pagerDuty.routingKeySecretArn',
        {
          notifications: {
            pagerDuty: { routingKeySecretArn: 'arn:aws:ssm:us-east-1:123456789012:parameter/pd' },
          },
        },
      ],
      [
        'notifications.snsKmsKeyArn',
        { notifications: { snsKmsKeyArn: 'arn:aws:kms:us-east-1:123456789012:alias/rollouts' } },
      ],
      [
        'notifications.pagerDuty.kmsKeyArn',
        {
          notifications: {
            pagerDuty: {
              routingKeySecretArn: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:pd-Ab12Cd',
              kmsKeyArn: 'arn:aws:kms:us-east-1:123456789012:key/not-a-key-id',
            },
          },
        },
      ],
    ])('rejects a wrong %s, naming the field', (path, overrides) => {
      // Act
      const error = configError(validServiceConfig(overrides as never));

      // Assess
      expect(issueAt(error, path).message).toMatch(/ARN/);
      expect(error.message).toContain(`${path}: `);
    });

    it('accepts customer managed keys for the topic and the secret (single- and multi-Region key ids)', () => {
      const config = parseServiceConfig(
        validServiceConfig({
          notifications: {
            snsTopicArn: 'arn:aws:sns:us-east-1:123456789012:web-rollouts',
            snsKmsKeyArn: 'arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab',
            pagerDuty: {
              routingKeySecretArn: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:pd-Ab12Cd',
              kmsKeyArn: 'arn:aws:kms:us-east-1:123456789012:key/mrk-1234abcd12ab34cd56ef1234567890ab',
            },
          },
        } as never),
      );
      expect(config.notifications.snsKmsKeyArn).toMatch(/key\/1234abcd/);
      expect(config.notifications.pagerDuty?.kmsKeyArn).toMatch(/key\/mrk-/);
    });

    it('rejects a key for the topic without the topic', () => {
      const error = configError(
        validServiceConfig({
          notifications: {
            snsTopicArn: undefined,
            snsKmsKeyArn: 'arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab',
          },
        } as never),
      );
      expect(issueAt(error, 'notifications.snsKmsKeyArn').message).toMatch(/needs the topic/);
    });

    it('rejects the same target group for stable and canary', () => {
      // Act
      const error = configError(validServiceConfig({ traffic: { canaryTargetGroupArn: STABLE_TG_ARN } }));

      // Assess
      expect(issueAt(error, 'traffic.canaryTargetGroupArn').message).toMatch(/differ/);
    });
  });

  describe('deployer', () => {
    it('rejects an unknown kind, naming deployer.kind and the kinds it expects', () => {
      // Act
      const error = configError(validServiceConfig({ deployer: { kind: 'kubernetes' } as never }));

      // Assess
      const issue = error.issues.find((i) => i.path.startsWith('deployer'));
      expect(issue?.path).toBe('deployer.kind');
      expect(issue?.message).toMatch(/ecs/);
      expect(issue?.message).toMatch(/none/);
    });

    it('rejects a deployer without a kind', () => {
      // Act
      const error = configError({ ...validServiceConfig(), deployer: { cluster: 'prod' } });

      // Assess
      expect(error.issues.some((i) => i.path.startsWith('deployer'))).toBe(true);
    });

    it('names each missing field of the ecs deployer', () => {
      // Act
      const error = configError({ ...validServiceConfig(), deployer: { kind: 'ecs', cluster: 'prod' } });

      // Assess
      expect(error.issues.map((i) => i.path)).toEqual(
        expect.arrayContaining(['deployer.stableService', 'deployer.canaryService', 'deployer.container']),
      );
    });

    it('takes the task definition family and the roles the controller may pass, checking their form', () => {
      // Prepare
      const ecs = validServiceConfig().deployer as Extract<ServiceConfigInput['deployer'], { kind: 'ecs' }>;

      // Act
      const error = configError(
        validServiceConfig({
          deployer: {
            ...ecs,
            taskDefinitionFamily: 'web:42',
            taskRoleArn: 'web-task',
            executionRoleArn: '*',
          },
        }),
      );

      // Assess
      expect(error.issues.map((i) => i.path).sort()).toEqual([
        'deployer.executionRoleArn',
        'deployer.taskDefinitionFamily',
        'deployer.taskRoleArn',
      ]);
      const parsed = parseServiceConfig(
        validServiceConfig({
          deployer: {
            ...ecs,
            taskDefinitionFamily: 'web-prod',
            taskRoleArn: 'arn:aws:iam::123456789012:role/app/web',
          },
        }),
      );
      expect(parsed.deployer).toMatchObject({ taskDefinitionFamily: 'web-prod' });
      expect(taskDefinitionFamily({ stableService: 'web' })).toBe('web');
      expect(
        taskDefinitionFamily({ stableService: 'arn:aws:ecs:us-east-1:123456789012:service/prod/web' }),
      ).toBe('web');
    });

    it('rejects ecs fields on the "none" deployer', () => {
      // Act
      const error = configError({ ...validServiceConfig(), deployer: { kind: 'none', cluster: 'prod' } });

      // Assess
      expect(error.issues).toContainEqual({ path: 'deployer.cluster', message: 'unknown field' });
    });
  });

  describe('other fields', () => {
    it.each([
      ['service', { service: 'Web_API' }],
      ['service', { service: `s${'x'.repeat(40)}` }],
      ['repository', { repository: 'Acme/Web' }],
      ['tagPattern', { tagPattern: '' }],
      ['analysis.minRequests', { analysis: { minRequests: 0 } }],
      ['analysis.onInconclusive', { analysis: { onInconclusive: 'wait' } }],
      ['analysis.onDrift', { analysis: { onDrift: 'ignore' } }],
      ['analysis.onFailure', { analysis: { onFailure: 'wait' } }],
      ['analysis.pauseTimeoutSeconds', { analysis: { pauseTimeoutSeconds: 30 } }],
      ['analysis.pauseTimeoutSeconds', { analysis: { pauseTimeoutSeconds: 86_401 } }],
      ['analysis.errorRate.max', { analysis: { errorRate: { max: 2 } } }],
      ['approvals.onTimeout', { approvals: { onTimeout: 'ignore' } }],
      ['readiness.timeoutSeconds', { readiness: { timeoutSeconds: 5 } }],
      ['notifications.consoleUrl', { notifications: { consoleUrl: 'not a url' } }],
      [
        'traffic.headerRule.header',
        { traffic: { headerRule: { header: 'X Canary', values: ['1'], priority: 1 } } },
      ],
    ])('names %s when it is wrong', (path, overrides) => {
      // Act
      const error = configError(validServiceConfig(overrides as never));

      // Assess
      expect(issueAt(error, path)).toBeDefined();
    });

    it('names a missing required section', () => {
      // Act
      const error = configError(validServiceConfig({ traffic: undefined }));

      // Assess
      expect(issueAt(error, 'traffic')).toBeDefined();
    });
  });

  describe('analysis.xray', () => {
    const SEL = { entitySelectorExpression: 'service("web")' };

    it('selects X-Ray statistics per version by group, and names the groups the account must have', () => {
      // Act
      const config = parseServiceConfig(
        validServiceConfig({
          analysis: {
            xray: {
              canaryGroup: 'web-canary',
              stableGroup: 'web-stable',
              entitySelectorExpression: 'service("web")',
            },
          },
        }),
      );

      // Assess
      expect(config.analysis.xray).toEqual({
        canaryGroup: 'web-canary',
        stableGroup: 'web-stable',
        entitySelectorExpression: 'service("web")',
      });
      expect(xrayGroupNames(config)).toEqual(['web-canary', 'web-stable']);
      expect(xrayGroupNames(parseServiceConfig(validServiceConfig()))).toEqual([]);
    });

    it.each([
      ['analysis.xray.canaryGroup', { ...SEL, canaryGroup: 'x'.repeat(33), stableGroup: 'web-stable' }, /32/],
      ['analysis.xray.stableGroup', { ...SEL, canaryGroup: 'web-canary', stableGroup: '' }, /group name/],
      [
        'analysis.xray.stableGroup',
        { ...SEL, canaryGroup: 'web-canary', stableGroup: 'Default' },
        /all traces/,
      ],
      [
        'analysis.xray.canaryGroup',
        { ...SEL, canaryGroup: 'web', stableGroup: 'web' },
        /one group per version/,
      ],
      ['analysis.xray.stableGroup', { ...SEL, canaryGroup: 'web-canary' }, /./],
      [
        'analysis.xray.entitySelectorExpression',
        { canaryGroup: 'web-canary', stableGroup: 'web-stable' },
        /required.*service\("<name>"\)/,
      ],
      [
        'analysis.xray.entitySelectorExpression',
        { canaryGroup: 'web-canary', stableGroup: 'web-stable', entitySelectorExpression: 'edge("a", "b")' },
        /service node/,
      ],
      [
        'analysis.xray.groups',
        { canaryGroup: 'a', stableGroup: 'b', entitySelectorExpression: 'service("a")', groups: ['a'] },
        /unknown field/,
      ],
    ])('refuses a wrong %s, naming it', (path, xray, message) => {
      // Act
      const error = configError(validServiceConfig({ analysis: { xray } } as never));

      // Assess
      expect(issueAt(error, path).message).toMatch(message);
    });
  });

  describe('the error', () => {
    it('is a ConfigInvalidError named ConfigInvalid with every issue', () => {
      // Prepare
      const input = { ...validServiceConfig({ service: 'Bad Name' }), colour: 'blue' };

      // Act
      const error = configError(input);

      // Assess
      expect(error.name).toBe('ConfigInvalid');
      expect(error).toBeInstanceOf(Error);
      expect(error.issues.length).toBeGreaterThanOrEqual(2);
      expect(error.issues).toContainEqual({ path: 'colour', message: 'unknown field' });
      expect(issueAt(error, 'service')).toBeDefined();
      expect(error.message).toMatch(/^service config is invalid: /);
    });

    it('is thrown for something that is not an object at all', () => {
      // Act
      const error = configError('web');

      // Assess
      expect(error.name).toBe('ConfigInvalid');
      expect(error.issues).toHaveLength(1);
    });

    it('uses the given subject in its message', () => {
      // Act
      const act = () => parseServiceConfig({}, 'services/web.json');

      // Assess
      expect(act).toThrow(/^services\/web\.json is invalid: /);
    });
  });
});

describe('parseServiceConfigs', () => {
  const api = (overrides: Parameters<typeof validServiceConfig>[0] = {}) =>
    validServiceConfig({
      service: 'api',
      repository: 'acme/api',
      traffic: {
        listenerArn:
          'arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/api/6d0ecf831eec9f09/a4f1d2e3b5c6d7e8',
        stableTargetGroupArn:
          'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/api-stable/1a2b3c4d5e6f7a8b',
        canaryTargetGroupArn:
          'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/api-canary/8b7a6f5e4d3c2b1a',
      },
      ...overrides,
    });

  it('parses several services', () => {
    // Act
    const configs = parseServiceConfigs([validServiceConfig(), api()]);

    // Assess
    expect(configs.map((c) => c.service)).toEqual(['web', 'api']);
    expect(configs[1]?.analysis.minRequests).toBe(200);
  });

  it('accepts an empty list', () => {
    expect(parseServiceConfigs([])).toEqual([]);
  });

  it('rejects a duplicate service name, naming the index of the duplicate and of the first', () => {
    // Act
    const error = configsError([validServiceConfig(), api({ service: 'web' })]);

    // Assess
    expect(error.name).toBe('ConfigInvalid');
    expect(error.issues).toHaveLength(1);
    expect(error.issues[0]?.path).toMatch(/\[1\]\.service$/);
    expect(error.issues[0]?.message).toContain('[0]');
  });

  it('rejects a duplicate repository, naming the index', () => {
    // Act
    const other = validServiceConfig({
      service: 'api2',
      repository: 'acme/api',
      traffic: {
        listenerArn:
          'arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/api2/6d0ecf831eec9f10/a4f1d2e3b5c6d7e9',
        stableTargetGroupArn:
          'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/api2-stable/1a2b3c4d5e6f7a8c',
        canaryTargetGroupArn:
          'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/api2-canary/8b7a6f5e4d3c2b1b',
      },
    });
    const error = configsError([api(), validServiceConfig(), other]);

    // Assess
    expect(error.issues).toHaveLength(1);
    expect(error.issues[0]?.path).toMatch(/\[2\]\.repository$/);
    expect(error.issues[0]?.message).toContain('[0]');
  });

  it('rejects two services on the same listener action or target group, naming the fields', () => {
    // Act: a second service whose route and target groups are the first one's
    const error = configsError([validServiceConfig(), api({ traffic: validServiceConfig().traffic })]);

    // Assess
    expect(error.issues.map((i) => i.path)).toEqual([
      '[1].traffic.listenerArn',
      '[1].traffic.stableTargetGroupArn',
      '[1].traffic.canaryTargetGroupArn',
    ]);
    expect(error.issues[0]?.message).toBe('duplicates services[0].traffic.listenerArn');
  });

  it('names the index of an invalid service in the list', () => {
    // Act
    const error = configsError([validServiceConfig(), { ...api(), extra: true }]);

    // Assess
    expect(error.issues).toContainEqual({ path: '[1].extra', message: 'unknown field' });
  });

  it('rejects something that is not a list', () => {
    expect(configsError(validServiceConfig()).name).toBe('ConfigInvalid');
  });
});

describe('serviceConfigSchema', () => {
  it('is the schema parseServiceConfig uses (infra validates with it too)', () => {
    // Prepare
    const input = validServiceConfig();

    // Act
    const viaSchema = serviceConfigSchema.parse(input);

    // Assess
    expect(viaSchema).toEqual(parseServiceConfig(input));
  });
});
