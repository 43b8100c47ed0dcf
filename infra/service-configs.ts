/**
 * Where the functions find the service configs: a DynamoDB table of its own, written at deploy time. The synth
 * validates the configs (same schema as the runtime) and uploads them as one JSON asset, whose content hash is the
 * configs' version; a custom resource (CDK Provider framework) runs functions/handlers/publish-configs.ts, which
 * writes one item per service and per repository and deletes the services no longer configured. Functions read
 * an item on demand (functions/adapters/aws/config-catalog.ts explains why a table rather than Parameter Store or
 * AppConfig), so nothing about the services travels in the Lambda environment and its 4 KB limit no longer bounds
 * how many services one controller holds.
 *
 * Least privilege: only the publisher writes the table; only the functions whose handler reads CONFIG_TABLE_NAME
 * (the service catalog: start-rollout, reconcile) may read it, item by item. The publisher seals each config it
 * validated; the readers check the seal and bundle no config schema. The seal is an unkeyed checksum: it catches an
 * item edited by hand, written by a tool other than the publisher, or left from a schema this release does not
 * accept, not a writer that computes it; write access to the table, which only the publisher's role holds, is
 * what keeps the configs to those the deploy validated.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type CfnElement, CustomResource, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3assets from 'aws-cdk-lib/aws-s3-assets';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import { CONFIG_TABLE_SCHEMA } from '../functions/adapters/aws/config-catalog';
import type { ServiceConfig } from '../functions/core/config';
import { CONFIG_SCHEMA_VERSION } from '../functions/core/config-version';
import { ControllerFunction } from './controller-function';
import { acknowledge, nagRendering } from './grants';
import type { EnvVar, HandlerSpec } from './handlers';

/** The variable a handler reads to use the catalog; reading it is what grants read access to the table. */
const CATALOG_ENV: EnvVar = 'CONFIG_TABLE_NAME';

export interface ServiceConfigsProps {
  /** Parsed by parseServiceConfigs: valid, names and repositories unique. */
  readonly services: readonly ServiceConfig[];
  readonly logRetention?: logs.RetentionDays;
}

export class ServiceConfigs extends Construct {
  readonly table: dynamodb.Table;
  /** The configs' content hash: the `version` of every item the deploy writes. */
  readonly version: string;
  readonly publish: CustomResource;
  /** The function that validates, seals and writes the configs at deploy time. */
  readonly publisher: ControllerFunction;

  constructor(scope: Construct, id: string, props: ServiceConfigsProps) {
    super(scope, id);
    const key = CONFIG_TABLE_SCHEMA.KeySchema?.[0]?.AttributeName as string;
    this.table = new dynamodb.Table(this, 'Table', {
      partitionKey: { name: key, type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      // Derived from the stack's own props and written again by every deploy: nothing to keep after the stack.
      removalPolicy: RemovalPolicy.DESTROY,
    });

    const dir = mkdtempSync(path.join(tmpdir(), 'canary-service-configs-'));
    writeFileSync(path.join(dir, 'services.json'), JSON.stringify(props.services));
    const asset = new s3assets.Asset(this, 'Configs', { path: path.join(dir, 'services.json') });
    this.version = asset.assetHash;

    this.publisher = this.publisherFunction(props.logRetention);
    const provider = this.provider(asset, props.logRetention);
    this.publish = new CustomResource(this, 'Publish', {
      serviceToken: provider.serviceToken,
      resourceType: 'Custom::ServiceConfigs',
      properties: {
        TableName: this.table.tableName,
        Bucket: asset.s3BucketName,
        Key: asset.s3ObjectKey,
        Version: this.version,
        // A new schema makes CloudFormation update the resource: every config is validated with it and sealed
        // again before the functions that read them (which depend on this resource) are updated.
        Schema: CONFIG_SCHEMA_VERSION,
        // CONFIG_SCHEMA_VERSION fingerprints the schema's JSON Schema, which leaves out its cross-field rules
        // (refinements): the key of the publisher's bundle (its content hash) changes with any code it validates
        // with, so a changed rule alone also makes the deploy validate and seal every config again.
        Publisher: this.codeKey(),
      },
    });
  }

  private publisherFunction(logRetention?: logs.RetentionDays): ControllerFunction {
    return new ControllerFunction(this, 'Publisher', {
      handler: 'publish-configs',
      timeout: Duration.minutes(5),
      environment: {},
      description: 'canary controller: writes the service configs to their table at deploy time',
      ...(logRetention ? { logRetention } : {}),
    });
  }

  /** The S3 key of the publisher's code asset: its bundle's content hash. */
  private codeKey(): string {
    const code = (this.publisher.function.node.defaultChild as lambda.CfnFunction).code;
    const key = (Stack.of(this).resolve(code) as lambda.CfnFunction.CodeProperty).s3Key;
    if (typeof key !== 'string') throw new Error('the config publisher has no code asset key');
    return key;
  }

  /** The publisher function, allowed to read the asset and rewrite the table, behind the Provider framework. */
  private provider(asset: s3assets.Asset, logRetention?: logs.RetentionDays): cr.Provider {
    const publisher = this.publisher;
    const stack = Stack.of(this);
    // Every configs asset, not only this deploy's: when a stack update fails, CloudFormation sends an Update with
    // the previous properties (the previous asset's key) while this policy still names the new key (CDK
    // custom-resources README, "Handling Lifecycle Events"), and the rollback must publish the previous configs.
    const assets = `arn:${stack.partition}:s3:::${asset.s3BucketName}/*.json`;
    publisher.role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: [assets] }),
    );
    publisher.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['dynamodb:Scan', 'dynamodb:BatchWriteItem'],
        resources: [this.table.tableArn],
      }),
    );
    acknowledge(publisher, [
      {
        id: 'AwsSolutions-L1',
        reason: 'Node.js 22 is the runtime the project pins and tests on, as for the controller functions.',
      },
      {
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason: 'xray:PutTraceSegments/PutTelemetryRecords (active tracing, added by CDK) accept only "*".',
      },
      {
        id: `AwsSolutions-IAM5[Resource::${nagRendering(stack.resolve(assets))}]`,
        reason:
          'The configs assets of the CDK assets bucket (JSON files named by content hash): a rollback publishes the ' +
          "previous deploy's configs, whose key this deploy cannot name.",
      },
    ]);

    const publisherId = Stack.of(this).getLogicalId(publisher.function.node.defaultChild as CfnElement);
    // The framework's function gets a role and log group of its own, so no AWS managed policy is attached.
    const frameworkLogs = new logs.LogGroup(this, 'ProviderLogs', {
      retention: logRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const frameworkRole = new iam.Role(this, 'ProviderRole', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'canary controller: the service-config custom resource framework',
    });
    frameworkRole.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [frameworkLogs.logGroupArn],
      }),
    );
    const provider = new cr.Provider(this, 'Provider', {
      onEventHandler: publisher.function,
      frameworkOnEventRole: frameworkRole,
      logGroup: frameworkLogs,
    });
    acknowledge(frameworkRole, [
      {
        id: `AwsSolutions-IAM5[Resource::<${publisherId}.Arn>:*]`,
        reason:
          'The Provider framework invokes the publisher by its ARN and its versions (`<arn>:*`), as CDK generates it.',
      },
      {
        id: 'AwsSolutions-L1',
        reason:
          'The runtime of the Provider framework function is chosen by the CDK release the project pins.',
      },
    ]);
    return provider;
  }

  /**
   * Read access to the configs for each function whose handler reads CATALOG_ENV, and only for them (GetItem: the
   * catalog reads item by item); such a function is created after the first publication.
   */
  grantReaders(functions: Record<string, ControllerFunction>, specs: Record<string, HandlerSpec>) {
    for (const [handler, spec] of Object.entries(specs)) {
      if (!spec.env.includes(CATALOG_ENV)) continue;
      const fn = functions[handler] as ControllerFunction;
      fn.role.addToPrincipalPolicy(
        new iam.PolicyStatement({ actions: ['dynamodb:GetItem'], resources: [this.table.tableArn] }),
      );
      fn.function.node.addDependency(this.publish);
    }
  }
}
