import { describe, expect, it } from 'vitest';
import {
  binomialPmf,
  binomialUpperTail,
  brownianBestBet,
  brownianMedianRatio,
  detectionBound,
  logGamma,
  neymanPearsonPower,
  poissonAbove,
  poissonPmf,
} from '../../bench/judge/bounds';

describe('bench/judge bounds: the maths on small exact cases', () => {
  it('logGamma matches factorials', () => {
    expect(logGamma(1)).toBeCloseTo(0, 12);
    expect(logGamma(5)).toBeCloseTo(Math.log(24), 12);
    expect(logGamma(11)).toBeCloseTo(Math.log(3628800), 10);
    expect(logGamma(0.5)).toBeCloseTo(0.5 * Math.log(Math.PI), 12);
  });

  it('binomial pmf and upper tail match the sums by hand', () => {
    // Binomial(4, 1/2): 1, 4, 6, 4, 1 over 16.
    expect(binomialPmf(4, 0.5, 2)).toBeCloseTo(6 / 16, 14);
    expect(binomialUpperTail(4, 0.5, 3)).toBeCloseTo(5 / 16, 14);
    expect(binomialUpperTail(4, 0.5, 0)).toBe(1);
    expect(binomialUpperTail(4, 0.5, 5)).toBe(0);
    // No underflow far out: P(X ≥ 0) of Binomial(20000, 0.05) sums to 1.
    expect(binomialUpperTail(20_000, 0.05, 1)).toBeCloseTo(1, 12);
  });

  it('Poisson pmf and tail match the sums by hand', () => {
    expect(poissonPmf(2, 3)).toBeCloseTo((Math.exp(-2) * 8) / 6, 14);
    const below = [0, 1, 2].reduce((a, i) => a + poissonPmf(2, i), 0);
    expect(poissonAbove(2, 2)).toBeCloseTo(1 - below, 12);
    expect(poissonAbove(2, -1)).toBe(1);
  });

  it('the Neyman–Pearson test has size exactly alpha and the power of its rejection region', () => {
    // 10 requests at 10% under H0: P(X ≥ 4) = 0.0128 > 1%, P(X ≥ 5) = 0.00163 ≤ 1%: reject at ≥ 5, randomize at 4.
    const p0 = 0.1;
    const p1 = 0.5;
    const gamma = (0.01 - binomialUpperTail(10, p0, 5)) / binomialPmf(10, p0, 4);
    expect(gamma).toBeGreaterThan(0);
    expect(gamma).toBeLessThan(1);
    // Its size under H0 is alpha.
    expect(binomialUpperTail(10, p0, 5) + gamma * binomialPmf(10, p0, 4)).toBeCloseTo(0.01, 14);
    expect(neymanPearsonPower(10, p0, p1, 0.01)).toBeCloseTo(
      binomialUpperTail(10, p1, 5) + gamma * binomialPmf(10, p1, 4),
      14,
    );
    // With no regression the power is the size.
    expect(neymanPearsonPower(500, 0.01, 0.01, 0.01)).toBeCloseTo(0.01, 10);
  });

  it('bounds detection by alpha when there is no regression, and grows with the regression and the requests', () => {
    const base = { canaryPerMinute: () => 300, p0: 0.01, alpha: 0.01 };
    expect(detectionBound({ ...base, p1: 0.01, n: 1500 })).toBeLessThanOrEqual(0.01 + 1e-9);
    const small = detectionBound({ ...base, p1: 0.02, n: 900 });
    const more = detectionBound({ ...base, p1: 0.02, n: 1500 });
    const larger = detectionBound({ ...base, p1: 0.05, n: 900 });
    expect(small).toBeLessThan(more);
    expect(small).toBeLessThan(larger);
    // Fewer requests than the first minute holds (almost surely): nothing to decide on.
    expect(detectionBound({ ...base, p1: 0.5, n: 100 })).toBeLessThan(1e-9);
  });

  it('at exactly one minute of traffic, the bound is P(the minute holds ≤ n) × the power on it', () => {
    // n = 300, 300 per minute: K = 1 needs c ≤ 300 and the next minute pushing past 300 (certain for c > 0 here).
    const bound = detectionBound({ canaryPerMinute: () => 300, p0: 0.01, p1: 0.05, alpha: 0.01, n: 300 });
    let byHand = 0;
    for (let c = 150; c <= 300; c++)
      byHand += poissonPmf(300, c) * poissonAbove(300, 300 - c) * neymanPearsonPower(c, 0.01, 0.05, 0.01);
    expect(bound).toBeCloseTo(byHand, 6);
    expect(bound).toBeGreaterThan(0.45);
    expect(bound).toBeLessThan(0.55);
  });

  it('the small-effect limit: a bet on twice the drift crosses by the reflection principle, and a price only slows', () => {
    // m = 2: log E_t = 2B_t, so τ is the first passage of B over ln(1/α)/2 and P(τ ≤ t) = 2 Q(c/√t): the median
    // is (c / z(0.75))², over the bound's median z(1 − αBound)².
    const c = Math.log(1 / 0.008) / 2;
    const z75 = 0.6744897501960817;
    const z99 = 2.3263478740408408;
    expect(brownianMedianRatio(0.008, 0.01, { m: 2 })).toBeCloseTo((c / z75) ** 2 / z99 ** 2, 3);
    const oracle = brownianMedianRatio(0.008, 0.01);
    expect(brownianMedianRatio(0.008, 0.01, { weight: 0.5 })).toBeGreaterThan(oracle);
    const best = brownianBestBet(0.008, 0.01);
    expect(best.ratio).toBeLessThanOrEqual(oracle);
    expect(best.ratio).toBeGreaterThan(1.4);
    expect(best.m).toBeGreaterThan(1);
  });
});
