/**
 * The custom metrics of a service config (`analysis.metrics`): CloudWatch metric queries per version, each judged
 * canary against the concurrent stable version (core/custom-checks.ts), and the ECS resource metrics that come with
 * the ECS deployer (`analysis.ecsMetrics`).
 */
import { RESERVED } from './custom-metrics';
import { metricMathError } from './metric-math';
import * as z from './zod';

/**
 * A GetMetricData query Id: "The valid characters are letters, numbers, and underscore. The first character must be
 * a lowercase letter" (CloudWatch API reference, MetricDataQuery). The adapter prefixes it per version and metric,
 * so the config's ids stay short.
 */
const ID = /^[a-z][a-zA-Z0-9_]*$/;
const ID_MESSAGE = 'must start with a lowercase letter, then letters, digits or _';
/** A string of min to max characters (every Lambda bundle takes these schemas: kept small). */
const text = (min: number, max: number) => z.string().check(z.minLength(min), z.maxLength(max));
const queryId = z.string().check(z.regex(ID, ID_MESSAGE), z.maxLength(32));

/** What tells the versions apart: one dimension, with the canary's value and the stable version's. */
const versionDimension = z
  .strictObject({
    name: text(1, 255),
    canary: text(1, 1024),
    stable: text(1, 1024),
  })
  .check(
    z.refine((d) => d.canary !== d.stable, {
      message: 'must differ from stable: the dimension must tell the versions apart',
      path: ['canary'],
    }),
  );

/**
 * One metric of one version: namespace, name, the dimensions both versions share and the statistic (Sum for counts,
 * Average for gauges when left out). The metric's versionDimension is added per version.
 */
const metricStat = z.strictObject({
  namespace: text(1, 255),
  metricName: text(1, 255),
  // A metric has at most 30 dimensions (CloudWatch API reference, Metric: Dimensions); one is the version's.
  dimensions: z.optional(
    z
      .record(
        z.string().check(z.minLength(1), z.maxLength(255)),
        z.string().check(z.minLength(1), z.maxLength(1024)),
      )
      .check(z.refine((d) => Object.keys(d).length <= 29, { message: 'must have at most 29 dimensions' })),
  ),
  stat: z.optional(text(1, 64)),
});

/**
 * Metric math on per-version metrics: `expression` names the metrics by their ids (`completed / attempted`); each
 * version gets its own copy of every metric, with its dimension value. Function names are upper case in metric math
 * ("Metric math syntax and functions"), ids start with a lower-case letter, so every lower-case word must be an id.
 */
const metricMath = z
  .strictObject({
    // "Expression ... Length Constraints: Minimum length of 1. Maximum length of 2048" (API reference, MetricDataQuery).
    expression: text(1, 2048),
    metrics: z.record(queryId, metricStat).check(
      z.refine((m) => Object.keys(m).length >= 1 && Object.keys(m).length <= 10, {
        message: 'must name 1 to 10 metrics',
      }),
    ),
  })
  .check(
    z.superRefine((m, ctx) => {
      const syntax = metricMathError(m.expression);
      if (syntax) ctx.addIssue({ code: 'custom', path: ['expression'], message: syntax });
      for (const word of m.expression.match(/\b[a-z][a-zA-Z0-9_]*\b/g) ?? []) {
        if (!(word in m.metrics)) {
          ctx.addIssue({
            code: 'custom',
            path: ['expression'],
            message: `"${word}" is not one of the metrics' ids (${Object.keys(m.metrics).join(', ')})`,
          });
        }
      }
    }),
  );

export const metricQuerySchema = z.union([metricStat, metricMath], {
  error:
    'must be a metric ({ namespace, metricName, stat?, dimensions? }) or metric math ({ expression, metrics })',
});
export type MetricQueryConfig = z.output<typeof metricQuerySchema>;

/** The metrics a query reads (one, or an expression's), with the path of their dimensions in the config. */
function statsOf(q: MetricQueryConfig | undefined, path: (string | number)[]) {
  if (!q) return [];
  if (!('expression' in q)) return [{ stat: q, path: [...path, 'dimensions'] }];
  return Object.entries(q.metrics).map(([id, stat]) => ({
    stat,
    path: [...path, 'metrics', id, 'dimensions'],
  }));
}

/** The version's dimension is added per version: a query must not set it itself. */
const versionDimensionApart = z.superRefine(
  (
    m: { versionDimension: { name: string } } & Partial<
      Record<'good' | 'bad' | 'total' | 'value', MetricQueryConfig>
    >,
    ctx,
  ) => {
    for (const role of ['good', 'bad', 'total', 'value'] as const) {
      for (const { stat, path } of statsOf(m[role], [role])) {
        if (stat.dimensions && m.versionDimension.name in stat.dimensions) {
          ctx.addIssue({
            code: 'custom',
            path,
            message: `must not set ${m.versionDimension.name}: versionDimension gives it per version`,
          });
        }
      }
    }
  },
);

const tolerance = z._default(z.number().check(z.gte(0), z.lte(100)), 0);
const common = {
  /** The evidence's name (`custom.<name>`): 1–24 characters, a lower-case letter first. */
  name: z.string().check(z.regex(ID, ID_MESSAGE), z.maxLength(24)),
  versionDimension,
  /**
   * Which way is a regression: higherIsWorse (failures, CPU, latency) or lowerIsWorse (completed orders, conversions).
   */
  direction: z._default(z.enum(['higherIsWorse', 'lowerIsWorse']), 'higherIsWorse'),
  /**
   * How much worse than stable the canary may be: higherIsWorse fails above (1 + tolerance) × stable's, lowerIsWorse
   * below stable's / (1 + tolerance). Default 0.
   */
  tolerance,
  /** true: a regression fails the verdict (and a metric without enough data holds the step); false: reported only. */
  critical: z._default(z.boolean(), true),
  /**
   * The data the metric needs before it is judged: canary events counted in `total` (counts; default 100), or periods
   * with both versions' values (gauge; default 3). Below it the metric neither fails nor passes.
   */
  minData: z.optional(z.int().check(z.gte(1), z.lte(1_000_000))),
};

/**
 * Event counts: two of good, bad and total. Judged on the bad events per total (higherIsWorse) or the good events
 * per total (lowerIsWorse) with the error rate's anytime-valid ratio test, canary against concurrent stable.
 */
const countsMetric = z
  .strictObject({
    ...common,
    kind: z.literal('counts'),
    good: z.optional(metricQuerySchema),
    bad: z.optional(metricQuerySchema),
    total: z.optional(metricQuerySchema),
  })
  .check(
    z.refine((m) => [m.good, m.bad, m.total].filter((q) => q !== undefined).length === 2, {
      message: 'a counts metric needs exactly two of good, bad and total',
      path: ['total'],
    }),
    versionDimensionApart,
  );

/**
 * A level or rate per period (CPU, orders per request, a downstream latency): the canary's mean against stable's
 * over paired periods (core/stats/mean.ts), with absolute bounds on the canary's level.
 */
const gaugeMetric = z
  .strictObject({
    ...common,
    kind: z.literal('gauge'),
    value: metricQuerySchema,
    /** The canary fails when its mean over the window is above max or below min, whatever stable does. */
    max: z.optional(z.number()),
    min: z.optional(z.number()),
  })
  .check(
    z.refine((m) => m.max === undefined || m.min === undefined || m.min < m.max, {
      message: 'must be below max',
      path: ['min'],
    }),
    versionDimensionApart,
  );

export const customMetricSchema = z.discriminatedUnion('kind', [countsMetric, gaugeMetric], {
  error: 'must have kind "counts" or "gauge"',
});
export type CustomMetricConfig = z.output<typeof customMetricSchema>;

/** At most 20 metrics: with both versions and metric math they stay far below GetMetricData's 500 queries. */
export const customMetricsSchema = z._default(
  z.array(customMetricSchema).check(
    z.maxLength(20),
    z.superRefine((list, ctx) => {
      const seen = new Set<string>();
      list.forEach((m, i) => {
        if (seen.has(m.name))
          ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `duplicates "${m.name}"` });
        if (m.name in RESERVED)
          ctx.addIssue({
            code: 'custom',
            path: [i, 'name'],
            message: `"${m.name}" is the ECS deployer's metric`,
          });
        seen.add(m.name);
      });
    }),
  ),
  [],
);

/**
 * The canary's and stable's ECS service CPU and memory utilization (AWS/ECS, ClusterName and ServiceName), judged as
 * gauges when the deployer is `ecs`. Advisory by default: a version serving a different share on fewer tasks is not a
 * regression by itself; set critical to fail on them.
 */
export const ecsMetricsSchema = z.strictObject({
  enabled: z._default(z.boolean(), true),
  critical: z._default(z.boolean(), false),
  /** The canary may use up to (1 + tolerance) × stable's utilization. Default 0.5. */
  tolerance: z._default(z.number().check(z.gte(0), z.lte(100)), 0.5),
});
