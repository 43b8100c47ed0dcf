/**
 * Capacity maths (functions/core/capacity.ts): the canary's task count for a share, and the spacing of a step's
 * capacity polls, which must stay bounded for every config the schema accepts (every step of a rollout may wait).
 */
import { describe, expect, it } from 'vitest';
import { canaryTaskCount, capacityPollWait, maxCapacityPolls } from '../../functions/core/capacity';
import { MAX_STEPS } from '../../functions/core/plan';

/** Step Functions history events of one capacity poll: Wait (entered, exited), Task (5), Choice (2). */
const EVENTS_PER_POLL = 9;
/** ScaleCanary (Task, 5 events) and IsCapacityReady (Choice, 2) once per step. */
const EVENTS_PER_SCALE = 7;

describe('canaryTaskCount', () => {
  it('gives the canary the same share of the stable tasks as of the traffic, rounded up, at least one', () => {
    expect(canaryTaskCount(10, 5)).toBe(1);
    expect(canaryTaskCount(10, 25)).toBe(3);
    expect(canaryTaskCount(10, 50)).toBe(5);
    expect(canaryTaskCount(10, 100)).toBe(10);
    expect(canaryTaskCount(3, 0.1)).toBe(1);
    expect(canaryTaskCount(0, 50)).toBe(1);
  });
});

describe('capacityPollWait', () => {
  it('polls every pollSeconds at first, then half the time waited so far, and last at the timeout', () => {
    const bound = { timeoutSeconds: 600, pollSeconds: 15 };
    const waits: number[] = [];
    let waited = 0;
    for (let w = capacityPollWait(bound, waited); w > 0; w = capacityPollWait(bound, waited)) {
      waits.push(w);
      waited += w;
    }
    expect(waits).toEqual([15, 15, 15, 23, 34, 51, 77, 115, 173, 82]);
    expect(waited).toBe(600);
    expect(maxCapacityPolls(bound)).toBe(waits.length);
  });

  it('is zero once the timeout is reached', () => {
    expect(capacityPollWait({ timeoutSeconds: 60, pollSeconds: 10 }, 60)).toBe(0);
    expect(capacityPollWait({ timeoutSeconds: 60, pollSeconds: 10 }, 75)).toBe(0);
  });

  it('keeps every step of the widest plan far inside the 25,000-event history, whatever the readiness config', () => {
    // Every timeout and poll the config schema accepts (10–3600 s, 1–300 s).
    let worst = 0;
    for (let timeoutSeconds = 10; timeoutSeconds <= 3600; timeoutSeconds += 1) {
      for (const pollSeconds of [1, 2, 5, 10, 15, 30, 60, 300]) {
        worst = Math.max(worst, maxCapacityPolls({ timeoutSeconds, pollSeconds }));
      }
    }
    expect(worst).toBeLessThanOrEqual(22);
    // Fixed 1 s polls would be 3600 polls (32,400 events) for one step alone.
    expect(MAX_STEPS * (EVENTS_PER_SCALE + worst * EVENTS_PER_POLL)).toBeLessThan(10_500);
  });
});
