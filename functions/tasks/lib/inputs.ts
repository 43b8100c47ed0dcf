import { planStepSchema } from '../../core/plan';
import { deployedVersionSchema, type RolloutDoc, rolloutDocSchema, routeSchema } from '../../core/rollout';
import * as z from '../../core/zod';

/**
 * The payloads the state machine hands to tasks. They are internal, but still checked at the boundary. Each schema
 * is marked pure, so a bundle keeps only those its task parses (the lazy ones are built on first use).
 */

export { planStepSchema, rolloutDocSchema, routeSchema };

/** What a caught error looks like in the state (Catch ResultPath). */
export const caughtErrorSchema = /* @__PURE__ */ z.lazy(() =>
  z.object({ Error: z.string(), Cause: z.nullish(z.string()) }),
);

export const rolloutInput = /* @__PURE__ */ z.lazy(() => z.object({ rollout: rolloutDocSchema }));
export const routedInput = /* @__PURE__ */ z.object({ rollout: rolloutDocSchema, route: routeSchema });
export const stepInput = /* @__PURE__ */ z.object({
  rollout: rolloutDocSchema,
  route: routeSchema,
  step: planStepSchema,
});
export const waitInput = /* @__PURE__ */ (() =>
  z.object({
    token: z.string().check(z.minLength(1)),
    rollout: rolloutDocSchema,
    step: planStepSchema,
    seconds: z.int().check(z.gte(1)),
    /** Analyses of this step before this wait: with the step, the wait's order (core/rollout.ts waitSeq). */
    analyses: z._default(z.int().check(z.gte(0)), 0),
    /** `failure`: the wait of a rollout paused on a failed analysis, for a retry or an abort (AwaitRetry). */
    kind: z._default(z.enum(['bake', 'failure']), 'bake'),
  }))();

/**
 * What the execution itself carries about a rollout (the workflow's `$.prepared`: Prepare's result, and how far a
 * promotion got), so that putting traffic back never needs the store.
 */
export const carriedStateSchema = /* @__PURE__ */ z.lazy(() =>
  z.object({
    route: z.optional(routeSchema),
    previousStable: z.optional(deployedVersionSchema),
    /** `promoting`: the stable service may run the new image; `finishing`: the promotion may have completed. */
    phase: z.optional(z.enum(['promoting', 'finishing'])),
  }),
);
export type CarriedState = z.output<typeof carriedStateSchema>;

/** What putting traffic back did; the workflow hands it to the notification and to the record's repair. */
export const trafficOutcomeSchema = /* @__PURE__ */ z.lazy(() =>
  z.object({
    /** This rollout no longer weights the listener: 100% is on stable (verified), or it never held the service. */
    restored: z.boolean(),
    /** The weights were set and verified by this call (a route was known). */
    routed: z.boolean(),
    stableRestored: z.boolean(),
    canaryScaledDown: z.boolean(),
    /** The record shows the rollout promoted: nothing was undone and nobody is paged. */
    promoted: z.optional(z.boolean()),
    /** The store could not be read: decided from what the execution carries. */
    storeUnavailable: z.optional(z.boolean()),
  }),
);
export type TrafficOutcome = z.output<typeof trafficOutcomeSchema>;

/** The rollout document an execution was started with (its input's `rollout`), or undefined when it is not one. */
export function rolloutDocOf(input: string | null | undefined): RolloutDoc | undefined {
  if (!input) return undefined;
  try {
    const parsed = rolloutDocSchema.safeParse((JSON.parse(input) as { rollout?: unknown }).rollout);
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** What a state's input carries about the rollout (`$.prepared`); empty when it carries nothing readable. */
export function carriedStateOf(stateInput: string | undefined): CarriedState {
  try {
    const prepared = (JSON.parse(stateInput ?? '{}') as { prepared?: unknown }).prepared;
    const parsed = carriedStateSchema.safeParse(prepared ?? {});
    return parsed.success ? parsed.data : {};
  } catch {
    return {};
  }
}
