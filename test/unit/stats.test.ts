import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  BETS,
  type Bet,
  eValueAbove,
  eValueBelow,
  type RatioPeriod,
  ratioBounds,
  ratioEstimate,
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
    const byHand = BETS.reduce((a, b) => a + (b.weight * 2 * b.multiplier) / (b.multiplier + 1), 0);
    expect(eValueAbove([period(100, 1, 100, 0)], 1)).toBeCloseTo(byHand, 12);
  });

  it('bets on 1.4× to 15× a factor 2 apart in ln ρ, weighted toward the small effects, and guards 1.15×', () => {
    const [guard, ...range] = BETS as [Bet, ...Bet[]];
    expect(guard).toEqual({ multiplier: 1.15, weight: 0.1 });
    expect(range).toHaveLength(4);
    expect(range[0]?.multiplier).toBeCloseTo(1.4, 12);
    for (let k = 1; k < range.length; k++) {
      const [prev, next] = [range[k - 1] as Bet, range[k] as Bet];
      expect(Math.log(next.multiplier) / Math.log(prev.multiplier)).toBeCloseTo(2, 12);
      expect(next.weight / prev.weight).toBeCloseTo(0.8, 12);
    }
    expect(BETS.reduce((a, b) => a + b.weight, 0)).toBeCloseTo(1, 12);
  });

  it('takes other bets: one bet is the likelihood ratio itself', () => {
    // θ0 = 1/2, θ1 = 2/3 under ρ1 = 2: two canary events and one baseline event give (4/3)² × (2/3)
    const one: Bet[] = [{ multiplier: 2, weight: 1 }];
    expect(eValueAbove([period(100, 2, 100, 1)], 1, one)).toBeCloseTo((16 / 9) * (2 / 3), 12);
    expect(
      ratioTest([period(100, 2, 100, 1)], { rho0: 1, passRatio: 1.5, alpha: 0.01, bets: one }).eValue,
    ).toBe(eValueAbove([period(100, 2, 100, 1)], 1, one));
  });

  it('refuses bets that are not a mixture, naming what is wrong', () => {
    const p = [period(100, 2, 100, 1)];
    const message = /need multipliers above 1 and positive weights summing to 1/;
    expect(() => eValueAbove(p, 1, [{ multiplier: 2, weight: 0.5 }])).toThrow(message);
    expect(() => eValueBelow(p, 1, [{ multiplier: 1, weight: 1 }])).toThrow(message);
    expect(() => ratioBounds(p, 0.01, undefined, [])).toThrow(message);
    expect(() =>
      ratioTest(p, { rho0: 1, passRatio: 1.5, alpha: 0.01, bets: [{ multiplier: 3, weight: Number.NaN }] }),
    ).toThrow(message);
  });

  it('matches the hand computation for two periods at different splits', () => {
    // Period 1: c=100, b=300, 1 canary + 1 baseline event; period 2: c=200, b=200, 2 canary events. ρ0 = 1.5.
    const theta = (rho: number, c: number, b: number) => (rho * c) / (rho * c + b);
    const lik = (rho: number) =>
      theta(rho, 100, 300) * (1 - theta(rho, 100, 300)) * theta(rho, 200, 200) ** 2;
    const byHand = BETS.reduce((a, b) => a + (b.weight * lik(1.5 * b.multiplier)) / lik(1.5), 0);
    expect(eValueAbove([period(100, 1, 300, 1), period(200, 2, 200, 0)], 1.5)).toBeCloseTo(byHand, 12);
    const below = BETS.reduce((a, b) => a + (b.weight * lik(1.5 / b.multiplier)) / lik(1.5), 0);
    expect(eValueBelow([period(100, 1, 300, 1), period(200, 2, 200, 0)], 1.5)).toBeCloseTo(below, 12);
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
        // Each one-sided bound at α/2: together a (1 − α) confidence sequence.
        const { lower, upper } = ratioBounds(periods, alpha / 2);
        if ((lower !== null && lower > 2) || (upper !== null && upper < 2)) {
          missed++;
          break;
        }
      }
    }
    expect(missed / runs).toBeLessThanOrEqual(alpha);
  });

  it('narrows as evidence accumulates and brackets the estimate', () => {
    const one = ratioBounds([period(1000, 20, 1000, 20)], 0.01);
    const many = ratioBounds(
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
    expect(ratioBounds([], 0.01)).toEqual({ lower: null, upper: null });
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

describe('ratio estimate far from 1', () => {
  it('converges when the canary holds most of the events (a large ratio at a small share)', () => {
    // 5 of 300 canary requests vs 11 of 5700: θ̂ = 5/16, ρ̂ = (5/11) × (5700/300) ≈ 8.64
    expect(ratioEstimate([period(300, 5, 5700, 11)])).toBeCloseTo((5 / 11) * 19, 6);
    expect(ratioEstimate([period(300, 7, 5700, 11)])).toBeCloseTo((7 / 11) * 19, 6);
  });
});

/** A seeded stream of paired periods: the canary's share, the baseline's event rate and ρ per period. */
function stream(
  r: () => number,
  periods: number,
  world: (t: number) => { requests: number; share: number; rate: number; rho: number },
): RatioPeriod[] {
  return Array.from({ length: periods }, (_, t) => {
    const { requests, share, rate, rho } = world(t);
    const c = Math.round(requests * share);
    const b = requests - c;
    return period(c, binomial(r, c, Math.min(1, rate * rho)), b, binomial(r, b, rate));
  });
}

describe('ratio test properties (seeded)', () => {
  it('is anytime-valid: under ρ = ρ0, streams judged after every period are failed at most α of the time', () => {
    // The worst case of the null (ρ exactly at ρ0), any traffic split, base rate and ρ0, weight changes and
    // common-mode spikes; rejected if the e-value reaches 1/α at ANY look.
    const alpha = 0.05;
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 2 ** 31 - 1 }),
        fc.constantFrom(1, 1.2, 2),
        fc.double({ min: 0.005, max: 0.05, noNaN: true }),
        fc.constantFrom(0.05, 0.25, 0.5),
        (seed, rho0, rate, firstShare) => {
          const r = rng(seed);
          const runs = 200;
          let rejected = 0;
          for (let run = 0; run < runs; run++) {
            const periods = stream(r, 20, (t) => ({
              requests: 300,
              share: t < 10 ? firstShare : 0.5,
              rate: t % 7 === 3 ? rate * 3 : rate,
              rho: rho0,
            }));
            for (let t = 1; t <= periods.length; t++) {
              if (eValueAbove(periods.slice(0, t), rho0) >= 1 / alpha) {
                rejected++;
                break;
              }
            }
          }
          return rejected / runs <= alpha;
        },
      ),
      { seed: 16, numRuns: 6 },
    );
  });

  it('detects a large regression at once: 5× to 25× at any share is shown worse within 3 periods', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 2 ** 31 - 1 }),
        fc.double({ min: 5, max: 25, noNaN: true }),
        fc.double({ min: 0.002, max: 0.01, noNaN: true }),
        fc.constantFrom(0.05, 0.1, 0.25),
        (seed, rho, rate, share) => {
          const r = rng(seed);
          let detected = 0;
          for (let run = 0; run < 20; run++) {
            const periods = stream(r, 3, () => ({ requests: 6000, share, rate, rho }));
            if (ratioTest(periods, { rho0: 1, passRatio: 1.5, alpha: 0.008 }).worse) detected++;
          }
          return detected >= 19;
        },
      ),
      { seed: 17, numRuns: 10 },
    );
  });

  it('catches a 1.3× regression sooner than six equal bets from 1.1× to 21× (same streams)', () => {
    // The bench's 1.3× scenario: 2% stable errors, 300 canary and 5,700 stable requests a minute, judged every
    // minute at α = 0.008. Minutes until the e-value reaches 1/α, 300 seeded runs, both mixtures on the same data.
    const previous: Bet[] = [0, 1, 2, 3, 4, 5].map((k) => ({ multiplier: 1.1 ** (2 ** k), weight: 1 / 6 }));
    const r = rng(2);
    // Binomial draws by geometric skips between events (fast at a 2% rate).
    const events = (n: number, p: number) => {
      const skip = () => Math.floor(Math.log(1 - r()) / Math.log(1 - p));
      let k = 0;
      let i = skip();
      while (i < n) {
        k++;
        i += 1 + skip();
      }
      return k;
    };
    const streams = Array.from({ length: 300 }, () =>
      Array.from({ length: 40 }, () => period(300, events(300, 0.026), 5700, events(5700, 0.02))),
    );
    const minutes = (bets: readonly Bet[]) =>
      streams
        .map((stream) => {
          const t = stream.findIndex((_, i) => eValueAbove(stream.slice(0, i + 1), 1, bets) >= 125);
          return t < 0 ? Number.POSITIVE_INFINITY : t + 1;
        })
        .sort((a, b) => a - b);
    const now = minutes(BETS);
    const before = minutes(previous);
    // The bound's median is 3,341 requests (11 minutes); the likelihood ratio that knows the effect needs 19.
    // (Seeds 2 to 5: medians 23–25 minutes against 26–27, 14–22 more runs within 24 minutes.)
    expect(now[149]).toBeLessThanOrEqual(25);
    expect((before[149] as number) - (now[149] as number)).toBeGreaterThanOrEqual(2);
    const within = (m: number[]) => m.filter((x) => x <= 24).length;
    expect(within(now) - within(before)).toBeGreaterThanOrEqual(10);
  });

  it('refuses "not worse" for a regression just above the smallest that matters', () => {
    // ρ = 1.35 against passRatio 1.3: shown below 1.3× (the early pass) at most α of the time, at any look; the
    // same traffic at ρ = 1 is shown below 1.3× in most runs (the test is not vacuous).
    const alpha = 0.05;
    const shownBelow = (r: () => number, rho: number) => {
      const periods = stream(r, 20, () => ({ requests: 4000, share: 0.25, rate: 0.02, rho }));
      return periods.some((_, t) => eValueBelow(periods.slice(0, t + 1), 1.3) >= 1 / alpha);
    };
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2 ** 31 - 1 }), (seed) => {
        const r = rng(seed);
        const runs = 40;
        let above = 0;
        let same = 0;
        for (let run = 0; run < runs; run++) {
          if (shownBelow(r, 1.35)) above++;
          if (shownBelow(r, 1)) same++;
        }
        return above / runs <= alpha && same / runs >= 0.8;
      }),
      { seed: 18, numRuns: 2 },
    );
  });

  it('prints what decided: lower > ρ0 exactly when shown worse, upper < passRatio exactly when shown not worse', () => {
    const periodArb = fc.record({
      c: fc.integer({ min: 1, max: 2000 }),
      b: fc.integer({ min: 1, max: 20000 }),
      x: fc.integer({ min: 0, max: 60 }),
      y: fc.integer({ min: 0, max: 200 }),
    });
    fc.assert(
      fc.property(
        fc.array(periodArb, { minLength: 1, maxLength: 12 }),
        fc.constantFrom(1, 1.1, 1.5),
        fc.constantFrom(1.25, 1.5, 2),
        fc.constantFrom(0.008, 0.05),
        (ps, rho0, passRatio, alpha) => {
          const periods = ps.map((p) => period(p.c, Math.min(p.x, p.c), p.b, Math.min(p.y, p.b)));
          const t = ratioTest(periods, { rho0, passRatio, alpha });
          const above = t.lower !== null && t.lower > rho0;
          const below = t.upper !== null && t.upper < passRatio;
          return above === t.worse && below === t.notWorse;
        },
      ),
      { seed: 19, numRuns: 300 },
    );
  });
});
