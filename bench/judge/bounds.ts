/**
 * What any judge could do: an upper bound on P(a judge rolls back having seen at most n canary requests), for a
 * judge whose false rollbacks stay ≤ α.
 *
 * The event "rolled back by the end of a minute that finds the canary at most n requests in" is decided on those
 * minutes' data, and under an A/A rollout it has probability ≤ α: it is a level-α test. The most powerful level-α
 * test there is, by Neyman–Pearson, the likelihood-ratio test of the two simple hypotheses "the canary's error rate
 * is the stable version's" and "it is the regression's", with the stable rate known exactly (randomized at the
 * boundary). A real judge does not know the stable rate, so it can only do worse. Below 50%, no judge with ≤ α false
 * rollbacks has a median of n requests or fewer. Computed exactly (no simulation) for constant error rates.
 */

import { normCdf, normInv } from './random';

/** ln Γ(x) for x > 0 (Lanczos, g = 7, 9 terms): ~15 significant digits. */
export function logGamma(x: number): number {
  const g = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
    12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
  ];
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  const z = x - 1;
  let a = g[0] as number;
  const t = z + 7.5;
  for (let i = 1; i < 9; i++) a += (g[i] as number) / (z + i);
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(a);
}

/** P(X = i) for X ~ Binomial(n, p). */
export function binomialPmf(n: number, p: number, i: number): number {
  if (i < 0 || i > n) return 0;
  if (p <= 0) return i === 0 ? 1 : 0;
  if (p >= 1) return i === n ? 1 : 0;
  return Math.exp(
    logGamma(n + 1) - logGamma(i + 1) - logGamma(n - i + 1) + i * Math.log(p) + (n - i) * Math.log1p(-p),
  );
}

/** P(X ≥ k) for X ~ Binomial(n, p), summed from the pmf in log space (no underflow at large n). */
export function binomialUpperTail(n: number, p: number, k: number): number {
  if (k <= 0) return 1;
  if (k > n) return 0;
  let sum = 0;
  for (let i = k; i <= n; i++) {
    const term = binomialPmf(n, p, i);
    sum += term;
    if (i > n * p && term < sum * 1e-17) break;
  }
  return Math.min(1, sum);
}

/** P(X = i) for X ~ Poisson(mean). */
export function poissonPmf(mean: number, i: number): number {
  if (i < 0) return 0;
  if (mean <= 0) return i === 0 ? 1 : 0;
  return Math.exp(i * Math.log(mean) - mean - logGamma(i + 1));
}

/** P(X > m) for X ~ Poisson(mean). */
export function poissonAbove(mean: number, m: number): number {
  if (m < 0) return 1;
  const top = Math.ceil(mean + 14 * Math.sqrt(mean) + 30);
  let sum = 0;
  for (let i = Math.floor(m) + 1; i <= top; i++) sum += poissonPmf(mean, i);
  return Math.min(1, sum);
}

/**
 * Power of the most powerful level-alpha test of "c requests fail at rate p0" against "at rate p1" (p1 > p0),
 * randomized at its boundary so that its size is exactly alpha.
 */
export function neymanPearsonPower(c: number, p0: number, p1: number, alpha: number): number {
  let k = Math.floor(c * p0);
  while (binomialUpperTail(c, p0, k) > alpha) k++;
  while (k > 0 && binomialUpperTail(c, p0, k - 1) <= alpha) k--;
  if (k === 0) return 1;
  const atBoundary = binomialPmf(c, p0, k - 1);
  const gamma = atBoundary > 0 ? (alpha - binomialUpperTail(c, p0, k)) / atBoundary : 0;
  return binomialUpperTail(c, p1, k) + gamma * binomialPmf(c, p1, k - 1);
}

export interface BoundInput {
  /** Expected canary requests in minute t (from 0), on the path of a judge that has not rolled back. */
  canaryPerMinute(t: number): number;
  /** The stable version's error rate and the regressed canary's, both constant. */
  p0: number;
  p1: number;
  alpha: number;
  /** The canary requests asked about. */
  n: number;
}

/**
 * Upper bound on P(rolled back with at most n canary requests seen): Σ over the number of whole minutes K whose end
 * finds the canary at most n requests in, and over the canary's requests c by then, of P(K, c) × the Neyman–Pearson
 * power on c requests. Minute counts are Poisson, as in the benchmark.
 */
export function detectionBound({ canaryPerMinute, p0, p1, alpha, n }: BoundInput): number {
  const power = new Map<number, number>();
  const powerAt = (c: number) => {
    let v = power.get(c);
    if (v === undefined) {
      v = c === 0 ? 0 : neymanPearsonPower(c, p0, p1, alpha);
      power.set(c, v);
    }
    return v;
  };
  let bound = 0;
  let mean = 0;
  for (let k = 1; ; k++) {
    mean += canaryPerMinute(k - 1);
    const sd = Math.sqrt(mean);
    if (mean - 14 * sd - 30 > n) break;
    const next = canaryPerMinute(k);
    const from = Math.max(0, Math.floor(mean - 14 * sd - 30));
    for (let c = from; c <= n; c++) {
      const pk = poissonPmf(mean, c);
      if (pk < 1e-15) continue;
      // K = k: the canary is at c ≤ n after k minutes and past n after k + 1.
      bound += pk * poissonAbove(next, n - c) * powerAt(c);
    }
    if (k > 100_000) break;
  }
  return Math.min(1, bound);
}

/**
 * The bound's median: the smallest n at which detectionBound reaches 50%, i.e. the fewest canary requests any judge
 * with ≤ alpha false rollbacks could need in a median run (bisection; the bound rises with n). Infinity when the
 * bound stays under 50% up to maxN.
 */
export function boundMedian(input: Omit<BoundInput, 'n'>, maxN = 1_000_000): number {
  const reaches = (n: number) => detectionBound({ ...input, n }) >= 0.5;
  let hi = 1;
  while (!reaches(hi)) {
    if (hi >= maxN) return Number.POSITIVE_INFINITY;
    hi = Math.min(maxN, hi * 2);
  }
  let lo = Math.floor(hi / 2); // does not reach (or 0)
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (reaches(mid)) hi = mid;
    else lo = mid;
  }
  return hi;
}

/**
 * What looking after every request costs, in the limit of small effects, where the log likelihood ratio of n requests
 * is a Brownian motion with drift: W_t = μt + B_t in units of Fisher information (μ = 1 without loss). The bound's
 * median is the Neyman–Pearson test's at its level, t = z²(alphaBound). A likelihood-ratio e-process betting on the
 * drift m (log E_t = m W_t − m²t/2) and weighted w in a mixture (counting only that bet) rejects once
 * B_t ≥ c + d t, c = (ln(1/alphaTest) + ln(1/w)) / m, d = m/2 − 1; P(τ ≤ t) = Q((c + dt)/√t) + e^(−2cd) Q((c − dt)/√t)
 * (a Brownian motion's first passage over a line). Returns the median of τ over the bound's median; m = 1, w = 1 is
 * the oracle (the bet on the true effect).
 */
export function brownianMedianRatio(
  alphaTest: number,
  alphaBound: number,
  { m = 1, weight = 1 }: { m?: number; weight?: number } = {},
): number {
  const q = (x: number) => 1 - normCdf(x);
  const c = (Math.log(1 / alphaTest) + Math.log(1 / weight)) / m;
  const d = m / 2 - 1;
  const crossed = (t: number) =>
    q((c + d * t) / Math.sqrt(t)) + Math.exp(-2 * c * d) * q((c - d * t) / Math.sqrt(t));
  let lo = 1e-6;
  let hi = 1e4;
  for (let k = 0; k < 200; k++) {
    const mid = Math.sqrt(lo * hi);
    if (crossed(mid) >= 0.5) hi = mid;
    else lo = mid;
  }
  const z = normInv(1 - alphaBound);
  return hi / (z * z);
}

/** The best single bet's median ratio (brownianMedianRatio minimised over m), and that m. */
export function brownianBestBet(alphaTest: number, alphaBound: number): { m: number; ratio: number } {
  let best = { m: 1, ratio: brownianMedianRatio(alphaTest, alphaBound) };
  for (let m = 0.5; m <= 3; m += 0.01) {
    const ratio = brownianMedianRatio(alphaTest, alphaBound, { m });
    if (ratio < best.ratio) best = { m, ratio };
  }
  return best;
}
