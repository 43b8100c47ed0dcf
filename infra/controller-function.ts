/**
 * The project's Lambda function: NodejsFunction with the defaults every controller function shares (Node 22,
 * arm64, tracing, an explicit log group, source maps), so a handler's construct says only what differs (its
 * entry, timeout, environment and permissions).
 */
import path from 'node:path';
import { type Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Architecture, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { METRICS_SERVICE } from '../functions/core/outcome-metrics';
import { BUNDLING } from './bundling';

/** The repository root: entries, the lock file and node_modules (with esbuild) are found from here. */
export const REPO_ROOT = path.resolve(import.meta.dirname, '..');

export interface ControllerFunctionProps {
  /** The handler file under functions/handlers/, without `.ts` (e.g. `start-rollout`). */
  readonly handler: string;
  /** Below the Task state's TimeoutSeconds, so a slow call fails inside the function with a useful error. */
  readonly timeout: Duration;
  /** Exactly the variables the handler reads (AWS_REGION is Lambda's own and is never set here). */
  readonly environment: Record<string, string>;
  readonly description?: string;
  readonly memorySize?: number;
  readonly logRetention?: logs.RetentionDays;
  /** POWERTOOLS_SERVICE_NAME for every log line, trace and metric. */
  readonly serviceName?: string;
}

export class ControllerFunction extends Construct {
  readonly function: NodejsFunction;
  readonly role: iam.Role;
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: ControllerFunctionProps) {
    super(scope, id);

    this.logGroup = new logs.LogGroup(this, 'Logs', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.RETAIN,
    });

    // An own role (not the default one) so no AWS-managed policy is attached: logs go to this log group only.
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `canary controller ${props.handler}`,
    });
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [this.logGroup.logGroupArn],
      }),
    );

    this.function = new NodejsFunction(this, 'Function', {
      entry: path.join(REPO_ROOT, 'functions', 'handlers', `${props.handler}.ts`),
      handler: 'handler',
      projectRoot: REPO_ROOT,
      depsLockFilePath: path.join(REPO_ROOT, 'package-lock.json'),
      runtime: Runtime.NODEJS_22_X,
      architecture: Architecture.ARM_64,
      tracing: Tracing.ACTIVE,
      memorySize: props.memorySize ?? 256,
      timeout: props.timeout,
      role: this.role,
      logGroup: this.logGroup,
      description: props.description ?? `canary controller: ${props.handler}`,
      environment: {
        ...props.environment,
        NODE_OPTIONS: '--enable-source-maps',
        POWERTOOLS_SERVICE_NAME: props.serviceName ?? METRICS_SERVICE,
      },
      bundling: {
        // Offline and Docker-free: the repository's own esbuild (node_modules/.bin) bundles locally.
        forceDockerBundling: false,
        // Minified ESM for Node 22, linked source maps without sources, SDK bundled (infra/bundling.ts).
        minify: BUNDLING.minify,
        sourceMap: BUNDLING.sourceMap,
        sourcesContent: BUNDLING.sourcesContent,
        target: BUNDLING.target,
        format: OutputFormat.ESM,
        mainFields: [...BUNDLING.mainFields],
        externalModules: [...BUNDLING.externalModules],
        banner: BUNDLING.banner,
      },
    });
  }
}
