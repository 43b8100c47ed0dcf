/**
 * A step of a rollout's plan as the execution carries it, checked by the tasks at run time (valibot): apart from
 * the plan maths (plan.ts), so the deploy-time config's publisher, which builds plans, carries no run-time validator.
 */
import * as v from './valibot';

export const planStepSchema = /* @__PURE__ */ (() =>
  v.strictObject({
    index: v.pipe(v.int(), v.minValue(0)),
    /**
     * Percent of live traffic on the canary target group during this step. 0: test traffic only, the header rule's
     * requests (the first step of a blue/green plan).
     */
    weight: v.pipe(v.number(), v.minValue(0), v.maxValue(100)),
    bakeSeconds: v.pipe(v.int(), v.minValue(0)),
    approval: v.boolean(),
    /** false: the whole bake is kept, whatever an analysis shows (blue/green's rollback window). Absent: true. */
    earlyPass: v.optional(v.literal(false)),
  }))();
export type PlanStep = v.InferOutput<typeof planStepSchema>;
