import * as z from 'zod';
import { serviceConfigSchema } from '../../core/config';

/** The payloads the state machine hands to tasks. They are internal, but still checked at the boundary. */

const digest = z.string().regex(/^sha256:[0-9a-f]{64}$/);

export const imageSchema = z.strictObject({
  repository: z.string().min(1),
  digest,
  tag: z.string().optional(),
});

export const planStepSchema = z.strictObject({
  index: z.int().min(0),
  weight: z.number().gt(0).max(100),
  bakeSeconds: z.int().min(0),
  approval: z.boolean(),
});

export const rolloutDocSchema = z.strictObject({
  rolloutId: z.string().regex(/^[A-Za-z0-9_-]{1,80}$/),
  service: z.string().min(1),
  image: imageSchema,
  config: serviceConfigSchema,
  plan: z.array(planStepSchema).min(1),
  trigger: z.enum(['ecr-push', 'deploy-requested']),
  requestedAt: z.string().min(1),
});

export const routeSchema = z.strictObject({
  listenerArn: z.string().min(1),
  ruleArn: z.string().min(1).optional(),
  stableTargetGroupArn: z.string().min(1),
  canaryTargetGroupArn: z.string().min(1),
  stickinessSeconds: z.int().optional(),
  headerRule: z
    .strictObject({ header: z.string(), values: z.array(z.string()), priority: z.int() })
    .optional(),
});

/** What a caught error looks like in the state (Catch ResultPath). */
export const caughtErrorSchema = z.object({ Error: z.string(), Cause: z.string().nullish() });

export const rolloutInput = z.object({ rollout: rolloutDocSchema });
export const routedInput = z.object({ rollout: rolloutDocSchema, route: routeSchema });
export const stepInput = z.object({ rollout: rolloutDocSchema, route: routeSchema, step: planStepSchema });
export const waitInput = z.object({
  token: z.string().min(1),
  rollout: rolloutDocSchema,
  step: planStepSchema,
  seconds: z.int().min(1),
  /** Analyses of this step before this wait: with the step, the wait's order (core/rollout.ts waitSeq). */
  analyses: z.int().min(0).default(0),
});

export const deployedVersionSchema = z.strictObject({
  image: z.string().min(1),
  revision: z.string().min(1).optional(),
});

/** What the execution carries for a rollback (`$.prepared`: Prepare's result, and how far a promotion got). */
export const carriedStateSchema = z.object({
  route: routeSchema.optional(),
  previousStable: deployedVersionSchema.optional(),
  phase: z.enum(['promoting', 'finishing']).optional(),
});

/** What the traffic phase of a rollback did (procedures.ts TrafficOutcome). */
export const trafficOutcomeSchema = z.object({
  restored: z.boolean(),
  routed: z.boolean(),
  stableRestored: z.boolean(),
  canaryScaledDown: z.boolean(),
  promoted: z.boolean().optional(),
  storeUnavailable: z.boolean().optional(),
});

/** The rollout document an execution was started with (its input's `rollout`), or undefined when it is not one. */
export function rolloutDocOf(input: string | null | undefined): z.infer<typeof rolloutDocSchema> | undefined {
  if (!input) return undefined;
  try {
    const parsed = rolloutDocSchema.safeParse((JSON.parse(input) as { rollout?: unknown }).rollout);
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** What a state's input carries about the rollout (`$.prepared`); empty when it carries nothing readable. */
export function carriedStateOf(stateInput: string | undefined): z.infer<typeof carriedStateSchema> {
  try {
    const prepared = (JSON.parse(stateInput ?? '{}') as { prepared?: unknown }).prepared;
    const parsed = carriedStateSchema.safeParse(prepared ?? {});
    return parsed.success ? parsed.data : {};
  } catch {
    return {};
  }
}
