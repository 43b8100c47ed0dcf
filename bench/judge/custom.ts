/**
 * bench/judge, custom metrics: A/A and regression scenarios for a counts metric (orders per attempt, judged by the
 * error rate's ratio test) and a gauge (ECS CPU, orders per request, judged by the time-uniform confidence sequence),
 * side by side with a fixed-threshold judge and a Mann–Whitney judge.
 *
 * Each run: one step at 10% of 2,000 requests a minute, 60 one-minute periods; 30% of requests are checkouts. The
 * project's judge (functions/core/judge.ts, production defaults, the metric critical so it takes the custom share of
 * alpha) looks after every minute at the minutes settled 120 s before, as Analyze does; a rollback is a failing
 * verdict at any look (the load balancer's checks see no errors and no slow requests, so only the custom metric can
 * fail it). fixed: each minute the canary worse than max(1 + tolerance, 1.2)× stable in that minute (a margin set by
 * hand, as threshold judges need; counts: with ≥ 20 canary events), rollback after 5 failed minutes (Flagger's
 * threshold). mann-whitney: once, at the end of the hour, the
 * per-minute values (counts: the event indicators), two-sided at 98%, canary worse.
 */
import { parseAnalysisPolicy } from '../../functions/core/config';
import type { CustomMetricConfig } from '../../functions/core/custom-metrics';
import { judge, type MetricWindow } from '../../functions/core/judge';
import type { CustomPoint } from '../../functions/core/verdict';
import { mannWhitney, mannWhitneyIndicators } from './baselines';
import { Rng } from './random';

const HORIZON = 60;
const DELAY = 2;
const RPM = 2_000;
const WEIGHT = 0.1;
const CHECKOUT = 0.3;
const START = Date.parse('2025-03-14T09:30:00Z');
const at = (i: number) => new Date(START + i * 60_000).toISOString();
const POLICY = parseAnalysisPolicy({});
/** The fixed judge's smallest margin over stable. */
const FIXED_MARGIN = 1.2;

type Side = 'canary' | 'baseline';
interface CustomScenario {
  name: string;
  aa: boolean;
  /** The canary's share by minute (default WEIGHT throughout). */
  weight?: (minute: number) => number;
  spec: CustomMetricConfig;
  /** One minute's point for a version, given its requests. */
  point: (rng: Rng, side: Side, requests: number, minute: number) => CustomPoint;
}

const DIM = { name: 'Service', canary: 'c', stable: 's' };
const spec = (kind: 'counts' | 'gauge', direction: CustomMetricConfig['direction'], tolerance: number) =>
  (kind === 'counts'
    ? { name: 'm', kind, direction, tolerance, critical: true, versionDimension: DIM, good: {}, total: {} }
    : {
        name: 'm',
        kind,
        direction,
        tolerance,
        critical: true,
        versionDimension: DIM,
        value: {},
      }) as CustomMetricConfig;

/** Checkouts completed with probability p: a counts point (good of total). */
const orders = (p: (side: Side) => number) => (rng: Rng, side: Side, requests: number) => {
  const total = rng.binomial(requests, CHECKOUT);
  return { start: '', good: rng.binomial(total, p(side)), total };
};

/** A utilization level: the mean, a drift both versions share, and each version's own noise. */
const cpu =
  (mean: (side: Side) => number, noise: (rng: Rng, side: Side) => number) =>
  (rng: Rng, side: Side, _requests: number, minute: number) => ({
    start: '',
    value: mean(side) * (1 + 0.2 * Math.sin(minute / 9)) + noise(rng, side),
  });

/** Orders completed per request in the minute (a gauge from two counts, as metric math would give it). */
const perRequest = (p: (side: Side) => number) => (rng: Rng, side: Side, requests: number) => {
  const total = rng.binomial(requests, CHECKOUT);
  return { start: '', value: requests > 0 ? rng.binomial(total, p(side)) / requests : 0 };
};

const both = (x: number) => () => x;
export const CUSTOM_SCENARIOS: CustomScenario[] = [
  {
    name: 'counts A/A (orders 90% complete)',
    aa: true,
    spec: spec('counts', 'lowerIsWorse', 0),
    point: orders(both(0.9)),
  },
  {
    name: 'counts: a third fewer orders complete',
    aa: false,
    spec: spec('counts', 'lowerIsWorse', 0.1),
    point: orders((s) => (s === 'canary' ? 0.6 : 0.9)),
  },
  {
    name: 'counts A/A (2% failed orders)',
    aa: true,
    spec: spec('counts', 'higherIsWorse', 0),
    point: orders(both(0.98)),
  },
  {
    name: 'counts: failed orders 2× (2% → 4%)',
    aa: false,
    spec: spec('counts', 'higherIsWorse', 0),
    point: orders((s) => (s === 'canary' ? 0.96 : 0.98)),
  },
  {
    name: 'gauge A/A (CPU 30%, noise sd 2 and 4)',
    aa: true,
    spec: spec('gauge', 'higherIsWorse', 0),
    point: cpu(both(30), (rng, s) => rng.normal() * (s === 'canary' ? 4 : 2)),
  },
  {
    name: 'gauge A/A (CPU 30%, skewed canary noise)',
    aa: true,
    spec: spec('gauge', 'higherIsWorse', 0),
    // Lognormal with mean 1 (σ 0.6), scaled: heavy right tail on the canary, Gaussian on stable, same mean.
    point: cpu(both(30), (rng, s) =>
      s === 'canary' ? 4 * (Math.exp(0.6 * rng.normal() - 0.18) - 1) : rng.normal(),
    ),
  },
  {
    name: 'gauge: CPU 1.5× (45% vs 30%), tolerance 0.2',
    aa: false,
    spec: spec('gauge', 'higherIsWorse', 0.2),
    point: cpu(
      (s) => (s === 'canary' ? 45 : 30),
      (rng, s) => rng.normal() * (s === 'canary' ? 4 : 2),
    ),
  },
  {
    name: 'gauge A/A (orders per request 0.27)',
    aa: true,
    spec: spec('gauge', 'lowerIsWorse', 0),
    point: perRequest(both(0.9)),
  },
  {
    // The per-minute noise shrinks as the canary's share grows (5 → 10 → 25 → 50%, 15 minutes each): the sequence
    // assumes one variance, so this is its hardest A/A.
    name: 'gauge A/A across steps 5→50% (orders per request)',
    aa: true,
    weight: (minute) => [0.05, 0.1, 0.25, 0.5][Math.floor(minute / 15)] ?? 0.5,
    spec: spec('gauge', 'lowerIsWorse', 0),
    point: perRequest(both(0.9)),
  },
  {
    name: 'gauge: orders per request down a third',
    aa: false,
    spec: spec('gauge', 'lowerIsWorse', 0.1),
    point: perRequest((s) => (s === 'canary' ? 0.6 : 0.9)),
  },
];

interface Minute {
  canary: CustomPoint;
  baseline: CustomPoint;
  canaryRequests: number;
  baselineRequests: number;
}

function simulateMinutes(s: CustomScenario, rng: Rng): Minute[] {
  return Array.from({ length: HORIZON }, (_, i) => {
    const weight = s.weight?.(i) ?? WEIGHT;
    const canaryRequests = rng.poisson(RPM * weight);
    const baselineRequests = rng.poisson(RPM * (1 - weight));
    return {
      canary: { ...s.point(rng, 'canary', canaryRequests, i), start: at(i) },
      baseline: { ...s.point(rng, 'baseline', baselineRequests, i), start: at(i) },
      canaryRequests,
      baselineRequests,
    };
  });
}

/** The minute (1-based, rollout time) the project's judge rolls back at, or null. */
function sequential(s: CustomScenario, minutes: Minute[]): number | null {
  for (let t = DELAY + 1; t <= HORIZON; t++) {
    const seen = minutes.slice(0, t - DELAY);
    const alb = (r: (m: Minute) => number) =>
      seen.map((m, i) => ({ start: at(i), requests: r(m), errors: 0, p99Ms: 100 }));
    const window: MetricWindow = {
      from: at(0),
      to: at(seen.length),
      periodSeconds: 60,
      canary: alb((m) => m.canaryRequests),
      baseline: alb((m) => m.baselineRequests),
      custom: [{ name: 'm', canary: seen.map((m) => m.canary), baseline: seen.map((m) => m.baseline) }],
    };
    if (judge(window, [], POLICY, [s.spec]).result === 'fail') return t;
  }
  return null;
}

/** The canary's value in a minute, higher worse, and (1 + tolerance)× stable's, for the fixed judge. */
function worseThan(s: CustomScenario, m: Minute): { canary: number; limit: number; events: number } {
  const lower = s.spec.direction === 'lowerIsWorse';
  const rho = Math.max(1 + s.spec.tolerance, FIXED_MARGIN);
  if (s.spec.kind === 'gauge') {
    const c = m.canary.value ?? 0;
    const b = m.baseline.value ?? 0;
    return lower ? { canary: -c, limit: -b / rho, events: 1 } : { canary: c, limit: b * rho, events: 1 };
  }
  const rate = (p: CustomPoint) => ((p.total ?? 0) > 0 ? (p.good ?? 0) / (p.total ?? 1) : 0);
  const events = (m.canary.total ?? 0) - (lower ? 0 : (m.canary.good ?? 0));
  return lower
    ? { canary: -rate(m.canary), limit: -rate(m.baseline) / rho, events }
    : { canary: 1 - rate(m.canary), limit: (1 - rate(m.baseline)) * rho, events };
}

function fixed(s: CustomScenario, minutes: Minute[]): number | null {
  let failed = 0;
  for (const [i, m] of minutes.entries()) {
    const w = worseThan(s, m);
    if (w.events >= (s.spec.kind === 'counts' ? 20 : 1) && w.canary > w.limit) failed++;
    if (failed >= 5) return i + 1;
  }
  return null;
}

function mannWhitneyJudge(s: CustomScenario, minutes: Minute[]): number | null {
  const lower = s.spec.direction === 'lowerIsWorse';
  if (s.spec.kind === 'gauge') {
    const values = (side: Side) => Float64Array.from(minutes.map((m) => m[side].value ?? 0));
    const r = mannWhitney(values('canary'), values('baseline'));
    return r.p < 0.02 && r.canaryHigher !== lower ? HORIZON : null;
  }
  const sum = (side: Side, k: 'good' | 'total') => minutes.reduce((a, m) => a + (m[side][k] ?? 0), 0);
  const [ct, bt] = [sum('canary', 'total'), sum('baseline', 'total')];
  const bad = (side: Side, t: number) => t - sum(side, 'good');
  const r = lower
    ? mannWhitneyIndicators(ct, sum('canary', 'good'), bt, sum('baseline', 'good'))
    : mannWhitneyIndicators(ct, bad('canary', ct), bt, bad('baseline', bt));
  return r.p < 0.02 && r.canaryHigher !== lower ? HORIZON : null;
}

const JUDGES = { sequential, fixed, 'mann-whitney': mannWhitneyJudge } as const;

export interface CustomFigures {
  scenario: string;
  judge: string;
  runs: number;
  /** A/A: share of runs rolled back; regression: share detected, and the median minute of detection. */
  rate: number;
  /** The rate's 95% Wilson interval. */
  interval: [number, number];
  medianMinute: number | null;
}

function wilson(k: number, n: number, z = 1.959964): [number, number] {
  const p = k / n;
  const d = 1 + (z * z) / n;
  const centre = (p + (z * z) / (2 * n)) / d;
  const half = (z * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n))) / d;
  return [Math.max(0, centre - half), Math.min(1, centre + half)];
}

export function runCustom(aaRuns: number, regRuns: number, seed: number): CustomFigures[] {
  return CUSTOM_SCENARIOS.flatMap((s, si) => {
    const runs = s.aa ? aaRuns : regRuns;
    const found: Record<string, number[]> = Object.fromEntries(Object.keys(JUDGES).map((j) => [j, []]));
    for (let r = 0; r < runs; r++) {
      const minutes = simulateMinutes(s, new Rng(seed + si * 1_000_003 + r));
      for (const [j, f] of Object.entries(JUDGES)) {
        const t = f(s, minutes);
        if (t !== null) found[j]?.push(t);
      }
    }
    return Object.entries(found).map(([judgeName, ts]) => {
      const sorted = [...ts].sort((a, b) => a - b);
      // The median over all runs: undetected runs count as never.
      const mid = Math.ceil(runs / 2) - 1;
      return {
        scenario: s.name,
        judge: judgeName,
        runs,
        rate: ts.length / runs,
        interval: wilson(ts.length, runs),
        medianMinute: sorted[mid] ?? null,
      };
    });
  });
}

export function customRows(figures: CustomFigures[]): string[][] {
  return [
    [
      'custom-metric scenario',
      'judge',
      'runs',
      'false rollback / detected [95% Wilson]',
      'median minute to detect',
    ],
    ...figures.map((f) => [
      f.scenario,
      f.judge,
      String(f.runs),
      `${(f.rate * 100).toFixed(2)}% [${(f.interval[0] * 100).toFixed(2)}–${(f.interval[1] * 100).toFixed(2)}]`,
      CUSTOM_SCENARIOS.find((s) => s.name === f.scenario)?.aa ? '—' : (f.medianMinute?.toString() ?? '—'),
    ]),
  ];
}
