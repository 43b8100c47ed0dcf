/**
 * The custom metrics a rollout is judged on: the service config's `analysis.metrics`, and the canary's and stable's
 * ECS service CPU and memory utilization when the deployer is `ecs` (unless `analysis.ecsMetrics.enabled` is false).
 */
import type { ServiceConfig } from './config';
import type { CustomMetricConfig, MetricQueryConfig } from './config-metrics';

/** The names of the ECS resource metrics (evidence custom.ecsCpu, custom.ecsMemory). */
export const RESERVED = { ecsCpu: 'CPUUtilization', ecsMemory: 'MemoryUtilization' } as const;

export type { CustomMetricConfig, MetricQueryConfig } from './config-metrics';

/**
 * AWS/ECS CPUUtilization and MemoryUtilization per service: dimensions ClusterName and ServiceName, published every
 * minute ("Amazon ECS CloudWatch metrics", Amazon ECS developer guide: service-level utilization is the tasks' use
 * over their reservation, as a percentage). Average over the period.
 */
function ecsMetrics(config: ServiceConfig): CustomMetricConfig[] {
  const d = config.deployer;
  const e = config.analysis.ecsMetrics;
  if (d.kind !== 'ecs' || !e.enabled) return [];
  const serviceName = (s: string) => s.slice(s.lastIndexOf('/') + 1);
  const clusterName = d.cluster.slice(d.cluster.lastIndexOf('/') + 1);
  return (Object.entries(RESERVED) as [keyof typeof RESERVED, string][]).map(([name, metricName]) => ({
    name,
    kind: 'gauge',
    direction: 'higherIsWorse',
    tolerance: e.tolerance,
    critical: e.critical,
    versionDimension: {
      name: 'ServiceName',
      canary: serviceName(d.canaryService),
      stable: serviceName(d.stableService),
    },
    value: { namespace: 'AWS/ECS', metricName, dimensions: { ClusterName: clusterName }, stat: 'Average' },
  }));
}

/** Every custom metric of a service, the configured ones first. */
export function customMetrics(config: ServiceConfig): CustomMetricConfig[] {
  return [...config.analysis.metrics, ...ecsMetrics(config)];
}

/** The queries of a metric by role: a gauge's value, a counts metric's two of good, bad and total. */
export function metricRoles(m: CustomMetricConfig): Partial<Record<Role, MetricQueryConfig>> {
  if (m.kind === 'gauge') return { value: m.value };
  return {
    ...(m.good ? { good: m.good } : {}),
    ...(m.bad ? { bad: m.bad } : {}),
    ...(m.total ? { total: m.total } : {}),
  };
}
export type Role = 'value' | 'good' | 'bad' | 'total';

/** The statistic a metric's query asks for when the config leaves it out: Sum for counts, Average for gauges. */
export function defaultStat(m: CustomMetricConfig): string {
  return m.kind === 'counts' ? 'Sum' : 'Average';
}

/** Counts: a period's events judged (bad per total, or good per total when lower is worse) and its total. */
export function countsOf(
  p: { good?: number; bad?: number; total?: number },
  direction: CustomMetricConfig['direction'],
): { events: number; total: number } | undefined {
  const total = p.total ?? (p.good !== undefined && p.bad !== undefined ? p.good + p.bad : undefined);
  if (total === undefined) return undefined;
  const bad = p.bad ?? (p.good !== undefined ? total - p.good : undefined);
  const good = p.good ?? (bad !== undefined ? total - bad : undefined);
  const events = direction === 'lowerIsWorse' ? good : bad;
  if (events === undefined || !(total >= 0)) return undefined;
  return { events: Math.min(Math.max(events, 0), total), total };
}
