/** The fields of a service config that name AWS resources and the plan: route, deployer, steps (config.ts composes them). */

import { route53TrafficSchema } from './config-route53';
import { STEP_PRESET_NAMES, type StepPresetName, stepListProblems } from './plan';
import * as z from './zod';

export { repositoryName, serviceName } from './config-names';

const partition = 'aws(?:-[a-z]+)*';
const region = '[a-z]{2}(?:-[a-z]+)+-\\d';
const account = '\\d{12}';

/** A string matching a pattern, with the message a mismatch gives. */
const matching = (pattern: RegExp, message: string) => z.string().check(z.regex(pattern, message));

const listenerArn = matching(
  new RegExp(
    `^arn:${partition}:elasticloadbalancing:${region}:${account}:listener/app/[\\w-]+/[0-9a-f]+/[0-9a-f]+$`,
  ),
  'must be an Application Load Balancer listener ARN (arn:aws:elasticloadbalancing:<region>:<account>:listener/app/<name>/<id>/<id>)',
);
const listenerRuleArn = matching(
  new RegExp(
    `^arn:${partition}:elasticloadbalancing:${region}:${account}:listener-rule/app/[\\w-]+/[0-9a-f]+/[0-9a-f]+/[0-9a-f]+$`,
  ),
  'must be an Application Load Balancer listener rule ARN',
);
const targetGroupArn = matching(
  new RegExp(`^arn:${partition}:elasticloadbalancing:${region}:${account}:targetgroup/[\\w-]+/[0-9a-f]+$`),
  'must be a target group ARN (arn:aws:elasticloadbalancing:<region>:<account>:targetgroup/<name>/<id>)',
);
export const snsTopicArn = matching(
  new RegExp(`^arn:${partition}:sns:${region}:${account}:[\\w-]{1,256}(?:\\.fifo)?$`),
  'must be an SNS topic ARN',
);
export const secretArn = matching(
  new RegExp(`^arn:${partition}:secretsmanager:${region}:${account}:secret:.+$`),
  'must be a Secrets Manager ARN',
);

/** A customer managed KMS key, by key ARN (IAM grants on keys need the key ARN, not an alias). */
export const kmsKeyArn = matching(
  new RegExp(
    `^arn:${partition}:kms:${region}:${account}:key/(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32})$`,
  ),
  'must be a KMS key ARN (arn:aws:kms:<region>:<account>:key/<key id>)',
);

const headerRuleSchema = z.strictObject({
  /** Requests carrying this header with one of these values always go to the canary (internal users, testers). */
  header: matching(/^[A-Za-z0-9-]{1,40}$/, 'must be an HTTP header name'),
  /**
   * At most 3: ALB allows three comparison strings per condition and five per rule ("Listener rules for your
   * Application Load Balancer"); the header rule also copies the route rule's conditions, which Prepare counts.
   */
  values: z.array(z.string().check(z.minLength(1), z.maxLength(128))).check(z.minLength(1), z.maxLength(3)),
  /** Priority of the listener rule the controller manages for the header (1–50000, unique on the listener). */
  priority: z.int().check(z.gte(1), z.lte(50000)),
});

const albTrafficSchema = z
  .strictObject({
    kind: z.literal('alb'),
    listenerArn,
    /** Route through this rule's forward action instead of the listener's default action. */
    ruleArn: z.optional(listenerRuleArn),
    stableTargetGroupArn: targetGroupArn,
    canaryTargetGroupArn: targetGroupArn,
    /** Target-group stickiness during the rollout, so a user stays on one version (1–604800 s). */
    stickinessSeconds: z.optional(z.int().check(z.gte(1), z.lte(604800))),
    headerRule: z.optional(headerRuleSchema),
    /** The target groups' deregistration delay: how long in-flight requests may drain after weight 0. */
    deregistrationDelaySeconds: z._default(z.int().check(z.gte(0), z.lte(3600)), 300),
  })
  .check(
    z.refine((t) => t.stableTargetGroupArn !== t.canaryTargetGroupArn, {
      message: 'must differ from stableTargetGroupArn',
      path: ['canaryTargetGroupArn'],
    }),
    // A rule's ARN names its listener: listener-rule/app/<lb>/<lb id>/<listener id>/<rule id>.
    z.refine(
      (t) => !t.ruleArn || t.ruleArn.startsWith(`${t.listenerArn.replace(':listener/', ':listener-rule/')}/`),
      {
        message: 'must be a rule of traffic.listenerArn',
        path: ['ruleArn'],
      },
    ),
  );

/** How traffic moves: ALB weighted target groups (`alb`) or Route 53 weighted records (`route53`). */
export const trafficSchema = z.discriminatedUnion('kind', [albTrafficSchema, route53TrafficSchema], {
  error: (issue) =>
    issue.code === 'invalid_union' ? 'unknown traffic kind: expected "alb" or "route53"' : undefined,
});

export type AlbTrafficConfig = z.output<typeof albTrafficSchema>;

export { albTraffic, drainSeconds } from './routes';

/** An IAM role by ARN, as a task definition names its task and execution roles. */
const roleArn = matching(
  new RegExp(`^arn:${partition}:iam::${account}:role/[\\w+=,.@/-]{1,512}$`),
  'must be an IAM role ARN (arn:aws:iam::<account>:role/<name>)',
);

/** An ECS name or ARN (cluster, service, container): 1–255 characters. */
const name255 = z.string().check(z.minLength(1), z.maxLength(255));

const ecsDeployerSchema = z.strictObject({
  kind: z.literal('ecs'),
  cluster: name255,
  stableService: name255,
  canaryService: name255,
  /** The container whose image is replaced. */
  container: name255,
  /**
   * The task definition family of the stable service, in which canary revisions are registered (the controller
   * may register only in this family). Default: the stable service's name.
   */
  taskDefinitionFamily: z.optional(
    matching(/^[A-Za-z0-9_-]{1,255}$/, 'must be a task definition family (1–255 letters, digits, - and _)'),
  ),
  /** The task role and execution role of the stable task definition, if it has them: the only roles the controller may pass. */
  taskRoleArn: z.optional(roleArn),
  executionRoleArn: z.optional(roleArn),
});

export { taskDefinitionFamily } from './task-family';

const noDeployerSchema = z.strictObject({
  /** Someone else deploys the new version behind the canary target group; the two swap roles on promotion. */
  kind: z.literal('none'),
});

export const deployerSchema = z.discriminatedUnion('kind', [ecsDeployerSchema, noDeployerSchema], {
  error: (issue) =>
    issue.code === 'invalid_union' ? 'unknown deployer kind: expected "ecs" or "none"' : undefined,
});

const stepSchema = z
  .strictObject({
    weight: z.number(),
    bakeSeconds: z.int().check(z.gte(0), z.lte(86400)),
    approval: z.optional(z.boolean()),
  })
  .check(
    z.refine((s) => !(s.approval && s.bakeSeconds === 0), {
      message: 'a step that asks for approval needs a bake to judge (bakeSeconds > 0)',
      path: ['bakeSeconds'],
    }),
  );

export const stepsSchema = z
  .union([
    z.enum(STEP_PRESET_NAMES as [StepPresetName, ...StepPresetName[]], {
      error: `must be a preset (${STEP_PRESET_NAMES.join(', ')}) or a list of steps`,
    }),
    z.array(stepSchema),
  ])
  .check(
    z.superRefine((steps, ctx) => {
      if (typeof steps === 'string') return;
      for (const p of stepListProblems(steps)) {
        ctx.addIssue({
          code: 'custom',
          message: p.message,
          path: p.index === null ? [] : [p.index, 'weight'],
        });
      }
    }),
  );
