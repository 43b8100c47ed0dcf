import { describe, expect, it } from 'vitest';
import { trafficDrift } from '../../functions/core/plan';

const groups = { stable: 'tg/stable', canary: 'tg/canary' };

describe('trafficDrift: the listener against the share the rollout set', () => {
  it('the weights the rollout set, or the same share in other integers, are no drift', () => {
    expect(trafficDrift({ 'tg/stable': 3, 'tg/canary': 1 }, groups, 25)).toBeUndefined();
    expect(trafficDrift({ 'tg/stable': 6, 'tg/canary': 2 }, groups, 25)).toBeUndefined();
    expect(trafficDrift({ 'tg/stable': 1, 'tg/canary': 0 }, groups, 0)).toBeUndefined();
    expect(trafficDrift({ 'tg/stable': 999, 'tg/canary': 1 }, groups, 0.1)).toBeUndefined();
  });

  it('another share is drift, with what was seen and expected', () => {
    expect(trafficDrift({ 'tg/stable': 9, 'tg/canary': 1 }, groups, 25)).toEqual({
      expectedPercent: 25,
      seenPercent: 10,
      seen: { stable: 9, canary: 1 },
      others: [],
    });
    // A target group missing from the forward action counts as weight 0.
    expect(trafficDrift({ 'tg/stable': 1 }, groups, 25)?.seenPercent).toBe(0);
  });

  it('traffic to a third target group is drift, even when the two keep their ratio', () => {
    expect(trafficDrift({ 'tg/stable': 3, 'tg/canary': 1, 'tg/other': 4 }, groups, 25)).toMatchObject({
      seenPercent: 25,
      others: ['tg/other'],
    });
    expect(trafficDrift({ 'tg/stable': 3, 'tg/canary': 1, 'tg/other': 0 }, groups, 25)).toBeUndefined();
  });

  it('no weight on either target group is drift', () => {
    expect(trafficDrift({ 'tg/stable': 0, 'tg/canary': 0 }, groups, 0)).toMatchObject({ seenPercent: 0 });
  });
});
