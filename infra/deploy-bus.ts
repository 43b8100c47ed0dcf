/** The controller's own event bus and who may put `Deploy Requested` on it. */
import { Stack } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';
import { CONTROLLER_EVENT_SOURCE } from '../functions/core/events';
import { eventBusArn } from './names';

export interface DeployRequestBusProps {
  /** The bus's name (CanaryControllerProps.eventBusName). */
  readonly name: string;
  /** IAM principal ARNs that alone may put events on the bus (CanaryControllerProps.deployRequesters). */
  readonly deployRequesters?: string[];
  /** The roles of the functions that announce rollout state changes on the bus. */
  readonly announcers: readonly iam.IRole[];
}

/**
 * The bus `Deploy Requested` must arrive on: a rollout redeploys an image and supersedes the running one, so who
 * may start one is decided here rather than by whoever may put events on the default bus. Within an account an
 * identity policy or the bus's resource policy may allow PutEvents, and an explicit deny in either wins (IAM User
 * Guide, "Policy evaluation logic"); another account needs the bus's policy to allow it (EventBridge User Guide,
 * "Permissions for event buses in Amazon EventBridge"). aws:PrincipalAccount and aws:PrincipalArn are in every
 * signed request (IAM User Guide, "AWS global condition context keys"); events:source and events:detail-type
 * narrow what a requester may put (EventBridge User Guide, "Using IAM policy conditions in Amazon EventBridge").
 */
export function deployRequestBus(scope: Construct, props: DeployRequestBusProps): events.EventBus {
  const stack = Stack.of(scope);
  const { name, announcers } = props;
  const bus = new events.EventBus(scope, 'DeployRequestBus', {
    eventBusName: name,
    description: 'Deploy Requested events that start canary rollouts',
  });
  // From the name: the bus's own ARN attribute would make its policy depend on itself.
  const busArn = eventBusArn(stack, name);
  const requesters = props.deployRequesters ?? [];
  for (const arn of requesters)
    if (!/^arn:aws[a-z-]*:(iam|sts)::(\d{12}|\*):[\w+=,.@/*-]+$/.test(arn))
      throw new Error(
        `deployRequesters: "${arn}" is not an IAM principal ARN (arn:aws:iam::<account>:role/<name>)`,
      );
  const putEvents = {
    principals: [new iam.AnyPrincipal()],
    actions: ['events:PutEvents'],
    resources: [busArn],
  };
  const statements =
    requesters.length === 0
      ? [
          new iam.PolicyStatement({
            sid: 'OnlyThisAccount',
            effect: iam.Effect.DENY,
            ...putEvents,
            conditions: { StringNotEquals: { 'aws:PrincipalAccount': stack.account } },
          }),
        ]
      : [
          new iam.PolicyStatement({
            sid: 'DeployRequesters',
            ...putEvents,
            conditions: {
              ArnLike: { 'aws:PrincipalArn': requesters },
              'ForAllValues:StringEquals': {
                'events:source': [CONTROLLER_EVENT_SOURCE],
                'events:detail-type': ['Deploy Requested'],
              },
            },
          }),
          new iam.PolicyStatement({
            sid: 'OnlyDeployRequesters',
            effect: iam.Effect.DENY,
            ...putEvents,
            // The controller's functions announce rollout state changes here (their own policies allow only that).
            conditions: {
              ArnNotLike: { 'aws:PrincipalArn': [...requesters, ...announcers.map((r) => r.roleArn)] },
            },
          }),
        ];
  // The whole policy on the bus itself (AWS::Events::EventBus Policy): created with it, replaced as one.
  (bus.node.defaultChild as events.CfnEventBus).policy = new iam.PolicyDocument({ statements });
  return bus;
}
