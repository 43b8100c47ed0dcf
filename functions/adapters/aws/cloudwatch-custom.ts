/**
 * The custom metrics' GetMetricData queries (config `analysis.metrics`, the ECS deployer's CPU and memory), asked in
 * the same requests as the load balancer's metrics (cloudwatch.ts), and their results as per-period points.
 *
 * From the CloudWatch API reference (GetMetricData, MetricDataQuery):
 * - a request holds at most 500 MetricDataQuery structures ("A single GetMetricData call can include up to 500
 *   MetricDataQuery structures"): the queries are packed into as few requests as that allows, an expression always
 *   in the same request as the metrics it reads;
 * - an Id starts with a lower-case letter, then letters, digits and underscores, unique in the request; an
 *   expression names the other queries by their Ids, and queries that only feed an expression set ReturnData false;
 * - a query has either MetricStat or Expression, never both.
 */
import type { MetricDataQuery } from '@aws-sdk/client-cloudwatch';
import {
  type CustomMetricConfig,
  defaultStat,
  type MetricQueryConfig,
  metricRoles,
  type Role,
} from '../../core/custom-metrics';
import type { CustomPoint, CustomSeries } from '../../core/verdict';

/** GetMetricData's limit on queries per request. */
export const MAX_QUERIES_PER_REQUEST = 500;

const VERSIONS = ['canary', 'baseline'] as const;
type Version = (typeof VERSIONS)[number];
const ROLES: readonly Role[] = ['value', 'good', 'bad', 'total'];

/** The Id of a metric's role for a version: `x<index>_<version>_<role>`. */
const idOf = (index: number, version: Version, role: Role) => `x${index}_${version}_${role}`;

function metricStat(
  m: CustomMetricConfig,
  q: Exclude<MetricQueryConfig, { expression: string }>,
  version: Version,
  periodSeconds: number,
) {
  const dim = m.versionDimension;
  return {
    Metric: {
      Namespace: q.namespace,
      MetricName: q.metricName,
      Dimensions: [
        ...Object.entries(q.dimensions ?? {}).map(([Name, Value]) => ({ Name, Value })),
        { Name: dim.name, Value: version === 'canary' ? dim.canary : dim.stable },
      ],
    },
    Period: periodSeconds,
    Stat: q.stat ?? defaultStat(m),
  };
}

/**
 * One role of one metric for one version: a MetricStat query, or an expression and the metrics it reads (each
 * renamed with the role's Id as prefix, the expression rewritten to match). Kept together: one group per request.
 */
function roleQueries(
  m: CustomMetricConfig,
  q: MetricQueryConfig,
  id: string,
  version: Version,
  periodSeconds: number,
): MetricDataQuery[] {
  if (!('expression' in q)) {
    return [{ Id: id, MetricStat: metricStat(m, q, version, periodSeconds), ReturnData: true }];
  }
  const inputs = Object.entries(q.metrics).map(([name, stat]) => ({
    Id: `${id}_${name}`,
    MetricStat: metricStat(m, stat, version, periodSeconds),
    ReturnData: false,
  }));
  // Lower-case words are the metrics' ids (config-metrics.ts checks that), function names are upper case.
  const expression = q.expression.replace(/\b[a-z][a-zA-Z0-9_]*\b/g, (word) => `${id}_${word}`);
  return [...inputs, { Id: id, Expression: expression, Period: periodSeconds, ReturnData: true }];
}

/** The query groups of every metric: each group must go in one request. */
export function customQueryGroups(
  metrics: readonly CustomMetricConfig[],
  periodSeconds: number,
): MetricDataQuery[][] {
  return metrics.flatMap((m, i) => {
    const roles = metricRoles(m);
    return VERSIONS.flatMap((version) =>
      ROLES.flatMap((role) => {
        const q = roles[role];
        return q ? [roleQueries(m, q, idOf(i, version, role), version, periodSeconds)] : [];
      }),
    );
  });
}

/** Groups packed into requests of at most MAX_QUERIES_PER_REQUEST queries, in order. */
export function packRequests(groups: readonly MetricDataQuery[][]): MetricDataQuery[][] {
  const requests: MetricDataQuery[][] = [];
  let current: MetricDataQuery[] = [];
  for (const group of groups) {
    if (group.length > MAX_QUERIES_PER_REQUEST)
      throw new RangeError(`a query group of ${group.length} queries`);
    if (current.length + group.length > MAX_QUERIES_PER_REQUEST) {
      requests.push(current);
      current = [];
    }
    current.push(...group);
  }
  if (current.length > 0) requests.push(current);
  return requests;
}

/**
 * Each metric's points per period for both versions, from GetMetricData's results (Id → datapoints). A period
 * without a datapoint has no value; for counts, a role missing in a period the other role has is 0 (CloudWatch
 * returns no datapoint where nothing was published), and a period with neither has no point.
 */
export function customSeries(
  metrics: readonly CustomMetricConfig[],
  series: Map<string, Array<[Date, number]>>,
  starts: readonly number[],
  periodSeconds: number,
): CustomSeries[] {
  const step = periodSeconds * 1000;
  const first = starts[0] ?? 0;
  const bucket = (id: string) => {
    const out = new Map<number, number>();
    for (const [t, v] of series.get(id) ?? []) {
      const i = Math.floor((t.getTime() - first) / step);
      if (i < 0 || i >= starts.length || !Number.isFinite(v)) continue;
      out.set(i, (out.get(i) ?? 0) + v);
    }
    return out;
  };
  return metrics.map((m, index) => {
    const roles = ROLES.filter((r) => metricRoles(m)[r] !== undefined);
    const points = (version: Version): CustomPoint[] => {
      const values = roles.map((role) => [role, bucket(idOf(index, version, role))] as const);
      return starts.flatMap((start, i) => {
        if (values.every(([, v]) => !v.has(i))) return [];
        const point: CustomPoint = { start: new Date(start).toISOString() };
        for (const [role, v] of values) point[role] = v.get(i) ?? 0;
        if (m.kind === 'gauge' && !values[0]?.[1].has(i)) return [];
        return [point];
      });
    };
    return { name: m.name, canary: points('canary'), baseline: points('baseline') };
  });
}
