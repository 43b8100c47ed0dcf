/** The integer weights of two Route 53 weighted records for a canary share (apart from the config's schemas). */

/** Route 53's largest record weight (API_ResourceRecordSet: Weight, 0–255). */
export const MAX_ROUTE53_WEIGHT = 255;

export interface RecordWeights {
  stable: number;
  canary: number;
}

/** The greatest common divisor of two whole numbers (the smallest exact ratio of two weights). */
export function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

/**
 * Integer record weights for a canary share (one decimal), the smallest exact ratio as for ALB (5% → 19:1), or
 * undefined when the exact ratio needs a weight above 255 (0.1% is 999:1). 0% and 100% put weight 1 on one side
 * and 0 on the other: never both 0, which Route 53 would answer as equal weights.
 */
export function exactRecordWeights(canaryPercent: number): RecordWeights | undefined {
  if (!(canaryPercent >= 0 && canaryPercent <= 100)) return undefined;
  const canaryTenths = Math.round(canaryPercent * 10);
  const stableTenths = 1000 - canaryTenths;
  if (canaryTenths === 0) return { stable: 1, canary: 0 };
  if (stableTenths === 0) return { stable: 0, canary: 1 };
  const d = gcd(canaryTenths, stableTenths);
  const w = { stable: stableTenths / d, canary: canaryTenths / d };
  return w.stable <= MAX_ROUTE53_WEIGHT && w.canary <= MAX_ROUTE53_WEIGHT ? w : undefined;
}

/** As exactRecordWeights, throwing a RangeError naming the share when Route 53 cannot hold it exactly. */
export function recordWeights(canaryPercent: number): RecordWeights {
  const w = exactRecordWeights(canaryPercent);
  if (!w) throw new RangeError(weightMessage(canaryPercent));
  return w;
}

/** The message for a share weighted records cannot hold exactly, with the nearest shares that they can. */
export function weightMessage(canaryPercent: number): string {
  const near = (dir: 1 | -1) => {
    for (let t = Math.round(canaryPercent * 10) + dir; t > 0 && t < 1000; t += dir)
      if (exactRecordWeights(t / 10)) return t / 10;
    return undefined;
  };
  const options = [near(-1), near(1)].filter((x) => x !== undefined).map((x) => `${x}`);
  return `Route 53 weights are 0–255: ${canaryPercent}% has no exact ratio within them${options.length ? ` (nearest: ${options.join(' or ')})` : ''}`;
}
