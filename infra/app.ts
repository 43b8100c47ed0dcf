/**
 * The CDK app: one stack with your services (or an example service), synthesizable offline (no lookups, no
 * Docker). `npm run synth`.
 *
 * The stack is environment-agnostic: no account or region is fixed at synth time, so every ARN, condition and
 * the asset bucket name in the template use the AWS::AccountId, AWS::Region and AWS::Partition pseudo parameters,
 * which CloudFormation resolves in the account and region the template is deployed to (`cdk deploy` uses the
 * CLI's credentials and region).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { REPO_ROOT } from './controller-function';
import { CanaryControllerStack, EXAMPLE_SERVICE, STACK_NAME } from './stack';

// Run by the CDK CLI (which sets CDK_OUTDIR) or directly (`tsx infra/app.ts`): either way into cdk.out.
// Your services: a JSON array of service configs in CANARY_SERVICES_FILE (validated at synth); else the example.
const servicesFile = process.env.CANARY_SERVICES_FILE;
const services = servicesFile ? JSON.parse(readFileSync(servicesFile, 'utf8')) : [EXAMPLE_SERVICE];

const app = new App({ outdir: process.env.CDK_OUTDIR ?? path.join(REPO_ROOT, 'cdk.out') });
new CanaryControllerStack(app, STACK_NAME, {
  description: 'Canary controller: Step Functions + Lambda canary rollouts for ECS services behind an ALB',
  controller: { services },
});
Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
app.synth();
