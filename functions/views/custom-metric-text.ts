/**
 * A custom metric's evidence in words (config `analysis.metrics`, the ECS deployer's CPU and memory): the line the
 * report, the page, notifications, the CLI and the history show, and what the headline says of a failed one.
 */
import { E_VALUE_CEILING } from '../core/stats/storable';
import type { MetricEvidence } from '../core/verdict';

export const pct = (x: number) => `${(x * 100).toFixed(2)}%`;
/** An e-value: "more than 1e+15" at the ceiling the evidence records it at (core/stats/storable.ts). */
export const eText = (e: number) =>
  e >= E_VALUE_CEILING
    ? `more than ${E_VALUE_CEILING.toExponential(0)}`
    : e < 1000
      ? e.toPrecision(3)
      : e.toExponential(1);
export const times = (x: number) => `${x.toFixed(2)}×`;
/** A gauge's value with the digits it needs (CPU 45.2, orders per request 0.213). */
const num = (x: number | null | undefined) =>
  x === null || x === undefined
    ? 'n/a'
    : Math.abs(x) >= 100
      ? x.toFixed(0)
      : Number(x.toPrecision(3)).toString();
const signed = (x: number | null) => (x === null ? '∞' : `${x >= 0 ? '+' : ''}${num(x)}`);

/** The metric's name as a person reads it: `orders`, `ECS CPU`, `ECS memory`. */
export function customName(m: Pick<MetricEvidence, 'metric'>): string {
  const name = m.metric.slice('custom.'.length);
  return name === 'ecsCpu' ? 'ECS CPU' : name === 'ecsMemory' ? 'ECS memory' : name;
}

function why(m: MetricEvidence, unit: string): string {
  const { rho0 = 1, passRatio = 1, direction, minData = 0, data = 0 } = m.facts;
  const lower = direction === 'lowerIsWorse';
  const bound = (r: number) => (lower ? `below stable / ${r.toFixed(2)}` : `above ${times(r)} stable`);
  const notBound = (r: number) => (lower ? `above stable / ${r.toFixed(2)}` : `below ${times(r)} stable`);
  switch (m.reason) {
    case 'lowData':
      return data >= minData
        ? `not judged yet: ${data} ${unit}, too few to bound the difference`
        : `not judged yet: ${data} of ${minData} ${unit}`;
    case 'noBaseline':
      return 'no concurrent stable traffic: judged on the absolute bounds only';
    case 'aboveCeiling':
      return `canary level above the ${num(m.facts.ceiling)} ceiling`;
    case 'belowFloor':
      return `canary level below the ${num(m.facts.floor)} floor`;
    case 'shownWorse':
      return `shown ${bound(rho0)}`;
    case 'lookingWorse':
      return `looks ${bound(rho0)}, evidence building`;
    case 'shownNotWorse':
      return `shown ${notBound(passRatio)} (the smallest regression that matters)`;
    default:
      return `not shown ${bound(rho0)}`;
  }
}

/**
 * A bound rounded outwards (a lower bound down, an upper one up), with the decimals it takes to stay on its side of
 * `ref` (the ratio the test decided at): the words never claim more than the test showed.
 */
export function boundText(x: number | null, side: 'lower' | 'upper', ref: number): string {
  if (x === null) return side === 'lower' ? '0' : '∞';
  const beyond = side === 'lower' ? x > ref : x < ref;
  for (const d of [2, 3, 4, 6]) {
    const v = (side === 'lower' ? Math.floor : Math.ceil)(x * 10 ** d) / 10 ** d;
    if (!beyond || (side === 'lower' ? v > ref : v < ref) || d === 6) return v.toFixed(d);
  }
  return String(x);
}

/** The ratio test of a counts metric: what decided, its bound and its e-values. */
function countsTest(m: MetricEvidence): string {
  const { rho0 = 1, passRatio = 1, direction } = m.facts;
  const level = `${((m.interval?.level ?? 0) * 100).toFixed(2)}%`;
  const ratio = direction === 'lowerIsWorse' ? 'stable/canary' : 'canary/stable';
  const est = m.estimate === null || m.estimate === undefined ? 'n/a' : m.estimate.toFixed(2);
  const lower = m.interval?.lower;
  const upper = m.interval?.upper;
  const bar = eText(m.eThreshold ?? 0);
  const against = `e-value ${eText(m.eValue ?? 0)} of ${bar} against ≤ ${times(rho0)}`;
  const notWorse = `e-value ${eText(m.eValueNotWorse ?? 0)} of ${bar} against ≥ ${times(passRatio)}`;
  const lo = boundText(lower ?? null, 'lower', rho0);
  const hi = boundText(upper ?? null, 'upper', passRatio);
  if (m.reason === 'shownWorse') return `${against}, ${ratio} ${est} (≥ ${lo}× at ${level})`;
  if (m.reason === 'shownNotWorse') return `${notWorse}, ${ratio} ${est} (≤ ${hi}× at ${level})`;
  return `${ratio} ${est} (${lo}–${hi}×, each bound at ${level}), ${against}, ${notWorse}`;
}

/** The confidence sequence of a gauge that decided: the mean per-minute difference and its bounds. */
function gaugeTest(m: MetricEvidence): string {
  const d = m.facts.difference;
  if (!d) return '';
  const lower = m.facts.direction === 'lowerIsWorse';
  const what = lower ? `stable / ${d.factor.toFixed(2)} − canary` : `canary − ${times(d.factor)} stable`;
  const level = `${(d.level * 100).toFixed(2)}%`;
  const cs = d.lower === null ? 'unbounded yet' : `${signed(d.lower)} to ${signed(d.upper)} at ${level}`;
  return `mean ${what} per minute ${signed(d.mean)} (confidence sequence ${cs}), e-value ${eText(m.eValue ?? 0)} of ${eText(m.eThreshold ?? 0)}`;
}

/** One custom metric's evidence line. */
export function customMetricText(m: MetricEvidence): string {
  const advisory = m.facts.advisory ? '(advisory) ' : '';
  if (m.facts.kind === 'counts') {
    const c = m.counts ?? { canaryEvents: 0, canaryRequests: 0, baselineEvents: 0, baselineRequests: 0 };
    const events = m.facts.direction === 'lowerIsWorse' ? 'good' : 'bad';
    const side = (e: number, t: number) => `${t > 0 ? pct(e / t) : 'n/a'} (${e}/${t})`;
    const head = `${advisory}canary ${events} ${side(c.canaryEvents, c.canaryRequests)} vs stable ${side(c.baselineEvents, c.baselineRequests)}`;
    if (m.reason === 'lowData') return `${head}: ${why(m, 'canary events')}`;
    return `${head}: ${why(m, 'canary events')}; ${countsTest(m)}`;
  }
  const minutes = m.facts.data ?? 0;
  const head = `${advisory}canary ${num(m.canary)} vs stable ${num(m.baseline)} (means over ${minutes} paired ${minutes === 1 ? 'minute' : 'minutes'})`;
  if (
    m.reason === 'lowData' ||
    m.reason === 'noBaseline' ||
    m.reason === 'aboveCeiling' ||
    m.reason === 'belowFloor'
  )
    return `${head}: ${why(m, 'paired minutes')}`;
  return `${head}: ${why(m, 'paired minutes')}; ${gaugeTest(m)}`;
}

/** What the headline says of a failed custom metric. */
export function customFailedCheck(m: MetricEvidence): string {
  const name = customName(m);
  if (m.reason === 'aboveCeiling')
    return `The canary's ${name} of ${num(m.canary)} is above its ${num(m.facts.ceiling)} ceiling`;
  if (m.reason === 'belowFloor')
    return `The canary's ${name} of ${num(m.canary)} is below its ${num(m.facts.floor)} floor`;
  const worse = m.facts.direction === 'lowerIsWorse' ? 'lower' : 'higher';
  if (m.facts.kind === 'counts') {
    const c = m.counts ?? { canaryEvents: 0, canaryRequests: 0, baselineEvents: 0, baselineRequests: 0 };
    const rate = (e: number, t: number) => (t > 0 ? pct(e / t) : 'n/a');
    return `The canary's ${name} rate is ${worse} than stable's: ${rate(c.canaryEvents, c.canaryRequests)} against ${rate(c.baselineEvents, c.baselineRequests)}`;
  }
  return `The canary's ${name} is ${worse} than stable's: ${num(m.canary)} against ${num(m.baseline)}`;
}
