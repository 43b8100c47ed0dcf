import { describe, expect, it } from 'vitest';
import {
  DEFAULT_TIME_KEEPING,
  describeShortfall,
  type Shortfall,
  TimeKeeper,
} from '../../sandbox/timekeeping';

/** Feeds a keeper probe firings: each `[realMsSinceLast, requestsSentSinceLast]`. */
function feed(keeper: TimeKeeper, firings: [number, number][]): void {
  let now = 1_000;
  let sent = 0;
  keeper.observe(now, sent);
  for (const [ms, requests] of firings) {
    now += ms;
    sent += requests;
    keeper.observe(now, sent);
  }
}

/** `n` firings on time (50 ms apart) sending the planned 1000 req/s. */
const onTime = (n: number): [number, number][] => Array.from({ length: n }, () => [50, 50]);

describe('sandbox time keeping', () => {
  it('finds a machine that keeps time valid: no lag, every minute of rollout time carries its requests', () => {
    const keeper = new TimeKeeper(30, 1000);
    // 10 s real at ×30: five minutes of rollout time.
    feed(keeper, onTime(200));
    expect(keeper.report()).toEqual({
      valid: true,
      scale: 30,
      worstLagMs: 0,
      lowestRequestShare: 1,
      requestShare: 1,
    });
  });

  it('names a timer that fires late, in rollout time, and suggests a scale the machine can keep', () => {
    const keeper = new TimeKeeper(30, 1000);
    // The event loop blocked: a 50 ms timer fired after 1150 ms, 1100 ms real late, 33 s of rollout time at ×30.
    feed(keeper, [...onTime(10), [1150, 1150], ...onTime(10)]);
    const report = keeper.report();
    expect(report).toMatchObject({
      valid: false,
      worstLagMs: 33_000,
      shortfall: { kind: 'lag', lagMs: 33_000, realLagMs: 1100 },
      // 30 s allowed of 33 s seen, halved: ×30 × 30/33 × 0.5.
      suggestedScale: 13,
    });
    expect(describeShortfall(report)).toBe(
      "run invalid: this machine could not keep the sandbox's time: a timer fired 33.0 s of rollout time late " +
        '(1100 ms real at ×30) 49.5 s into the run. The rollouts saw thinner minutes and later timers than their ' +
        'plan, so their outcomes are not evidence. Rerun on a quieter machine or with a lower time scale (--scale 13).',
    );
  });

  it('allows a timer exactly as late as the limit, and the same real lag at a lower scale', () => {
    // 1000 ms real late at ×30 is 30 s of rollout time: the limit itself.
    const atLimit = new TimeKeeper(30, 1000);
    feed(atLimit, [[1050, 1050]]);
    expect(atLimit.report()).toMatchObject({ valid: true, worstLagMs: 30_000 });
    // 1100 ms real late is 33 s at ×30 but 5.5 s at ×5: lowering the scale is how a busy machine keeps time.
    const slower = new TimeKeeper(5, 1000);
    feed(slower, [...onTime(10), [1150, 1150], ...onTime(10)]);
    expect(slower.report()).toMatchObject({ valid: true, worstLagMs: 5500 });
  });

  it('finds a minute of rollout time with less than half the planned requests', () => {
    const keeper = new TimeKeeper(30, 1000);
    // A minute at ×30 is 2 s real: 2000 requests planned. The first minute sends them all, the second 40%.
    feed(keeper, [...onTime(40), ...Array.from({ length: 40 }, (): [number, number] => [50, 20])]);
    const report = keeper.report();
    expect(report).toMatchObject({
      valid: false,
      worstLagMs: 0,
      lowestRequestShare: 0.4,
      requestShare: 0.7,
      shortfall: { kind: 'requests', share: 0.4, sent: 800, planned: 2000, atMs: 120_000 },
      // 40% seen where 50% is needed, halved: ×30 × 0.8 × 0.5.
      suggestedScale: 12,
    });
    expect(describeShortfall(report)).toContain(
      'a minute of rollout time carried 40% of the planned requests (800 of 2000) 120.0 s into the run',
    );
  });

  it('measures the share over the real time a minute took, stalls included', () => {
    const keeper = new TimeKeeper(30, 1000);
    // A stall of 300 ms real (9 s of rollout time, within the lag limit) whose requests went out in a burst after
    // it: the minute still carries its requests.
    feed(keeper, [...onTime(20), [350, 350], ...onTime(40)]);
    expect(keeper.report()).toMatchObject({ valid: true, worstLagMs: 9000, lowestRequestShare: 1 });
  });

  it('holds only what it watches against the plan: a pause between rollouts is no lag and plans no requests', () => {
    const keeper = new TimeKeeper(30, 1000);
    feed(keeper, [...onTime(40)]);
    keeper.pause();
    // Three real seconds with a long stall and nothing sent, while paused...
    feed(keeper, [
      [2000, 0],
      [1000, 0],
    ]);
    keeper.resume();
    // ...then a minute on time again.
    feed(keeper, [...onTime(41)]);
    expect(keeper.report()).toEqual({
      valid: true,
      scale: 30,
      worstLagMs: 0,
      lowestRequestShare: 1,
      requestShare: 1,
    });
  });

  it('tells its listeners once, of the first shortfall, including listeners that come later', () => {
    const keeper = new TimeKeeper(30, 1000, DEFAULT_TIME_KEEPING);
    const early: Shortfall[] = [];
    keeper.onShortfall((s) => early.push(s));
    feed(keeper, [...onTime(5), [1200, 1200], [1500, 1500], ...onTime(5)]);
    const late: Shortfall[] = [];
    keeper.onShortfall((s) => late.push(s));
    expect(early).toEqual([expect.objectContaining({ kind: 'lag', realLagMs: 1150 })]);
    expect(late).toEqual(early);
    expect(keeper.report().worstLagMs).toBe(43_500);
  });
});
