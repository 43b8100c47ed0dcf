/**
 * bench/judge: seeded, offline comparison of canary judges on simulated rollouts.
 *
 * Scenarios run in BENCH_WORKERS (default 2) child processes; BENCH_SCENARIOS (regex) and BENCH_JUDGES narrow it.
 *
 * Each run simulates per-minute counts (Poisson traffic split by the canary weight, binomial errors and slow
 * requests) and evaluates every judge after every period — the repeated-looks stress. Judges:
 * - sequential: this project's judge (functions/core/judge.ts) with the production defaults of the analysis policy,
 *   decided by the product's rules (functions/core/rules.ts) after every minute, as the workflow's Analyze does. The
 *   sources give slow counts above the stable p99 and above the stable median. It sees what CloudWatch would give it:
 *   only the periods settled after the default metric delay (analysis.metricDelaySeconds, 120 s), so at the end of
 *   minute t it judges minutes up to t − 2.
 * - seq-no-delay: the same judge reading every period the moment it ends (metric delay 0): what the delay costs.
 * - seq-prev: the same judge with the ratio tests' previous mixture (six equal bets, ln multiplier = ln 1.1 × 2^k,
 *   PREVIOUS_BETS), run beside it on the same seeds: the before and after of the mixture's design.
 * - seq-ext-unlimited, seq-tol0.2, seq-minreg1.25 (BENCH_VARIANTS=1): the same with unlimited extensions (then
 *   advance), with errorRate.tolerance 0.2 and with analysis.minimumRegression 1.25.
 * - fixed: Flagger-style: each minute, success rate ≥ 99% and p99 ≤ 500 ms over the last minute (checked when
 *   the minute has ≥ 20 canary requests); rollback after 5 failed checks (Flagger's usual `threshold: 5`).
 * - fixed-strict: the same with rollback at the first failed check (threshold 1).
 * - kayenta: Mann–Whitney (two-sided, 98% confidence, canary higher) on error indicators and on latency samples
 *   (up to 40 requests per version per minute), looked at once per step at the end of a fixed window:
 *   60 minutes for a single-step rollout, 15 minutes per step for the 4-step schedule.
 * - oracle (effect-size scenarios only): the likelihood-ratio e-process at the true ratio, no judge (ORACLE_ALPHA).
 *
 * The targets printed at the end: false rollback ≤ 1% in every A/A scenario; at every effect size (1.3× to 25×, one
 * step baking the whole horizon) the sequential judge's median canary requests to detect ≤ 1.5× the Neyman–Pearson
 * bound's median (bounds.ts, boundMedian); a 1.5× regression passes a step early in ≤ 5% of runs.
 */
import { type AnalysisPolicy, parseAnalysisPolicy } from '../../functions/core/config';
import {
  DEFAULT_METRIC_DELAY_SECONDS,
  judge,
  type MetricWindow,
  type PeriodStats,
} from '../../functions/core/judge';
import { afterAnalysis, decide, nextBakeWait, stepBakeSeconds } from '../../functions/core/rules';
import { ERROR_ALPHA_SHARE } from '../../functions/core/sequential-checks';
import type { Bet } from '../../functions/core/stats/ratio';
import { fixedCheckFails, mannWhitney, mannWhitneyIndicators } from './baselines';
import { boundMedian, brownianBestBet, brownianMedianRatio, detectionBound } from './bounds';
import { customRows, runCustom } from './custom';
import { normCdf, normInv, Rng } from './random';

const PERIOD_S = 60;
const HORIZON = 60; // periods (minutes) per run
const LAT_MU = Math.log(100); // median 100 ms
const LAT_SIGMA = 0.5;
const Z99 = normInv(0.99);
/** The slow-request threshold: the stable version's p99 (as if measured before the canary started). */
const SLOW_MS = Math.round(Math.exp(LAT_MU + LAT_SIGMA * Z99));
/** The whole-distribution threshold: the stable version's median. */
const MEDIAN_MS = Math.round(Math.exp(LAT_MU));

interface Latency {
  /** Multiplies every request's latency. */
  scale: number;
  /** Added to the slowest tailFrac of requests. */
  tailShiftMs: number;
  tailFrac: number;
}
const SAME: Latency = { scale: 1, tailShiftMs: 0, tailFrac: 0 };

function quantile(l: Latency, u: number): number {
  const base = l.scale * Math.exp(LAT_MU + LAT_SIGMA * normInv(u));
  return u > 1 - l.tailFrac ? base + l.tailShiftMs : base;
}
/** P(latency > t). */
function slowShare(l: Latency, t: number): number {
  const sf = (x: number) => 1 - normCdf((Math.log(x) - LAT_MU) / LAT_SIGMA); // P(X > x) for the unscaled X
  if (l.tailFrac === 0 || l.tailShiftMs === 0) return sf(t / l.scale);
  const q = Math.exp(LAT_MU + LAT_SIGMA * normInv(1 - l.tailFrac)); // unscaled tail cut
  const hi = Math.max(q, (t - l.tailShiftMs) / l.scale);
  let p = sf(hi);
  if (t / l.scale < q) p += sf(t / l.scale) - sf(q);
  return p;
}

interface World {
  rps: number;
  baseErr: number;
  canaryErr: number;
  base: Latency;
  canary: Latency;
}
interface Scenario {
  name: string;
  kind: 'aa' | 'regression';
  /** The world at minute t (t from 0); canary terms are for the canary version at that minute. */
  world: (t: number) => World;
  steps: Array<{ weight: number; bake: number; kayentaWindow: number }>;
  /** Periods simulated (default HORIZON): low-traffic scenarios run longer, as the controller extends their bakes. */
  horizon?: number;
  /** The target for the sequential judge's median canary requests to detect, if it sets one. */
  target?: number;
  /**
   * The error-rate regression's size, for the effect-size targets: the sequential judge's median canary requests to
   * detect against the Neyman–Pearson bound's median (the scenario bakes long enough for the bound to reach 50%).
   */
  effect?: number;
}

const SINGLE = [{ weight: 5, bake: 10, kayentaWindow: 60 }];
/** One step baking the whole horizon: long enough for the Neyman–Pearson bound to reach 50% at every effect size. */
const LONG = [{ weight: 5, bake: 60, kayentaWindow: 60 }];
const SCHEDULE = [5, 10, 25, 50].map((weight) => ({ weight, bake: 5, kayentaWindow: 15 }));

function steady(
  rps: number,
  baseErr: number,
  canaryErr = baseErr,
  canary: Latency = SAME,
): (t: number) => World {
  return () => ({ rps, baseErr, canaryErr, base: SAME, canary });
}

const ALL_SCENARIOS: Scenario[] = [
  { name: 'A/A 0.1% errors, 100 rps, 5%', kind: 'aa', world: steady(100, 0.001), steps: SINGLE },
  { name: 'A/A 1% errors, 100 rps, 5%', kind: 'aa', world: steady(100, 0.01), steps: SINGLE },
  { name: 'A/A 1% errors, 5 rps, 5%', kind: 'aa', world: steady(5, 0.01), steps: SINGLE },
  { name: 'A/A 1% errors, 1000 rps, 5%', kind: 'aa', world: steady(1000, 0.01), steps: SINGLE },
  { name: 'A/A 1% errors, 100 rps, 5→10→25→50', kind: 'aa', world: steady(100, 0.01), steps: SCHEDULE },
  {
    name: 'A/A diurnal (traffic ×0.3→×2, errors 0.5%→2%)',
    kind: 'aa',
    world: (t) => {
      const f = 0.3 + 1.7 * (t / HORIZON);
      return {
        rps: 100 * f,
        baseErr: 0.005 * (1 + 1.5 * (f - 0.3)),
        canaryErr: 0.005 * (1 + 1.5 * (f - 0.3)),
        base: SAME,
        canary: SAME,
      };
    },
    steps: SCHEDULE,
  },
  {
    name: 'A/A incident on both (min 3-12: 4% errors, ×2 latency)',
    kind: 'aa',
    world: (t) => {
      const inc = t >= 3 && t < 12;
      const lat = inc ? { scale: 2, tailShiftMs: 0, tailFrac: 0 } : SAME;
      return { rps: 100, baseErr: inc ? 0.04 : 0.01, canaryErr: inc ? 0.04 : 0.01, base: lat, canary: lat };
    },
    steps: SCHEDULE,
  },
  { name: 'errors 1.5× (1% base)', kind: 'regression', world: steady(100, 0.01, 0.015), steps: SINGLE },
  // Effect sizes 1.3× to 25×, the canary below the 5% ceiling so that the sequential test decides, and from 5× up at
  // a 0.5% canary rate so that the bound's median spans a few minutes: where it is the first minute's 300 requests,
  // a judge is scored 1× or 2× by whether that minute alone suffices, a coin flip that says little about the test.
  {
    name: 'errors 1.3× (2% base), long bake',
    kind: 'regression',
    world: steady(100, 0.02, 0.026),
    steps: LONG,
    effect: 1.3,
  },
  {
    name: 'errors 2× (1% base), long bake',
    kind: 'regression',
    world: steady(100, 0.01, 0.02),
    steps: LONG,
    effect: 2,
  },
  {
    name: 'errors 5× (0.1% base), long bake',
    kind: 'regression',
    world: steady(100, 0.001, 0.005),
    steps: LONG,
    effect: 5,
  },
  {
    name: 'errors 10× (0.05% base), long bake',
    kind: 'regression',
    world: steady(100, 0.0005, 0.005),
    steps: LONG,
    effect: 10,
  },
  {
    name: 'errors 25× (0.02% base), long bake',
    kind: 'regression',
    world: steady(100, 0.0002, 0.005),
    steps: LONG,
    effect: 25,
  },
  {
    name: 'errors 2× (1% base)',
    kind: 'regression',
    world: steady(100, 0.01, 0.02),
    steps: SINGLE,
    target: 1600,
  },
  { name: 'errors 2× (0.1% base)', kind: 'regression', world: steady(100, 0.001, 0.002), steps: SINGLE },
  {
    name: 'errors 5× (1% base)',
    kind: 'regression',
    world: steady(100, 0.01, 0.05),
    steps: SINGLE,
    target: 300,
  },
  { name: '20% outright failure', kind: 'regression', world: steady(100, 0.01, 0.21), steps: SINGLE },
  { name: 'errors 2× (1% base), 5 rps', kind: 'regression', world: steady(5, 0.01, 0.02), steps: SINGLE },
  {
    name: 'errors 5× (1% base), 5 rps',
    kind: 'regression',
    world: steady(5, 0.01, 0.05),
    steps: SINGLE,
    horizon: 240,
    target: 300,
  },
  {
    name: 'errors 2× (1% base), 1000 rps',
    kind: 'regression',
    world: steady(1000, 0.01, 0.02),
    steps: SINGLE,
  },
  {
    name: 'errors 2× (1% base), 5→10→25→50',
    kind: 'regression',
    world: steady(100, 0.01, 0.02),
    steps: SCHEDULE,
  },
  {
    name: 'latency ×1.10',
    kind: 'regression',
    world: steady(100, 0.01, 0.01, { scale: 1.1, tailShiftMs: 0, tailFrac: 0 }),
    steps: SINGLE,
  },
  {
    name: 'latency +50 ms on slowest 2%',
    kind: 'regression',
    world: steady(100, 0.01, 0.01, { scale: 1, tailShiftMs: 50, tailFrac: 0.02 }),
    steps: SINGLE,
  },
  {
    name: 'cold canary (×3 latency, first 2 min; harmless)',
    kind: 'regression',
    world: (t) => ({
      rps: 100,
      baseErr: 0.01,
      canaryErr: 0.01,
      base: SAME,
      canary: t < 2 ? { scale: 3, tailShiftMs: 0, tailFrac: 0 } : SAME,
    }),
    steps: SCHEDULE,
  },
];

/** BENCH_SCENARIOS=<regex> keeps the scenarios whose name matches (for tuning). */
export const SCENARIOS: Scenario[] = process.env.BENCH_SCENARIOS
  ? ALL_SCENARIOS.filter((s) => new RegExp(process.env.BENCH_SCENARIOS as string).test(s.name))
  : ALL_SCENARIOS;

/** The sequential judge as shipped: the production defaults of the analysis policy (no gating alarms here). */
const POLICY: AnalysisPolicy = parseAnalysisPolicy({});
/** The same judge reading every minute as soon as it ends: what the metric delay costs. */
const POLICY_NO_DELAY: AnalysisPolicy = { ...POLICY, metricDelaySeconds: 0 };
/** Variant: extensions without limit, then advance (does the extension policy cost false rollbacks?). */
const POLICY_UNLIMITED_EXT: AnalysisPolicy = {
  ...POLICY,
  maxExtensions: 100,
  onInconclusive: 'advance',
};
/** Variant: the production defaults with another errorRate.tolerance. */
const POLICY_TOL = (tolerance: number): AnalysisPolicy => ({
  ...POLICY,
  errorRate: { ...POLICY.errorRate, tolerance },
});

/** Variant: the production defaults with analysis.minimumRegression 1.25 (early pass needs evidence below 1.25×). */
const POLICY_MINREG: AnalysisPolicy = { ...POLICY, minimumRegression: 1.25 };

/**
 * The ratio tests' previous mixture: six bets, ln multiplier = ln 1.1 × 2^k (1.10, 1.21, 1.46, 2.14, 4.59, 21.1),
 * equal weights. Kept here only to measure the shipped mixture (functions/core/stats/ratio.ts BETS) against it.
 */
const PREVIOUS_BETS: readonly Bet[] = [0, 1, 2, 3, 4, 5].map((k) => ({
  multiplier: Math.exp(Math.log(1.1) * 2 ** k),
  weight: 1 / 6,
}));

/** The metric delay the sequential judges model (the product's default), in seconds. */
const METRIC_DELAY_S = POLICY.metricDelaySeconds ?? DEFAULT_METRIC_DELAY_SECONDS;

type JudgeName =
  | 'sequential'
  | 'seq-no-delay'
  | 'seq-prev'
  | 'seq-ext-unlimited'
  | 'seq-tol0.2'
  | 'seq-minreg1.25'
  | 'fixed'
  | 'fixed-strict'
  | 'kayenta'
  | 'oracle';
/** BENCH_VARIANTS=1 adds the sequential variants (unlimited extensions; tolerance 0.2; minimumRegression 1.25). */
const ALL_JUDGES: JudgeName[] = [
  'sequential',
  'seq-no-delay',
  'seq-prev',
  'seq-ext-unlimited',
  'seq-tol0.2',
  'seq-minreg1.25',
  'fixed',
  'fixed-strict',
  'kayenta',
  'oracle',
];
/** BENCH_JUDGES=a,b picks judges by name (for tuning). */
const JUDGES: JudgeName[] = process.env.BENCH_JUDGES
  ? ALL_JUDGES.filter((j) => process.env.BENCH_JUDGES?.split(',').includes(j))
  : process.env.BENCH_VARIANTS === '1'
    ? ALL_JUDGES
    : ['sequential', 'seq-no-delay', 'seq-prev', 'fixed', 'fixed-strict', 'kayenta', 'oracle'];

/**
 * The error test's share of alpha in the sequential judge (it runs beside two latency tests): the oracle's bar.
 * The oracle is no judge: the likelihood-ratio e-process at the true ratio of error rates (it knows the regression's
 * size), reading each minute as it ends and rolling back once it reaches 1/alpha. No e-process on these counts does
 * better in expected log-growth, so its median is about the floor for any judge that keeps its guarantee at every
 * look; it runs on the effect-size scenarios only.
 */
const ORACLE_ALPHA = (POLICY.errorRate.alpha ?? 0.01) * ERROR_ALPHA_SHARE;

interface Outcome {
  rolledBack: boolean;
  /** Canary requests in the periods the judge had seen when it rolled back: the evidence it needed. */
  canaryRequestsAtRollback: number;
  /** Canary requests served by the rollback, including those in periods not settled yet. */
  canaryServedAtRollback: number;
  /** Seconds from the canary's start to the rollback (Infinity when not rolled back). */
  detectedAtS: number;
  excessFailed: number;
  promotedAtS: number; // Infinity when not promoted within the horizon
  /** A step advanced before its bake ended on the judge's early pass (sequential judges only). */
  earlyPassed: boolean;
}

const isSequential = (j: JudgeName) =>
  j === 'sequential' ||
  j === 'seq-no-delay' ||
  j === 'seq-prev' ||
  j === 'seq-ext-unlimited' ||
  j === 'seq-tol0.2' ||
  j === 'seq-minreg1.25';

function empiricalP99(rng: Rng, l: Latency, n: number): number | null {
  if (n === 0) return null;
  const sd = Math.sqrt((0.99 * 0.01) / n);
  const u = Math.min(0.999999, Math.max(0.5, 0.99 + sd * rng.normal()));
  return quantile(l, u);
}

function simulate(s: Scenario, judgeName: JudgeName, seed: number): Outcome {
  const rng = new Rng(seed);
  const canary: PeriodStats[] = [];
  const baseline: PeriodStats[] = [];
  let stepIndex = 0;
  let inStep = 0;
  let extensions = 0;
  /** The sequential judges analyze at the end of this minute (1-based), as the workflow spaces its analyses. */
  let nextAnalysis = 1;
  let failedChecks = 0;
  let lastCheckFailed = false;
  let earlyPassed = false;
  let oracleLog = 0;
  let canaryRequests = 0;
  /** Canary requests the judge has seen (every one for the judges that read each minute as it ends). */
  let judgedRequests = 0;
  let excess = 0;
  let stepCanaryLat: number[] = [];
  let stepBaseLat: number[] = [];
  let stepC = { n: 0, x: 0 };
  let stepB = { n: 0, x: 0 };
  const t0 = Date.parse('2025-01-01T00:00:00Z');
  for (let t = 0; t < (s.horizon ?? HORIZON); t++) {
    const w = s.world(t);
    const cfg = s.steps[stepIndex] as Scenario['steps'][number];
    const mean = w.rps * PERIOD_S;
    const c = rng.poisson(mean * (cfg.weight / 100));
    const b = rng.poisson(mean * (1 - cfg.weight / 100));
    const ce = rng.binomial(c, w.canaryErr);
    const be = rng.binomial(b, w.baseErr);
    const cs = rng.binomial(c, slowShare(w.canary, SLOW_MS));
    const bs = rng.binomial(b, slowShare(w.base, SLOW_MS));
    // Above the median: the slow ones plus some of the rest (nested, as a real count would be).
    const above = (n: number, slow: number, l: Latency) => {
      const pSlow = slowShare(l, SLOW_MS);
      return slow + rng.binomial(n - slow, (slowShare(l, MEDIAN_MS) - pSlow) / (1 - pSlow));
    };
    const ca = above(c, cs, w.canary);
    const ba = above(b, bs, w.base);
    const start = new Date(t0 + t * PERIOD_S * 1000).toISOString();
    const cp99 = empiricalP99(rng, w.canary, c);
    canary.push({ start, requests: c, errors: ce, p99Ms: cp99, slow: cs, aboveMedian: ca });
    baseline.push({
      start,
      requests: b,
      errors: be,
      p99Ms: empiricalP99(rng, w.base, b),
      slow: bs,
      aboveMedian: ba,
    });
    canaryRequests += c;
    if (!isSequential(judgeName)) judgedRequests = canaryRequests;
    excess += ce - c * w.baseErr;
    inStep++;
    let decision: 'rollback' | 'advance' | 'wait' = 'wait';
    if (isSequential(judgeName)) {
      if (t + 1 < nextAnalysis) continue;
      const policy =
        judgeName === 'seq-minreg1.25'
          ? POLICY_MINREG
          : judgeName === 'seq-tol0.2'
            ? POLICY_TOL(0.2)
            : judgeName === 'seq-ext-unlimited'
              ? POLICY_UNLIMITED_EXT
              : judgeName === 'seq-no-delay'
                ? POLICY_NO_DELAY
                : POLICY;
      // Only the periods settled at the end of minute t (the analysis's settledEnd).
      const delayS = policy.metricDelaySeconds ?? METRIC_DELAY_S;
      const settled = Math.max(0, Math.floor(((t + 1) * PERIOD_S - delayS) / PERIOD_S));
      const window: MetricWindow = {
        from: canary[0]?.start as string,
        to: new Date(t0 + settled * PERIOD_S * 1000).toISOString(),
        periodSeconds: PERIOD_S,
        canary: canary.slice(0, settled),
        baseline: baseline.slice(0, settled),
        slowThresholdMs: SLOW_MS,
        medianThresholdMs: MEDIAN_MS,
      };
      judgedRequests = window.canary.reduce((acc, p) => acc + p.requests, 0);
      // The product's own rules decide, as the workflow's Analyze does, and space the analyses as it does (every
      // minute for the first hour, then analysisWait). A step bakes its configured minutes plus the metric delay
      // (set-weight's stepBakeSeconds), so its last analysis judges the whole configured bake.
      const bakeLeft = Math.max(0, stepBakeSeconds(cfg.bake * PERIOD_S, policy) - inStep * PERIOD_S);
      const elapsed = (t + 1) * PERIOD_S;
      const step = {
        index: stepIndex,
        weight: cfg.weight,
        bakeSeconds: cfg.bake * PERIOD_S,
        approval: false,
      };
      const bets = judgeName === 'seq-prev' ? PREVIOUS_BETS : undefined;
      const decided = decide(judge(window, [], policy, [], bets), step, extensions, policy, bakeLeft);
      const action = decided.action;
      if (decided.because === 'earlyPass') earlyPassed = true;
      if (action === 'rollback') decision = 'rollback';
      else if (action === 'advance' || action === 'awaitApproval') decision = 'advance';
      // The wait the workflow takes next (no approvals here): the product's afterAnalysis, or on advancing the
      // next step's first wait (set-weight's nextBakeWait).
      const loop = afterAnalysis(action, { bakeLeft, extensions }, policy, 0, elapsed);
      extensions = loop.extensions;
      const following = s.steps[stepIndex + 1];
      const waitS =
        decision !== 'advance'
          ? loop.waitSeconds
          : following
            ? nextBakeWait(stepBakeSeconds(following.bake * PERIOD_S, policy), policy, elapsed).wait
            : 0;
      nextAnalysis = t + 1 + Math.max(1, Math.ceil(waitS / PERIOD_S));
    } else if (judgeName === 'oracle') {
      const m = w.canaryErr / w.baseErr;
      if (c > 0 && b > 0 && ce + be > 0) {
        const th0 = c / (c + b);
        const th1 = (m * c) / (m * c + b);
        oracleLog += ce * Math.log(th1 / th0) + be * Math.log((1 - th1) / (1 - th0));
      }
      if (oracleLog >= Math.log(1 / ORACLE_ALPHA)) decision = 'rollback';
    } else if (judgeName === 'fixed' || judgeName === 'fixed-strict') {
      lastCheckFailed = fixedCheckFails(c, ce, cp99, { minSuccess: 0.99, maxP99Ms: 500, minRequests: 20 });
      if (lastCheckFailed) failedChecks++;
      if (failedChecks >= (judgeName === 'fixed' ? 5 : 1)) decision = 'rollback';
      else if (inStep >= cfg.bake && !lastCheckFailed) decision = 'advance';
    } else {
      stepC = { n: stepC.n + c, x: stepC.x + ce };
      stepB = { n: stepB.n + b, x: stepB.x + be };
      for (let k = 0; k < Math.min(40, c); k++) stepCanaryLat.push(quantile(w.canary, rng.next()));
      for (let k = 0; k < Math.min(40, b); k++) stepBaseLat.push(quantile(w.base, rng.next()));
      if (inStep >= cfg.kayentaWindow) {
        const e = mannWhitneyIndicators(stepC.n, stepC.x, stepB.n, stepB.x);
        const l = mannWhitney(Float64Array.from(stepCanaryLat), Float64Array.from(stepBaseLat));
        const high = (r: { p: number; canaryHigher: boolean }) => r.p < 0.02 && r.canaryHigher;
        decision = high(e) || high(l) ? 'rollback' : 'advance';
        stepCanaryLat = [];
        stepBaseLat = [];
        stepC = { n: 0, x: 0 };
        stepB = { n: 0, x: 0 };
      }
    }
    if (decision === 'rollback') {
      return {
        rolledBack: true,
        canaryRequestsAtRollback: judgedRequests,
        canaryServedAtRollback: canaryRequests,
        detectedAtS: (t + 1) * PERIOD_S,
        excessFailed: excess,
        promotedAtS: Infinity,
        earlyPassed,
      };
    }
    if (decision === 'advance') {
      stepIndex++;
      inStep = 0;
      extensions = 0;
      failedChecks = judgeName === 'fixed' || judgeName === 'fixed-strict' ? failedChecks : 0;
      if (stepIndex >= s.steps.length) {
        return {
          ...NOT_ROLLED_BACK,
          excessFailed: excess,
          promotedAtS: (t + 1) * PERIOD_S,
          earlyPassed,
        };
      }
    }
  }
  return { ...NOT_ROLLED_BACK, excessFailed: excess, promotedAtS: Infinity, earlyPassed };
}

const NOT_ROLLED_BACK = {
  rolledBack: false,
  canaryRequestsAtRollback: 0,
  canaryServedAtRollback: 0,
  detectedAtS: Infinity,
} as const;

function quantileOf(xs: number[], q: number): number | null {
  if (xs.length === 0) return null;
  const sorted = [...xs].sort((a, b) => a - b);
  const v = sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] as number;
  return Number.isFinite(v) ? v : null;
}

function wilson(k: number, n: number, z = 1.959964): [number, number] {
  const p = k / n;
  const d = 1 + (z * z) / n;
  const centre = (p + (z * z) / (2 * n)) / d;
  const half = (z * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n))) / d;
  return [Math.max(0, centre - half), Math.min(1, centre + half)];
}

export interface JudgeFigures {
  runs: number;
  falseRollbackRate: number | null;
  falseRollbackInterval: [number, number] | null;
  detectionRate: number | null;
  medianRequestsToDetect: number | null;
  p90RequestsToDetect: number | null;
  /** Median canary requests served by the rollback (undetected runs as ∞), delayed periods included. */
  medianServedToDetect: number | null;
  /** Median seconds from the canary's start to the rollback (undetected runs as ∞). */
  medianSecondsToDetect: number | null;
  excessFailedRequests: number | null;
  medianSecondsToPromote: number | null;
  /** Share of runs in which a step passed early (the judge's early pass, before the bake's end). */
  earlyPassRate: number;
}

function runScenario(
  s: Scenario,
  runs: number,
  seed: number,
): { judges: Record<string, JudgeFigures>; sequentialWithin: Record<string, number> } {
  const out: Record<string, JudgeFigures> = {};
  let sequentialReq: number[] = [];
  for (const j of JUDGES) {
    if (j === 'oracle' && s.effect === undefined) continue;
    const outcomes: Outcome[] = [];
    for (let r = 0; r < runs; r++) outcomes.push(simulate(s, j, seed * 100_003 + r));
    const rolled = outcomes.filter((o) => o.rolledBack).length;
    const detectReq = outcomes.map((o) => (o.rolledBack ? o.canaryRequestsAtRollback : Infinity));
    if (j === 'sequential') sequentialReq = detectReq;
    const aa = s.kind === 'aa';
    out[j] = {
      runs,
      falseRollbackRate: aa ? rolled / runs : null,
      falseRollbackInterval: aa ? wilson(rolled, runs) : null,
      detectionRate: aa ? null : rolled / runs,
      medianRequestsToDetect: aa ? null : quantileOf(detectReq, 0.5),
      p90RequestsToDetect: aa ? null : quantileOf(detectReq, 0.9),
      medianServedToDetect: aa
        ? null
        : quantileOf(
            outcomes.map((o) => (o.rolledBack ? o.canaryServedAtRollback : Infinity)),
            0.5,
          ),
      medianSecondsToDetect: aa
        ? null
        : quantileOf(
            outcomes.map((o) => o.detectedAtS),
            0.5,
          ),
      excessFailedRequests: aa ? null : outcomes.reduce((a, o) => a + o.excessFailed, 0) / runs,
      medianSecondsToPromote: aa
        ? quantileOf(
            outcomes.map((o) => o.promotedAtS),
            0.5,
          )
        : null,
      earlyPassRate: outcomes.filter((o) => o.earlyPassed).length / runs,
    };
  }
  // The sequential judge's share of runs detected with at most n canary requests, for the bounds table.
  const sequentialWithin: Record<string, number> = {};
  const fixedMedians = [out.fixed, out['fixed-strict']].map((f) => f?.medianRequestsToDetect);
  for (const n of [s.target, ...fixedMedians]) {
    if (typeof n === 'number' && sequentialReq.length > 0)
      sequentialWithin[n] = sequentialReq.filter((x) => x <= n).length / sequentialReq.length;
  }
  return { judges: out, sequentialWithin };
}

function fmt(x: number | null, digits = 0): string {
  return x === null ? '—' : x.toFixed(digits);
}

/** BENCH_SEED=<n> reseeds every scenario (to see how much a figure moves between seeds). */
const SEED = Number(process.env.BENCH_SEED ?? 20250314);

/** Runs scenarios `indices` (this process). */
export function runShard(indices: number[], aaRuns: number, regRuns: number) {
  return indices.map((i) => {
    const s = SCENARIOS[i] as Scenario;
    const t = Date.now();
    // Seeds follow the full list, so a BENCH_SCENARIOS subset reproduces the full bench's figures.
    const { judges, sequentialWithin } = runScenario(
      s,
      s.kind === 'aa' ? aaRuns : regRuns,
      SEED + ALL_SCENARIOS.indexOf(s),
    );
    return {
      index: i,
      name: s.name,
      kind: s.kind,
      judges,
      sequentialWithin,
      seconds: (Date.now() - t) / 1000,
    };
  });
}

type ShardResult = ReturnType<typeof runShard>[number];

/** Scenarios split over `workers` child processes (longest first onto the least loaded), results in order. */
async function runParallel(
  workers: number,
  aaRuns: number,
  regRuns: number,
  log: boolean,
): Promise<ShardResult[]> {
  const cost = (s: Scenario) => (s.kind === 'aa' ? aaRuns * 1.6 : regRuns * 1.5);
  const order = SCENARIOS.map((s, i) => ({ i, c: cost(s) })).sort((x, y) => y.c - x.c);
  const load = Array.from({ length: workers }, () => ({ c: 0, indices: [] as number[] }));
  for (const o of order) {
    const least = load.reduce((m, l) => (l.c < m.c ? l : m));
    least.c += o.c;
    least.indices.push(o.i);
  }
  const { fork } = await import('node:child_process');
  const { fileURLToPath } = await import('node:url');
  const worker = fileURLToPath(new URL('./worker.ts', import.meta.url));
  const parts = await Promise.all(
    load.map(
      (l) =>
        new Promise<ShardResult[]>((resolve, reject) => {
          const child = fork(worker, [], {
            env: {
              ...process.env,
              BENCH_SHARD: l.indices.join(','),
              BENCH_AA: String(aaRuns),
              BENCH_REG: String(regRuns),
            },
          });
          child.on('message', (m) => {
            const r = m as ShardResult[];
            if (log) for (const x of r) process.stderr.write(`  ${x.name}: ${x.seconds.toFixed(1)} s\n`);
            resolve(r);
          });
          child.on('error', reject);
          child.on('exit', (code) => {
            if (code !== 0) reject(new Error(`bench worker exited with ${code}`));
          });
        }),
    ),
  );
  return parts.flat().sort((x, y) => x.index - y.index);
}

export interface Bound {
  scenario: string;
  /** The canary requests asked about, and why: a fixed judge's median, or the target. */
  canaryRequests: number;
  from: 'fixed median' | 'fixed-strict median' | 'target';
  /** Upper bound on P(rolled back with at most that many canary requests) for any judge with ≤ alpha false rollbacks. */
  detectionBound: number;
  /** True when a median that low is within reach of a judge with false rollbacks ≤ alpha (detection ≥ 50%). */
  reachable: boolean;
  sequentialMedian: number | null;
  /** The sequential judge's share of runs rolled back with at most that many canary requests (null: not run). */
  sequentialDetected: number | null;
}

/** The canary's weight at minute t on the path of a judge that never rolls back (each step lasts its bake). */
function weightAt(s: Scenario, t: number): number {
  let end = 0;
  for (const step of s.steps) {
    end += step.bake;
    if (t < end) return step.weight;
  }
  return (s.steps.at(-1) as Scenario['steps'][number]).weight;
}

/** For each error-rate regression: what any judge with ≤ alpha false rollbacks could do (bench/judge/bounds.ts). */
function boundsFor(results: ShardResult[]): Bound[] {
  const alpha = POLICY.errorRate.alpha ?? 0.01;
  const out: Bound[] = [];
  for (const r of results) {
    const s = ALL_SCENARIOS.find((x) => x.name === r.name);
    if (s?.kind !== 'regression') continue;
    const w0 = s.world(0);
    if (w0.canaryErr === w0.baseErr) continue;
    const asks: Array<[number, Bound['from']]> = [];
    const fixedMedian = r.judges.fixed?.medianRequestsToDetect;
    if (typeof fixedMedian === 'number') asks.push([fixedMedian, 'fixed median']);
    const strictMedian = r.judges['fixed-strict']?.medianRequestsToDetect;
    if (typeof strictMedian === 'number') asks.push([strictMedian, 'fixed-strict median']);
    if (s.target !== undefined) asks.push([s.target, 'target']);
    for (const [n, from] of asks) {
      const detection = detectionBound({
        canaryPerMinute: (t) => w0.rps * PERIOD_S * (weightAt(s, t) / 100),
        p0: w0.baseErr,
        p1: w0.canaryErr,
        alpha,
        n,
      });
      out.push({
        scenario: s.name,
        canaryRequests: n,
        from,
        detectionBound: detection,
        reachable: detection >= 0.5,
        sequentialMedian: r.judges.sequential?.medianRequestsToDetect ?? null,
        sequentialDetected: r.sequentialWithin[n] ?? null,
      });
    }
  }
  return out;
}

/** The targets the judge is held to, each with its figures and whether it is met. */
export interface Target {
  target: string;
  scenario: string;
  figures: string;
  met: boolean;
}

/** False rollbacks allowed in every A/A scenario, and detection allowed against the bound's median. */
const MAX_FALSE_ROLLBACK = 0.01;
const MAX_RATIO_TO_BOUND = 1.5;
const MAX_EARLY_PASS_AT_1_5 = 0.05;

function targetsFor(results: ShardResult[]): Target[] {
  const alpha = POLICY.errorRate.alpha ?? 0.01;
  const out: Target[] = [];
  const pct = (x: number) => `${(x * 100).toFixed(2)}%`;
  for (const r of results) {
    const s = ALL_SCENARIOS.find((x) => x.name === r.name) as Scenario;
    const seq = r.judges.sequential;
    if (!seq) continue;
    if (s.kind === 'aa') {
      const rate = seq.falseRollbackRate ?? 0;
      const [lo, hi] = seq.falseRollbackInterval ?? [0, 0];
      out.push({
        target: `false rollback ≤ ${pct(MAX_FALSE_ROLLBACK)}`,
        scenario: s.name,
        figures: `${pct(rate)} [${pct(lo)}–${pct(hi)}] of ${seq.runs}`,
        met: rate <= MAX_FALSE_ROLLBACK,
      });
    }
    if (s.effect !== undefined) {
      const w0 = s.world(0);
      const horizon = s.horizon ?? HORIZON;
      const perMinute = (t: number) => w0.rps * PERIOD_S * (weightAt(s, t) / 100);
      const median = boundMedian({ canaryPerMinute: perMinute, p0: w0.baseErr, p1: w0.canaryErr, alpha });
      let served = 0;
      for (let t = 0; t < horizon; t++) served += perMinute(t);
      const ratio = (f: JudgeFigures | undefined) =>
        f?.medianRequestsToDetect == null ? '∞' : (f.medianRequestsToDetect / median).toFixed(2);
      const seqRatio = seq.medianRequestsToDetect === null ? Infinity : seq.medianRequestsToDetect / median;
      out.push({
        target: `median requests to detect ≤ ${MAX_RATIO_TO_BOUND}× the bound's median`,
        scenario: s.name,
        figures:
          `bound median ${median}; sequential ${fmt(seq.medianRequestsToDetect)} (${ratio(seq)}×); ` +
          `previous mixture ${ratio(r.judges['seq-prev'])}×; oracle ${ratio(r.judges.oracle)}×; fixed ${ratio(r.judges.fixed)}×, fixed-strict ${ratio(r.judges['fixed-strict'])}×, kayenta ${ratio(r.judges.kayenta)}×` +
          (served < median * MAX_RATIO_TO_BOUND ? ' (scenario too short)' : ''),
        met: seqRatio <= MAX_RATIO_TO_BOUND,
      });
    }
    if (s.name === 'errors 1.5× (1% base)') {
      out.push({
        target: `a 1.5× regression passes a step early in ≤ ${pct(MAX_EARLY_PASS_AT_1_5)} of runs`,
        scenario: s.name,
        figures: `${pct(seq.earlyPassRate)} of ${seq.runs}`,
        met: seq.earlyPassRate <= MAX_EARLY_PASS_AT_1_5,
      });
    }
  }
  return out;
}

/** Per effect size: the judge, its previous mixture and the oracle against the bound, and what ≤ 1.5× would take. */
export interface Achievable {
  scenario: string;
  boundMedian: number;
  /** Whole minutes of canary traffic within 1.5× the bound's median (requests arrive a minute at a time). */
  minutesWithinTarget: number;
  ratios: { sequential: number | null; previous: number | null; oracle: number | null };
  medians: { sequential: number | null; previous: number | null; oracle: number | null };
  /** The oracle (the likelihood ratio that knows the effect) within 1.5×: no e-process does much better than it. */
  reachableByEProcess: boolean;
}

function achievableFor(results: ShardResult[]): Achievable[] {
  const alpha = POLICY.errorRate.alpha ?? 0.01;
  const out: Achievable[] = [];
  for (const r of results) {
    const s = ALL_SCENARIOS.find((x) => x.name === r.name) as Scenario;
    if (s.effect === undefined) continue;
    const w0 = s.world(0);
    const perMinute = (t: number) => w0.rps * PERIOD_S * (weightAt(s, t) / 100);
    const median = boundMedian({ canaryPerMinute: perMinute, p0: w0.baseErr, p1: w0.canaryErr, alpha });
    const med = (j: JudgeName) => r.judges[j]?.medianRequestsToDetect ?? null;
    const ratio = (j: JudgeName) => {
      const m = med(j);
      return m === null ? null : m / median;
    };
    const oracle = ratio('oracle');
    out.push({
      scenario: s.name,
      boundMedian: median,
      minutesWithinTarget: Math.floor((MAX_RATIO_TO_BOUND * median) / perMinute(0)),
      ratios: { sequential: ratio('sequential'), previous: ratio('seq-prev'), oracle },
      medians: { sequential: med('sequential'), previous: med('seq-prev'), oracle: med('oracle') },
      reachableByEProcess: oracle !== null && oracle <= MAX_RATIO_TO_BOUND,
    });
  }
  return out;
}

function printAchievable(rows: Achievable[]): void {
  if (rows.length === 0) return;
  const alpha = POLICY.errorRate.alpha ?? 0.01;
  const best = brownianBestBet(ORACLE_ALPHA, alpha);
  const x = (v: number | null) => (v === null ? '∞' : `${v.toFixed(2)}×`);
  process.stdout.write(
    `\nWhat an anytime-valid test can reach (error test at α = ${ORACLE_ALPHA}, the bound at ${alpha}). Small-effect ` +
      `limit (Brownian): the oracle's median is ${brownianMedianRatio(ORACLE_ALPHA, alpha).toFixed(2)}× the bound's, ` +
      `the best single bet's (${best.m.toFixed(2)}× the true drift) ${best.ratio.toFixed(2)}×, a bet on the true effect ` +
      `weighted 1/3 in a mixture ${brownianMedianRatio(ORACLE_ALPHA, alpha, { weight: 1 / 3 }).toFixed(2)}×, 1/6 ` +
      `${brownianMedianRatio(ORACLE_ALPHA, alpha, { weight: 1 / 6 }).toFixed(2)}×. Canary requests arrive a minute at ` +
      `a time: ≤ ${MAX_RATIO_TO_BOUND}× means detecting within the minutes shown.\n`,
  );
  printTable([
    [
      'scenario',
      'bound med',
      `≤ ${MAX_RATIO_TO_BOUND}× within`,
      'sequential med (×)',
      'previous mixture med (×)',
      'oracle med (×)',
      `≤ ${MAX_RATIO_TO_BOUND}× reachable by an e-process`,
    ],
    ...rows.map((a) => [
      a.scenario,
      String(a.boundMedian),
      `${a.minutesWithinTarget} min`,
      `${fmt(a.medians.sequential)} (${x(a.ratios.sequential)})`,
      `${fmt(a.medians.previous)} (${x(a.ratios.previous)})`,
      `${fmt(a.medians.oracle)} (${x(a.ratios.oracle)})`,
      a.reachableByEProcess ? 'yes' : 'no: the oracle is above it',
    ]),
  ]);
}

function printTargets(targets: Target[]): void {
  if (targets.length === 0) return;
  process.stdout.write(
    `\nTargets (the sequential judge with the production defaults; the bound's median is the fewest canary requests ` +
      `at which any judge with ≤ ${POLICY.errorRate.alpha ?? 0.01} false rollbacks detects in half the runs, ` +
      `bench/judge/bounds.ts; ratios are median requests to detect over it):\n`,
  );
  printTable([
    ['target', 'scenario', 'figures', 'met'],
    ...targets.map((t) => [t.target, t.scenario, t.figures, t.met ? 'PASS' : 'FAIL']),
  ]);
}

/** The sequential judge with the metric delay against the same judge without it, side by side. */
function printDelayCost(results: ShardResult[]): void {
  const rows: string[][] = [
    [
      'scenario',
      'detect med s (no delay → delay)',
      'served by rollback med',
      'excess failed',
      'promote med s',
      'false rollback',
    ],
  ];
  const arrow = (a: number | null | undefined, b: number | null | undefined, digits = 0) =>
    `${fmt(a ?? null, digits)} → ${fmt(b ?? null, digits)}`;
  for (const r of results) {
    const d = r.judges.sequential;
    const n = r.judges['seq-no-delay'];
    if (!d || !n) continue;
    const pctOf = (f: JudgeFigures) =>
      f.falseRollbackRate === null ? null : Math.round(f.falseRollbackRate * 10_000) / 100;
    rows.push([
      r.name,
      arrow(n.medianSecondsToDetect, d.medianSecondsToDetect),
      arrow(n.medianServedToDetect, d.medianServedToDetect),
      arrow(n.excessFailedRequests, d.excessFailedRequests, 1),
      arrow(n.medianSecondsToPromote, d.medianSecondsToPromote),
      r.kind === 'aa' ? `${arrow(pctOf(n), pctOf(d), 2)} %` : '—',
    ]);
  }
  if (rows.length === 1) return;
  process.stdout.write(
    `\nWhat the metric delay costs: the sequential judge reading each minute as it ends (seq-no-delay) → judging only ` +
      `minutes settled ${METRIC_DELAY_S} s after they end (sequential, the product's default analysis.metricDelaySeconds).\n`,
  );
  printTable(rows);
}

function printBounds(bounds: Bound[]): void {
  if (bounds.length === 0) return;
  const alpha = POLICY.errorRate.alpha ?? 0.01;
  const rows = [
    [
      'scenario',
      'canary requests',
      'from',
      'any judge detects by then, at most',
      'a median that low',
      'sequential detects by then',
      'sequential med',
    ],
    ...bounds.map((b) => [
      b.scenario,
      String(b.canaryRequests),
      b.from,
      `${(b.detectionBound * 100).toFixed(1)}%`,
      b.reachable ? 'reachable' : 'out of reach',
      b.sequentialDetected === null ? '—' : `${(b.sequentialDetected * 100).toFixed(1)}%`,
      fmt(b.sequentialMedian),
    ]),
  ];
  process.stdout.write(
    `\nWhat any judge could do: P(rolled back with at most that many canary requests) for a judge whose false ` +
      `rollbacks stay ≤ ${alpha} is at most the power of the Neyman–Pearson test that knows the stable error rate ` +
      `exactly (bench/judge/bounds.ts, exact). Below 50%, no such judge has a median that low.\n`,
  );
  printTable(rows);
}

function printTable(rows: string[][]): void {
  const widths = rows[0]?.map((_, c) => Math.max(...rows.map((row) => (row[c] ?? '').length))) ?? [];
  const line = (row: string[]) => `| ${row.map((cell, c) => cell.padEnd(widths[c] ?? 0)).join(' | ')} |`;
  process.stdout.write(`${line(rows[0] as string[])}\n|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|\n`);
  for (const row of rows.slice(1)) process.stdout.write(`${line(row)}\n`);
}

export async function main(args: string[]): Promise<void> {
  const json = args.includes('--json');
  const aaRuns = Number(process.env.BENCH_AA_RUNS ?? 2000);
  const regRuns = Number(process.env.BENCH_REG_RUNS ?? 1000);
  const workers = Number(process.env.BENCH_WORKERS ?? 2);
  const began = Date.now();
  const results =
    workers > 1
      ? await runParallel(workers, aaRuns, regRuns, !json)
      : runShard(
          SCENARIOS.map((_, i) => i),
          aaRuns,
          regRuns,
        );
  const bounds = boundsFor(results);
  const targets = targetsFor(results);
  // Custom metrics (bench/judge/custom.ts): BENCH_CUSTOM=0 leaves them out.
  const custom =
    process.env.BENCH_CUSTOM === '0'
      ? []
      : runCustom(
          Number(process.env.BENCH_CUSTOM_AA_RUNS ?? 1000),
          Number(process.env.BENCH_CUSTOM_REG_RUNS ?? 300),
          SEED,
        );
  const achievable = achievableFor(results);
  if (json) {
    process.stdout.write(
      `${JSON.stringify({ scenarios: results, bounds, targets, achievable, custom }, null, 2)}\n`,
    );
    return;
  }
  const rows: string[][] = [
    [
      'scenario',
      'judge',
      'false rollback [95% Wilson]',
      'detect',
      'req→detect med',
      'p90',
      'served by rollback med',
      'detect med s',
      'excess failed',
      'promote med s',
      'early pass',
    ],
  ];
  for (const r of results) {
    for (const [j, f] of Object.entries(r.judges)) {
      rows.push([
        r.name,
        j,
        f.falseRollbackRate === null
          ? '—'
          : `${(f.falseRollbackRate * 100).toFixed(2)}% [${((f.falseRollbackInterval?.[0] ?? 0) * 100).toFixed(2)}–${((f.falseRollbackInterval?.[1] ?? 0) * 100).toFixed(2)}]`,
        f.detectionRate === null ? '—' : `${(f.detectionRate * 100).toFixed(1)}%`,
        fmt(f.medianRequestsToDetect),
        fmt(f.p90RequestsToDetect),
        fmt(f.medianServedToDetect),
        fmt(f.medianSecondsToDetect),
        fmt(f.excessFailedRequests, 1),
        fmt(f.medianSecondsToPromote),
        isSequential(j as JudgeName) ? `${(f.earlyPassRate * 100).toFixed(1)}%` : '—',
      ]);
    }
  }
  printTable(rows);
  printDelayCost(results);
  printBounds(bounds);
  printAchievable(achievable);
  printTargets(targets);
  if (custom.length > 0) {
    process.stdout.write('\n');
    printTable(customRows(custom));
  }
  process.stdout.write(
    `\nA/A runs ${aaRuns}, regression runs ${regRuns}; runs of ${HORIZON} one-minute periods; slow threshold ${SLOW_MS} ms, median threshold ${MEDIAN_MS} ms; warm-up 120 s; ${workers} worker(s); ` +
      `requests-to-detect quantiles count undetected runs as ∞ (— when the quantile is ∞); req→detect: canary requests in the ` +
      `periods the judge had seen at the rollback; served by rollback: all canary requests until then (the sequential ` +
      `judge sees minutes ${METRIC_DELAY_S} s after they end; the fixed and kayenta judges read each minute as it ends); ` +
      `${((Date.now() - began) / 1000).toFixed(1)} s\n`,
  );
}
