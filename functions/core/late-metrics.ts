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
 */
import type { MetricWindow } from './judge';

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
}

/** A judged period whose requests now differ. */
export interface RevisedPeriod {
  start: string;
  judged: { canary: number; baseline: number };
  now: { canary: number; baseline: number };
}

/** The verdict's note on periods that changed after being judged. */
export interface LateMetrics {
  periods: Array<RevisedPeriod & { source: 'alb' | 'xray' }>;
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

/** The verdict's note when periods changed after being judged; undefined when none did. */
export function lateMetricsNote(
  revised: { alb: RevisedPeriod[]; xray?: RevisedPeriod[] },
  delaySeconds: number,
): LateMetrics | undefined {
  const all = [
    ...revised.alb.map((p) => ({ source: 'alb' as const, ...p })),
    ...(revised.xray ?? []).map((p) => ({ source: 'xray' as const, ...p })),
  ];
  if (all.length === 0) return undefined;
  const minutes = all.length === 1 ? '1 minute' : `${all.length} minutes`;
  return {
    periods: all.slice(0, MAX_LISTED),
    detail:
      `${minutes} judged earlier changed afterwards (metrics arrived later than the metric delay): judged on ` +
      `the new counts; raise analysis.metricDelaySeconds (${delaySeconds} s) so minutes are complete when judged`,
  };
}
