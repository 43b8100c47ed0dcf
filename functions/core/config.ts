import { analysisSchema, approvalsSchema, notificationsSchema, readinessSchema } from './config-analysis';
import { hooksSchema } from './config-hooks';
import { deployerSchema, repositoryName, serviceName, stepsSchema, trafficSchema } from './config-route';
import { exactRecordWeights, weightMessage } from './config-route53';
import { blueGreenSchema, strategyIssues, strategySchema } from './config-strategy';
import { parseConfig } from './config-validation';
import { ConfigInvalidError } from './errors';
import { stepSpecs } from './steps';
import { planLimitIssues } from './workflow-limits';
import * as z from './zod';

export { albTraffic, repositoryName, serviceName, taskDefinitionFamily } from './config-route';
export { stepSpecs } from './steps';

export const serviceConfigSchema = z.strictObject({
  service: serviceName,
  repository: repositoryName,
  /** Only tags matching this glob start a rollout (e.g. `v*`, `release-*`); all tags when absent. */
  tagPattern: z.optional(z.string().check(z.minLength(1), z.maxLength(128))),
  /**
   * Which ECR pushes start a rollout. ECR sends an event for every manifest pushed, tagged or not: the images of
   * each platform under a multi-arch index, and signatures, attestations and SBOMs that build tools push.
   * 'tagged-images' (default): tagged image manifests and indexes only; 'images': untagged ones too (deploying by
   * digest); 'all': every successful push, artifacts included.
   */
  pushes: z._default(z.enum(['tagged-images', 'images', 'all']), 'tagged-images'),
  traffic: trafficSchema,
  deployer: deployerSchema,
  /** 'canary' (default): the steps below; 'blueGreen': test traffic only, then all at once (core/config-strategy.ts). */
  strategy: strategySchema,
  /** The canary's steps: a preset or a list (required by strategy 'canary', refused by 'blueGreen'). */
  steps: z.optional(stepsSchema),
  /** Blue/green's test phase and rollback window: a preset or their durations (strategy 'blueGreen' only). */
  blueGreen: z.optional(blueGreenSchema),
  analysis: z.prefault(analysisSchema, {}),
  approvals: z.prefault(approvalsSchema, {}),
  readiness: z.prefault(readinessSchema, {}),
  notifications: z.prefault(notificationsSchema, {}),
  /** Tests and checks run at fixed points of the rollout (config-hooks.ts); none when absent. */
  hooks: z.optional(hooksSchema),
});

/**
 * A service config as config validation accepts it: its plan must also fit one execution (history events and
 * TimeoutSeconds, core/workflow-limits.ts). Kept off serviceConfigSchema, which re-checks the snapshot a running
 * execution carries: a rollout already running is never failed by a limit added after it started. Built on first
 * use: a Lambda that only reads rollout documents bundles neither it nor the limits.
 */
const validServiceConfigSchema = /* @__PURE__ */ z.lazy(() =>
  serviceConfigSchema.check(
    z.superRefine((c, ctx) => {
      const issues = strategyIssues(c);
      for (const issue of issues) ctx.addIssue({ code: 'custom', ...issue });
      if (issues.length > 0) return;
      const steps = stepSpecs(c);
      for (const issue of planLimitIssues({ ...c, steps })) ctx.addIssue({ code: 'custom', ...issue });
      if (c.traffic.kind !== 'route53') return;
      // Weighted records keep a step's share exactly or not at all (weights 0–255).
      steps.forEach((s, i) => {
        if (!exactRecordWeights(s.weight))
          ctx.addIssue({
            code: 'custom',
            path: Array.isArray(c.steps) ? ['steps', i, 'weight'] : ['steps'],
            message: weightMessage(s.weight),
          });
      });
    }),
  ),
);

export type ServiceConfigInput = z.input<typeof serviceConfigSchema>;
export type ServiceConfig = z.output<typeof serviceConfigSchema>;
export type TrafficConfig = ServiceConfig['traffic'];
export type DeployerConfig = ServiceConfig['deployer'];
export type AnalysisPolicy = ServiceConfig['analysis'];

/** An analysis policy on its own, defaults filled in (benchmarks, tools); throws zod's error on bad input. */
export function parseAnalysisPolicy(input: unknown = {}): AnalysisPolicy {
  return analysisSchema.parse(input);
}

export function parseServiceConfig(value: unknown, subject = 'service config'): ServiceConfig {
  return parseConfig(validServiceConfigSchema, value, subject);
}

/**
 * Several services. Names and repositories must be unique, and so must what their rollouts change: two services
 * weighting the same listener action or sharing a target group would fight over the same traffic.
 */
export function parseServiceConfigs(values: unknown): ServiceConfig[] {
  const schema = z.array(validServiceConfigSchema).check(
    z.superRefine((list, ctx) => {
      const seen = new Map<string, { index: number; field: string }>();
      list.forEach((c, i) => {
        const claims: [string, string, string][] = [
          ['service', 'service', c.service],
          ['repository', 'repository', c.repository],
          ...trafficClaims(c.traffic),
        ];
        for (const [field, kind, value] of claims) {
          const key = `${kind}:${value}`;
          const first = seen.get(key);
          if (first !== undefined) {
            ctx.addIssue({
              code: 'custom',
              path: [i, ...field.split('.')],
              message: `duplicates services[${first.index}].${first.field}`,
            });
          } else seen.set(key, { index: i, field });
        }
      });
    }),
  );
  return parseConfig(schema, values, 'services');
}

/** What a service's rollouts change (field, kind, value): no two services may share one. */
function trafficClaims(t: TrafficConfig): [string, string, string][] {
  if (t.kind === 'route53') {
    const records = `${t.hostedZoneId}/${t.recordName}/${t.recordType}`;
    return [
      ['traffic.recordName', 'route', `route53:${records}`],
      ['traffic.stable.targetGroupArn', 'targetGroup', t.stable.targetGroupArn],
      ['traffic.canary.targetGroupArn', 'targetGroup', t.canary.targetGroupArn],
    ];
  }
  return [
    [t.ruleArn ? 'traffic.ruleArn' : 'traffic.listenerArn', 'route', t.ruleArn ?? t.listenerArn],
    ['traffic.stableTargetGroupArn', 'targetGroup', t.stableTargetGroupArn],
    ['traffic.canaryTargetGroupArn', 'targetGroup', t.canaryTargetGroupArn],
  ];
}

/** The X-Ray groups a service's analysis reads: each must exist in the account (the preflight check looks). */
export function xrayGroupNames(config: ServiceConfig): string[] {
  const x = config.analysis.xray;
  return x ? [x.canaryGroup, x.stableGroup] : [];
}

/** Service configs as JSON text (the configs asset the deploy publishes): text that is not JSON is ConfigInvalid too. */
export function parseServiceConfigsJson(text: string, source: string): ServiceConfig[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new ConfigInvalidError(source, [{ path: '', message: `not JSON: ${(error as Error).message}` }]);
  }
  return parseServiceConfigs(parsed);
}
