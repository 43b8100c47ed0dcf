/** The judges the project's judge is compared with, implemented for the benchmark only. */
import { normCdf } from './random';

/** Flagger-style check: success rate ≥ 99% and p99 ≤ 500 ms over the last interval, with a minimum of requests. */
export function fixedCheckFails(
  requests: number,
  errors: number,
  p99Ms: number | null,
  opts: { minSuccess: number; maxP99Ms: number; minRequests: number },
): boolean {
  if (requests < opts.minRequests) return false;
  if ((requests - errors) / requests < opts.minSuccess) return true;
  return p99Ms !== null && p99Ms > opts.maxP99Ms;
}

/** Two-sided Mann–Whitney p-value (normal approximation with tie correction) and the direction of the shift. */
export function mannWhitney(
  canary: Float64Array,
  baseline: Float64Array,
): { p: number; canaryHigher: boolean } {
  const n1 = canary.length;
  const n2 = baseline.length;
  if (n1 === 0 || n2 === 0) return { p: 1, canaryHigher: false };
  const all = new Float64Array(n1 + n2);
  all.set(canary);
  all.set(baseline, n1);
  const idx = Array.from({ length: n1 + n2 }, (_, i) => i).sort(
    (i, j) => (all[i] as number) - (all[j] as number),
  );
  let rankSum = 0;
  let tieTerm = 0;
  for (let i = 0; i < idx.length; ) {
    let j = i;
    while (j + 1 < idx.length && all[idx[j + 1] as number] === all[idx[i] as number]) j++;
    const rank = (i + j + 2) / 2;
    const t = j - i + 1;
    tieTerm += t * t * t - t;
    for (let k = i; k <= j; k++) if ((idx[k] as number) < n1) rankSum += rank;
    i = j + 1;
  }
  return mwFromRankSum(rankSum, n1, n2, tieTerm);
}

/** Mann–Whitney on 0/1 indicators (error or not), from counts. */
export function mannWhitneyIndicators(
  n1: number,
  x1: number,
  n2: number,
  x2: number,
): { p: number; canaryHigher: boolean } {
  if (n1 === 0 || n2 === 0) return { p: 1, canaryHigher: false };
  const N = n1 + n2;
  const zeros = N - x1 - x2;
  const ones = x1 + x2;
  const rank0 = (zeros + 1) / 2;
  const rank1 = zeros + (ones + 1) / 2;
  const rankSum = (n1 - x1) * rank0 + x1 * rank1;
  const tieTerm = zeros ** 3 - zeros + ones ** 3 - ones;
  return mwFromRankSum(rankSum, n1, n2, tieTerm);
}

function mwFromRankSum(rankSum: number, n1: number, n2: number, tieTerm: number) {
  const N = n1 + n2;
  const u = rankSum - (n1 * (n1 + 1)) / 2;
  const mean = (n1 * n2) / 2;
  const variance = ((n1 * n2) / 12) * (N + 1 - tieTerm / (N * (N - 1)));
  if (variance <= 0) return { p: 1, canaryHigher: false };
  const z = (u - mean) / Math.sqrt(variance);
  return { p: 2 * (1 - normCdf(Math.abs(z))), canaryHigher: z > 0 };
}
