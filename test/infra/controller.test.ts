/**
 * The synthesized CanaryControllerStack: functions, state machine, events, storage, dashboards, alarms, IAM
 * scoping and cdk-nag (AwsSolutions), from one real synthesis with real esbuild bundles (beforeAll).
 */
import { mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { App, type CfnElement, Stack, Validations } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import type { CloudAssembly } from 'aws-cdk-lib/cx-api';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { Construct } from 'constructs';
import { beforeAll, describe, expect, it } from 'vitest';
import { ACTIVE_INDEX, BY_SERVICE_INDEX } from '../../functions/adapters/aws/dynamodb';
import type { ServiceConfigInput } from '../../functions/core/config';
import { CONFIG_SCHEMA_VERSION } from '../../functions/core/config-version';
import { CanaryController, HANDLERS } from '../../infra/canary-controller';
import { CanaryControllerStack, EXAMPLE_SERVICE } from '../../infra/stack';
import { loadDefinition, taskStates } from '../../sandbox/step-functions';

const EXAMPLE_ECS = EXAMPLE_SERVICE.deployer as { taskRoleArn: string; executionRoleArn: string };

const API_LISTENER =
  'arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/api/6d0ecf831eec9f09/1e8c3b2f5a7d9c11';
const API_RULE =
  'arn:aws:elasticloadbalancing:us-east-1:123456789012:listener-rule/app/api/6d0ecf831eec9f09/1e8c3b2f5a7d9c11/9683b2d02a6cabee';

const API_TOPIC = 'arn:aws:sns:us-east-1:123456789012:api-rollouts';
const API_PD_SECRET = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:api/pagerduty-Ab12Cd';
const API_TOPIC_KEY = 'arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const API_SECRET_KEY = 'arn:aws:kms:us-east-1:123456789012:key/mrk-1234abcd12ab34cd56ef1234567890ab';

/** A second service: no deployer, routed through a listener rule, release-* tags, one alarm. */
const API_SERVICE: ServiceConfigInput = {
  service: 'api',
  repository: 'acme/api',
  tagPattern: 'release-*',
  traffic: {
    kind: 'alb',
    listenerArn: API_LISTENER,
    ruleArn: API_RULE,
    stableTargetGroupArn:
      'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/api-blue/0a1b2c3d4e5f6071',
    canaryTargetGroupArn:
      'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/api-green/1a2b3c4d5e6f7081',
  },
  deployer: { kind: 'none' },
  steps: 'Canary10Percent5Minutes',
  hooks: {
    beforeTraffic: [{ name: 'smoke', lambda: 'api-smoke' }],
    afterPromotion: [
      { name: 'e2e', lambda: 'arn:aws:lambda:us-east-1:123456789012:function:api-e2e:live' },
      { name: 'contract', url: 'https://checks.example.com/api' },
    ],
  },
  notifications: {
    snsTopicArn: API_TOPIC,
    snsKmsKeyArn: API_TOPIC_KEY,
    pagerDuty: { routingKeySecretArn: API_PD_SECRET, kmsKeyArn: API_SECRET_KEY },
  },
  analysis: {
    alarms: ['api-5xx-high', 'web-5xx-high'],
    xray: {
      canaryGroup: 'api-canary',
      stableGroup: 'api-stable',
      entitySelectorExpression: 'service("api")',
    },
  },
};

const SM_NAME = 'Test-rollouts';
const NOTIFY = ['SNS_TOPIC_ARN', 'PAGERDUTY_SECRET_ARN'];
const EXPECTED_ENV: Record<string, string[]> = {
  'start-rollout': ['TABLE_NAME', 'STATE_MACHINE_ARN', 'CONFIG_TABLE_NAME', ...NOTIFY, 'EVENT_BUS_NAME'],
  prepare: ['TABLE_NAME', 'EVENT_BUS_NAME', 'CONTROLLER_TAG'],
  'check-ready': ['TABLE_NAME'],
  'set-weight': ['TABLE_NAME', 'EVENT_BUS_NAME', 'CONTROLLER_TAG'],
  bake: ['TABLE_NAME'],
  analyze: ['TABLE_NAME', ...NOTIFY, 'EVENT_BUS_NAME'],
  'request-approval': [
    'TABLE_NAME',
    ...NOTIFY,
    'EVENT_BUS_NAME',
    'APPROVAL_SIGNING_SECRET_ARN',
    'APPROVAL_BASE_URL',
  ],
  promote: ['TABLE_NAME', 'STATE_MACHINE_ARN', 'EVENT_BUS_NAME', 'CONTROLLER_TAG'],
  rollback: ['TABLE_NAME', 'STATE_MACHINE_ARN', 'EVENT_BUS_NAME', 'CONTROLLER_TAG'],
  notify: ['TABLE_NAME', ...NOTIFY, 'EVENT_BUS_NAME'],
  'on-alarm': ['TABLE_NAME', 'STATE_MACHINE_ARN', 'EVENT_BUS_NAME', 'CONTROLLER_TAG'],
  reconcile: [
    'TABLE_NAME',
    'STATE_MACHINE_ARN',
    'CONFIG_TABLE_NAME',
    ...NOTIFY,
    'EVENT_BUS_NAME',
    'CONTROLLER_TAG',
  ],
  'approval-page': ['TABLE_NAME', 'STATE_MACHINE_ARN', 'APPROVAL_SIGNING_SECRET_ARN', 'EVENT_BUS_NAME'],
  'run-hook': ['TABLE_NAME', 'EVENT_BUS_NAME', 'CONTROLLER_TAG'],
};

// biome-ignore lint/suspicious/noExplicitAny: synthesized CloudFormation is untyped JSON, read by the assertions
type Cfn = any;
type Resource = {
  Type: string;
  Properties: Record<string, Cfn>;
  DeletionPolicy?: string;
  DependsOn?: string[];
};
type Statement = { Action: string | string[]; Resource?: unknown; Condition?: unknown; Effect: string };

let app: App;
let stack: CanaryControllerStack;
let controller: CanaryController;
let template: Template;
let resources: Record<string, Resource>;
let assembly: CloudAssembly;

const logicalId = (element: unknown) => stack.getLogicalId(element as CfnElement);
const fnId = (handler: string) => logicalId(controller.functions[handler]?.function.node.defaultChild);
const ofType = (type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);
const actions = (s: Statement) => (Array.isArray(s.Action) ? s.Action : [s.Action]);
const asList = (v: unknown) => (Array.isArray(v) ? v : [v]);

/** The statements of the policy attached to a function's role. */
function functionStatements(handler: string): Statement[] {
  const role = logicalId(controller.functions[handler]?.role.node.defaultChild);
  return ofType('AWS::IAM::Policy')
    .filter(([, r]) =>
      (r.Properties.Roles as unknown[]).some((x) => JSON.stringify(x) === JSON.stringify({ Ref: role })),
    )
    .flatMap(([, r]) => r.Properties.PolicyDocument.Statement as Statement[]);
}

/** An ARN as text: `{Fn::Join: ['', [..., {Ref: 'AWS::Partition'}, ...]]}` → `arn:${AWS::Partition}:...`. */
function arnText(v: unknown): string {
  if (typeof v === 'string') return v;
  const o = v as Record<string, Cfn>;
  if (typeof o?.Ref === 'string') return `\${${o.Ref}}`;
  const join = o?.['Fn::Join'];
  if (Array.isArray(join)) return (join[1] as unknown[]).map(arnText).join(join[0] as string);
  return JSON.stringify(v);
}

/** The cdk-nag acknowledgments on a construct: rule id → reason. */
function acknowledgedReasons(scope: Construct): Record<string, string> {
  return Object.assign(
    {},
    ...scope.node.metadata
      .filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .map((m) => m.data as Record<string, string>),
  );
}

/** Every policy statement in the template: identity policies, inline role policies and resource policies. */
function allStatements(): Statement[] {
  const out: Statement[] = [];
  for (const r of Object.values(resources)) {
    const docs = [
      r.Properties?.PolicyDocument,
      r.Properties?.KeyPolicy,
      ...((r.Properties?.Policies as { PolicyDocument: unknown }[] | undefined)?.map(
        (p) => p.PolicyDocument,
      ) ?? []),
      r.Properties?.AssumeRolePolicyDocument,
    ];
    for (const d of docs) if (d) out.push(...((d as { Statement: Statement[] }).Statement ?? []));
  }
  return out;
}

beforeAll(() => {
  app = new App({
    outdir: mkdtempSync(path.join(tmpdir(), 'canary-infra-')),
    // As `cdk synth` (asset metadata on by default), so the template is what `sam local` reads.
    context: { 'aws:cdk:enable-asset-metadata': true },
  });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
  stack = new CanaryControllerStack(app, 'Test', {
    env: { account: '123456789012', region: 'us-east-1' },
    controller: {
      services: [EXAMPLE_SERVICE, API_SERVICE],
      alarmEmail: 'oncall@example.com',
      approvalPage: true,
    },
  });
  controller = stack.controller;
  // Synthesis runs the cdk-nag plugin and throws on any unacknowledged error.
  assembly = app.synth();
  template = Template.fromStack(stack);
  resources = template.toJSON().Resources;
}, 120_000);

describe('functions', () => {
  it('has one function per handler, with the project defaults', () => {
    expect(Object.keys(controller.functions).sort()).toEqual(Object.keys(EXPECTED_ENV).sort());
    // And two that run only at deploy time: the config publisher and the Provider framework's function.
    template.resourceCountIs('AWS::Lambda::Function', 16);
    for (const handler of Object.keys(EXPECTED_ENV)) {
      const props = resources[fnId(handler)]?.Properties;
      expect(props, handler).toBeDefined();
      expect(props?.Runtime).toBe('nodejs22.x');
      expect(props?.Architectures).toEqual(['arm64']);
      expect(props?.TracingConfig).toEqual({ Mode: 'Active' });
      expect(props?.MemorySize).toBe(256);
      expect(props?.Handler).toBe('index.handler');
      const logGroup = resources[props?.LoggingConfig.LogGroup.Ref];
      expect(logGroup?.Type).toBe('AWS::Logs::LogGroup');
      expect(logGroup?.Properties.RetentionInDays).toBe(30);
    }
  });

  it('outputs ControllerRoles: every function → its role ARN, for `canary check` (CONTROLLER_ROLES)', () => {
    const value = template.findOutputs('ControllerRoles').ControllerRoles?.Value;
    const [, parts] = value['Fn::Join'] as [string, unknown[]];
    const refs = parts.filter((p): p is { 'Fn::GetAtt': [string, string] } => typeof p === 'object');
    expect(refs).toHaveLength(Object.keys(EXPECTED_ENV).length);
    for (const handler of Object.keys(EXPECTED_ENV)) {
      const role = resources[fnId(handler)]?.Properties.Role['Fn::GetAtt'][0];
      expect(parts.join(''), handler).toContain(`"${handler}":"`);
      expect(
        refs.map((r) => r['Fn::GetAtt'][0]),
        handler,
      ).toContain(role);
    }
  });

  it('times out below its state (tasks 50 s, rollback and reconcile 280 s) or API Gateway (25 s)', () => {
    for (const handler of Object.keys(EXPECTED_ENV)) {
      const expected =
        handler === 'rollback' || handler === 'reconcile' ? 280 : handler === 'approval-page' ? 25 : 50;
      expect(resources[fnId(handler)]?.Properties.Timeout, handler).toBe(expected);
    }
  });

  it('times out below every Task state that invokes it, so a slow function arrives as a Lambda error', () => {
    // A function timeout arrives as Sandbox.Timedout (Lambda developer guide, "Troubleshoot invocation issues") or,
    // as the Step Functions developer guide ("Handle transient Lambda service exceptions") puts it, Lambda.Unknown;
    // the workflow retries both, and the Task's own TimeoutSeconds (States.Timeout) is the backstop.
    const definition = loadDefinition();
    for (const { state, fn, waits } of taskStates(definition)) {
      if (waits) continue; // a wait's TimeoutSecondsPath is its bake or approval, not the function's limit
      const spec = Object.values(HANDLERS).find((h) => h.asl === fn);
      const stateTimeout = (definition.States[state] as { TimeoutSeconds?: number }).TimeoutSeconds ?? 60;
      expect(spec?.timeout.toSeconds(), state).toBeLessThan(stateTimeout);
    }
  });

  it('gets exactly the environment variables its handler reads', () => {
    for (const [handler, expected] of Object.entries(EXPECTED_ENV)) {
      const variables = resources[fnId(handler)]?.Properties.Environment.Variables as Record<string, unknown>;
      expect(Object.keys(variables).sort(), handler).toEqual(
        [...expected, 'NODE_OPTIONS', 'POWERTOOLS_SERVICE_NAME'].sort(),
      );
      expect(variables.NODE_OPTIONS).toBe('--enable-source-maps');
      expect(variables).not.toHaveProperty('AWS_REGION');
    }
  });

  it('keeps the service configs out of every environment: the deploy writes them to their own table', () => {
    for (const [, fn] of ofType('AWS::Lambda::Function'))
      expect(fn.Properties.Environment?.Variables ?? {}).not.toHaveProperty('SERVICES_JSON');
    const table = logicalId(controller.serviceConfigs.table.node.defaultChild);
    expect(resources[table]?.Properties.KeySchema).toEqual([{ AttributeName: 'pk', KeyType: 'HASH' }]);
    const variables = resources[fnId('start-rollout')]?.Properties.Environment.Variables;
    expect(variables.CONFIG_TABLE_NAME).toEqual({ Ref: table });
    const [, publish] = ofType('Custom::ServiceConfigs')[0] ?? [];
    expect(publish?.Properties.TableName).toEqual({ Ref: table });
    expect(publish?.Properties.Version).toBe(controller.serviceConfigs.version);
    // The asset the publisher reads holds the configs as parsed at synth time, defaults applied.
    const file = readdirSync(assembly.directory).find((f) =>
      f.startsWith(`asset.${controller.serviceConfigs.version}`),
    );
    const published = JSON.parse(readFileSync(path.join(assembly.directory, file as string), 'utf8'));
    expect(published.map((c: { service: string }) => c.service)).toEqual(['web', 'api']);
    expect(published[0].analysis.minRequests).toBe(200);
    // The catalog's functions exist only once the configs are published.
    expect(resources[fnId('start-rollout')]?.DependsOn).toContain(
      logicalId(controller.serviceConfigs.publish.node.defaultChild),
    );
  });

  it('publishes the configs again on a new schema version or new publisher code, before any catalog reader updates', () => {
    const [[publishId, publish] = []] = ofType('Custom::ServiceConfigs');
    expect(publish?.Properties.Schema).toBe(CONFIG_SCHEMA_VERSION);
    // The JSON Schema behind CONFIG_SCHEMA_VERSION leaves out the cross-field rules: the publisher's bundle, whose
    // asset hash changes with any module it validates with, makes CloudFormation send an Update when they change.
    const publisher = resources[logicalId(controller.serviceConfigs.publisher.function.node.defaultChild)];
    expect(publisher?.Properties.Code.S3Key).toMatch(/^[0-9a-f]{64}\.zip$/);
    expect(publish?.Properties.Publisher).toBe(publisher?.Properties.Code.S3Key);
    const readers = ofType('AWS::Lambda::Function').filter(
      ([, fn]) => fn.Properties.Environment?.Variables?.CONFIG_TABLE_NAME !== undefined,
    );
    expect(readers.length).toBeGreaterThanOrEqual(2);
    for (const [id, fn] of readers) expect(asList(fn.DependsOn), id).toContain(publishId);
  });

  it('lets only the catalog functions read the configs, and only the publisher write them', () => {
    const table = logicalId(controller.serviceConfigs.table.node.defaultChild);
    const onTable = (s: Statement) =>
      asList(s.Resource).some((r) => JSON.stringify(r ?? null).includes(`"${table}"`));
    for (const handler of Object.keys(EXPECTED_ENV)) {
      const granted = functionStatements(handler).filter(onTable).flatMap(actions);
      expect(granted, handler).toEqual(
        EXPECTED_ENV[handler]?.includes('CONFIG_TABLE_NAME') ? ['dynamodb:GetItem'] : [],
      );
    }
    const writers = allStatements()
      .filter(onTable)
      .filter((s) => actions(s).includes('dynamodb:BatchWriteItem'));
    expect(writers).toHaveLength(1);
  });

  it('lets the publisher read any configs asset, so a rolled-back deploy can publish the previous configs again', () => {
    // On a failed stack update CloudFormation sends the custom resource an Update with the previous properties
    // (the previous asset's key) while the publisher's policy still names the new one (CDK custom-resources,
    // "Handling Lifecycle Events"): a grant on one key would fail the rollback.
    const reads = allStatements().filter((s) => actions(s).includes('s3:GetObject'));
    expect(reads).toHaveLength(1);
    const resources = asList(reads[0]?.Resource).map((r) => JSON.stringify(r));
    expect(resources).toHaveLength(1);
    expect(resources[0]).toMatch(/\/\*\.json"\]\]\}$/);
    expect(resources[0]).not.toContain(controller.serviceConfigs.version);
  });

  it('outputs what the CLI finds the controller by (`--stack`)', () => {
    const outputs = template.toJSON().Outputs as Record<string, { Value: unknown }>;
    expect(Object.keys(outputs)).toEqual(
      expect.arrayContaining([
        'TableName',
        'ServiceConfigTableName',
        'StateMachineArn',
        'EventBusName',
        'ControllerRoles',
      ]),
    );
    expect(outputs.ServiceConfigTableName?.Value).toEqual({
      Ref: logicalId(controller.serviceConfigs.table.node.defaultChild),
    });
  });

  it('names its bundle in the metadata `sam local invoke` reads to run it from cdk.out', () => {
    // SAM CLI (CDK support) replaces a function's Code with the aws:asset:path directory of the template's
    // aws:asset:property, and does not build it again when aws:asset:is-bundled is true.
    for (const handler of Object.keys(EXPECTED_ENV)) {
      const fn = resources[fnId(handler)] as Resource & { Metadata: Record<string, unknown> };
      expect(fn.Metadata['aws:asset:property'], handler).toBe('Code');
      expect(fn.Metadata['aws:asset:is-bundled'], handler).toBe(true);
      const dir = path.join(assembly.directory, fn.Metadata['aws:asset:path'] as string);
      expect(statSync(path.join(dir, 'index.mjs')).isFile(), handler).toBe(true);
    }
  });

  it('is bundled by esbuild as one ESM file with a source map', () => {
    for (const handler of Object.keys(EXPECTED_ENV)) {
      const code = resources[fnId(handler)]?.Properties.Code;
      const asset = (code.S3Key as string).replace(/\.zip$/, '');
      const dir = path.join(assembly.directory, `asset.${asset}`);
      const size = statSync(path.join(dir, 'index.mjs')).size;
      expect(size, handler).toBeGreaterThan(10_000);
      expect(size, handler).toBeLessThan(5_000_000);
      const map = JSON.parse(readFileSync(path.join(dir, 'index.mjs.map'), 'utf8')) as {
        sources: string[];
        sourcesContent?: unknown[];
      };
      // Positions for stack traces, without the sources (they cost import time, bench/bundles.ts).
      expect(map.sources.length, handler).toBeGreaterThan(0);
      expect(map.sourcesContent ?? [], handler).toEqual([]);
      expect(readFileSync(path.join(dir, 'index.mjs'), 'utf8').slice(0, 200)).toContain('createRequire');
    }
  });
});

describe('state machine', () => {
  it('is a Standard state machine with every function ARN substituted, logging and tracing', () => {
    const [[, sm] = []] = ofType('AWS::StepFunctions::StateMachine');
    const props = sm?.Properties as Record<string, Cfn>;
    expect(props.StateMachineType).toBe('STANDARD');
    expect(props.StateMachineName).toBe(SM_NAME);
    const definition = props.DefinitionString as string;
    const placeholders = [...new Set([...definition.matchAll(/\$\{(\w+)\}/g)].map((m) => m[1]))].sort();
    expect(placeholders).toEqual(Object.keys(props.DefinitionSubstitutions).sort());
    for (const [name, handler] of Object.entries(HANDLERS)
      .filter(([, s]) => s.asl)
      .map(([h, s]) => [`${s.asl}FunctionArn`, h] as const)) {
      expect(props.DefinitionSubstitutions[name], name).toEqual({ 'Fn::GetAtt': [fnId(handler), 'Arn'] });
    }
    // After substitution nothing of the form ${...} is left in the definition.
    let resolved = definition;
    for (const name of Object.keys(props.DefinitionSubstitutions))
      resolved = resolved.replaceAll(`\${${name}}`, 'arn');
    expect(resolved).not.toContain('${');
    expect(props.LoggingConfiguration.Level).toBe('ALL');
    expect(props.LoggingConfiguration.IncludeExecutionData).toBe(false);
    expect(props.TracingConfiguration).toEqual({ Enabled: true });
  });

  it('may invoke exactly the functions the definition names', () => {
    const [[, sm] = []] = ofType('AWS::StepFunctions::StateMachine');
    const role = sm?.Properties.RoleArn['Fn::GetAtt'][0];
    const invoke = ofType('AWS::IAM::Policy')
      .filter(([, r]) => JSON.stringify(r.Properties.Roles) === JSON.stringify([{ Ref: role }]))
      .flatMap(([, r]) => r.Properties.PolicyDocument.Statement as Statement[])
      .filter((s) => actions(s).includes('lambda:InvokeFunction'));
    expect(invoke).toHaveLength(1);
    const invoked = Object.entries(HANDLERS)
      .filter(([, s]) => s.asl)
      .map(([h]) => ({ 'Fn::GetAtt': [fnId(h), 'Arn'] }));
    expect(asList(invoke[0]?.Resource)).toEqual(invoked);
  });
});

describe('events', () => {
  const rules = () => ofType('AWS::Events::Rule').map(([, r]) => r.Properties);

  it('starts a rollout on an ECR push, one rule per tag filter, with tag prefixes filtered by EventBridge', () => {
    const ecr = rules().filter((r) => r.EventPattern.source?.[0] === 'aws.ecr');
    expect(ecr.map((r) => r.EventPattern.detail)).toEqual([
      {
        'action-type': ['PUSH'],
        result: ['SUCCESS'],
        'repository-name': ['acme/api'],
        'image-tag': [{ prefix: 'release-' }],
      },
      {
        'action-type': ['PUSH'],
        result: ['SUCCESS'],
        'repository-name': ['acme/web'],
        'image-tag': [{ prefix: 'v' }],
      },
    ]);
    for (const r of ecr) {
      expect(r.EventPattern['detail-type']).toEqual(['ECR Image Action']);
      expect(r.Targets[0].Arn).toEqual({ 'Fn::GetAtt': [fnId('start-rollout'), 'Arn'] });
    }
  });

  it('routes Deploy Requested, alarm and execution-status events to their handlers', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: { source: ['canary.controller'], 'detail-type': ['Deploy Requested'] },
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [fnId('start-rollout'), 'Arn'] } })],
    });
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: ['aws.cloudwatch'],
        'detail-type': ['CloudWatch Alarm State Change'],
        detail: {
          alarmName: ['api-5xx-high', 'web-5xx-high', 'web-p99-latency-high'],
          state: { value: ['ALARM'] },
        },
      },
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [fnId('on-alarm'), 'Arn'] } })],
    });
    const smId = logicalId(controller.stateMachine.node.defaultChild);
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: ['aws.states'],
        'detail-type': ['Step Functions Execution Status Change'],
        // SUCCEEDED too: a promotion's pause incident PagerDuty did not resolve is resolved after the end.
        detail: {
          stateMachineArn: [{ Ref: smId }],
          status: ['SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED'],
        },
      },
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [fnId('reconcile'), 'Arn'] } })],
    });
  });

  it("sends events that fail inside an event-driven function, after its retries, to that rule target's queue", () => {
    for (const handler of ['start-rollout', 'on-alarm', 'reconcile']) {
      const configs = ofType('AWS::Lambda::EventInvokeConfig').filter(
        ([, r]) => r.Properties.FunctionName?.Ref === fnId(handler),
      );
      expect(configs, handler).toHaveLength(1);
      const props = (configs[0] as [string, Resource])[1].Properties;
      expect(props.MaximumRetryAttempts).toBe(2);
      expect(props.MaximumEventAgeInSeconds).toBe(3600);
      const queueId = props.DestinationConfig.OnFailure.Destination['Fn::GetAtt'][0];
      expect(resources[queueId]?.Type).toBe('AWS::SQS::Queue');
      // The same queue is the dead-letter queue of the function's EventBridge targets.
      const targetQueues = rules()
        .flatMap((r) => r.Targets)
        .filter((t) => t.Arn['Fn::GetAtt']?.[0] === fnId(handler))
        .map((t) => t.DeadLetterConfig.Arn['Fn::GetAtt'][0]);
      expect(targetQueues.length, handler).toBeGreaterThan(0);
      expect(new Set(targetQueues), handler).toEqual(new Set([queueId]));
      // ...and the function may send to it.
      const role = resources[fnId(handler)]?.Properties.Role['Fn::GetAtt'][0];
      const statements = ofType('AWS::IAM::Policy')
        .filter(([, p]) => p.Properties.Roles.some((r: { Ref: string }) => r.Ref === role))
        .flatMap(([, p]) => p.Properties.PolicyDocument.Statement);
      const sends = statements.filter(
        (x: Statement) => actions(x).includes('sqs:SendMessage') && x.Effect === 'Allow',
      );
      expect(sends.map((x: Statement) => x.Resource)).toEqual([{ 'Fn::GetAtt': [queueId, 'Arn'] }]);
    }
  });

  it('gives every target a dead-letter queue, retries and a maximum event age', () => {
    const all = rules();
    expect(all).toHaveLength(5);
    for (const r of all) {
      for (const t of r.Targets) {
        const queue = resources[t.DeadLetterConfig.Arn['Fn::GetAtt'][0]];
        expect(queue?.Type).toBe('AWS::SQS::Queue');
        expect(queue?.Properties.SqsManagedSseEnabled).toBe(true);
        expect(t.RetryPolicy).toEqual({ MaximumRetryAttempts: 8, MaximumEventAgeInSeconds: 3600 });
      }
    }
    // enforceSSL on every queue
    for (const [id] of ofType('AWS::SQS::Queue')) {
      template.hasResourceProperties('AWS::SQS::QueuePolicy', {
        Queues: [{ Ref: id }],
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          ]),
        },
      });
    }
  });

  it('has no alarm rule when no service has alarms', () => {
    const bare = new Stack(new App(), 'Bare', { env: { account: '123456789012', region: 'us-east-1' } });
    // Only the rules matter here: skip bundling for this second stack.
    bare.node.setContext('aws:cdk:bundling-stacks', []);
    new CanaryController(bare, 'C', { services: [{ ...EXAMPLE_SERVICE, analysis: { alarms: [] } }] });
    const patterns = Object.values(Template.fromStack(bare).findResources('AWS::Events::Rule')).map(
      (r) => r.Properties.EventPattern.source[0],
    );
    expect(patterns.sort()).toEqual(['aws.ecr', 'aws.states', 'canary.controller']);
  });
});

describe('storage and notification', () => {
  it('creates the rollout table from ROLLOUT_TABLE_SCHEMA: on-demand, PITR, SSE, retained', () => {
    const [[, table] = []] = ofType('AWS::DynamoDB::Table');
    expect(table?.DeletionPolicy).toBe('Retain');
    const p = table?.Properties as Record<string, Cfn>;
    expect(p.BillingMode).toBe('PAY_PER_REQUEST');
    expect(p.PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
    expect(p.SSESpecification).toEqual({ SSEEnabled: true });
    expect(p.DeletionProtectionEnabled).toBe(true);
    expect(p.KeySchema).toEqual([
      { AttributeName: 'pk', KeyType: 'HASH' },
      { AttributeName: 'sk', KeyType: 'RANGE' },
    ]);
    expect(p.GlobalSecondaryIndexes.map((g: { IndexName: string }) => g.IndexName).sort()).toEqual(
      [ACTIVE_INDEX, BY_SERVICE_INDEX].sort(),
    );
  });

  it('encrypts the topic with a rotating customer key and subscribes the alarm email', () => {
    const keyId = logicalId(controller.topicKey.node.defaultChild);
    template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: { 'Fn::GetAtt': [keyId, 'Arn'] } });
    template.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
    template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'oncall@example.com',
    });
  });

  it('creates the PagerDuty and link-signing secrets with no value in the template', () => {
    const secrets = ofType('AWS::SecretsManager::Secret');
    expect(secrets).toHaveLength(2);
    for (const [, secret] of secrets) expect(secret.Properties).not.toHaveProperty('SecretString');
  });
});

describe('approval page', () => {
  it('serves GET/HEAD/POST /approve from the approval-page function, throttled and access-logged', () => {
    const routes = ofType('AWS::ApiGatewayV2::Route').map(([, r]) => r.Properties.RouteKey);
    expect(routes.sort()).toEqual(['GET /approve', 'HEAD /approve', 'POST /approve']);
    template.hasResourceProperties('AWS::ApiGatewayV2::Integration', {
      IntegrationType: 'AWS_PROXY',
      PayloadFormatVersion: '2.0',
      IntegrationUri: { 'Fn::GetAtt': [fnId('approval-page'), 'Arn'] },
    });
    const [[, stage] = []] = ofType('AWS::ApiGatewayV2::Stage');
    expect(stage?.Properties.DefaultRouteSettings).toEqual({
      ThrottlingBurstLimit: 10,
      ThrottlingRateLimit: 5,
    });
    // The query string carries the signed link: it is not logged.
    expect(stage?.Properties.AccessLogSettings.Format).not.toMatch(/path|querystring/i);
  });

  it('gives request-approval the page URL and both functions the signing secret', () => {
    const apiId = logicalId(controller.approvalApi?.node.defaultChild);
    const variables = resources[fnId('request-approval')]?.Properties.Environment.Variables;
    expect(variables.APPROVAL_BASE_URL).toEqual({ 'Fn::GetAtt': [apiId, 'ApiEndpoint'] });
    const secret = { Ref: logicalId(controller.approvalSigningSecret?.node.defaultChild) };
    for (const h of ['request-approval', 'approval-page']) {
      expect(resources[fnId(h)]?.Properties.Environment.Variables.APPROVAL_SIGNING_SECRET_ARN).toEqual(
        secret,
      );
      expect(
        functionStatements(h).some(
          (s) =>
            actions(s).includes('secretsmanager:GetSecretValue') &&
            JSON.stringify(s.Resource) === JSON.stringify(secret),
        ),
        h,
      ).toBe(true);
    }
  });
});

describe('template', () => {
  it('has no dependency cycle (functions know the state machine ARN by name, not by reference)', () => {
    const refs = (v: unknown, out: Set<string>): Set<string> => {
      if (Array.isArray(v)) for (const x of v) refs(x, out);
      else if (v && typeof v === 'object') {
        for (const [k, x] of Object.entries(v)) {
          if (k === 'Ref' && typeof x === 'string' && x in resources) out.add(x);
          else if (k === 'Fn::GetAtt' && Array.isArray(x) && x[0] in resources) out.add(x[0]);
          else refs(x, out);
        }
      }
      return out;
    };
    const deps = new Map(
      Object.entries(resources).map(([id, r]) => {
        const d = refs(r.Properties, new Set<string>());
        for (const x of asList((r as { DependsOn?: unknown }).DependsOn ?? [])) d.add(x as string);
        return [id, d] as const;
      }),
    );
    const state = new Map<string, 'visiting' | 'done'>();
    const visit = (id: string, trail: string[]) => {
      if (state.get(id) === 'done') return;
      if (state.get(id) === 'visiting') throw new Error(`cycle: ${[...trail, id].join(' -> ')}`);
      state.set(id, 'visiting');
      for (const d of deps.get(id) ?? []) visit(d, [...trail, id]);
      state.set(id, 'done');
    };
    for (const id of deps.keys()) visit(id, []);
  });
});

describe('dashboards and alarms', () => {
  it('has one dashboard for the controller, with a service picker for canary vs stable ALB metrics', () => {
    const dashboards = ofType('AWS::CloudWatch::Dashboard');
    expect(dashboards).toHaveLength(1);
    const body = JSON.stringify(dashboards.map(([, d]) => d.Properties.DashboardBody));
    for (const fragment of [
      // The picker: each service's value names its two target groups by ID, for the search expressions.
      'pattern',
      'TargetGroup=73e2d6bc24d8a067 OR TargetGroup=2453ed029918f21f',
      'canaryServiceTargetGroups',
      'HTTPCode_Target_5XX_Count',
      'TargetResponseTime',
      'p99',
      'ExecutionsFailed',
    ]) {
      expect(body).toContain(fragment);
    }
  });

  it('alarms on function errors, failed rollbacks, timed-out executions and non-empty DLQs, to the topic', () => {
    const alarms = ofType('AWS::CloudWatch::Alarm').map(([, a]) => a.Properties);
    const topicRef = { Ref: logicalId(controller.topic.node.defaultChild) };
    const metrics = alarms.map((a) => a.MetricName).sort();
    expect(metrics.filter((m) => m === 'Errors')).toHaveLength(14);
    expect(metrics).toEqual(
      expect.arrayContaining([
        'RollbacksFailed',
        'PagesUndelivered',
        'StateChangeEventsUndelivered',
        'ExecutionsTimedOut',
      ]),
    );
    // Not on failed executions: an ordinary rollback ends its execution in a Fail state.
    expect(metrics).not.toContain('ExecutionsFailed');
    // The count the notify function publishes (Powertools: namespace, `service` dimension of every function).
    expect(alarms.find((a) => a.MetricName === 'RollbacksFailed')).toMatchObject({
      Namespace: 'CanaryController',
      Dimensions: [{ Name: 'service', Value: 'canary-controller' }],
      Statistic: 'Sum',
      Threshold: 1,
    });
    // A rollback whose page PagerDuty did not take: the notify task counts each attempt.
    expect(alarms.find((a) => a.MetricName === 'PagesUndelivered')).toMatchObject({
      Namespace: 'CanaryController',
      Dimensions: [{ Name: 'service', Value: 'canary-controller' }],
      Statistic: 'Sum',
      Threshold: 1,
    });
    const notifyEnv = resources[fnId('notify')]?.Properties.Environment.Variables;
    expect(notifyEnv.POWERTOOLS_SERVICE_NAME).toBe('canary-controller');
    expect(metrics.filter((m) => m === 'ApproximateNumberOfMessagesVisible')).toHaveLength(3);
    for (const a of alarms) expect(a.AlarmActions).toEqual([topicRef]);
  });
});

describe('IAM', () => {
  it('has no wildcard actions in any Allow statement', () => {
    const allows = allStatements().filter((s) => s.Effect === 'Allow');
    const all = allows.flatMap(actions);
    expect(all.length).toBeGreaterThan(50);
    expect(all.filter((a) => a.includes('*'))).toEqual([]);
    // The only Deny statements are enforceSSL's (sqs:* / sns:Publish without TLS).
    for (const s of allStatements().filter((x) => x.Effect === 'Deny')) {
      expect(s.Condition).toEqual({ Bool: { 'aws:SecureTransport': 'false' } });
    }
  });

  it('invokes exactly the hook functions the configs name (a name in its own account and region), from run-hook only', () => {
    const invoking = Object.keys(EXPECTED_ENV).flatMap((h) =>
      functionStatements(h)
        .filter((s) => actions(s).includes('lambda:InvokeFunction'))
        .map((s) => [h, s] as const),
    );
    expect(invoking.map(([h]) => h)).toEqual(['run-hook']);
    expect(asList(invoking[0]?.[1].Resource).map(arnText).sort()).toEqual([
      // The name, resolved in the stack's account and region.
      `arn:\${AWS::Partition}:lambda:us-east-1:123456789012:function:api-smoke`,
      'arn:aws:lambda:us-east-1:123456789012:function:api-e2e:live',
    ]);
    expect(invoking[0]?.[1].Condition).toBeUndefined();
  });

  it("changes listeners and route rules only when they carry the controller's tag", () => {
    const withModify = Object.keys(EXPECTED_ENV).flatMap((h) =>
      functionStatements(h)
        .filter((s) => actions(s).includes('elasticloadbalancing:ModifyListener'))
        .map((s) => [h, s] as const),
    );
    expect(withModify.map(([h]) => h).sort()).toEqual(
      ['on-alarm', 'prepare', 'promote', 'reconcile', 'rollback', 'run-hook', 'set-weight'].sort(),
    );
    const elb = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:';
    for (const [, s] of withModify) {
      expect(asList(s.Resource).sort()).toEqual([`${elb}listener-rule/app/*`, `${elb}listener/app/*`]);
      expect(s.Condition).toEqual({ StringEquals: { 'aws:ResourceTag/canary-controller': 'Test' } });
    }
  });

  it('deletes and reorders only the header rules it tagged when creating them', () => {
    const s = functionStatements('set-weight').find((x) =>
      actions(x).includes('elasticloadbalancing:DeleteRule'),
    );
    expect(asList(s?.Resource)).toEqual([
      'arn:aws:elasticloadbalancing:us-east-1:123456789012:listener-rule/app/*',
    ]);
    // Both tags: the route's (a header rule) and this controller's id (not another controller's header rule).
    expect(s?.Condition).toEqual({
      StringEquals: { 'aws:ResourceTag/canary-controller': 'Test' },
      Null: { 'aws:ResourceTag/canary-controller:header-rule-for': 'false' },
    });
    expect(API_RULE).toContain(':listener-rule/app/');
  });

  it("lets set-weight (latency thresholds) and analyze read metrics, and only they read the gating alarms (set-weight: a retry's check)", () => {
    const holders = (action: string) =>
      Object.keys(EXPECTED_ENV).filter((h) => functionStatements(h).some((x) => actions(x).includes(action)));
    expect(holders('cloudwatch:GetMetricData').sort()).toEqual(['analyze', 'set-weight']);
    expect(holders('cloudwatch:DescribeAlarms').sort()).toEqual(['analyze', 'set-weight']);
  });

  it('lets only analyze read X-Ray statistics, on "*" (the action takes no resource type)', () => {
    const holders = Object.keys(EXPECTED_ENV).filter((h) =>
      functionStatements(h).some((x) => actions(x).includes('xray:GetTimeSeriesServiceStatistics')),
    );
    expect(holders).toEqual(['analyze']);
    const statement = functionStatements('analyze').find((x) =>
      actions(x).includes('xray:GetTimeSeriesServiceStatistics'),
    );
    expect(statement).toMatchObject({
      Effect: 'Allow',
      Action: 'xray:GetTimeSeriesServiceStatistics',
      Resource: '*',
    });
  });

  it('lets on-alarm and reconcile find running executions without the store; only on-alarm may stop one', () => {
    const holders = (action: string) =>
      Object.keys(EXPECTED_ENV)
        .filter((h) => functionStatements(h).some((s) => actions(s).includes(action)))
        .sort();
    expect(holders('states:ListExecutions')).toEqual(['on-alarm', 'reconcile']);
    expect(holders('states:StopExecution')).toEqual(['on-alarm']);
    // How far a rollout got, when the store cannot say: the state its execution entered last.
    expect(holders('states:GetExecutionHistory')).toEqual(['on-alarm', 'reconcile']);
    for (const h of ['on-alarm', 'reconcile']) {
      const history = functionStatements(h).find((x) => actions(x).includes('states:GetExecutionHistory'));
      expect(JSON.stringify(history?.Resource)).toMatch(
        new RegExp(`:states:us-east-1:123456789012:execution:${SM_NAME}:\\*"\\]\\]\\}$`),
      );
      // ListExecutions acts on the state machine; DescribeExecution and StopExecution on its executions.
      const list = functionStatements(h).find((x) => actions(x).includes('states:ListExecutions'));
      expect(JSON.stringify(list?.Resource)).toMatch(
        new RegExp(`:states:us-east-1:123456789012:stateMachine:${SM_NAME}"\\]\\]\\}$`),
      );
      expect(
        functionStatements(h).some((x) => actions(x).includes('states:DescribeExecution')),
        h,
      ).toBe(true);
    }
    const stop = functionStatements('on-alarm').find((x) => actions(x).includes('states:StopExecution'));
    expect(JSON.stringify(stop?.Resource)).toMatch(
      new RegExp(`:states:us-east-1:123456789012:execution:${SM_NAME}:\\*"\\]\\]\\}$`),
    );
  });

  it('scopes SendTaskSuccess/Failure to the state machine, for the functions that resolve waits', () => {
    const holders = Object.keys(EXPECTED_ENV).filter((h) =>
      functionStatements(h).some((s) => actions(s).includes('states:SendTaskSuccess')),
    );
    expect(holders.sort()).toEqual(['approval-page', 'on-alarm', 'start-rollout']);
    for (const h of holders) {
      const s = functionStatements(h).find((x) => actions(x).includes('states:SendTaskSuccess'));
      expect(JSON.stringify(s?.Resource)).toMatch(
        new RegExp(`:states:us-east-1:123456789012:stateMachine:${SM_NAME}"\\]\\]\\}$`),
      );
    }
  });

  it('lets only the notifying functions read PagerDuty secrets and publish, default and per-service, with their keys', () => {
    const pdSecret = { Ref: logicalId(controller.pagerDutySecret.node.defaultChild) };
    const topic = { Ref: logicalId(controller.topic.node.defaultChild) };
    const find = (h: string, action: string) =>
      functionStatements(h).find((s) => actions(s).includes(action));
    const notifying = ['analyze', 'notify', 'reconcile', 'request-approval', 'start-rollout'];
    for (const h of Object.keys(EXPECTED_ENV)) {
      const read = functionStatements(h).filter((s) => actions(s).includes('secretsmanager:GetSecretValue'));
      const pd = read.filter((s) => JSON.stringify(s.Resource).includes(JSON.stringify(pdSecret)));
      expect(pd.length > 0, h).toBe(notifying.includes(h));
      expect(find(h, 'sns:Publish') !== undefined, h).toBe(notifying.includes(h));
    }
    const topicKey = { 'Fn::GetAtt': [logicalId(controller.topicKey.node.defaultChild), 'Arn'] };
    for (const h of notifying) {
      expect(asList(find(h, 'sns:Publish')?.Resource)).toEqual([topic, API_TOPIC]);
      expect(asList(find(h, 'secretsmanager:GetSecretValue')?.Resource)).toEqual([pdSecret, API_PD_SECRET]);
      // Customer managed keys of the per-service topic and secret (config notifications.*KmsKeyArn).
      expect(asList(find(h, 'kms:GenerateDataKey')?.Resource)).toEqual([topicKey, API_TOPIC_KEY]);
      const decryptSecret = functionStatements(h).find(
        (x) => actions(x).length === 1 && actions(x)[0] === 'kms:Decrypt',
      );
      expect(asList(decryptSecret?.Resource)).toEqual([API_SECRET_KEY]);
    }
    for (const h of Object.keys(EXPECTED_ENV).filter((x) => !notifying.includes(x))) {
      expect(JSON.stringify(functionStatements(h)), h).not.toContain(API_SECRET_KEY);
      expect(JSON.stringify(functionStatements(h)), h).not.toContain(API_TOPIC_KEY);
    }
  });

  it('lets the functions that read the canary capacity (set-weight scales, check-ready polls) read target health', () => {
    for (const h of ['set-weight', 'check-ready']) {
      // DescribeTargetHealth has no resource type in the Service Authorization Reference: "*" is the only scope.
      const health = functionStatements(h).find((x) =>
        actions(x).includes('elasticloadbalancing:DescribeTargetHealth'),
      );
      expect(asList(health?.Resource), h).toEqual(['*']);
    }
  });

  it("updates and describes only ECS services that carry the controller's tag, long and short ARNs alike", () => {
    const services = [`arn:\${AWS::Partition}:ecs:us-east-1:123456789012:service/*`];
    const tagged = { StringEquals: { 'aws:ResourceTag/canary-controller': 'Test' } };
    for (const h of ['check-ready', 'prepare', 'set-weight', 'promote', 'rollback', 'reconcile']) {
      const describe = functionStatements(h).find((x) => actions(x).includes('ecs:DescribeServices'));
      expect(asList(describe?.Resource).map(arnText), h).toEqual(services);
      expect(describe?.Condition, h).toEqual(tagged);
    }
    const update = functionStatements('prepare').find((x) => actions(x).includes('ecs:UpdateService'));
    expect(asList(update?.Resource).map(arnText)).toEqual(services);
    expect(update?.Condition).toEqual(tagged);
  });

  it('registers only task definitions tagged for the controller, tagging them only while registering', () => {
    // Service Authorization Reference (Amazon ECS): RegisterTaskDefinition takes the task-definition resource
    // type and aws:RequestTag; DescribeTaskDefinition has no resource type ("*").
    const any = [`arn:\${AWS::Partition}:ecs:us-east-1:123456789012:task-definition/*`];
    const s = functionStatements('prepare');
    const register = s.find((x) => actions(x).includes('ecs:RegisterTaskDefinition'));
    expect(actions(register as Statement)).toEqual(['ecs:RegisterTaskDefinition']);
    expect(asList(register?.Resource).map(arnText)).toEqual(any);
    expect(register?.Condition).toEqual({ StringEquals: { 'aws:RequestTag/canary-controller': 'Test' } });
    const tag = s.find((x) => actions(x).includes('ecs:TagResource'));
    expect(asList(tag?.Resource).map(arnText)).toEqual(any);
    expect(tag?.Condition).toEqual({
      StringEquals: {
        'ecs:CreateAction': 'RegisterTaskDefinition',
        'aws:RequestTag/canary-controller': 'Test',
      },
    });
    const describe = s.find((x) => actions(x).includes('ecs:DescribeTaskDefinition'));
    expect(actions(describe as Statement)).toEqual(['ecs:DescribeTaskDefinition']);
    // Only prepare registers task definitions (deployCanary).
    const registrars = Object.keys(EXPECTED_ENV).filter((h) =>
      functionStatements(h).some((x) => actions(x).includes('ecs:RegisterTaskDefinition')),
    );
    expect(registrars).toEqual(['prepare']);
  });

  it('passes only roles tagged for the controller, and only to ECS tasks', () => {
    const passes = Object.keys(EXPECTED_ENV).flatMap((h) =>
      functionStatements(h)
        .filter((x) => actions(x).includes('iam:PassRole'))
        .map((x) => [h, x] as const),
    );
    // Those that register task definitions or update services (both list iam:PassRole as a dependent action).
    expect(passes.map(([h]) => h).sort()).toEqual([
      'prepare',
      'promote',
      'reconcile',
      'rollback',
      'set-weight',
    ]);
    expect(EXAMPLE_ECS.taskRoleArn.startsWith('arn:aws:iam::123456789012:role/')).toBe(true);
    for (const [, pass] of passes) {
      expect(asList(pass.Resource)).toEqual(['arn:aws:iam::123456789012:role/*']);
      expect(pass.Condition).toEqual({
        StringEquals: {
          'iam:PassedToService': 'ecs-tasks.amazonaws.com',
          'aws:ResourceTag/canary-controller': 'Test',
        },
      });
    }
  });

  it('lets the routing functions read target group stickiness and rule tags, and tag only the rules they create', () => {
    for (const fn of ['prepare', 'set-weight', 'rollback']) {
      const statements = functionStatements(fn);
      const describe = statements.find((x) => actions(x).includes('elasticloadbalancing:DescribeTags'));
      expect(actions(describe as Statement)).toContain('elasticloadbalancing:DescribeTargetGroupAttributes');
      const tag = statements.filter((x) => actions(x).includes('elasticloadbalancing:AddTags'));
      // ELB User Guide, "ELB API permissions to tag resources during creation": CreateRule with Tags is also
      // authorized as AddTags; the condition keeps existing resources untaggable.
      expect(tag).toHaveLength(1);
      expect(tag[0]?.Condition).toEqual({
        StringEquals: {
          'elasticloadbalancing:CreateAction': 'CreateRule',
          'aws:RequestTag/canary-controller': 'Test',
        },
        Null: { 'aws:RequestTag/canary-controller:header-rule-for': 'false' },
      });
    }
  });

  it('grants DescribeAlarms on "*" only, since composite gating alarms are returned only then', () => {
    // CloudWatch API Reference, DescribeAlarms: composite alarms need cloudwatch:DescribeAlarms scoped to "*".
    const describe = functionStatements('analyze').filter((x) =>
      actions(x).includes('cloudwatch:DescribeAlarms'),
    );
    expect(describe).toHaveLength(1);
    expect(actions(describe[0] as Statement)).toEqual(['cloudwatch:DescribeAlarms']);
    expect(describe[0]?.Resource).toBe('*');
    const reasons = acknowledgedReasons(controller.functions.analyze as unknown as Construct);
    const wildcard = Object.entries(reasons).find(([id]) => id.endsWith('AwsSolutions-IAM5[Resource::*]'));
    expect(wildcard?.[1]).toMatch(/DescribeAlarms.*composite/);
  });
});

describe('cdk-nag (AwsSolutions)', () => {
  it('reports no unacknowledged errors or warnings', () => {
    const report = JSON.parse(readFileSync(path.join(assembly.directory, 'validation-report.json'), 'utf8'));
    const violations = (
      report.pluginReports as { violations: { ruleName: string; severity: string }[] }[]
    ).flatMap((p) => p.violations.map((v) => `${v.severity} ${v.ruleName}`));
    expect(violations).toEqual([]);
    // cdk-nag v3 reports through CDK's validation plugins, not annotations; none are left either way.
    expect(Annotations.fromStack(stack).findError('*', Match.stringLikeRegexp('AwsSolutions-.*'))).toEqual(
      [],
    );
    expect(Annotations.fromStack(stack).findWarning('*', Match.stringLikeRegexp('AwsSolutions-.*'))).toEqual(
      [],
    );
  });

  it('acknowledges every finding with a written reason', () => {
    const acks = stack.node
      .findAll()
      .flatMap((c) => c.node.metadata.filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY))
      .flatMap((m) => Object.entries(m.data as Record<string, string>));
    expect(acks.length).toBeGreaterThan(0);
    for (const [id, reason] of acks) expect(reason.length, id).toBeGreaterThan(30);
  });

  it('fails synthesis when a finding is not acknowledged', () => {
    const bad = new App();
    Validations.of(bad).addPlugins(new AwsSolutionsChecks(bad));
    const s = new Stack(bad, 'Bad', { env: { account: '123456789012', region: 'us-east-1' } });
    new Queue(s, 'Q');
    expect(() => bad.synth()).toThrow(/AwsSolutions-SQS/);
  });
});

describe('configuration', () => {
  it('rejects a bad service config at synth time, naming the field', () => {
    const s = new Stack(new App(), 'Bad');
    const bad = { ...EXAMPLE_SERVICE, traffic: { ...EXAMPLE_SERVICE.traffic, listenerArn: 'not-an-arn' } };
    expect(() => new CanaryController(s, 'C', { services: [bad] })).toThrow(/traffic\.listenerArn/);
  });

  it('holds more services than the Lambda environment could carry: no function environment grows with them', () => {
    // Bundling skipped (the functions' code is not what is checked here).
    const s = new Stack(new App({ context: { 'aws:cdk:bundling-stacks': [] } }), 'Many');
    // Eight services (the environment held three), each on its own listener and target groups (services may not share them).
    const hex = (i: number) => i.toString(16).padStart(16, '0');
    const many = Array.from({ length: 8 }, (_, i) => ({
      ...EXAMPLE_SERVICE,
      service: `svc-${i}`,
      repository: `acme/svc-${i}`,
      traffic: {
        ...EXAMPLE_SERVICE.traffic,
        listenerArn: `arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/svc${i}/${hex(i)}/${hex(i)}`,
        stableTargetGroupArn: `arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/svc${i}-stable/${hex(i)}`,
        canaryTargetGroupArn: `arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/svc${i}-canary/${hex(i + 1000)}`,
      },
    }));

    new CanaryController(s, 'C', { services: many });

    for (const [, fn] of Object.entries(Template.fromStack(s).findResources('AWS::Lambda::Function')))
      expect(JSON.stringify(fn.Properties.Environment ?? {}).length).toBeLessThan(1000);
  });
});
