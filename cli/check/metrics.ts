/**
 * The custom metrics a service is judged on (`analysis.metrics`, and the ECS deployer's CPU and memory), as `canary
 * check` reads them: every metric a query reads (each input of a metric-math expression), for each version's value
 * of the version dimension, listed with CloudWatch ListMetrics (namespace, metric name, dimensions).
 *
 * CloudWatch API reference, ListMetrics: it "doesn't return information about metrics if those metrics haven't
 * reported data in the past two weeks", and a new metric takes up to 15 minutes to appear; so a metric it does not
 * list has "no data in the last two weeks", which is not the same as not existing. Its dimension filters match the
 * metrics that have those dimensions, with others besides, while GetMetricData reads the metric with exactly the
 * dimensions named: a metric published only with more dimensions is reported too.
 */
import { type CloudWatchClient, ListMetricsCommand, type Metric } from '@aws-sdk/client-cloudwatch';
import type { ServiceConfig } from '../../functions/core/config';
import { customMetrics, metricRoles } from '../../functions/core/custom-metrics';
import { error, type Finding, ok, type Read, unreadable, warning } from './findings';
import type { Reader } from './reader';

/** One metric of one version that a custom metric's query reads. */
export interface MetricProbe {
  /** The evidence's name, custom.<name>. */
  metric: string;
  /** Where the config sets it: `analysis.metrics[0].total`, `…total.metrics.attempted`, `analysis.ecsMetrics`. */
  path: string;
  /** The custom metric's own path (`analysis.metrics[0]`), where its versionDimension is. */
  metricPath: string;
  version: 'canary' | 'stable';
  namespace: string;
  metricName: string;
  /** Every dimension the query names, the version's among them. */
  dimensions: Record<string, string>;
  /** Whether it fails the verdict (then stable without data is an error), or is reported only. */
  critical: boolean;
  /** The ECS deployer's metric (AWS/ECS), not one the config names. */
  ecs: boolean;
}

/** The metrics a service's custom metrics read, per version. */
export function metricProbes(config: ServiceConfig): MetricProbe[] {
  const configured = config.analysis.metrics.length;
  return customMetrics(config).flatMap((m, i) => {
    const base = i < configured ? `analysis.metrics[${i}]` : 'analysis.ecsMetrics';
    return Object.entries(metricRoles(m)).flatMap(([role, q]) => {
      const stats =
        'expression' in q
          ? Object.entries(q.metrics).map(([id, s]) => [`.${role}.metrics.${id}`, s] as const)
          : [[`.${role}`, q] as const];
      return stats.flatMap(([at, s]) =>
        (['canary', 'stable'] as const).map((version) => ({
          metric: `custom.${m.name}`,
          path: i < configured ? `${base}${at}` : base,
          metricPath: base,
          version,
          namespace: s.namespace,
          metricName: s.metricName,
          dimensions: { ...s.dimensions, [m.versionDimension.name]: m.versionDimension[version] },
          critical: m.critical,
          ecs: i >= configured,
        })),
      );
    });
  });
}

/** "ClusterName = web, ServiceName = web-canary" */
const dimensionText = (d: Record<string, string>) =>
  Object.entries(d)
    .map(([k, v]) => `${k} = ${v}`)
    .join(', ');

const probeKey = (p: MetricProbe) =>
  JSON.stringify([p.namespace, p.metricName, Object.entries(p.dimensions).sort()]);

/**
 * The metrics ListMetrics lists for each probe (every page; one call per distinct metric). DimensionFilters takes at
 * most 10 filters (API model): the version's dimension goes first, and the exact set is compared afterwards.
 */
export async function readMetrics(
  readCall: Reader['read'],
  cloudwatch: Pick<CloudWatchClient, 'send'>,
  probes: readonly MetricProbe[],
): Promise<Read<Metric[]>[]> {
  const reads = new Map<string, Promise<Read<Metric[]>>>();
  // One at a time: ListMetrics has a low request rate per account (CloudWatch service quotas).
  for (const p of probes) {
    const key = probeKey(p);
    if (reads.has(key)) continue;
    const filters = Object.entries(p.dimensions)
      .reverse()
      .slice(0, 10)
      .map(([Name, Value]) => ({ Name, Value }));
    const read = readCall('cloudwatch:ListMetrics', `${p.namespace} ${p.metricName}`, async () => {
      const metrics: Metric[] = [];
      let token: string | undefined;
      do {
        const out = await cloudwatch.send(
          new ListMetricsCommand({
            Namespace: p.namespace,
            MetricName: p.metricName,
            Dimensions: filters,
            ...(token ? { NextToken: token } : {}),
          }),
        );
        metrics.push(...(out.Metrics ?? []));
        token = out.NextToken;
      } while (token);
      return metrics;
    });
    reads.set(key, read);
    await read;
  }
  return Promise.all(probes.map((p) => reads.get(probeKey(p)) as Promise<Read<Metric[]>>));
}

/** Whether a listed metric has exactly the probe's dimensions (GetMetricData reads no other). */
function exactly(metric: Metric, dimensions: Record<string, string>): boolean {
  const listed = metric.Dimensions ?? [];
  return (
    listed.length === Object.keys(dimensions).length &&
    listed.every((d) => dimensions[d.Name ?? ''] === d.Value)
  );
}

/** What is wrong with one probe's metric, or undefined when it has data with exactly its dimensions. */
function probeFinding(service: string, p: MetricProbe, metrics: Metric[]): Finding | undefined {
  if (metrics.some((m) => exactly(m, p.dimensions))) return undefined;
  const check = 'metrics';
  const who = p.version === 'canary' ? 'the canary' : 'stable';
  const what = `${p.metric} (${p.path}): ${p.namespace} ${p.metricName} with ${dimensionText(p.dimensions)}`;
  const extra = metrics.find((m) => (m.Dimensions ?? []).length > Object.keys(p.dimensions).length);
  // Stable serves now: without its data a critical metric never has what it needs (the step holds, then times out).
  const fails = p.version === 'stable' && p.critical;
  const report = fails ? error : warning;
  if (extra) {
    const names = (extra.Dimensions ?? []).map((d) => d.Name).join(', ');
    return report(
      check,
      `${what} for ${who}: published only with more dimensions (${names}); a query reads the metric with exactly the dimensions it names`,
      p.ecs
        ? `the ECS services publish CPUUtilization and MemoryUtilization per ClusterName and ServiceName: check ${service}'s deployer.cluster and service names`
        : `name every dimension the application publishes in ${service}'s ${p.path}.dimensions`,
    );
  }
  return report(
    check,
    `${what} for ${who}: no data in the last two weeks (ListMetrics lists only metrics with data in that time)`,
    p.ecs
      ? `ECS publishes it while the service runs tasks${p.version === 'canary' ? ': expected if the canary service has not run in that time' : ''}; or set ${service}'s analysis.ecsMetrics.enabled to false`
      : p.version === 'canary'
        ? `expected if the canary has not run in the last two weeks; otherwise check ${service}'s ${p.path} (namespace, metricName, dimensions) and ${p.metricPath}.versionDimension.canary against what the application publishes`
        : `check ${service}'s ${p.path} (namespace, metricName, dimensions) and ${p.metricPath}.versionDimension.stable against what the application publishes`,
  );
}

export function metricFindings(
  service: string,
  probes: readonly MetricProbe[],
  reads: readonly Read<Metric[]>[],
): Finding[] {
  const check = 'metrics';
  if (probes.length === 0) return [];
  const findings: Finding[] = [];
  const unread = new Set<string>();
  probes.forEach((p, i) => {
    const read = reads[i];
    if (!read) return;
    if ('found' in read) {
      const f = probeFinding(service, p, read.found);
      if (f) findings.push(f);
    } else {
      const reason = 'failed' in read ? read.failed : read.missing;
      const what = `${p.namespace} ${p.metricName} (${p.metric})`;
      if (!unread.has(what)) findings.push(unreadable(check, what, reason));
      unread.add(what);
    }
  });
  if (findings.length === 0) {
    const names = [...new Set(probes.map((p) => p.metric))];
    findings.push(ok(check, `${names.join(', ')}: data in the last two weeks for both versions`));
  }
  return findings;
}
