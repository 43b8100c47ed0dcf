import * as z from 'zod';
import {
  STEP_PRESET_NAMES,
  STEP_PRESETS,
  type StepPresetName,
  type StepSpec,
  stepListProblems,
} from './plan';
import { parseConfig } from './validation';
import { planLimitIssues } from './workflow-limits';

const partition = 'aws(?:-[a-z]+)*';
const region = '[a-z]{2}(?:-[a-z]+)+-\\d';
const account = '\\d{12}';

const listenerArn = z
  .string()
  .regex(
    new RegExp(
      `^arn:${partition}:elasticloadbalancing:${region}:${account}:listener/app/[\\w-]+/[0-9a-f]+/[0-9a-f]+$`,
    ),
    'must be an Application Load Balancer listener ARN (arn:aws:elasticloadbalancing:<region>:<account>:listener/app/<name>/<id>/<id>)',
  );
const listenerRuleArn = z
  .string()
  .regex(
    new RegExp(
      `^arn:${partition}:elasticloadbalancing:${region}:${account}:listener-rule/app/[\\w-]+/[0-9a-f]+/[0-9a-f]+/[0-9a-f]+$`,
    ),
    'must be an Application Load Balancer listener rule ARN',
  );
const targetGroupArn = z
  .string()
  .regex(
    new RegExp(`^arn:${partition}:elasticloadbalancing:${region}:${account}:targetgroup/[\\w-]+/[0-9a-f]+$`),
    'must be a target group ARN (arn:aws:elasticloadbalancing:<region>:<account>:targetgroup/<name>/<id>)',
  );
const snsTopicArn = z
  .string()
  .regex(
    new RegExp(`^arn:${partition}:sns:${region}:${account}:[\\w-]{1,256}(?:\\.fifo)?$`),
    'must be an SNS topic ARN',
  );
const secretArn = z
  .string()
  .regex(
    new RegExp(`^arn:${partition}:secretsmanager:${region}:${account}:secret:.+$`),
    'must be a Secrets Manager ARN',
  );

/** A customer managed KMS key, by key ARN (IAM grants on keys need the key ARN, not an alias). */
const kmsKeyArn = z
  .string()
  .regex(
    new RegExp(
      `^arn:${partition}:kms:${region}:${account}:key/(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32})$`,
    ),
    'must be a KMS key ARN (arn:aws:kms:<region>:<account>:key/<key id>)',
  );

/** Service names become part of Step Functions execution names (80 chars, [A-Za-z0-9-_]). */
export const serviceName = z
  .string()
  .regex(/^[a-z][a-z0-9-]{0,39}$/, 'must be 1–40 characters of a-z, 0-9 and -, starting with a letter');

/** ECR repository names: lowercase, may contain / . _ - (e.g. team/payments-api). */
export const repositoryName = z
  .string()
  .regex(
    /^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*\/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$/,
    'must be an ECR repository name',
  )
  .max(256);

const headerRuleSchema = z.strictObject({
  /** Requests carrying this header with one of these values always go to the canary (internal users, testers). */
  header: z.string().regex(/^[A-Za-z0-9-]{1,40}$/, 'must be an HTTP header name'),
  /**
   * At most 3: ALB allows three comparison strings per condition and five per rule ("Listener rules for your
   * Application Load Balancer"); the header rule also copies the route rule's conditions, which Prepare counts.
   */
  values: z.array(z.string().min(1).max(128)).min(1).max(3),
  /** Priority of the listener rule the controller manages for the header (1–50000, unique on the listener). */
  priority: z.int().min(1).max(50000),
});

const trafficSchema = z
  .strictObject({
    kind: z.literal('alb'),
    listenerArn,
    /** Route through this rule's forward action instead of the listener's default action. */
    ruleArn: listenerRuleArn.optional(),
    stableTargetGroupArn: targetGroupArn,
    canaryTargetGroupArn: targetGroupArn,
    /** Target-group stickiness during the rollout, so a user stays on one version (1–604800 s). */
    stickinessSeconds: z.int().min(1).max(604800).optional(),
    headerRule: headerRuleSchema.optional(),
    /** The target groups' deregistration delay: how long in-flight requests may drain after weight 0. */
    deregistrationDelaySeconds: z.int().min(0).max(3600).default(300),
  })
  .refine((t) => t.stableTargetGroupArn !== t.canaryTargetGroupArn, {
    message: 'must differ from stableTargetGroupArn',
    path: ['canaryTargetGroupArn'],
  })
  // A rule's ARN names its listener: listener-rule/app/<lb>/<lb id>/<listener id>/<rule id>.
  .refine(
    (t) => !t.ruleArn || t.ruleArn.startsWith(`${t.listenerArn.replace(':listener/', ':listener-rule/')}/`),
    {
      message: 'must be a rule of traffic.listenerArn',
      path: ['ruleArn'],
    },
  );

/** An IAM role by ARN, as a task definition names its task and execution roles. */
const roleArn = z
  .string()
  .regex(
    new RegExp(`^arn:${partition}:iam::${account}:role/[\\w+=,.@/-]{1,512}$`),
    'must be an IAM role ARN (arn:aws:iam::<account>:role/<name>)',
  );

const ecsDeployerSchema = z.strictObject({
  kind: z.literal('ecs'),
  cluster: z.string().min(1).max(255),
  stableService: z.string().min(1).max(255),
  canaryService: z.string().min(1).max(255),
  /** The container whose image is replaced. */
  container: z.string().min(1).max(255),
  /**
   * The task definition family of the stable service, in which canary revisions are registered (the controller
   * may register only in this family). Default: the stable service's name.
   */
  taskDefinitionFamily: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,255}$/, 'must be a task definition family (1–255 letters, digits, - and _)')
    .optional(),
  /** The task role and execution role of the stable task definition, if it has them: the only roles the controller may pass. */
  taskRoleArn: roleArn.optional(),
  executionRoleArn: roleArn.optional(),
});

/** The family canary revisions are registered in: the configured one, else the stable service's name. */
export function taskDefinitionFamily(d: { stableService: string; taskDefinitionFamily?: string }): string {
  return d.taskDefinitionFamily ?? d.stableService.slice(d.stableService.lastIndexOf('/') + 1);
}

const noDeployerSchema = z.strictObject({
  /** Someone else deploys the new version behind the canary target group; the two swap roles on promotion. */
  kind: z.literal('none'),
});

const deployerSchema = z.discriminatedUnion('kind', [ecsDeployerSchema, noDeployerSchema], {
  error: (issue) =>
    issue.code === 'invalid_union' ? 'unknown deployer kind: expected "ecs" or "none"' : undefined,
});

const stepSchema = z
  .strictObject({
    weight: z.number(),
    bakeSeconds: z.int().min(0).max(86400),
    approval: z.boolean().optional(),
  })
  .refine((s) => !(s.approval && s.bakeSeconds === 0), {
    message: 'a step that asks for approval needs a bake to judge (bakeSeconds > 0)',
    path: ['bakeSeconds'],
  });

const stepsSchema = z
  .union([
    z.enum(STEP_PRESET_NAMES as [StepPresetName, ...StepPresetName[]], {
      error: `must be a preset (${STEP_PRESET_NAMES.join(', ')}) or a list of steps`,
    }),
    z.array(stepSchema),
  ])
  .superRefine((steps, ctx) => {
    if (typeof steps === 'string') return;
    for (const p of stepListProblems(steps)) {
      ctx.addIssue({ code: 'custom', message: p.message, path: p.index === null ? [] : [p.index, 'weight'] });
    }
  });

/**
 * An X-Ray group name: 1–32 characters (X-Ray API reference, CreateGroup and GetTimeSeriesServiceStatistics:
 * GroupName). `Default` is X-Ray's reserved group of every trace, so it cannot stand for one version.
 */
const xrayGroupName = z
  .string()
  .min(1, 'must be an X-Ray group name (1–32 characters)')
  .max(32, 'must be an X-Ray group name (1–32 characters)')
  .refine((name) => name !== 'Default', {
    message: '"Default" is X-Ray\'s group of all traces: it cannot tell the versions apart',
  });

/**
 * Judge the versions on X-Ray trace statistics as well as the load balancer's metrics: one X-Ray group per version,
 * whose filter expression selects that version's traces (e.g. `annotation.deployment = "canary"`). The groups must
 * exist before the rollout (X-Ray files traces into a group as they arrive; a group created later holds nothing
 * earlier): the preflight check looks for them (xrayGroupNames).
 */
const xraySchema = z
  .strictObject({
    canaryGroup: xrayGroupName,
    stableGroup: xrayGroupName,
    /**
     * Required: the service whose own statistics are judged (GetTimeSeriesServiceStatistics'
     * EntitySelectorExpression, e.g. `service("web")`; 1–500 characters). Without one X-Ray returns edge statistics
     * (API reference: "If no selector expression is specified, edge statistics are returned"): one request would
     * count once per edge it crosses (client → app and every downstream call), which the sequential test, built on
     * one trial per request, must not see. A service node's statistics come from its own segments (X-Ray developer
     * guide, "Concepts": the service graph's nodes use the service's segments, its edges the caller's subsegments).
     */
    entitySelectorExpression: z
      .string({
        error: (issue) =>
          issue.input === undefined
            ? 'required: the service whose own statistics are judged, e.g. service("<name>") (the X-Ray service name of the app\'s segments)'
            : 'must be a string',
      })
      .min(1, 'must be an X-Ray entity selector (1–500 characters)')
      .max(500, 'must be an X-Ray entity selector (1–500 characters)')
      .refine((s) => /^\s*(service|id)\(/.test(s) && !/\bedge\(/.test(s), {
        message:
          'must select one service node, service("<name>") or id(...): edge selectors count a request once per edge',
      }),
  })
  .refine((x) => x.canaryGroup !== x.stableGroup, {
    message: 'must differ from stableGroup: one group per version',
    path: ['canaryGroup'],
  });

const analysisSchema = z.strictObject({
  /** Canary requests needed in the window before the judge gives a verdict; below it the step is extended. */
  minRequests: z.int().min(1).default(200),
  /**
   * How many times an inconclusive analysis may extend the bake, and by how long each time. Only a canary that looks
   * worse without conclusive evidence uses them (too little traffic waits without using any). Default 10: such holds
   * mostly resolve within ten minutes, one way or the other (bench/judge: with 3, 0.5–0.8% of harmless canaries were
   * rolled back at the end of their extensions; with 10, 0.1–0.35%, no more than with unlimited extensions).
   */
  maxExtensions: z.int().min(0).max(100).default(10),
  extensionSeconds: z.int().min(1).max(3600).default(60),
  /** What to do when the extensions run out without a verdict. */
  onInconclusive: z.enum(['rollback', 'advance']).default('rollback'),
  /**
   * The canary's warm-up: latency is not judged on its first warmupSeconds (a new version is often slow while JIT,
   * caches and connection pools warm up); errors count from the first request. Optional: the judge applies 120.
   */
  warmupSeconds: z.int().min(0).max(3600).optional(),
  /**
   * How often the canary is judged during a bake (the load balancer's metrics are per minute, so at least 60). A
   * failing verdict rolls back at once, mid-bake; see earlyPass. Optional: 60.
   */
  intervalSeconds: z.int().min(60).max(3600).optional(),
  /**
   * How long after a period ends its metrics are taken as complete: an analysis judges only the periods that ended
   * at least this long ago. ALB measures and sends its metrics every 60 s from each load balancer node ("CloudWatch
   * metrics for your Application Load Balancer"), so a minute is complete only after the last node's report for it
   * has arrived and been aggregated; CloudWatch documents no bound on that. Optional: 120 (one reporting interval,
   * and one more for the reports to land). Larger is safer and slower; smaller risks judging a minute still filling.
   * Each step bakes this much longer, so that its last analysis judges its whole bake.
   */
  metricDelaySeconds: z.int().min(0).max(900).optional(),
  /**
   * Advance a step before its bake ends once every sequential test shows the canary not worse than the baseline
   * (passRatio). Optional: true. The last step (no baseline left to compare with) always bakes in full.
   */
  earlyPass: z.boolean().optional(),
  /**
   * The smallest regression that matters, as a ratio of the canary's rate to stable's (1.3: 30% more errors or slow
   * requests). A step passes early only once every sequential test shows the canary below it (at alpha), so a canary
   * this much worse or more passes early with probability ≤ alpha. errorRate.passRatio and latency.passRatio, when
   * set, override it for their test. Optional: 1.5.
   */
  minimumRegression: z
    .number({ error: 'must be a number: a ratio above 1, e.g. 1.3 for a canary 30% worse than stable' })
    .gt(1, 'must be a ratio above 1, e.g. 1.3 for a canary 30% worse than stable')
    .max(101, 'must be at most 101')
    .optional(),
  errorRate: z
    .strictObject({
      /**
       * The canary fails when its error rate is shown above (1 + tolerance) × the baseline's. Default 0: any higher
       * error rate, once the evidence shows it (at a 1% baseline a doubled rate is caught in a median of about
       * 1,500 canary requests; 0.2 takes about 2,700, bench/judge). Raise it when the canary's traffic differs from
       * the stable version's in ways that are not the release's fault (testers routed by the header rule, another
       * AZ mix): at high traffic even a small systematic difference is eventually shown.
       */
      tolerance: z.number().min(0).max(100).default(0),
      /**
       * With no concurrent stable traffic to compare with (the 100% step), the canary fails above this absolute
       * error rate (or max, if lower). With a baseline the sequential test judges, against the ratio alone: a
       * doubled rate at a 0.1% baseline is a regression to catch, not noise.
       */
      minIncrease: z.number().min(0).max(1).default(0.005),
      /** Absolute ceiling: the canary fails above this error rate whatever the baseline does. */
      max: z.number().min(0).max(1).default(0.05),
      /**
       * False-rollback level of the whole judge (default 0.01): a canary no worse than (1 + tolerance) × the
       * baseline is failed by the sequential tests with probability ≤ alpha, however often it is analysed. The tests
       * split it (core/judge.ts): with slow-request counts the error-rate test gets 80% and the latency tests share
       * the rest; with X-Ray statistics the load balancer's tests and X-Ray's get half each, split the same way.
       * Optional: the judge applies the default.
       */
      alpha: z.number().gt(0).max(0.5).optional(),
      /**
       * Early pass: the canary is "not worse" once its error rate is shown (at the same alpha) to be below
       * passRatio × the baseline's. Default max(1 + tolerance, 1.5).
       */
      passRatio: z.number().min(1).max(101).optional(),
    })
    .prefault({}),
  latency: z
    .strictObject({
      /** The canary fails when its p99 is above (1 + tolerance) × the baseline's p99... */
      p99Tolerance: z.number().min(0).max(100).default(0.25),
      /** ...and above it by at least this many milliseconds. */
      p99MinIncreaseMs: z.number().min(0).default(25),
      /** Absolute ceiling on the canary's p99, in milliseconds. */
      p99MaxMs: z.number().positive().optional(),
      /**
       * When the metric source counts slow requests (above a threshold from the baseline), the canary fails when its
       * share of slow requests is shown to be above (1 + slowTolerance) × the baseline's. Default 0.
       */
      slowTolerance: z.number().min(0).max(100).optional(),
      /** Early pass on latency once the slow share is shown below passRatio × the baseline's. Default 1.5. */
      passRatio: z.number().min(1).max(101).optional(),
    })
    .prefault({}),
  /** CloudWatch alarms that gate the rollout: ALARM rolls back at once. */
  alarms: z.array(z.string().min(1).max(255)).max(20).default([]),
  /**
   * What an analysis does when the listener no longer gives the canary the share the rollout set (its weights were
   * changed outside the rollout): `rollback` (TrafficDrifted) or `pause`: judge nothing, leave the weights as they
   * are found and wait for a person through the approval wait (approvals.timeoutSeconds and onTimeout apply);
   * approving writes the step's weights again and bakes the step again, rejecting rolls back.
   */
  onDrift: z.enum(['rollback', 'pause']).default('rollback'),
  /** Optional: X-Ray statistics per version, judged beside the load balancer's metrics (see xraySchema). */
  xray: xraySchema.optional(),
});

const approvalsSchema = z.strictObject({
  timeoutSeconds: z
    .int()
    .min(1)
    .max(7 * 86400)
    .default(3600),
  onTimeout: z.enum(['rollback', 'approve']).default('rollback'),
});

const readinessSchema = z.strictObject({
  timeoutSeconds: z.int().min(10).max(3600).default(600),
  pollSeconds: z.int().min(1).max(300).default(15),
});

const notificationsSchema = z
  .strictObject({
    snsTopicArn: snsTopicArn.optional(),
    /** The customer managed key the topic is encrypted with, if any: publishers get GenerateDataKey/Decrypt on it. */
    snsKmsKeyArn: kmsKeyArn.optional(),
    pagerDuty: z
      .strictObject({
        routingKeySecretArn: secretArn,
        /** The customer managed key the secret is encrypted with, if any: readers get Decrypt on it. */
        kmsKeyArn: kmsKeyArn.optional(),
      })
      .optional(),
    /** Base URL of the approval page and reports, for links in notifications. */
    consoleUrl: z.url().optional(),
  })
  .refine((n) => n.snsKmsKeyArn === undefined || n.snsTopicArn !== undefined, {
    message: 'a key for the topic needs the topic: set snsTopicArn too',
    path: ['snsKmsKeyArn'],
  });

export const serviceConfigSchema = z.strictObject({
  service: serviceName,
  repository: repositoryName,
  /** Only tags matching this glob start a rollout (e.g. `v*`, `release-*`); all tags when absent. */
  tagPattern: z.string().min(1).max(128).optional(),
  /**
   * Which ECR pushes start a rollout. ECR sends an event for every manifest pushed, tagged or not: the images of
   * each platform under a multi-arch index, and signatures, attestations and SBOMs that build tools push.
   * 'tagged-images' (default): tagged image manifests and indexes only; 'images': untagged ones too (deploying by
   * digest); 'all': every successful push, artifacts included.
   */
  pushes: z.enum(['tagged-images', 'images', 'all']).default('tagged-images'),
  traffic: trafficSchema,
  deployer: deployerSchema,
  steps: stepsSchema,
  analysis: analysisSchema.prefault({}),
  approvals: approvalsSchema.prefault({}),
  readiness: readinessSchema.prefault({}),
  notifications: notificationsSchema.prefault({}),
});

/**
 * A service config as config validation accepts it: its plan must also fit one execution (history events and
 * TimeoutSeconds, core/workflow-limits.ts). Kept off serviceConfigSchema, which re-checks the snapshot a running
 * execution carries: a rollout already running is never failed by a limit added after it started.
 */
const validServiceConfigSchema = serviceConfigSchema.superRefine((c, ctx) => {
  const steps = typeof c.steps === 'string' ? STEP_PRESETS[c.steps] : c.steps;
  for (const issue of planLimitIssues({ ...c, steps })) ctx.addIssue({ code: 'custom', ...issue });
});

export type ServiceConfigInput = z.input<typeof serviceConfigSchema>;
export type ServiceConfig = z.output<typeof serviceConfigSchema>;
export type TrafficConfig = ServiceConfig['traffic'];
export type DeployerConfig = ServiceConfig['deployer'];
export type AnalysisPolicy = ServiceConfig['analysis'];

/** An analysis policy on its own, defaults filled in (benchmarks, tools); throws a ZodError on bad input. */
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
  const schema = z.array(validServiceConfigSchema).superRefine((list, ctx) => {
    const seen = new Map<string, { index: number; field: string }>();
    list.forEach((c, i) => {
      const claims: [string, string, string][] = [
        ['service', 'service', c.service],
        ['repository', 'repository', c.repository],
        [
          c.traffic.ruleArn ? 'traffic.ruleArn' : 'traffic.listenerArn',
          'route',
          c.traffic.ruleArn ?? c.traffic.listenerArn,
        ],
        ['traffic.stableTargetGroupArn', 'targetGroup', c.traffic.stableTargetGroupArn],
        ['traffic.canaryTargetGroupArn', 'targetGroup', c.traffic.canaryTargetGroupArn],
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
  });
  return parseConfig(schema, values, 'services');
}

/** The X-Ray groups a service's analysis reads: each must exist in the account (the preflight check looks). */
export function xrayGroupNames(config: ServiceConfig): string[] {
  const x = config.analysis.xray;
  return x ? [x.canaryGroup, x.stableGroup] : [];
}

export function stepSpecs(config: ServiceConfig): readonly StepSpec[] {
  return typeof config.steps === 'string' ? STEP_PRESETS[config.steps] : config.steps;
}
