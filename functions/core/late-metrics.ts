/**
 * Late metrics: a period once judged must not change afterwards. Each analysis refetches the whole window since
 * the canary started, judging only periods settled `analysis.metricDelaySeconds` ago (settledEnd). CloudWatch
 * documents no bound on how late a load balancer node's report may land, so the delay makes revisions unlikely, not
 * impossible. The counts of each judged period are stored with the verdict, and the next analysis compares: a
 * period whose requests changed is reported (a warning and the verdict's `lateMetrics`).
 *
 * The judge then works on the new counts: they are the more complete data, and the old ones are not kept beyond
 * their totals, so re-judging on them is not possible. The sequential test's guarantee assumes periods never
 * change; a revision weakens it by as much as the revised periods weigh, which is why the note names
 * metricDelaySeconds to raise.
 *
 * The custom metrics (core/custom-metrics.ts) are checked alike: each series' values per period and version (a
 * gauge's value, a counts metric's two of good, bad and total) are stored, and a judged period whose value changed,
 * appeared or vanished since is reported beside the load balancer's.
 */
import type { CustomMetricConfig, Role } from './custom-metrics';
import { metricRoles } from './custom-metrics';
import type { MetricWindow } from './judge';
import { storableNumber } from './stats/storable';

/** The request counts of the periods an analysis judged, per version, consecutive from `start`. */
export interface PeriodCounts {
  start: string;
  periodSeconds: number;
  canary: number[];
  baseline: number[];
}

/** What an analysis stores with its verdict: the counts it judged, per metric source. */
export interface JudgedPeriods {
  alb: PeriodCounts;
  xray?: PeriodCounts;
  /** Per custom metric, by its name. */
  custom?: Record<string, CustomPeriodValues>;
}

/** A version's values of one series per period, consecutive from `start`; null where the version had no point. */
type Values = Array<number | null>;

/** The values of a custom metric's periods an analysis judged, per series (Role) and version. */
export interface CustomPeriodValues {
  start: string;
  periodSeconds: number;
  series: Partial<Record<Role, { canary: Values; baseline: Values }>>;
}

/** A judged period of a custom metric's series whose value now differs (null: no point). */
export interface RevisedCustomPeriod {
  source: 'custom';
  /** The evidence's name, custom.<name>. */
  metric: `custom.${string}`;
  series: Role;
  start: string;
  judged: { canary: number | null; baseline: number | null };
  now: { canary: number | null; baseline: number | null };
}

/** A judged period whose requests now differ. */
export interface RevisedPeriod {
  start: string;
  judged: { canary: number; baseline: number };
  now: { canary: number; baseline: number };
}

/** The verdict's note on periods that changed after being judged. */
export interface LateMetrics {
  periods: Array<(RevisedPeriod & { source: 'alb' | 'xray' }) | RevisedCustomPeriod>;
  detail: string;
}

/**
 * The newest periods kept: a day of minutes (about 15 KB in the rollout record, well within a DynamoDB item's
 * 400 KB). A metric revised more than a day after its minute is outside what this check sees.
 */
export const MAX_STORED_PERIODS = 1440;

/** Revised periods listed in a verdict (the count says how many there were). */
const MAX_LISTED = 10;

/** The judged window's request counts, the newest MAX_STORED_PERIODS periods. */
export function periodCounts(window: MetricWindow, max = MAX_STORED_PERIODS): PeriodCounts {
  const step = window.periodSeconds * 1000;
  const requests = (side: MetricWindow['canary']) =>
    new Map(side.map((p) => [Date.parse(p.start), p.requests]));
  const canary = requests(window.canary);
  const baseline = requests(window.baseline);
  const starts = [...new Set([...canary.keys(), ...baseline.keys()])].sort((a, b) => a - b);
  const last = starts[starts.length - 1];
  if (last === undefined) {
    return { start: window.from, periodSeconds: window.periodSeconds, canary: [], baseline: [] };
  }
  const first = Math.max(starts[0] ?? last, last - (max - 1) * step);
  const out: PeriodCounts = {
    start: new Date(first).toISOString(),
    periodSeconds: window.periodSeconds,
    canary: [],
    baseline: [],
  };
  for (let t = first; t <= last; t += step) {
    out.canary.push(canary.get(t) ?? 0);
    out.baseline.push(baseline.get(t) ?? 0);
  }
  return out;
}

/**
 * The later of two stores of judged periods: the one whose load balancer periods end later, `a` when they end
 * together (either when the other is undefined). Each analysis judges up to a later minute than the one before, so
 * the later end is the later analysis's, whichever release stored it and where.
 */
export function newerJudgedPeriods(
  a: JudgedPeriods | undefined,
  b: JudgedPeriods | undefined,
): JudgedPeriods | undefined {
  if (!a || !b) return a ?? b;
  return periodsEnd(b.alb) > periodsEnd(a.alb) ? b : a;
}

function periodsEnd(counts: PeriodCounts): number {
  return Date.parse(counts.start) + counts.canary.length * counts.periodSeconds * 1000;
}

/** The periods judged before (`previous`) whose requests differ in `window`; periods new to `window` are not. */
export function revisedPeriods(previous: PeriodCounts | undefined, window: MetricWindow): RevisedPeriod[] {
  if (!previous || previous.periodSeconds !== window.periodSeconds) return [];
  const now = periodCounts(window, Number.POSITIVE_INFINITY);
  const step = previous.periodSeconds * 1000;
  const first = Date.parse(previous.start);
  const nowFirst = Date.parse(now.start);
  const out: RevisedPeriod[] = [];
  previous.canary.forEach((canary, i) => {
    const t = first + i * step;
    const j = (t - nowFirst) / step;
    // Outside the new window (it starts later, or this period is no longer returned): nothing to compare.
    if (j < 0 || j >= now.canary.length) return;
    const judged = { canary, baseline: previous.baseline[i] ?? 0 };
    const current = { canary: now.canary[j] ?? 0, baseline: now.baseline[j] ?? 0 };
    if (judged.canary !== current.canary || judged.baseline !== current.baseline) {
      out.push({ start: new Date(t).toISOString(), judged, now: current });
    }
  });
  return out;
}

/**
 * The custom metrics' values kept, all metrics together: 8,640 numbers (a day of minutes for three gauges, or for a
 * counts metric and a gauge), each rounded to 9 significant digits: a DynamoDB number takes about one byte per two
 * significant digits and one more (DynamoDB developer guide, "Item sizes and formats"), some 60 KB in all. More
 * metrics keep fewer periods each, the newest: a revision further back is outside what this check sees.
 */
export const CUSTOM_VALUES_STORED = 8640;

/** A value as stored: 9 significant digits (a change smaller than that is not a revision); null: no point. */
const stored = (v: number | undefined): number | null =>
  v === undefined ? null : storableNumber(Number(v.toPrecision(9)));

/** The judged custom metrics' values per period, the newest periods that fit CUSTOM_VALUES_STORED. */
export function customPeriodValues(
  window: MetricWindow,
  specs: readonly CustomMetricConfig[],
  budget = CUSTOM_VALUES_STORED,
): Record<string, CustomPeriodValues> | undefined {
  const perPeriod = specs.reduce((n, m) => n + 2 * Object.keys(metricRoles(m)).length, 0);
  if (perPeriod === 0) return undefined;
  const max = Math.max(1, Math.min(MAX_STORED_PERIODS, Math.floor(budget / perPeriod)));
  const out: Record<string, CustomPeriodValues> = {};
  for (const spec of specs) {
    const values = seriesValues(window, spec, max);
    if (values) out[spec.name] = values;
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

/**
 * One metric's values over the window's periods (all of them, empty ones too, so that a point arriving late in a
 * period judged without one is seen), the newest `max`.
 */
function seriesValues(
  window: MetricWindow,
  spec: CustomMetricConfig,
  max: number,
): CustomPeriodValues | undefined {
  const series = window.custom?.find((s) => s.name === spec.name);
  if (!series) return undefined;
  const step = window.periodSeconds * 1000;
  // The window's whole periods: from `from` rounded down to a period to the last one ending by `to`.
  const last = Math.floor(Date.parse(window.to) / step) * step - step;
  const first = Math.max(Math.floor(Date.parse(window.from) / step) * step, last - (max - 1) * step);
  if (!(last >= first)) return undefined;
  const byStart = (points: typeof series.canary) => new Map(points.map((p) => [Date.parse(p.start), p]));
  const canary = byStart(series.canary);
  const baseline = byStart(series.baseline);
  const out: CustomPeriodValues = {
    start: new Date(first).toISOString(),
    periodSeconds: window.periodSeconds,
    series: {},
  };
  for (const role of Object.keys(metricRoles(spec)) as Role[]) {
    const values = (points: typeof canary): Values => {
      const vs: Values = [];
      for (let t = first; t <= last; t += step) vs.push(stored(points.get(t)?.[role]));
      return vs;
    };
    out.series[role] = { canary: values(canary), baseline: values(baseline) };
  }
  return out;
}

/** The custom metrics' periods judged before (`previous`) whose values differ in `window`. */
export function revisedCustomPeriods(
  previous: Record<string, CustomPeriodValues> | undefined,
  window: MetricWindow,
  specs: readonly CustomMetricConfig[],
): RevisedCustomPeriod[] {
  const out: RevisedCustomPeriod[] = [];
  for (const spec of specs) {
    const judged = previous?.[spec.name];
    if (!judged || judged.periodSeconds !== window.periodSeconds) continue;
    const now = seriesValues(window, spec, Number.POSITIVE_INFINITY);
    if (!now) continue;
    const step = judged.periodSeconds * 1000;
    const offset = (Date.parse(judged.start) - Date.parse(now.start)) / step;
    const roles = Object.keys(judged.series) as Role[];
    const length = judged.series[roles[0] as Role]?.canary.length ?? 0;
    for (let i = 0; i < length; i++) {
      const j = i + offset;
      for (const role of roles) {
        const was = judged.series[role];
        const is = now.series[role];
        // Outside the new window, or a series the metric no longer has: nothing to compare.
        if (!was || !is || j < 0 || j >= is.canary.length) continue;
        const before = { canary: was.canary[i] ?? null, baseline: was.baseline[i] ?? null };
        const current = { canary: is.canary[j] ?? null, baseline: is.baseline[j] ?? null };
        if (before.canary === current.canary && before.baseline === current.baseline) continue;
        out.push({
          source: 'custom',
          metric: `custom.${spec.name}`,
          series: role,
          start: new Date(Date.parse(judged.start) + i * step).toISOString(),
          judged: before,
          now: current,
        });
      }
    }
  }
  return out;
}

/** The verdict's note when periods changed after being judged; undefined when none did. */
export function lateMetricsNote(
  revised: { alb: RevisedPeriod[]; xray?: RevisedPeriod[]; custom?: RevisedCustomPeriod[] },
  delaySeconds: number,
): LateMetrics | undefined {
  const custom = revised.custom ?? [];
  const all = [
    ...revised.alb.map((p) => ({ source: 'alb' as const, ...p })),
    ...(revised.xray ?? []).map((p) => ({ source: 'xray' as const, ...p })),
    ...custom,
  ];
  if (all.length === 0) return undefined;
  // Minutes per source: a custom metric's two series revised in one minute are one minute.
  const count = new Set(all.map((p) => `${'metric' in p ? p.metric : p.source} ${p.start}`)).size;
  const minutes = count === 1 ? '1 minute' : `${count} minutes`;
  // With custom metrics revised: which sources were (the load balancer's and X-Ray's wording stays as it was).
  const sources = [
    ...(revised.alb.length > 0 ? ["the load balancer's requests"] : []),
    ...((revised.xray ?? []).length > 0 ? ["X-Ray's requests"] : []),
    ...new Set(custom.map((p) => p.metric)),
  ];
  const why = `metrics arrived later than the metric delay${custom.length > 0 ? `: ${sources.join(', ')}` : ''}`;
  return {
    periods: all.slice(0, MAX_LISTED),
    detail:
      `${minutes} judged earlier changed afterwards (${why}): judged on the new ` +
      `${custom.length > 0 ? 'data' : 'counts'}; raise analysis.metricDelaySeconds (${delaySeconds} s) so minutes ` +
      'are complete when judged',
  };
}
