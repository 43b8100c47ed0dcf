import { describe, expect, it } from 'vitest';
import {
  eValueAbove,
  eValueBelow,
  MIXTURE,
  PLUGIN_WEIGHT,
  type RatioPeriod,
  ratioEstimate,
  ratioInterval,
  ratioTest,
} from '../../functions/core/stats/ratio';

const period = (c: number, x: number, b: number, y: number): RatioPeriod => ({
  canaryRequests: c,
  canaryEvents: x,
  baselineRequests: b,
  baselineEvents: y,
});

/** mulberry32 */
function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const binomial = (r: () => number, n: number, p: number) => {
  let k = 0;
  for (let i = 0; i < n; i++) if (r() < p) k++;
  return k;
};

describe('ratio e-value', () => {
  it('matches the hand computation for one canary event at an even split', () => {
    // θ0 = 1/2 under ρ0 = 1; under ρ1 = m, θ1 = m/(m+1): E = Σ w · θ1/θ0 = Σ w · 2m/(m+1)
    // The plug-in half bets on its prior guess ρ1 = 2 in the first period: θ1/θ0 = 4/3.
    const mixture = MIXTURE.reduce((a, { multiplier: m, weight: w }) => a + (w * 2 * m) / (m + 1), 0);
    const byHand = PLUGIN_WEIGHT * (4 / 3) + (1 - PLUGIN_WEIGHT) * mixture;
    expect(eValueAbove([period(100, 1, 100, 0)], 1)).toBeCloseTo(byHand, 12);
    expect(MIXTURE.reduce((a, k) => a + k.weight, 0)).toBeCloseTo(1, 12);
  });

  it('matches the hand computation for two periods at different splits', () => {
    // Period 1: c=100, b=300, 1 canary + 1 baseline event; period 2: c=200, b=200, 2 canary events. ρ0 = 1.5.
    const theta = (rho: number, c: number, b: number) => (rho * c) / (rho * c + b);
    const lik = (rho: number) =>
      theta(rho, 100, 300) * (1 - theta(rho, 100, 300)) * theta(rho, 200, 200) ** 2;
    const mixture = MIXTURE.reduce((a, { multiplier: m, weight: w }) => a + (w * lik(1.5 * m)) / lik(1.5), 0);
    // Plug-in: period 1 bets on 2 × ρ0 (no past); period 2 on (1 + 16·2) / (2·θ0 + 16) × ρ0 from period 1 only.
    const l1 = (rho: number) => theta(rho, 100, 300) * (1 - theta(rho, 100, 300));
    const rel2 = 33 / (2 * theta(1.5, 100, 300) + 16);
    const plugin = (l1(3) / l1(1.5)) * (theta(1.5 * rel2, 200, 200) / theta(1.5, 200, 200)) ** 2;
    const byHand = PLUGIN_WEIGHT * plugin + (1 - PLUGIN_WEIGHT) * mixture;
    expect(eValueAbove([period(100, 1, 300, 1), period(200, 2, 200, 0)], 1.5)).toBeCloseTo(byHand, 12);
  });

  it('is 1 without information (no events, or a version without traffic)', () => {
    expect(eValueAbove([], 1)).toBe(1);
    expect(eValueAbove([period(100, 0, 100, 0)], 1)).toBe(1);
    expect(eValueAbove([period(100, 5, 0, 0)], 1)).toBe(1);
  });

  it('grows with canary events and shrinks with the null ratio (monotone)', () => {
    let last = 0;
    for (let x = 0; x <= 20; x++) {
      const e = eValueAbove([period(1000, x, 1000, 5)], 1);
      expect(e).toBeGreaterThan(last);
      last = e;
    }
    let prev = Number.POSITIVE_INFINITY;
    for (const rho0 of [0.5, 1, 1.5, 2, 4]) {
      const e = eValueAbove([period(1000, 15, 1000, 5)], rho0);
      expect(e).toBeLessThan(prev);
      prev = e;
    }
  });

  it('depends on the split, not on a common factor (common-mode changes cancel)', () => {
    const a = eValueAbove([period(100, 2, 900, 18)], 1);
    const b = eValueAbove([period(1000, 2, 9000, 18)], 1);
    expect(a).toBeCloseTo(b, 12);
  });

  it('keeps its false-rollback guarantee under repeated looks (simulated A/A, every period)', () => {
    const r = rng(7);
    const alpha = 0.05;
    let everRejected = 0;
    const runs = 300;
    for (let run = 0; run < runs; run++) {
      const periods: RatioPeriod[] = [];
      for (let t = 0; t < 30; t++) {
        const w = t < 10 ? 0.05 : t < 20 ? 0.25 : 0.5; // weight changes
        const n = 400;
        const c = Math.round(n * w);
        const rate = t % 7 === 3 ? 0.08 : 0.02; // common-mode spikes
        periods.push(period(c, binomial(r, c, rate), n - c, binomial(r, n - c, rate)));
        if (eValueAbove(periods, 1) >= 1 / alpha) {
          everRejected++;
          break;
        }
      }
    }
    expect(everRejected / runs).toBeLessThanOrEqual(alpha);
  });
});

describe('ratio estimate and confidence sequence', () => {
  it('estimates the ratio exactly at a constant split', () => {
    // canary 4%, baseline 2%
    expect(ratioEstimate([period(1000, 40, 10000, 200)])).toBeCloseTo(2, 9);
    expect(ratioEstimate([period(1000, 0, 10000, 200)])).toBe(0);
    expect(ratioEstimate([])).toBeNull();
  });

  it('covers the true ratio at every look with probability ≥ 1 − α (tiny case)', () => {
    const r = rng(11);
    const alpha = 0.1;
    const runs = 150;
    let missed = 0;
    for (let run = 0; run < runs; run++) {
      const periods: RatioPeriod[] = [];
      for (let t = 0; t < 15; t++) {
        periods.push(period(100, binomial(r, 100, 0.1), 100, binomial(r, 100, 0.05))); // true ρ = 2
        const { lower, upper } = ratioInterval(periods, alpha);
        if ((lower !== null && lower > 2) || (upper !== null && upper < 2)) {
          missed++;
          break;
        }
      }
    }
    expect(missed / runs).toBeLessThanOrEqual(alpha);
  });

  it('narrows as evidence accumulates and brackets the estimate', () => {
    const one = ratioInterval([period(1000, 20, 1000, 20)], 0.01);
    const many = ratioInterval(
      Array.from({ length: 20 }, () => period(1000, 20, 1000, 20)),
      0.01,
    );
    expect((many.upper as number) - (many.lower as number)).toBeLessThan(
      (one.upper as number) - (one.lower ?? 0),
    );
    expect(many.lower as number).toBeLessThan(1);
    expect(many.upper as number).toBeGreaterThan(1);
  });

  it('has no bounds without information', () => {
    expect(ratioInterval([], 0.01)).toEqual({ lower: null, upper: null });
  });

  it('says "not worse" once the upper bound is below passRatio, and "worse" once the e-value reaches 1/α', () => {
    const same = Array.from({ length: 20 }, () => period(5000, 50, 5000, 50));
    const t = ratioTest(same, { rho0: 1, passRatio: 1.5, alpha: 0.01 });
    expect(t.notWorse).toBe(true);
    expect(t.worse).toBe(false);
    expect(eValueBelow(same, 1.5)).toBe(t.eValueNotWorse);
    const bad = Array.from({ length: 5 }, () => period(5000, 100, 5000, 50));
    const u = ratioTest(bad, { rho0: 1, passRatio: 1.5, alpha: 0.01 });
    expect(u.worse).toBe(true);
    expect(u.notWorse).toBe(false);
    expect(u.lower as number).toBeGreaterThan(1);
  });
});
