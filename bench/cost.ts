/**
 * `npm run bench -- cost [--json]`: what the controller costs by the month when nothing rolls out, for 20 and for 500
 * services, from the resources of the synthesized templates: today's layout (one dashboard per service, and at most
 * three services per stack, each stack with its own key, secrets and alarms) against one controller with one
 * dashboard. Everything else it deploys is paid per use (Lambda, Step Functions, EventBridge, SQS, SNS, on-demand
 * DynamoDB, the HTTP API) and costs nothing idle but a few cents of storage, left out.
 *
 * Prices, US East (N. Virginia), from AWS's pricing pages, free tiers left out (they are per account, shared with
 * everything else in it):
 * - Amazon CloudWatch pricing (aws.amazon.com/cloudwatch/pricing): a dashboard $3.00 a month; a standard-resolution
 *   alarm $0.10 per alarm metric a month.
 * - AWS Key Management Service pricing (aws.amazon.com/kms/pricing): a customer managed key $1.00 a month.
 * - AWS Secrets Manager pricing (aws.amazon.com/secrets-manager/pricing): a secret $0.40 a month.
 */
import { App } from 'aws-cdk-lib';
import type { ServiceConfigInput } from '../functions/core/config';
import { CanaryControllerStack } from '../infra/stack';
import { generatedServices } from '../test/infra/generated-services';

/** Monthly price of one idle resource of each type that costs by the month (US East (N. Virginia)). */
export const MONTHLY_USD: Record<string, { usd: number; per: string }> = {
  'AWS::CloudWatch::Dashboard': { usd: 3.0, per: 'dashboard' },
  'AWS::CloudWatch::Alarm': { usd: 0.1, per: 'alarm metric' },
  'AWS::KMS::Key': { usd: 1.0, per: 'key' },
  'AWS::SecretsManager::Secret': { usd: 0.4, per: 'secret' },
};

/** Services per stack in the layout where configs travel in the Lambda environment (4 KB in all). */
const SERVICES_PER_STACK_BEFORE = 3;

// biome-ignore lint/suspicious/noExplicitAny: synthesized CloudFormation is untyped JSON
type Resource = { Type: string; Properties?: any };

/** Billed units per priced resource type: an alarm counts each metric it evaluates. */
export function billedUnits(resources: Record<string, Resource>): Record<string, number> {
  const units: Record<string, number> = {};
  for (const r of Object.values(resources)) {
    if (!(r.Type in MONTHLY_USD)) continue;
    const n =
      r.Type === 'AWS::CloudWatch::Alarm' && Array.isArray(r.Properties?.Metrics)
        ? r.Properties.Metrics.filter((m: { MetricStat?: unknown }) => m.MetricStat).length
        : 1;
    units[r.Type] = (units[r.Type] ?? 0) + n;
  }
  return units;
}

export const monthlyUsd = (units: Record<string, number>) =>
  Object.entries(units).reduce((sum, [type, n]) => sum + n * (MONTHLY_USD[type]?.usd ?? 0), 0);

const scale = (units: Record<string, number>, k: number) =>
  Object.fromEntries(Object.entries(units).map(([t, n]) => [t, n * k]));
const add = (a: Record<string, number>, b: Record<string, number>) => {
  const out = { ...a };
  for (const [t, n] of Object.entries(b)) out[t] = (out[t] ?? 0) + n;
  return out;
};

function synthesize(app: App, id: string, services: ServiceConfigInput[], perServiceDashboards: boolean) {
  return new CanaryControllerStack(app, id, {
    env: { account: '123456789012', region: 'us-east-1' },
    controller: {
      services,
      approvalPage: true,
      ...(perServiceDashboards ? { serviceDashboards: services.map((s) => s.service as string) } : {}),
    },
  });
}

export interface CostRow {
  services: number;
  layout: 'before' | 'after';
  stacks: number;
  units: Record<string, number>;
  usd: number;
}

export function costRows(counts: number[]): CostRow[] {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const all = generatedServices(Math.max(...counts));
  const before = new Map<number, CanaryControllerStack>();
  const stackOf = (n: number) => {
    if (!before.has(n)) before.set(n, synthesize(app, `Before${n}`, all.slice(0, n), true));
    return before.get(n) as CanaryControllerStack;
  };
  const after = counts.map((n) => [n, synthesize(app, `After${n}`, all.slice(0, n), false)] as const);
  const full = Math.floor;
  for (const n of counts) {
    stackOf(SERVICES_PER_STACK_BEFORE);
    if (n % SERVICES_PER_STACK_BEFORE) stackOf(n % SERVICES_PER_STACK_BEFORE);
  }
  const assembly = app.synth();
  const unitsOf = (stack: CanaryControllerStack) =>
    billedUnits(assembly.getStackByName(stack.stackName).template.Resources);
  // Today's stacks have their services' dashboards only: the controller's dashboard with the service picker is new.
  const beforeUnitsOf = (stack: CanaryControllerStack) => {
    const units = unitsOf(stack);
    return { ...units, 'AWS::CloudWatch::Dashboard': (units['AWS::CloudWatch::Dashboard'] ?? 1) - 1 };
  };
  const rows: CostRow[] = [];
  for (const [n, stack] of after) {
    // Today: full stacks of three services, and one with the rest; every stack alike but for its services.
    const stacks = full(n / SERVICES_PER_STACK_BEFORE);
    const rest = n % SERVICES_PER_STACK_BEFORE;
    const beforeUnits = add(
      scale(beforeUnitsOf(stackOf(SERVICES_PER_STACK_BEFORE)), stacks),
      rest ? beforeUnitsOf(stackOf(rest)) : {},
    );
    rows.push({
      services: n,
      layout: 'before',
      stacks: stacks + (rest ? 1 : 0),
      units: beforeUnits,
      usd: monthlyUsd(beforeUnits),
    });
    const afterUnits = unitsOf(stack);
    rows.push({ services: n, layout: 'after', stacks: 1, units: afterUnits, usd: monthlyUsd(afterUnits) });
  }
  return rows;
}

export async function costBench(args: string[]): Promise<void> {
  const rows = costRows([20, 500]);
  if (args.includes('--json')) {
    process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
    return;
  }
  const unit = (r: CostRow, type: string) => String(r.units[type] ?? 0);
  const lines = [
    'Idle cost per month, US East (N. Virginia): dashboards $3.00, alarm metrics $0.10, KMS keys $1.00, secrets $0.40',
    '',
    '| services | layout | stacks | dashboards | alarm metrics | KMS keys | secrets | USD / month |',
    '| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...rows.map(
      (r) =>
        `| ${r.services} | ${r.layout === 'before' ? 'a dashboard per service, 3 services a stack' : 'one controller, one dashboard'} | ${r.stacks} | ${unit(r, 'AWS::CloudWatch::Dashboard')} | ${unit(r, 'AWS::CloudWatch::Alarm')} | ${unit(r, 'AWS::KMS::Key')} | ${unit(r, 'AWS::SecretsManager::Secret')} | ${r.usd.toFixed(2)} |`,
    ),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}
