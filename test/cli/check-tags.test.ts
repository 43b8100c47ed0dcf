/**
 * `canary check` and the controller's tag: the controller's IAM allows changes only to resources tagged
 * `canary-controller` = its id, so the check names each resource a rollout changes that lacks it, with the command that
 * tags it, and simulates IAM with the tags as context keys (policy simulation does not read tags).
 */
import { describe, expect, it } from 'vitest';
import { FUNCTION_NEEDS, requiredCalls } from '../../cli/check/permissions';
import { routeTaggedResources } from '../../cli/check/route';
import { controllerTagFindings } from '../../cli/check/tags';
import { parseServiceConfigs } from '../../functions/core/config';
import { albTraffic } from '../../functions/core/config-route';
import { checkedConfig } from '../helpers/check-account';
import { LISTENER_RULE_ARN } from '../helpers/config';

const config = () =>
  parseServiceConfigs([checkedConfig()])[0] as ReturnType<typeof parseServiceConfigs>[number];

describe('controller tag findings', () => {
  it('reports a listener without the tag, and one tagged for another controller, with the command that tags it', () => {
    const c = config();
    const resources = routeTaggedResources(albTraffic(c.traffic), {
      found: {
        [albTraffic(c.traffic).listenerArn]: [{ Key: 'team', Value: 'web' }],
        [LISTENER_RULE_ARN]: [{ Key: 'canary-controller', Value: 'Other' }],
      },
    });
    const findings = controllerTagFindings('Platform', resources);
    expect(findings).toHaveLength(2);
    expect(findings[0]).toMatchObject({
      check: 'tags',
      status: 'error',
      message: `listener ${albTraffic(c.traffic).listenerArn} has no canary-controller tag: the controller may not change it`,
      fix: `tag it: aws elbv2 add-tags --resource-arns ${albTraffic(c.traffic).listenerArn} --tags Key=canary-controller,Value=Platform`,
    });
    expect(findings[1]?.message).toBe(
      `listener rule ${LISTENER_RULE_ARN} is tagged canary-controller = Other, another controller's: this one (Platform) may not change it`,
    );
  });

  it('is ok when every resource carries it, and not checked when tags could not be read', () => {
    const c = config();
    const tagged = { Key: 'canary-controller', Value: 'Platform' };
    const all = routeTaggedResources(albTraffic(c.traffic), {
      found: { [albTraffic(c.traffic).listenerArn]: [tagged], [LISTENER_RULE_ARN]: [tagged] },
    });
    expect(controllerTagFindings('Platform', all)).toEqual([
      { check: 'tags', status: 'ok', message: '2 resources tagged canary-controller = Platform' },
    ]);
    const unread = routeTaggedResources(albTraffic(c.traffic), {
      failed: 'elasticloadbalancing:DescribeTags was denied to you',
    });
    expect(controllerTagFindings('Platform', unread).map((f) => f.status)).toEqual([
      'not-checked',
      'not-checked',
    ]);
  });
});

describe('IAM simulation with tags', () => {
  const facts = {
    serviceArns: ['arn:aws:ecs:us-east-1:123456789012:service/prod/web'],
    passRoles: ['arn:aws:iam::123456789012:role/web-task'],
    taskDefinitionArn: 'arn:aws:ecs:us-east-1:123456789012:task-definition/web:42',
    taskDefinitionTagged: true,
    alarmArns: [],
    composite: false,
    xrayGroups: [],
  };

  it("passes each resource's controller tag as aws:ResourceTag (and the copied one as aws:RequestTag)", () => {
    const c = config();
    const calls = requiredCalls(FUNCTION_NEEDS.prepare ?? {}, c, {
      ...facts,
      controllerTags: {
        [LISTENER_RULE_ARN]: 'Platform',
        'arn:aws:ecs:us-east-1:123456789012:service/prod/web': 'Platform',
        'arn:aws:ecs:us-east-1:123456789012:task-definition/web:42': 'Platform',
      },
    });
    const of = (action: string) => calls.find((x) => x.action === action);
    expect(of('elasticloadbalancing:ModifyRule')?.context).toEqual({
      'aws:ResourceTag/canary-controller': 'Platform',
    });
    expect(of('ecs:UpdateService')?.context).toEqual({ 'aws:ResourceTag/canary-controller': 'Platform' });
    expect(of('ecs:RegisterTaskDefinition')?.context).toEqual({
      'aws:RequestTag/canary-controller': 'Platform',
    });
    // The role is untagged: no tag in the context, so the simulation reports it missing.
    expect(of('iam:PassRole')?.context).toEqual({ 'iam:PassedToService': 'ecs-tasks.amazonaws.com' });
  });

  it("creates the header rule with this controller's tag and changes it only while it carries it", () => {
    const c = config();
    const headerRuleArn = `${LISTENER_RULE_ARN}0`;
    const calls = requiredCalls(FUNCTION_NEEDS.prepare ?? {}, c, {
      ...facts,
      headerRuleArn,
      controllerTag: 'Platform',
      controllerTags: { [headerRuleArn]: 'Other' },
    });
    const creating = {
      'elasticloadbalancing:CreateAction': 'CreateRule',
      'aws:RequestTag/canary-controller:header-rule-for': LISTENER_RULE_ARN,
      'aws:RequestTag/canary-controller': 'Platform',
    };
    const newRule = `${albTraffic(c.traffic).listenerArn.replace(':listener/', ':listener-rule/')}/*`;
    expect(calls).toContainEqual({
      action: 'elasticloadbalancing:AddTags',
      resource: newRule,
      context: creating,
    });
    expect(calls).toContainEqual({
      action: 'elasticloadbalancing:CreateRule',
      resource: newRule,
      context: creating,
    });
    // The header rule found on the listener is simulated with the controller tag it has (here another's: denied).
    expect(calls).toContainEqual({
      action: 'elasticloadbalancing:DeleteRule',
      resource: headerRuleArn,
      context: {
        'aws:ResourceTag/canary-controller:header-rule-for': LISTENER_RULE_ARN,
        'aws:ResourceTag/canary-controller': 'Other',
      },
    });
  });
});
