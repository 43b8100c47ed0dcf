import { planStepSchema } from '../../core/plan-step';
import { deployedVersionSchema, type RolloutDoc, rolloutDocSchema, routeSchema } from '../../core/rollout';
import * as v from '../../core/valibot';

/**
 * The payloads the state machine hands to tasks. They are internal, but still checked at the boundary. Each schema
 * is marked pure, so a bundle keeps only those its task parses (the lazy ones are built on first use).
 */

export { planStepSchema, rolloutDocSchema, routeSchema };

/** What a caught error looks like in the state (Catch ResultPath). */
export const caughtErrorSchema = /* @__PURE__ */ v.lazy(() =>
  v.object({ Error: v.string(), Cause: v.nullish(v.string()) }),
);

export const rolloutInput = /* @__PURE__ */ v.lazy(() => v.object({ rollout: rolloutDocSchema }));
export const routedInput = /* @__PURE__ */ v.object({ rollout: rolloutDocSchema, route: routeSchema });
export const stepInput = /* @__PURE__ */ v.object({
  rollout: rolloutDocSchema,
  route: routeSchema,
  step: planStepSchema,
});
export const waitInput = /* @__PURE__ */ (() =>
  v.object({
    token: v.pipe(v.string(), v.minLength(1)),
    rollout: rolloutDocSchema,
    step: planStepSchema,
    seconds: v.pipe(v.int(), v.minValue(1)),
    /** Analyses of this step before this wait: with the step, the wait's order (core/rollout.ts waitSeq). */
    analyses: v.optional(v.pipe(v.int(), v.minValue(0)), 0),
    /** `failure`: the wait of a rollout paused on a failed analysis, for a retry or an abort (AwaitRetry). */
    kind: v.optional(v.picklist(['bake', 'failure']), 'bake'),
  }))();

/**
 * What the execution itself carries about a rollout (the workflow's `$.prepared`: Prepare's result, and how far a
 * promotion got), so that putting traffic back never needs the store.
 */
export const carriedStateSchema = /* @__PURE__ */ v.lazy(() =>
  v.object({
    route: v.optional(routeSchema),
    previousStable: v.optional(deployedVersionSchema),
    /** `promoting`: the stable service may run the new image; `finishing`: the promotion may have completed. */
    phase: v.optional(v.picklist(['promoting', 'finishing'])),
  }),
);
export type CarriedState = v.InferOutput<typeof carriedStateSchema>;

/** What putting traffic back did; the workflow hands it to the notification and to the record's repair. */
export const trafficOutcomeSchema = /* @__PURE__ */ v.lazy(() =>
  v.object({
    /** This rollout no longer weights the listener: 100% is on stable (verified), or it never held the service. */
    restored: v.boolean(),
    /** The weights were set and verified by this call (a route was known). */
    routed: v.boolean(),
    stableRestored: v.boolean(),
    canaryScaledDown: v.boolean(),
    /** The record shows the rollout promoted: nothing was undone and nobody is paged. */
    promoted: v.optional(v.boolean()),
    /** The store could not be read: decided from what the execution carries. */
    storeUnavailable: v.optional(v.boolean()),
  }),
);
export type TrafficOutcome = v.InferOutput<typeof trafficOutcomeSchema>;

/** The rollout document an execution was started with (its input's `rollout`), or undefined when it is not one. */
export function rolloutDocOf(input: string | null | undefined): RolloutDoc | undefined {
  if (!input) return undefined;
  try {
    const parsed = v.safeParse(rolloutDocSchema, (JSON.parse(input) as { rollout?: unknown }).rollout);
    return parsed.success ? parsed.output : undefined;
  } catch {
    return undefined;
  }
}

/** What a state's input carries about the rollout (`$.prepared`); empty when it carries nothing readable. */
export function carriedStateOf(stateInput: string | undefined): CarriedState {
  try {
    const prepared = (JSON.parse(stateInput ?? '{}') as { prepared?: unknown }).prepared;
    const parsed = v.safeParse(carriedStateSchema, prepared ?? {});
    return parsed.success ? parsed.output : {};
  } catch {
    return {};
  }
}
