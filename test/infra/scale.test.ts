/**
 * One controller for 500 services: the synthesized template stays within CloudFormation's quotas and every role's
 * policies within IAM's, and the policies, which name no service ARN, still let a function change only what carries
 * the controller's tag. Synthesized without bundling (`aws:cdk:bundling-stacks` empty), as the other infra tests.
 */
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { HEADER_RULE_TAG } from '../../functions/core/route-checks';
import { CONTROLLER_TAG_KEY } from '../../functions/tasks/registry';
import { CanaryControllerStack } from '../../infra/stack';
import { EVENT_PATTERN_MAX_CHARS } from '../../infra/triggers';
import { generatedServices } from './generated-services';
import { allows, resolve, type Statement } from './policy-evaluator';

// CloudFormation User Guide, "Understand CloudFormation quotas": 500 resources per stack; a template body passed
// as an S3 object (as `cdk deploy` does) of at most 1 MB, counted here as 1,000,000 bytes to stay clear of it.
const MAX_RESOURCES = 500;
const MAX_TEMPLATE_BYTES = 1_000_000;
// IAM User Guide, "IAM and AWS STS quotas": the inline policies of a role, together, at most 10,240 characters
// (whitespace not counted); managed policies 6,144 characters each, 10 per role by default.
const MAX_ROLE_INLINE_CHARS = 10_240;
/** What a reference to another resource (`<Table.Arn>`) stands for in a deployed policy: an ARN, counted long. */
const REFERENCE_CHARS = 120;

const ACCOUNT = '123456789012';
const PSEUDO = {
  'AWS::Partition': 'aws',
  'AWS::Region': 'us-east-1',
  'AWS::AccountId': ACCOUNT,
  'AWS::URLSuffix': 'amazonaws.com',
};
const STACK = 'Platform';

// biome-ignore lint/suspicious/noExplicitAny: synthesized CloudFormation is untyped JSON
type Resource = { Type: string; Properties: any };
let resources: Record<string, Resource>;
let templateBytes: number;
let stack: CanaryControllerStack;

/** The statements of every inline policy of a role, resolved as IAM reads them. */
function roleStatements(roleId: string): Statement[] {
  const inline = Object.values(resources).filter(
    (r) =>
      r.Type === 'AWS::IAM::Policy' && r.Properties.Roles.some((x: { Ref?: string }) => x.Ref === roleId),
  );
  const own = (resources[roleId]?.Properties.Policies ?? []) as { PolicyDocument: unknown }[];
  return [...inline.map((p) => p.Properties.PolicyDocument), ...own.map((p) => p.PolicyDocument)].flatMap(
    (d) => (resolve(d, PSEUDO) as { Statement: Statement[] }).Statement,
  );
}

/** A role's inline policy characters as IAM counts them (no whitespace), references counted as ARNs. */
function inlineChars(roleId: string): number {
  const inline = Object.values(resources).filter(
    (r) =>
      r.Type === 'AWS::IAM::Policy' && r.Properties.Roles.some((x: { Ref?: string }) => x.Ref === roleId),
  );
  const own = (resources[roleId]?.Properties.Policies ?? []) as { PolicyDocument: unknown }[];
  return [...inline.map((p) => p.Properties.PolicyDocument), ...own.map((p) => p.PolicyDocument)]
    .map((d) => JSON.stringify(resolve(d, PSEUDO)))
    .map((text) => text.replace(/\s/g, '').replace(/<[^>]+>/g, 'x'.repeat(REFERENCE_CHARS)).length)
    .reduce((a, b) => a + b, 0);
}

const roleOf = (handler: string) =>
  stack.getLogicalId(stack.controller.functions[handler]?.role.node.defaultChild as never);

beforeAll(() => {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  stack = new CanaryControllerStack(app, STACK, {
    env: { account: ACCOUNT, region: 'us-east-1' },
    controller: { services: generatedServices(500), approvalPage: true },
  });
  const template = Template.fromStack(stack).toJSON();
  resources = template.Resources;
  templateBytes = Buffer.byteLength(JSON.stringify(template));
});

describe('500 services in one stack', () => {
  it('stays within CloudFormation: resources per stack and template bytes', () => {
    expect(Object.keys(resources).length).toBeLessThanOrEqual(MAX_RESOURCES);
    expect(templateBytes).toBeLessThanOrEqual(MAX_TEMPLATE_BYTES);
  });

  it("keeps every role's inline policies within IAM's 10,240 characters, with no managed policy", () => {
    const roles = Object.entries(resources).filter(([, r]) => r.Type === 'AWS::IAM::Role');
    const largest = Math.max(...roles.map(([id]) => inlineChars(id)));
    expect(largest).toBeLessThanOrEqual(MAX_ROLE_INLINE_CHARS);
    for (const [, r] of roles) expect(r.Properties.ManagedPolicyArns ?? []).toEqual([]);
  });

  it('has one controller dashboard and no rule per service: ECR and alarm rules match many, within the pattern quota', () => {
    const of = (type: string) => Object.values(resources).filter((r) => r.Type === type);
    expect(of('AWS::CloudWatch::Dashboard')).toHaveLength(1);
    const rules = of('AWS::Events::Rule');
    const ecr = rules.filter((r) => r.Properties.EventPattern.source?.[0] === 'aws.ecr');
    const alarms = rules.filter((r) => r.Properties.EventPattern.source?.[0] === 'aws.cloudwatch');
    // 500 repositories under three tag filters; 1,000 alarm names.
    expect(ecr.length).toBeLessThan(30);
    expect(alarms.length).toBeLessThan(40);
    const repositories = ecr.flatMap((r) => r.Properties.EventPattern.detail['repository-name']);
    expect(new Set(repositories).size).toBe(500);
    expect(alarms.flatMap((r) => r.Properties.EventPattern.detail.alarmName)).toHaveLength(1000);
    for (const r of rules)
      expect(JSON.stringify(r.Properties.EventPattern).length).toBeLessThanOrEqual(EVENT_PATTERN_MAX_CHARS);
  });
});

describe("least privilege by the controller's tag", () => {
  const listener =
    'arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/platform-3/0000000000000003/00000000000003eb';
  const rule = `${listener.replace(':listener/', ':listener-rule/')}/0000000000001388`;
  const service = 'arn:aws:ecs:us-east-1:123456789012:service/platform-1/svc-001';
  const alarm = 'arn:aws:cloudwatch:us-east-1:123456789012:alarm:svc-001-5xx-high';
  const role = 'arn:aws:iam::123456789012:role/svc-001-task';
  const ours = { [`aws:ResourceTag/${CONTROLLER_TAG_KEY}`]: STACK };
  const theirs = { [`aws:ResourceTag/${CONTROLLER_TAG_KEY}`]: 'OtherController' };
  const may = (handler: string, action: string, resource: string, context?: Record<string, string>) =>
    allows(roleStatements(roleOf(handler)), { action, resource, ...(context ? { context } : {}) });

  it('changes a listener or route rule only when it carries the tag with this controller’s id', () => {
    for (const fn of ['prepare', 'set-weight', 'rollback', 'promote', 'on-alarm', 'reconcile']) {
      expect(may(fn, 'elasticloadbalancing:ModifyListener', listener, ours)).toBe(true);
      expect(may(fn, 'elasticloadbalancing:ModifyListener', listener)).toBe(false);
      expect(may(fn, 'elasticloadbalancing:ModifyListener', listener, theirs)).toBe(false);
      expect(may(fn, 'elasticloadbalancing:ModifyRule', rule, ours)).toBe(true);
      expect(may(fn, 'elasticloadbalancing:ModifyRule', rule)).toBe(false);
      expect(may(fn, 'elasticloadbalancing:DeleteRule', rule, ours)).toBe(false);
    }
    // analyze reads routes only.
    expect(may('analyze', 'elasticloadbalancing:ModifyListener', listener, ours)).toBe(false);
  });

  it("invokes only hook functions that carry the controller's tag, and only from run-hook", () => {
    const smoke = 'arn:aws:lambda:us-east-1:123456789012:function:svc-001-smoke';
    expect(may('run-hook', 'lambda:InvokeFunction', smoke, ours)).toBe(true);
    expect(may('run-hook', 'lambda:InvokeFunction', smoke)).toBe(false);
    expect(may('run-hook', 'lambda:InvokeFunction', smoke, theirs)).toBe(false);
    expect(
      may('run-hook', 'lambda:InvokeFunction', smoke.replace('123456789012', '210987654321'), ours),
    ).toBe(false);
    for (const fn of ['analyze', 'set-weight', 'rollback'])
      expect(may(fn, 'lambda:InvokeFunction', smoke, ours)).toBe(false);
  });

  it('creates, changes and deletes only header rules it tags when creating them', () => {
    const created = {
      [`aws:RequestTag/${HEADER_RULE_TAG}`]: listener,
      [`aws:RequestTag/${CONTROLLER_TAG_KEY}`]: STACK,
      'elasticloadbalancing:CreateAction': 'CreateRule',
    };
    expect(may('prepare', 'elasticloadbalancing:CreateRule', listener, ours)).toBe(true);
    expect(may('prepare', 'elasticloadbalancing:CreateRule', listener)).toBe(false);
    expect(may('prepare', 'elasticloadbalancing:CreateRule', rule, created)).toBe(true);
    // elasticloadbalancing:CreateAction is set only when the tagging is authorized (AddTags), not on CreateRule's own
    // authorization ("ELB API permissions to tag resources during creation"): CreateRule must match without it.
    const { 'elasticloadbalancing:CreateAction': _createAction, ...createRuleContext } = created;
    expect(may('prepare', 'elasticloadbalancing:CreateRule', rule, createRuleContext)).toBe(true);
    expect(may('prepare', 'elasticloadbalancing:AddTags', rule, createRuleContext)).toBe(false);
    expect(may('prepare', 'elasticloadbalancing:AddTags', rule, created)).toBe(true);
    expect(may('prepare', 'elasticloadbalancing:AddTags', rule, ours)).toBe(false);
    // A header rule created without the controller's tag, or with another controller's, is refused.
    const untagged = Object.fromEntries(
      Object.entries(created).filter(([key]) => key !== `aws:RequestTag/${CONTROLLER_TAG_KEY}`),
    );
    const forOther = { ...created, [`aws:RequestTag/${CONTROLLER_TAG_KEY}`]: 'OtherController' };
    for (const action of ['elasticloadbalancing:CreateRule', 'elasticloadbalancing:AddTags']) {
      expect(may('prepare', action, rule, untagged)).toBe(false);
      expect(may('prepare', action, rule, forOther)).toBe(false);
    }
    const header = { [`aws:ResourceTag/${HEADER_RULE_TAG}`]: listener };
    for (const fn of ['prepare', 'set-weight', 'rollback', 'promote', 'on-alarm', 'reconcile'])
      for (const action of [
        'elasticloadbalancing:ModifyRule',
        'elasticloadbalancing:DeleteRule',
        'elasticloadbalancing:SetRulePriorities',
      ]) {
        expect(may(fn, action, rule, { ...header, ...ours })).toBe(true);
        // Another controller's header rule: it carries the header rule's tag too, but not this controller's id.
        expect(may(fn, action, rule, { ...header, ...theirs })).toBe(false);
        expect(may(fn, action, rule, header)).toBe(false);
      }
    expect(may('rollback', 'elasticloadbalancing:DeleteRule', rule)).toBe(false);
  });

  it('updates only tagged ECS services, registers only tagged revisions, passes only tagged roles to ECS tasks', () => {
    expect(may('set-weight', 'ecs:UpdateService', service, ours)).toBe(true);
    expect(may('set-weight', 'ecs:UpdateService', service)).toBe(false);
    expect(may('set-weight', 'ecs:UpdateService', service, theirs)).toBe(false);
    expect(may('check-ready', 'ecs:DescribeServices', service, ours)).toBe(true);
    expect(may('check-ready', 'ecs:UpdateService', service, ours)).toBe(false);
    const td = 'arn:aws:ecs:us-east-1:123456789012:task-definition/svc-001:8';
    const requestTag = { [`aws:RequestTag/${CONTROLLER_TAG_KEY}`]: STACK };
    expect(may('prepare', 'ecs:RegisterTaskDefinition', td, requestTag)).toBe(true);
    expect(may('prepare', 'ecs:RegisterTaskDefinition', td)).toBe(false);
    expect(may('prepare', 'ecs:TagResource', td, requestTag)).toBe(false);
    expect(
      may('prepare', 'ecs:TagResource', td, { ...requestTag, 'ecs:CreateAction': 'RegisterTaskDefinition' }),
    ).toBe(true);
    const toEcs = { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' };
    expect(may('set-weight', 'iam:PassRole', role, { ...ours, ...toEcs })).toBe(true);
    expect(may('set-weight', 'iam:PassRole', role, toEcs)).toBe(false);
    expect(
      may('set-weight', 'iam:PassRole', role, { ...ours, 'iam:PassedToService': 'lambda.amazonaws.com' }),
    ).toBe(false);
  });

  it('reads alarms and changes none', () => {
    expect(may('analyze', 'cloudwatch:DescribeAlarms', alarm)).toBe(true);
    for (const fn of Object.keys(stack.controller.functions))
      for (const action of [
        'cloudwatch:PutMetricAlarm',
        'cloudwatch:DeleteAlarms',
        'cloudwatch:SetAlarmState',
        'cloudwatch:DisableAlarmActions',
      ])
        expect(may(fn, action, alarm, ours)).toBe(false);
  });
});
