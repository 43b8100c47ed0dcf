/**
 * Evidence numbers that every store and every hop keeps as they are. The rollout record holds the verdict, and
 * DynamoDB's Number holds 38 significant digits with a magnitude of 1E-130 to 9.9999999999999999999999999999999999999E+125
 * or 0 ("Supported data types and naming rules in Amazon DynamoDB", developer guide); Step Functions passes state as
 * JSON, where Infinity and NaN become null. So the judge never emits a non-finite number, and keeps what it derives
 * (e-values, ratios of means, bounds) inside that range by construction:
 * - e-values are capped at E_VALUE_CEILING, far above any bar a test decides at (1/α for a test's share of
 *   analysis.errorRate.alpha ≥ MIN_ALPHA: at most about 5e7), and read "more than" at the cap; below E_VALUE_FLOOR an
 *   e-value is no evidence at all and is 0. The decisions are taken on the log scale, before the cap.
 * - a value derived from the data (a gauge's mean, difference or ratio) is clamped into the range: nothing a team
 *   measures comes near 1E+125, and CloudWatch takes values within ±2^360 only (PutMetricData, MetricDatum Value).
 * - an interval end without a bound is null ("unbounded on that side"), never ±Infinity.
 */

/** The largest e-value the evidence carries: "more than" this when the evidence is stronger. */
export const E_VALUE_CEILING = 1e15;
/** Smaller e-values are recorded as 0: evidence that small is none. */
export const E_VALUE_FLOOR = 1e-15;
/**
 * The smallest analysis.errorRate.alpha a config may set: the smallest share a test gets (a critical custom metric
 * of 22, X-Ray's latency share) keeps its bar 1/α below 1e8, seven orders of magnitude under E_VALUE_CEILING.
 */
export const MIN_ALPHA = 1e-6;
/** DynamoDB's Number range, rounded inwards: magnitudes above NUMBER_LARGEST are clamped, below NUMBER_SMALLEST 0. */
export const NUMBER_LARGEST = 1e125;
export const NUMBER_SMALLEST = 1e-125;

/** The e-value whose natural log is `logE`, within [E_VALUE_FLOOR, E_VALUE_CEILING] or 0. */
export function eValueOf(logE: number): number {
  if (Number.isNaN(logE)) return 0;
  if (logE >= Math.log(E_VALUE_CEILING)) return E_VALUE_CEILING;
  const e = Math.exp(logE);
  return e < E_VALUE_FLOOR ? 0 : Math.min(e, E_VALUE_CEILING);
}

/** A number DynamoDB and JSON keep: null for NaN and ±Infinity, the magnitude clamped into Number's range. */
export function storableNumber(x: number | null): number | null {
  if (x === null || !Number.isFinite(x)) return null;
  const size = Math.abs(x);
  if (size < NUMBER_SMALLEST) return 0;
  return size > NUMBER_LARGEST ? Math.sign(x) * NUMBER_LARGEST : x;
}

/** Whether DynamoDB's Number holds `x` as it is: 0, or finite with a magnitude from 1E-130 to under 1E+126. */
function isStorableNumber(x: number): boolean {
  const size = Math.abs(x);
  return size === 0 || (size >= 1e-130 && size < 1e126);
}

/** The paths (`metrics[0].eValue`) of the numbers in `value` that DynamoDB or JSON would not keep as they are. */
export function unstorablePaths(value: unknown, path = ''): string[] {
  if (typeof value === 'number') return isStorableNumber(value) ? [] : [path || '(value)'];
  if (Array.isArray(value)) return value.flatMap((v, i) => unstorablePaths(v, `${path}[${i}]`));
  if (value && typeof value === 'object')
    return Object.entries(value).flatMap(([k, v]) => unstorablePaths(v, path ? `${path}.${k}` : k));
  return [];
}
