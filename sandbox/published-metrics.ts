/**
 * What the sandbox's apps and ECS publish to CloudWatch besides the load balancer's metrics, and the part of the
 * local CloudWatch that serves them (sandbox/cloudwatch.ts asks it for every query outside AWS/ApplicationELB).
 *
 * - Each app version publishes its business metric per request (namespace `Shop`, OrdersAttempted and
 *   OrdersCompleted, dimension Service = its ECS service), as an app does with PutMetricData.
 * - ECS publishes CPUUtilization and MemoryUtilization per service (AWS/ECS, ClusterName and ServiceName) every
 *   minute ("Amazon ECS CloudWatch metrics", Amazon ECS developer guide); the sandbox samples them as its health checks
 *   run, from each version's profile.
 * - GetMetricData (CloudWatch API reference): a metric is the exact namespace, name and set of dimensions it was
 *   published with; Sum, Average, Minimum, Maximum and SampleCount over each period; no datapoint for a period with no
 *   value. Metric math: expressions name other queries by Id; this double evaluates arithmetic (+ − × ÷, parentheses,
 *   numbers) at the timestamps every operand has and refuses functions, which the sandbox's scenarios do not use.
 */
import type { MetricDataQuery, MetricDataResult } from '@aws-sdk/client-cloudwatch';

interface Cell {
  sum: number;
  count: number;
  min: number;
  max: number;
}

/** The key of a metric: namespace, name, and its dimensions sorted by name. */
function keyOf(namespace: string, metricName: string, dimensions: Record<string, string>): string {
  const dims = Object.entries(dimensions)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}=${v}`);
  return [namespace, metricName, ...dims].join('|');
}

/** CloudWatch's answer to a query it cannot take (InvalidParameterValue, HTTP 400). */
export function invalid(message: string): Error {
  return Object.assign(new Error(message), {
    name: 'InvalidParameterValue',
    $metadata: { httpStatusCode: 400 },
  });
}

export class PublishedMetrics {
  private readonly series = new Map<string, Map<number, Cell>>();

  constructor(readonly bucketMs = 10_000) {}

  /** PutMetricData of one value at a time. */
  put(
    namespace: string,
    metricName: string,
    dimensions: Record<string, string>,
    atMs: number,
    value: number,
  ): void {
    const key = keyOf(namespace, metricName, dimensions);
    let buckets = this.series.get(key);
    if (!buckets) {
      buckets = new Map();
      this.series.set(key, buckets);
    }
    const t = Math.floor(atMs / this.bucketMs) * this.bucketMs;
    const cell = buckets.get(t);
    if (!cell) buckets.set(t, { sum: value, count: 1, min: value, max: value });
    else {
      cell.sum += value;
      cell.count++;
      cell.min = Math.min(cell.min, value);
      cell.max = Math.max(cell.max, value);
    }
  }

  /** A MetricStat query's datapoints per period from `start` to `end`, over buckets visible by `visibleUntil`. */
  result(q: MetricDataQuery, start: number, end: number, visibleUntil: number): MetricDataResult {
    const stat = q.MetricStat;
    const metric = stat?.Metric;
    if (!stat?.Period || !stat.Stat || !metric?.Namespace || !metric.MetricName)
      throw invalid(`query ${q.Id} needs a MetricStat with a metric, a period and a statistic`);
    const dims = Object.fromEntries((metric.Dimensions ?? []).map((d) => [d.Name ?? '', d.Value ?? '']));
    const buckets =
      this.series.get(keyOf(metric.Namespace, metric.MetricName, dims)) ?? new Map<number, Cell>();
    const value = statistic(stat.Stat, q.Id ?? '');
    const periodMs = stat.Period * 1000;
    const timestamps: Date[] = [];
    const values: number[] = [];
    for (let p = start; p < end; p += periodMs) {
      const cells = [...buckets]
        .filter(([t]) => t >= p && t < Math.min(p + periodMs, end) && t + this.bucketMs <= visibleUntil)
        .map(([, c]) => c);
      if (cells.length === 0) continue;
      timestamps.push(new Date(p));
      values.push(value(cells));
    }
    return {
      Id: q.Id,
      Label: q.Label ?? metric.MetricName,
      Timestamps: timestamps,
      Values: values,
      StatusCode: 'Complete',
    };
  }
}

function statistic(stat: string, id: string): (cells: Cell[]) => number {
  const sum = (cells: Cell[]) => cells.reduce((a, c) => a + c.sum, 0);
  const count = (cells: Cell[]) => cells.reduce((a, c) => a + c.count, 0);
  switch (stat) {
    case 'Sum':
      return sum;
    case 'SampleCount':
      return count;
    case 'Average':
      return (cells) => sum(cells) / count(cells);
    case 'Minimum':
      return (cells) => Math.min(...cells.map((c) => c.min));
    case 'Maximum':
      return (cells) => Math.max(...cells.map((c) => c.max));
    default:
      throw invalid(
        `the local CloudWatch serves Sum, Average, Minimum, Maximum and SampleCount only (query ${id})`,
      );
  }
}

/** A metric math expression of arithmetic on other queries' results, evaluated per timestamp. */
export function evaluateExpression(
  q: MetricDataQuery,
  results: ReadonlyMap<string, MetricDataResult>,
): MetricDataResult {
  const expression = q.Expression ?? '';
  const tokens = expression.match(/\s*([a-z][a-zA-Z0-9_]*|\d+(?:\.\d+)?|[-+*/()])\s*/gy);
  if (!tokens || tokens.join('').length !== expression.length)
    throw invalid(
      `the local CloudWatch evaluates arithmetic on query Ids only (query ${q.Id}: ${expression})`,
    );
  const words = tokens.map((t) => t.trim());
  const ids = words.filter((w) => /^[a-z]/.test(w));
  const operands = ids.map((id) => {
    const r = results.get(id);
    if (!r) throw invalid(`expression ${q.Id} names ${id}, not a query of this request`);
    return new Map((r.Timestamps ?? []).map((t, i) => [t.getTime(), r.Values?.[i] as number]));
  });
  const times = [...(operands[0]?.keys() ?? [])]
    .filter((t) => operands.every((o) => o.has(t)))
    .sort((a, b) => a - b);
  const timestamps: Date[] = [];
  const values: number[] = [];
  for (const t of times) {
    const env = new Map(ids.map((id, i) => [id, operands[i]?.get(t) as number]));
    const v = parse(words, env);
    if (!Number.isFinite(v)) continue;
    timestamps.push(new Date(t));
    values.push(v);
  }
  return { Id: q.Id, Label: q.Label ?? q.Id, Timestamps: timestamps, Values: values, StatusCode: 'Complete' };
}

/** Recursive descent over + − × ÷ and parentheses. */
function parse(words: readonly string[], env: ReadonlyMap<string, number>): number {
  let i = 0;
  const atom = (): number => {
    const w = words[i++];
    if (w === '(') {
      const v = sum();
      i++;
      return v;
    }
    if (w === '-') return -atom();
    return env.get(w ?? '') ?? Number(w);
  };
  const product = (): number => {
    let v = atom();
    while (words[i] === '*' || words[i] === '/') v = words[i++] === '*' ? v * atom() : v / atom();
    return v;
  };
  const sum = (): number => {
    let v = product();
    while (words[i] === '+' || words[i] === '-') v = words[i++] === '+' ? v + product() : v - product();
    return v;
  };
  return sum();
}
