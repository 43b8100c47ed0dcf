/**
 * Where the controller speaks: its SNS topic (encrypted with its own key, which CloudWatch alarms may use), the
 * PagerDuty routing key's secret, the approval links' signing secret, and the channels the services add.
 */
import { RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type { Construct } from 'constructs';
import type { ServiceConfig } from '../functions/core/config';
import { acknowledge } from './grants';
import type { NotificationChannels } from './permissions';

export interface NotificationsProps {
  readonly services: ServiceConfig[];
  /** An existing secret holding the PagerDuty Events v2 routing key; otherwise one is created. */
  readonly pagerDutySecretArn?: string;
  /** Subscribed to the topic. */
  readonly alarmEmail?: string;
  /** Creates the secret that signs approval-page links. */
  readonly approvalPage: boolean;
}

/**
 * A complete secret ARN ends in the hyphen and six random characters Secrets Manager adds to the name (Secrets
 * Manager API Reference, GetSecretValue, SecretId).
 */
const COMPLETE_SECRET_ARN = /-[A-Za-z0-9]{6}$/;
/** A partial ARN (without the suffix) in a policy: any suffix of that name. */
const secretPolicyArn = (arn: string) => (COMPLETE_SECRET_ARN.test(arn) ? arn : `${arn}-??????`);

/**
 * The topic, its key and the secrets, created in `scope` (the controller) with the ids a deployed stack has, so
 * their logical ids stay the same.
 */
export class Notifications {
  readonly topic: sns.Topic;
  readonly topicKey: kms.Key;
  readonly pagerDutySecret: secretsmanager.ISecret;
  readonly approvalSigningSecret?: secretsmanager.Secret;
  /** The topics and secrets functions publish to and read, the controller's first, and their keys. */
  readonly channels: NotificationChannels;

  constructor(scope: Construct, props: NotificationsProps) {
    const stack = Stack.of(scope);
    this.topicKey = new kms.Key(scope, 'TopicKey', {
      description: 'canary controller notifications topic',
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN,
      policy: topicKeyPolicy(stack),
    });
    this.topic = new sns.Topic(scope, 'Topic', {
      displayName: 'Canary controller',
      masterKey: this.topicKey,
      enforceSSL: true,
    });
    // enforceSSL replaces the topic's default policy, so CloudWatch alarm actions are allowed explicitly.
    this.topic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'CloudWatchAlarmsPublish',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [this.topic.topicArn],
        conditions: { StringEquals: { 'aws:SourceAccount': stack.account } },
      }),
    );
    if (props.alarmEmail) this.topic.addSubscription(new subscriptions.EmailSubscription(props.alarmEmail));
    this.pagerDutySecret = pagerDutySecret(scope, props.pagerDutySecretArn);
    if (props.approvalPage) this.approvalSigningSecret = approvalSigningSecret(scope);
    this.channels = this.channelsOf(props.services);
  }

  /** Per-service channels (config `notifications`) as well as the defaults, and their customer managed keys. */
  private channelsOf(services: ServiceConfig[]): NotificationChannels {
    const each = (f: (c: ServiceConfig) => string | undefined) => [
      ...new Set(services.flatMap((c) => f(c) ?? [])),
    ];
    const secret = this.pagerDutySecret;
    return {
      topicArns: [this.topic.topicArn, ...each((c) => c.notifications.snsTopicArn)],
      topicKeyArns: [this.topicKey.keyArn, ...each((c) => c.notifications.snsKmsKeyArn)],
      secretArns: [
        secret.secretFullArn ?? `${secret.secretArn}-??????`,
        ...each((c) => c.notifications.pagerDuty?.routingKeySecretArn).map(secretPolicyArn),
      ],
      secretKeyArns: each((c) => c.notifications.pagerDuty?.kmsKeyArn),
    };
  }
}

/** The given secret, or a new one with a placeholder value: the routing key never appears in the template. */
function pagerDutySecret(scope: Construct, arn: string | undefined): secretsmanager.ISecret {
  if (arn) {
    return COMPLETE_SECRET_ARN.test(arn)
      ? secretsmanager.Secret.fromSecretCompleteArn(scope, 'PagerDutySecret', arn)
      : secretsmanager.Secret.fromSecretPartialArn(scope, 'PagerDutySecret', arn);
  }
  // Set the value after deploy.
  const secret = new secretsmanager.Secret(scope, 'PagerDutySecret', {
    description: 'PagerDuty Events v2 routing key for the canary controller (set the value after deploy)',
    removalPolicy: RemovalPolicy.RETAIN,
  });
  acknowledge(secret, [
    {
      id: 'AwsSolutions-SMG4',
      reason:
        'A PagerDuty routing key is issued by PagerDuty; Secrets Manager has nothing to rotate it with.',
    },
  ]);
  return secret;
}

/** Generated by Secrets Manager at deploy time: the key never appears in the template. */
function approvalSigningSecret(scope: Construct): secretsmanager.Secret {
  const secret = new secretsmanager.Secret(scope, 'ApprovalSigningSecret', {
    description: 'HMAC key that signs approval-page links (canary controller)',
    generateSecretString: { passwordLength: 64, excludePunctuation: true },
    removalPolicy: RemovalPolicy.RETAIN,
  });
  acknowledge(secret, [
    {
      id: 'AwsSolutions-SMG4',
      reason:
        'Rotating the link-signing key would invalidate approval links already sent; rotate by hand between ' +
        'rollouts (put a new random value).',
    },
  ]);
  return secret;
}

/**
 * The key policy, written out so it has no `kms:*`: the account administers and uses the key through IAM, and
 * CloudWatch alarms may encrypt messages to the topic.
 */
function topicKeyPolicy(stack: Stack): iam.PolicyDocument {
  return new iam.PolicyDocument({
    statements: [
      new iam.PolicyStatement({
        sid: 'AccountAdministersAndUsesTheKeyThroughIam',
        principals: [new iam.AccountRootPrincipal()],
        actions: [
          'kms:CancelKeyDeletion',
          'kms:CreateAlias',
          'kms:CreateGrant',
          'kms:Decrypt',
          'kms:DeleteAlias',
          'kms:DescribeKey',
          'kms:DisableKey',
          'kms:DisableKeyRotation',
          'kms:EnableKey',
          'kms:EnableKeyRotation',
          'kms:Encrypt',
          'kms:GenerateDataKey',
          'kms:GetKeyPolicy',
          'kms:GetKeyRotationStatus',
          'kms:ListAliases',
          'kms:ListGrants',
          'kms:ListKeyPolicies',
          'kms:ListKeyRotations',
          'kms:ListResourceTags',
          'kms:PutKeyPolicy',
          'kms:ReEncryptFrom',
          'kms:ReEncryptTo',
          'kms:RetireGrant',
          'kms:RevokeGrant',
          'kms:RotateKeyOnDemand',
          'kms:ScheduleKeyDeletion',
          'kms:TagResource',
          'kms:UntagResource',
          'kms:UpdateAlias',
          'kms:UpdateKeyDescription',
        ],
        resources: ['*'],
      }),
      new iam.PolicyStatement({
        sid: 'CloudWatchAlarmsPublishToTheTopic',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
        resources: ['*'],
        conditions: { StringEquals: { 'aws:SourceAccount': stack.account } },
      }),
    ],
  });
}
