/**
 * The CDK app: one stack with an example service, synthesizable offline (no lookups, no Docker). `npm run synth`.
 * Account and region come from the CLI's profile when there is one, else the example's.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { REPO_ROOT } from './controller-function';
import { CanaryControllerStack, EXAMPLE_ACCOUNT, EXAMPLE_REGION, EXAMPLE_SERVICE } from './stack';

// Run by the CDK CLI (which sets CDK_OUTDIR) or directly (`tsx infra/app.ts`): either way into cdk.out.
// Your services: a JSON array of service configs in CANARY_SERVICES_FILE (validated at synth); else the example.
const servicesFile = process.env.CANARY_SERVICES_FILE;
const services = servicesFile ? JSON.parse(readFileSync(servicesFile, 'utf8')) : [EXAMPLE_SERVICE];

const app = new App({ outdir: process.env.CDK_OUTDIR ?? path.join(REPO_ROOT, 'cdk.out') });
new CanaryControllerStack(app, 'CanaryControllerStack', {
  env: {
    account: process.env.CDK_DEFAULT_ACCOUNT ?? EXAMPLE_ACCOUNT,
    region: process.env.CDK_DEFAULT_REGION ?? EXAMPLE_REGION,
  },
  description: 'Canary controller: Step Functions + Lambda canary rollouts for ECS services behind an ALB',
  controller: { services },
});
Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
app.synth();
