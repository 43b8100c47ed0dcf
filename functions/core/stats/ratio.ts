/**
 * Anytime-valid inference on the ratio of two Poisson rates from per-period counts.
 *
 * Model: in period i the canary serves c_i requests and the baseline b_i; events (errors, slow requests) occur at
 * rate λc per canary request and λb per baseline request, both free to change from period to period by a common
 * factor (diurnal traffic, an incident hitting both versions). Conditional on the period's total events n_i, the
 * canary's events are Binomial(n_i, θ_i(ρ)) with θ_i(ρ) = ρ c_i / (ρ c_i + b_i) and ρ = λc / λb. The nuisance
 * (the common rate) drops out, and so does the canary's share of traffic: weight changes only move θ_i.
 *
 * Test of H0: ρ ≤ ρ0. For any ρ1 > ρ0 the likelihood ratio Π_i Bin(x_i; n_i, θ_i(ρ1)) / Bin(x_i; n_i, θ_i(ρ0)) is a
 * non-negative supermartingale under every ρ ≤ ρ0 (the binomial family has a monotone likelihood ratio in θ, and θ
 * rises with ρ), so a fixed mixture over ρ1 is too. By Ville's inequality P(sup_t E_t ≥ 1/α) ≤ α: the test may be
 * evaluated after every period, forever, and still fails a canary that is not worse than ρ0 with probability ≤ α.
 *
 * Confidence sequence: the set of ρ' that neither one-sided mixture rejects at level α/2 is a (1 − α)
 * confidence sequence, valid uniformly over time (Howard, Ramdas, McAuliffe & Sekhon 2021; Lindon & Malek 2022).
 */

export interface RatioPeriod {
  /** Canary requests in the period. */
  canaryRequests: number;
  baselineRequests: number;
  /** Canary events (errors, slow requests) in the period. */
  canaryEvents: number;
  baselineEvents: number;
}

/**
 * The mixing distribution over the alternative: ρ1 = ρ0 × multiplier, with prior weight. Fixed in advance (it must
 * not depend on the data). Most weight on the regressions worth catching quickly (1.5–3×), some on large ones.
 */
export const MIXTURE: ReadonlyArray<{ multiplier: number; weight: number }> = [
  { multiplier: 1.1, weight: 0.06 },
  { multiplier: 1.25, weight: 0.1 },
  { multiplier: 1.5, weight: 0.16 },
  { multiplier: 2, weight: 0.22 },
  { multiplier: 3, weight: 0.16 },
  { multiplier: 5, weight: 0.12 },
  { multiplier: 10, weight: 0.08 },
  { multiplier: 30, weight: 0.06 },
  { multiplier: 100, weight: 0.04 },
];

/**
 * The 'up' test (the one that fails a canary) mixes, PLUGIN_WEIGHT : rest, a predictable plug-in e-process and the
 * fixed mixture above: period i is scored with the likelihood ratio at ρ̂_i / ρ0, an estimate from periods before i
 * only, shrunk toward PLUGIN_GUESS with PLUGIN_PSEUDO pseudo-events and clipped to [floor, PLUGIN_MAX]. Because ρ̂_i
 * is fixed before period i's counts are seen and is above ρ0, each factor has conditional mean ≤ 1 under H0, so
 * the product is a test supermartingale (Ville applies). It learns the size of the regression as data arrive; the
 * 16 pseudo-events keep it near the guess (a doubled rate, the regression worth catching fastest) until the data
 * outweigh it, so that the first few noisy periods do not pull the bet away (bench/judge: 2× at a 1% baseline is
 * caught in a median of 5 one-minute periods instead of 6 with 4 pseudo-events). The mixture (10%) covers
 * regressions far from the guess.
 */
export const PLUGIN_WEIGHT = 0.9;
/** Default prior guess of ρ1 / ρ0 for the plug-in (callers set a smaller one for small-effect metrics). */
const PLUGIN_GUESS = 2;
const PLUGIN_PSEUDO = 16;
const PLUGIN_MAX = 100;

interface Informative {
  /** Σ x_i ln c_i + (n_i − x_i) ln b_i and Σ x_i: the parts of the log-likelihood that do not depend on ρ. */
  constant: number;
  totalCanary: number;
  c: Float64Array;
  b: Float64Array;
  x: Float64Array;
  n: Float64Array;
  length: number;
}

/** Periods that carry information about ρ: both versions served traffic and at least one event happened. */
function informative(periods: readonly RatioPeriod[]): Informative {
  const keep = periods.filter(
    (p) => p.canaryRequests > 0 && p.baselineRequests > 0 && p.canaryEvents + p.baselineEvents > 0,
  );
  const out: Informative = {
    constant: 0,
    totalCanary: 0,
    c: new Float64Array(keep.length),
    b: new Float64Array(keep.length),
    x: new Float64Array(keep.length),
    n: new Float64Array(keep.length),
    length: keep.length,
  };
  keep.forEach((p, i) => {
    out.c[i] = p.canaryRequests;
    out.b[i] = p.baselineRequests;
    out.x[i] = p.canaryEvents;
    out.n[i] = p.canaryEvents + p.baselineEvents;
    out.constant +=
      p.canaryEvents * Math.log(p.canaryRequests) + p.baselineEvents * Math.log(p.baselineRequests);
    out.totalCanary += p.canaryEvents;
  });
  return out;
}

/** Conditional log-likelihood of ρ (up to a constant): Σ x_i ln θ_i + (n_i − x_i) ln(1 − θ_i). */
function logLik(d: Informative, rho: number): number {
  // Σ x_i ln(ρ c_i) + (n_i − x_i) ln b_i − n_i ln(ρ c_i + b_i)
  let s = d.constant + d.totalCanary * Math.log(rho);
  for (let i = 0; i < d.length; i++) {
    s -= (d.n[i] as number) * Math.log(rho * (d.c[i] as number) + (d.b[i] as number));
  }
  return s;
}

/** log of the fixed-mixture e-value against H0: ρ ≤ rho0 (direction 'up') or H0: ρ ≥ rho0 (direction 'down'). */
function logMixture(d: Informative, rho0: number, direction: 'up' | 'down'): number {
  if (d.length === 0) return 0;
  const l0 = logLik(d, rho0);
  const terms = MIXTURE.map(
    ({ multiplier, weight }) =>
      Math.log(weight) + logLik(d, direction === 'up' ? rho0 * multiplier : rho0 / multiplier) - l0,
  );
  return logSumExp(terms);
}

function logSumExp(terms: readonly number[]): number {
  const m = Math.max(...terms);
  if (m === Number.NEGATIVE_INFINITY) return m;
  return m + Math.log(terms.reduce((acc, t) => acc + Math.exp(t - m), 0));
}

/** log of the predictable plug-in e-process against H0: ρ ≤ rho0 (periods in time order). */
function logPlugin(d: Informative, rho0: number, guess: number): number {
  const floor = 1 + (guess - 1) / 4;
  let log = 0;
  let seen = 0; // canary events so far
  let expected = 0; // canary events expected so far under ρ0
  for (let i = 0; i < d.length; i++) {
    const c = d.c[i] as number;
    const b = d.b[i] as number;
    const x = d.x[i] as number;
    const n = d.n[i] as number;
    const rel = Math.min(
      PLUGIN_MAX,
      Math.max(floor, (seen + PLUGIN_PSEUDO * guess) / (expected + PLUGIN_PSEUDO)),
    );
    const th0 = (rho0 * c) / (rho0 * c + b);
    const th1 = (rho0 * rel * c) / (rho0 * rel * c + b);
    log += x * Math.log(th1 / th0) + (n - x) * Math.log((1 - th1) / (1 - th0));
    seen += x;
    expected += n * th0;
  }
  return log;
}

/** log of the e-process the test fails on: the plug-in and the fixed mixture, mixed PLUGIN_WEIGHT : rest. */
function logUpTest(d: Informative, rho0: number, guess = PLUGIN_GUESS): number {
  if (d.length === 0) return 0;
  return logSumExp([
    Math.log(PLUGIN_WEIGHT) + logPlugin(d, rho0, guess),
    Math.log(1 - PLUGIN_WEIGHT) + logMixture(d, rho0, 'up'),
  ]);
}

/** exp, capped so that evidence stays a finite, JSON-serialisable number. */
function finiteExp(x: number): number {
  return Math.min(Math.exp(x), Number.MAX_VALUE);
}

/** E-value against H0: ρ ≤ rho0 (large means the canary's rate is above rho0 × the baseline's). */
export function eValueAbove(periods: readonly RatioPeriod[], rho0: number): number {
  return finiteExp(logUpTest(informative(periods), rho0));
}

/** E-value against H0: ρ ≥ rho0 (large means the canary's rate is below rho0 × the baseline's). */
export function eValueBelow(periods: readonly RatioPeriod[], rho0: number): number {
  return finiteExp(logMixture(informative(periods), rho0, 'down'));
}

/** Maximum-likelihood estimate of ρ (Newton on ln ρ; the log-likelihood is concave in ln ρ). Null without data. */
export function ratioEstimate(periods: readonly RatioPeriod[]): number | null {
  const d = informative(periods);
  if (d.length === 0) return null;
  let X = 0;
  let N = 0;
  for (let i = 0; i < d.length; i++) {
    X += d.x[i] as number;
    N += d.n[i] as number;
  }
  if (X === 0) return 0;
  if (X === N) return Number.POSITIVE_INFINITY;
  let s = 0;
  for (let iter = 0; iter < 100; iter++) {
    const rho = Math.exp(s);
    let grad = 0;
    let hess = 0;
    for (let i = 0; i < d.length; i++) {
      const c = d.c[i] as number;
      const th = (rho * c) / (rho * c + (d.b[i] as number));
      grad += (d.x[i] as number) - (d.n[i] as number) * th;
      hess += (d.n[i] as number) * th * (1 - th);
    }
    const step = grad / hess;
    s += Math.max(-5, Math.min(5, step));
    if (Math.abs(step) < 1e-10) break;
  }
  return Math.exp(s);
}

const LOG_LO = Math.log(1e-4);
const LOG_HI = Math.log(1e4);

/**
 * (1 − α) confidence sequence for ρ: [lower, upper], where lower is the smallest ρ' not rejected by the 'up'
 * mixture at α/2 and upper the largest not rejected by the 'down' mixture at α/2. null stands for 0 / ∞ (no
 * information on that side).
 */
export function ratioInterval(
  periods: readonly RatioPeriod[],
  alpha: number,
): { lower: number | null; upper: number | null } {
  const d = informative(periods);
  const bar = Math.log(2 / alpha);
  const rejectedUp = (s: number) => logMixture(d, Math.exp(s), 'up') >= bar;
  const rejectedDown = (s: number) => logMixture(d, Math.exp(s), 'down') >= bar;
  // Lower bound: 'up' rejects small ρ'; find the boundary between rejected (low) and accepted (high).
  let lower: number | null = null;
  if (d.length > 0 && rejectedUp(LOG_LO)) {
    let lo = LOG_LO;
    let hi = LOG_HI;
    if (rejectedUp(hi)) lower = Math.exp(hi);
    else {
      for (let k = 0; k < 20; k++) {
        const mid = (lo + hi) / 2;
        if (rejectedUp(mid)) lo = mid;
        else hi = mid;
      }
      lower = Math.exp(lo);
    }
  }
  let upper: number | null = null;
  if (d.length > 0 && rejectedDown(LOG_HI)) {
    let lo = LOG_LO;
    let hi = LOG_HI;
    if (rejectedDown(lo)) upper = Math.exp(lo);
    else {
      for (let k = 0; k < 20; k++) {
        const mid = (lo + hi) / 2;
        if (rejectedDown(mid)) hi = mid;
        else lo = mid;
      }
      upper = Math.exp(hi);
    }
  }
  return { lower, upper };
}

export interface RatioTest {
  /** Total counts over the informative periods and all periods. */
  canaryEvents: number;
  canaryRequests: number;
  baselineEvents: number;
  baselineRequests: number;
  /** MLE of ρ = canary rate / baseline rate; null without events. */
  estimate: number | null;
  /** (1 − α) anytime-valid confidence sequence for ρ. */
  lower: number | null;
  upper: number | null;
  /** E-value against "ρ ≤ rho0" and the bar it must reach (1/α). */
  eValue: number;
  threshold: number;
  /** E-value against "ρ ≥ passRatio" (evidence that the canary is not worse). */
  eValueNotWorse: number;
  worse: boolean;
  notWorse: boolean;
}

/**
 * The whole test: fail ("worse") when the e-value against ρ ≤ rho0 reaches 1/α; "notWorse" when the e-value
 * against ρ ≥ passRatio reaches 1/α (equivalently the confidence sequence's upper end is below passRatio).
 */
export function ratioTest(
  periods: readonly RatioPeriod[],
  opts: { rho0: number; passRatio: number; alpha: number; guess?: number },
): RatioTest {
  let canaryEvents = 0;
  let canaryRequests = 0;
  let baselineEvents = 0;
  let baselineRequests = 0;
  for (const p of periods) {
    canaryEvents += p.canaryEvents;
    canaryRequests += p.canaryRequests;
    baselineEvents += p.baselineEvents;
    baselineRequests += p.baselineRequests;
  }
  const d = informative(periods);
  const eValue = finiteExp(logUpTest(d, opts.rho0, opts.guess));
  const eValueNotWorse = finiteExp(logMixture(d, opts.passRatio, 'down'));
  const threshold = 1 / opts.alpha;
  const { lower, upper } = ratioInterval(periods, opts.alpha);
  const estimate = ratioEstimate(periods);
  return {
    canaryEvents,
    canaryRequests,
    baselineEvents,
    baselineRequests,
    estimate: estimate !== null && Number.isFinite(estimate) ? estimate : null,
    lower,
    upper,
    eValue,
    threshold,
    eValueNotWorse,
    worse: eValue >= threshold,
    notWorse: eValueNotWorse >= threshold,
  };
}
