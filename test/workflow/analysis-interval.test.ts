import { describe, expect, it } from 'vitest';
import { demoService, HEALTHY, SERVER_ERRORS } from '../../sandbox/demo';
import { expectSettled, startWorld } from '../helpers/world';

/** A first step whose bake (an hour) is far longer than the test: it can only end early. */
const HOUR_BAKE = [
  { weight: 50, bakeSeconds: 3600 },
  { weight: 100, bakeSeconds: 60 },
];

async function started(p: Promise<{ status: string; rolloutId?: string }>): Promise<string> {
  const r = await p;
  if (r.status !== 'started' || !r.rolloutId) throw new Error(`expected a start, got ${JSON.stringify(r)}`);
  return r.rolloutId;
}

/** Rollout seconds from the first step's weight change to the entry that ended the step. */
function secondsInStep(history: { at: string; type: string }[], endType: string): number {
  const from = history.find((h) => h.type === 'weight');
  const to = history.filter((h) => h.type === endType).at(-1);
  if (!from || !to) throw new Error(`no ${endType} after a weight change`);
  return (Date.parse(to.at) - Date.parse(from.at)) / 1000;
}

describe('the bake is judged every analysis interval', () => {
  it('a canary shown not worse than stable advances before its bake ends (early pass)', async () => {
    // Both versions fail 3% of requests: enough events for the evidence to show the canary not worse.
    const noisy = { ...HEALTHY, errorRate: 0.03 };
    const world = await startWorld({
      rps: 6000,
      stable: { tag: 'v1', profile: noisy },
      images: [{ tag: 'v2', profile: noisy }],
      alarms: [],
      services: [demoService({ steps: HOUR_BAKE, analysis: { alarms: [] } })],
    });
    const id = await started(world.push('v2'));

    expect((await world.waitFor(id, 90_000)).status).toBe('SUCCEEDED');

    const history = await world.store.history(id);
    const firstStep = history.filter((h) => h.type === 'analysis').filter((h) => h.detail.step === 0);
    const actions = firstStep.map((h) => h.detail.action);
    // Judged every minute: kept baking, then advanced on the early pass, long before the hour was up.
    expect(actions.at(-1)).toBe('advance');
    expect(actions.slice(0, -1).every((a) => a === 'keepBaking')).toBe(true);
    expect(actions.length).toBeGreaterThan(1);
    expect(String(firstStep.at(-1)?.detail.reason)).toMatch(/^early pass with \d+ s of the bake left/);
    expect(secondsInStep(history, 'analysis')).toBeLessThan(3600);
    await expectSettled(world, { stableTag: 'v2' });
  }, 120_000);

  it('a failing canary is rolled back mid-bake, at the first analysis that shows it', async () => {
    const world = await startWorld({
      stable: { tag: 'v1', profile: HEALTHY },
      images: [{ tag: 'v3', profile: SERVER_ERRORS }],
      alarms: [],
      services: [demoService({ steps: HOUR_BAKE, analysis: { alarms: [] } })],
    });
    const id = await started(world.push('v3'));

    expect((await world.waitFor(id, 60_000)).status).toBe('FAILED');

    const history = await world.store.history(id);
    const last = history.filter((h) => h.type === 'analysis').at(-1);
    expect(last?.detail?.action).toBe('rollback');
    // Within a few minutes of the hour-long bake: the analysis ran mid-bake, not at its end.
    expect(secondsInStep(history, 'analysis')).toBeLessThan(600);
    await expectSettled(world, { stableTag: 'v1' });
  }, 90_000);

  it('a canary short of minRequests waits for traffic and is never failed for it', async () => {
    // Half the traffic on the canary (~375 requests a rollout minute here) and 3,000 needed: about eight minutes,
    // well past the one-minute bake and its two-minute metric delay however slowly the machine runs the analyses,
    // with no extensions allowed and onInconclusive rollback.
    const world = await startWorld({
      alarms: [],
      services: [
        demoService({
          steps: [
            { weight: 50, bakeSeconds: 60 },
            { weight: 100, bakeSeconds: 60 },
          ],
          analysis: { alarms: [], minRequests: 3000, maxExtensions: 0, onInconclusive: 'rollback' },
        }),
      ],
    });
    const id = await started(world.push('v2'));

    expect((await world.waitFor(id, 60_000)).status).toBe('SUCCEEDED');

    const actions = (await world.store.history(id))
      .filter((h) => h.type === 'analysis')
      .filter((h) => h.detail.step === 0)
      .map((h) => h.detail.action);
    expect(actions.at(-1)).toBe('advance');
    expect(actions.filter((a) => a === 'awaitTraffic').length).toBeGreaterThan(0);
    expect(actions).not.toContain('rollback');
    await expectSettled(world, { stableTag: 'v2' });
  }, 90_000);
});
