/**
 * Who may start a rollout: `Deploy Requested` is taken from the controller's own event bus only, whose resource
 * policy keeps out other accounts (by default) or everyone but the configured requesters; ECR, alarm and Step
 * Functions events stay on the default bus. Synthesized without bundling (the functions are not what this is about).
 */
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { CONTROLLER_EVENT_BUS_NAME } from '../../functions/core/events';
import { CanaryController, type CanaryControllerProps, handlerSpecs } from '../../infra/canary-controller';
import { CanaryControllerStack, EXAMPLE_SERVICE } from '../../infra/stack';

// biome-ignore lint/suspicious/noExplicitAny: synthesized CloudFormation is untyped JSON, read by the assertions
type Cfn = any;

function synth(props: Partial<CanaryControllerProps> = {}) {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new CanaryControllerStack(app, 'Test', {
    env: { account: '123456789012', region: 'us-east-1' },
    controller: { services: [EXAMPLE_SERVICE], ...props },
  });
  const template = Template.fromStack(stack);
  const resources = template.toJSON().Resources as Record<string, { Type: string; Properties: Cfn }>;
  const busId = stack.getLogicalId(stack.controller.eventBus.node.defaultChild as never);
  const rules = Object.values(resources).filter((r) => r.Type === 'AWS::Events::Rule');
  const policy =
    resources[busId]?.Properties.Policy ??
    (() => {
      const p = Object.values(resources).find((r) => r.Type === 'AWS::Events::EventBusPolicy');
      return p?.Properties.Statement ? { Statement: [p.Properties.Statement] } : undefined;
    })();
  return { template, resources, busId, rules, policy, stack };
}

describe('the controller’s event bus', () => {
  it('Deploy Requested is matched on the controller’s bus only; ECR, alarms and executions on the default bus', () => {
    const { resources, busId, rules, template } = synth();

    expect(resources[busId]?.Properties.Name).toBe(CONTROLLER_EVENT_BUS_NAME);
    const deploy = rules.filter((r) =>
      r.Properties.EventPattern['detail-type']?.includes('Deploy Requested'),
    );
    expect(deploy).toHaveLength(1);
    expect(deploy[0]?.Properties.EventPattern.source).toEqual(['canary.controller']);
    expect(deploy[0]?.Properties.EventBusName).toEqual({ Ref: busId });
    for (const r of rules.filter((x) => x !== deploy[0])) expect(r.Properties.EventBusName).toBeUndefined();
    expect(rules.length).toBeGreaterThanOrEqual(3);
    // What the CLI and pipelines read.
    template.hasOutput('EventBusName', { Value: { Ref: busId } });
  });

  it('by default, no principal of another account may put events on it', () => {
    const { policy } = synth();

    expect(policy.Statement).toEqual([
      {
        Sid: 'OnlyThisAccount',
        Effect: 'Deny',
        Principal: { AWS: '*' },
        Action: 'events:PutEvents',
        Resource: expect.anything(),
        Condition: { StringNotEquals: { 'aws:PrincipalAccount': '123456789012' } },
      },
    ]);
  });

  it('with deployRequesters, they alone may put Deploy Requested, everyone else is denied', () => {
    const requesters = [
      'arn:aws:iam::123456789012:role/release-pipeline',
      'arn:aws:iam::210987654321:role/ci-*',
    ];
    const { policy, stack } = synth({ deployRequesters: requesters, eventBusName: 'shop-canary' });

    const [allow, deny] = policy.Statement as Cfn[];
    expect(allow).toMatchObject({
      Sid: 'DeployRequesters',
      Effect: 'Allow',
      Principal: { AWS: '*' },
      Action: 'events:PutEvents',
      Condition: {
        ArnLike: { 'aws:PrincipalArn': requesters },
        'ForAllValues:StringEquals': {
          'events:source': ['canary.controller'],
          'events:detail-type': ['Deploy Requested'],
        },
      },
    });
    // The controller's functions announce rollout state changes on the bus: the deny leaves their roles out.
    const announcing = Object.entries(stack.controller.functions)
      .filter(([h]) => (handlerSpecs(true)[h]?.env ?? []).includes('EVENT_BUS_NAME'))
      .map(([, fn]) => ({ 'Fn::GetAtt': [stack.getLogicalId(fn.role.node.defaultChild as never), 'Arn'] }));
    expect(announcing.length).toBeGreaterThanOrEqual(10);
    expect(deny).toMatchObject({
      Sid: 'OnlyDeployRequesters',
      Effect: 'Deny',
      Principal: { AWS: '*' },
      Action: 'events:PutEvents',
      Condition: { ArnNotLike: { 'aws:PrincipalArn': [...requesters, ...announcing] } },
    });
    expect(policy.Statement).toHaveLength(2);
  });

  it('lets each function that records history put only Canary Rollout State Change events on it', () => {
    const { resources, stack } = synth({ eventBusName: 'shop-canary' });
    const busArn = {
      'Fn::Join': [
        '',
        ['arn:', { Ref: 'AWS::Partition' }, ':events:us-east-1:123456789012:event-bus/shop-canary'],
      ],
    };
    for (const [handler, fn] of Object.entries(stack.controller.functions)) {
      const roleId = stack.getLogicalId(fn.role.node.defaultChild as never);
      const statements = Object.values(resources)
        .filter(
          (r) => r.Type === 'AWS::IAM::Policy' && r.Properties.Roles?.some((x: Cfn) => x.Ref === roleId),
        )
        .flatMap((r) => r.Properties.PolicyDocument.Statement as Cfn[])
        .filter((x) => [x.Action].flat().includes('events:PutEvents'));
      const announces = (handlerSpecs(true)[handler]?.env ?? []).includes('EVENT_BUS_NAME');
      expect(statements, handler).toEqual(
        announces
          ? [
              {
                Effect: 'Allow',
                Action: 'events:PutEvents',
                Resource: busArn,
                Condition: {
                  'ForAllValues:StringEquals': {
                    'events:source': ['canary.controller'],
                    'events:detail-type': ['Canary Rollout State Change'],
                  },
                },
              },
            ]
          : [],
      );
    }
  });

  it('refuses a requester that is not an IAM principal ARN, naming it', () => {
    const stack = new Stack(new App({ context: { 'aws:cdk:bundling-stacks': [] } }), 'Bad');
    expect(
      () =>
        new CanaryController(stack, 'C', {
          services: [EXAMPLE_SERVICE],
          deployRequesters: ['release-pipeline'],
        }),
    ).toThrow('deployRequesters: "release-pipeline" is not an IAM principal ARN');
  });
});
