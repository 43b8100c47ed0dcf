/** The fields of a service config that say how a rollout is judged, held and announced (config.ts composes them). */

import { customMetricsSchema, ecsMetricsSchema } from './config-metrics';
import { kmsKeyArn, secretArn, snsTopicArn } from './config-route';
import * as z from './zod';

/**
 * An X-Ray group name: 1–32 characters (X-Ray API reference, CreateGroup and GetTimeSeriesServiceStatistics:
 * GroupName). `Default` is X-Ray's reserved group of every trace, so it cannot stand for one version.
 */
const xrayGroupName = z.string().check(
  z.minLength(1, 'must be an X-Ray group name (1–32 characters)'),
  z.maxLength(32, 'must be an X-Ray group name (1–32 characters)'),
  z.refine((name) => name !== 'Default', {
    message: '"Default" is X-Ray\'s group of all traces: it cannot tell the versions apart',
  }),
);

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
      .check(
        z.minLength(1, 'must be an X-Ray entity selector (1–500 characters)'),
        z.maxLength(500, 'must be an X-Ray entity selector (1–500 characters)'),
        z.refine((s) => /^\s*(service|id)\(/.test(s) && !/\bedge\(/.test(s), {
          message:
            'must select one service node, service("<name>") or id(...): edge selectors count a request once per edge',
        }),
      ),
  })
  .check(
    z.refine((x) => x.canaryGroup !== x.stableGroup, {
      message: 'must differ from stableGroup: one group per version',
      path: ['canaryGroup'],
    }),
  );

export const analysisSchema = z.strictObject({
  /** Canary requests needed in the window before the judge gives a verdict; below it the step is extended. */
  minRequests: z._default(z.int().check(z.gte(1)), 200),
  /**
   * How many times an inconclusive analysis may extend the bake, and by how long each time. Only a canary that looks
   * worse without conclusive evidence uses them (too little traffic waits without using any). Default 10: such holds
   * mostly resolve within ten minutes, one way or the other (bench/judge: with 3, 0.5–0.8% of harmless canaries were
   * rolled back at the end of their extensions; with 10, 0.1–0.35%, no more than with unlimited extensions).
   */
  maxExtensions: z._default(z.int().check(z.gte(0), z.lte(100)), 10),
  extensionSeconds: z._default(z.int().check(z.gte(1), z.lte(3600)), 60),
  /** What to do when the extensions run out without a verdict. */
  onInconclusive: z._default(z.enum(['rollback', 'advance']), 'rollback'),
  /**
   * The canary's warm-up: latency is not judged on its first warmupSeconds (a new version is often slow while JIT,
   * caches and connection pools warm up); errors count from the first request. Optional: the judge applies 120.
   */
  warmupSeconds: z.optional(z.int().check(z.gte(0), z.lte(3600))),
  /**
   * How often the canary is judged during a bake (the load balancer's metrics are per minute, so at least 60). A
   * failing verdict rolls back at once, mid-bake; see earlyPass. Optional: 60.
   */
  intervalSeconds: z.optional(z.int().check(z.gte(60), z.lte(3600))),
  /**
   * How long after a period ends its metrics are taken as complete: an analysis judges only the periods that ended
   * at least this long ago. ALB measures and sends its metrics every 60 s from each load balancer node ("CloudWatch
   * metrics for your Application Load Balancer"), so a minute is complete only after the last node's report for it
   * has arrived and been aggregated; CloudWatch documents no bound on that. Optional: 120 (one reporting interval,
   * and one more for the reports to land). Larger is safer and slower; smaller risks judging a minute still filling.
   * Each step bakes this much longer, so that its last analysis judges its whole bake.
   */
  metricDelaySeconds: z.optional(z.int().check(z.gte(0), z.lte(900))),
  /**
   * Advance a step before its bake ends once every sequential test shows the canary not worse than the baseline
   * (passRatio). Optional: true. The last step (no baseline left to compare with) always bakes in full.
   */
  earlyPass: z.optional(z.boolean()),
  /**
   * The smallest regression that matters, as a ratio of the canary's rate to stable's (1.3: 30% more errors or slow
   * requests). A step passes early only once every sequential test shows the canary below it (at alpha), so a canary
   * this much worse or more passes early with probability ≤ alpha. errorRate.passRatio and latency.passRatio, when
   * set, override it for their test. Optional: 1.5.
   */
  minimumRegression: z.optional(
    z
      .number({ error: 'must be a number: a ratio above 1, e.g. 1.3 for a canary 30% worse than stable' })
      .check(
        z.gt(1, 'must be a ratio above 1, e.g. 1.3 for a canary 30% worse than stable'),
        z.lte(101, 'must be at most 101'),
      ),
  ),
  errorRate: z.prefault(
    z.strictObject({
      /**
       * The canary fails when its error rate is shown above (1 + tolerance) × the baseline's. Default 0: any higher
       * error rate, once the evidence shows it (at a 1% baseline a doubled rate is caught in a median of about
       * 1,800 canary requests, more with a tolerance: bench/judge). Raise it when the canary's traffic differs from
       * the stable version's in ways that are not the release's fault (testers routed by the header rule, another
       * AZ mix): at high traffic even a small systematic difference is eventually shown.
       */
      tolerance: z._default(z.number().check(z.gte(0), z.lte(100)), 0),
      /**
       * With no concurrent stable traffic to compare with (the 100% step), the canary fails above this absolute
       * error rate (or max, if lower). With a baseline the sequential test judges, against the ratio alone: a
       * doubled rate at a 0.1% baseline is a regression to catch, not noise.
       */
      minIncrease: z._default(z.number().check(z.gte(0), z.lte(1)), 0.005),
      /** Absolute ceiling: the canary fails above this error rate whatever the baseline does. */
      max: z._default(z.number().check(z.gte(0), z.lte(1)), 0.05),
      /**
       * False-rollback level of the whole judge (default 0.01): a canary no worse than (1 + tolerance) × the
       * baseline is failed by the sequential tests with probability ≤ alpha, however often it is analysed. The tests
       * split it (core/judge.ts): with slow-request counts the error-rate test gets 80% and the latency tests share
       * the rest; with X-Ray statistics the load balancer's tests and X-Ray's get half each, split the same way.
       * Optional: the judge applies the default. At least 1e-6 (core/stats/storable.ts MIN_ALPHA): every test's bar
       * 1/α stays far below the largest e-value the evidence records.
       */
      alpha: z.optional(z.number().check(z.gte(1e-6), z.lte(0.5))),
      /**
       * Early pass: the canary is "not worse" once its error rate is shown (at the same alpha) to be below
       * passRatio × the baseline's. Default max(1 + tolerance, 1.5).
       */
      passRatio: z.optional(z.number().check(z.gte(1), z.lte(101))),
    }),
    {},
  ),
  latency: z.prefault(
    z.strictObject({
      /** The canary fails when its p99 is above (1 + tolerance) × the baseline's p99... */
      p99Tolerance: z._default(z.number().check(z.gte(0), z.lte(100)), 0.25),
      /** ...and above it by at least this many milliseconds. */
      p99MinIncreaseMs: z._default(z.number().check(z.gte(0)), 25),
      /** Absolute ceiling on the canary's p99, in milliseconds. */
      p99MaxMs: z.optional(z.number().check(z.positive())),
      /**
       * When the metric source counts slow requests (above a threshold from the baseline), the canary fails when its
       * share of slow requests is shown to be above (1 + slowTolerance) × the baseline's. Default 0.
       */
      slowTolerance: z.optional(z.number().check(z.gte(0), z.lte(100))),
      /** Early pass on latency once the slow share is shown below passRatio × the baseline's. Default 1.5. */
      passRatio: z.optional(z.number().check(z.gte(1), z.lte(101))),
    }),
    {},
  ),
  /** CloudWatch alarms that gate the rollout: ALARM rolls back at once. */
  alarms: z._default(z.array(z.string().check(z.minLength(1), z.maxLength(255))).check(z.maxLength(20)), []),
  /**
   * What an analysis does when the listener no longer gives the canary the share the rollout set (its weights were
   * changed outside the rollout): `rollback` (TrafficDrifted) or `pause`: judge nothing, leave the weights as they
   * are found and wait for a person through the approval wait (approvals.timeoutSeconds and onTimeout apply);
   * approving writes the step's weights again and bakes the step again, rejecting rolls back.
   */
  onDrift: z._default(z.enum(['rollback', 'pause']), 'rollback'),
  /**
   * What a failed analysis does: `rollback` (the canary is scaled down and the image quarantined) or `pause`: 100%
   * back on stable at once (verified), the canary kept running for investigation, on-call paged, and the rollout
   * waits up to pauseTimeoutSeconds for `canary retry` (the failed step again: its weight, bake and analyses) or
   * `canary abort` (the full rollback); at the timeout it rolls back fully.
   */
  onFailure: z._default(z.enum(['rollback', 'pause']), 'rollback'),
  /** How long a rollout paused on a failed analysis waits for a person (default 4 hours, at most a day). */
  pauseTimeoutSeconds: z._default(z.int().check(z.gte(60), z.lte(86_400)), 14_400),
  /** Optional: X-Ray statistics per version, judged beside the load balancer's metrics (see xraySchema). */
  xray: z.optional(xraySchema),
  /** Custom CloudWatch metrics per version, each judged canary against stable (core/config-metrics.ts). */
  metrics: customMetricsSchema,
  /** The ECS deployer's CPU and memory utilization per service (core/config-metrics.ts); `enabled: false` opts out. */
  ecsMetrics: z.prefault(ecsMetricsSchema, {}),
});

export const approvalsSchema = z.strictObject({
  timeoutSeconds: z._default(z.int().check(z.gte(1), z.lte(7 * 86400)), 3600),
  onTimeout: z._default(z.enum(['rollback', 'approve']), 'rollback'),
});

export const readinessSchema = z.strictObject({
  timeoutSeconds: z._default(z.int().check(z.gte(10), z.lte(3600)), 600),
  pollSeconds: z._default(z.int().check(z.gte(1), z.lte(300)), 15),
});

export const notificationsSchema = z
  .strictObject({
    snsTopicArn: z.optional(snsTopicArn),
    /** The customer managed key the topic is encrypted with, if any: publishers get GenerateDataKey/Decrypt on it. */
    snsKmsKeyArn: z.optional(kmsKeyArn),
    pagerDuty: z.optional(
      z.strictObject({
        routingKeySecretArn: secretArn,
        /** The customer managed key the secret is encrypted with, if any: readers get Decrypt on it. */
        kmsKeyArn: z.optional(kmsKeyArn),
      }),
    ),
    /** Base URL of the approval page and reports, for links in notifications. */
    consoleUrl: z.optional(z.url()),
  })
  .check(
    z.refine((n) => n.snsKmsKeyArn === undefined || n.snsTopicArn !== undefined, {
      message: 'a key for the topic needs the topic: set snsTopicArn too',
      path: ['snsKmsKeyArn'],
    }),
  );
