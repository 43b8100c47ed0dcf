/**
 * A time-uniform confidence sequence for the mean of paired per-period differences (a gauge's canary value minus a
 * multiple of stable's in the same period), with the variance unknown.
 *
 * Why this test: a gauge gives one value per version per period (CPU utilization, orders per request), so the
 * comparison has a handful of observations whose scale is unknown and differs from metric to metric. A bounded-mean
 * betting sequence (Waudby-Smith & Ramdas 2024) would need bounds a team rarely knows, and its power shrinks with the
 * range; a sign test is free of the scale but needs about ten periods for any evidence. The per-period differences of
 * two averages are close to Gaussian (each is a mean of many samples), so the scale-invariant mixture likelihood
 * ratio of the t-test is used: Lai (1976, "On confidence sequences", Ann. Statist. 4) and Wang & Ramdas (2023,
 * "Anytime-valid t-tests and confidence sequences for Gaussian means with unknown variance")
 * show that for X_i ~ N(μ, σ²) i.i.d., with the right-Haar prior on σ and N(0, 1/c) on the standardized effect,
 *
 *   E_n(μ) = √(c / (c + n)) · (Q / (Q − S² / (n + c)))^(n/2),   S = Σ (X_i − μ),  Q = Σ (X_i − μ)²,
 *
 * is a non-negative martingale under μ in the filtration of the scale-invariant data, so by Ville's inequality
 * P(∃n: E_n(μ) ≥ 1/α) ≤ α: { μ : E_n(μ) < 1/α } is a (1 − α) confidence sequence, valid however often it is
 * looked at. It is an interval around the mean, in closed form (see bounds()), and unbounded until the data can
 * support it (for α = 0.005 and the c below, from 4 periods on).
 *
 * The judge fails a gauge when the sequence's lower bound for the mean difference is above 0 and passes it early
 * when the upper bound of the difference at the pass ratio is below 0: a canary not worse than the tolerance is
 * failed only if the sequence misses the true mean, with probability ≤ α over all looks. Common drifts (load, time
 * of day) hit both versions in the same period and cancel in the difference; what the test assumes is that the
 * differences are independent and Gaussian around a constant mean, which per-period averages of a steady version
 * meet closely (bench/judge measures the false rollbacks of gauges with skewed, noisy samples).
 */

/**
 * Prior precision c of the standardized effect: N(0, 1/c) spreads its mass over effects of up to several noise
 * standard deviations per period, the size of a gauge regression worth a rollback. Median periods to show a shift of
 * 1, 2, 4 and 8 standard deviations at α = 0.0025 (200 Gaussian runs each): c = 0.1: 23, 10, 6, 5; c = 1: 21, 11, 8,
 * 8; c = 0.02: 26, 11, 6, 5.
 */
export const PRIOR_PRECISION = 0.1;

export interface MeanSequence {
  /** Periods (differences) seen. */
  n: number;
  mean: number | null;
  /** The bounds of the (1 − α) confidence sequence for the mean; null: unbounded on that side. */
  lower: number | null;
  upper: number | null;
}

function moments(values: readonly number[]): { n: number; mean: number; ss: number } {
  const n = values.length;
  const mean = n > 0 ? values.reduce((a, v) => a + v, 0) / n : 0;
  const ss = values.reduce((a, v) => a + (v - mean) ** 2, 0);
  return { n, mean, ss };
}

/** log E_n(mu): the e-value against "the mean is mu", from the module's formula. */
export function logEValue(values: readonly number[], mu: number, c = PRIOR_PRECISION): number {
  const n = values.length;
  if (n === 0) return 0;
  let s = 0;
  let q = 0;
  for (const v of values) {
    s += v - mu;
    q += (v - mu) ** 2;
  }
  if (q === 0) return 0;
  const rest = Math.max(q - (s * s) / (n + c), Number.MIN_VALUE);
  return 0.5 * Math.log(c / (c + n)) + (n / 2) * (Math.log(q) - Math.log(rest));
}

/**
 * The confidence sequence { μ : E_n(μ) < 1/α } in closed form. With u = n (x̄ − μ)², Q = SS + u and S² = n u, the
 * condition reads Q / (Q − n u / (n + c)) < K with K = (√((c + n) / c) / α)^(2/n), i.e.
 * u (1 − K c / (n + c)) < (K − 1) SS: an interval x̄ ± √(u_max / n) when K c < n + c, else all of ℝ.
 */
export function meanSequence(values: readonly number[], alpha: number, c = PRIOR_PRECISION): MeanSequence {
  const { n, mean, ss } = moments(values);
  if (n === 0) return { n, mean: null, lower: null, upper: null };
  if (n < 2) return { n, mean, lower: null, upper: null };
  const logK = (2 / n) * (0.5 * Math.log((c + n) / c) - Math.log(alpha));
  const k = Math.exp(logK);
  const den = 1 - (k * c) / (n + c);
  if (den <= 0) return { n, mean, lower: null, upper: null };
  const half = Math.sqrt(((k - 1) * ss) / den / n);
  return { n, mean, lower: mean - half, upper: mean + half };
}
