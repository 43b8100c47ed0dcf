/**
 * Pauses, decision by decision: what an analysis does while a person holds the rollout or under a pause on
 * failure (core/pause.ts), and set-weight holding a share that would go up while paused, or running the failed
 * step again after a pause on failure.
 */
import type { Context } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { waitsOfStep, weightHeld, whilePaused } from '../../functions/core/pause';
import { type PauseMark, type RolloutDoc, type RolloutRecord, waitSeq } from '../../functions/core/rollout';
import type { AlarmSource, Clock, Deployer, Log, TrafficRouter } from '../../functions/ports';
import { pauseRollout, resumeRollout } from '../../functions/tasks/lib/pause';
import { makeSetWeight } from '../../functions/tasks/set-weight';
import { InMemoryRolloutStore } from '../../sandbox/store';
import { ROLLOUT_ID, ROUTE, rolloutDocFor, SERVICE, validParsedConfig } from '../helpers/config';

const byPerson: PauseMark = { cause: 'operator', at: '', by: 'bob', via: 'cli', weight: 10 };
const onFailure: PauseMark = { cause: 'failure', at: '', by: 'the workflow', via: 'workflow', weight: 0 };

describe('core/pause', () => {
  it('holds an advance while a person pauses; a rollback stands, or is recorded as a pause under onFailure pause', () => {
    expect(whilePaused('advance', byPerson)).toBe('paused');
    expect(whilePaused('advance', undefined)).toBe('advance');
    expect(whilePaused('advance', onFailure)).toBe('advance');
    expect(whilePaused('rollback', byPerson)).toBe('rollback');
    expect(whilePaused('rollback', undefined, 'pause')).toBe('pauseOnFailure');
    for (const a of ['keepBaking', 'awaitTraffic', 'bakeAgain', 'awaitApproval'] as const)
      expect(whilePaused(a, byPerson)).toBe(a);
  });

  it("holds only a weight change that raises the canary's share, and only for a person's pause", () => {
    expect(weightHeld({ paused: byPerson, canaryPercent: 10 }, 25)).toBe(true);
    expect(weightHeld({ paused: byPerson, canaryPercent: 10 }, 10)).toBe(false);
    expect(weightHeld({ paused: onFailure, canaryPercent: 0 }, 10)).toBe(false);
    expect(weightHeld({ canaryPercent: 10 }, 25)).toBe(false);
  });

  it("counts a step's waits from the last wait stored, so its next wait comes after them", () => {
    expect(waitsOfStep({ seq: waitSeq(1, 3), since: '' }, 1)).toBe(4);
    expect(waitsOfStep({ seq: waitSeq(2, 0), since: '' }, 1)).toBe(0);
    expect(waitsOfStep(undefined, 1)).toBe(0);
  });
});

describe('set-weight while paused', () => {
  const config = validParsedConfig({ analysis: { alarms: [], intervalSeconds: 60 } });
  const rollout: RolloutDoc = rolloutDocFor(config);
  const clock: Clock = {
    now: () => new Date('2025-03-14T09:40:00.000Z'),
    workflowSeconds: (s) => s,
    sleep: async () => {},
  };
  const log: Log = { info: () => {}, warn: () => {}, error: () => {} };
  const step = { index: 2, weight: 50, bakeSeconds: 300, approval: false };

  async function setup(paused: PauseMark, alarms?: AlarmSource, alarmNames: string[] = []) {
    const weights: number[] = [];
    const router: TrafficRouter = {
      describe: async () => ({}),
      setWeights: async (_r, percent) => void weights.push(percent),
      verifyWeights: async () => true,
    };
    const deployer = { scaleCanary: async () => {} } as unknown as Deployer;
    const store = new InMemoryRolloutStore();
    await store.acquireLock(SERVICE, ROLLOUT_ID, new Date('2025-03-14T09:27:00.000Z'));
    await store.putRollout({
      rolloutId: ROLLOUT_ID,
      service: SERVICE,
      image: rollout.image,
      status: 'running',
      alarms: [],
      createdAt: '2025-03-14T09:27:00.000Z',
      updatedAt: '2025-03-14T09:27:00.000Z',
      canaryStartedAt: '2025-03-14T09:30:00.000Z',
      weightChangedAt: ['2025-03-14T09:30:00.000Z', '2025-03-14T09:35:00.000Z'],
      canaryPercent: paused.weight,
      currentStep: 1,
      waitOrder: { seq: waitSeq(1, 4), since: '' },
      paused,
      route: ROUTE,
    });
    const handler = makeSetWeight({
      router,
      deployerFor: () => deployer,
      store,
      clock,
      log,
      ...(alarms ? { alarms } : {}),
    });
    const doc = { ...rollout, config: { ...config, analysis: { ...config.analysis, alarms: alarmNames } } };
    return {
      weights,
      store,
      run: (extra: object = {}) => handler({ rollout: doc, route: ROUTE, step, ...extra }, {} as Context),
    };
  }

  it('moves nothing up while a person pauses: held, with the wait of the step the canary is on', async () => {
    const w = await setup({ ...byPerson, weight: 25 });
    const out = await w.run();
    expect(w.weights).toEqual([]);
    expect(out).toEqual({ held: true, seconds: 60, bakeLeft: 0, extensions: 0, analyses: 5 });
    expect((await w.store.getRollout(ROLLOUT_ID))?.canaryPercent).toBe(25);
  });

  it('a retry after a pause on failure sets the weight from 0, ends the pause and restarts the analysis window', async () => {
    const w = await setup(onFailure);
    // The periods the failed analyses judged, in their own item and as an earlier release kept them on the record.
    const judged = {
      alb: { start: '2025-03-14T09:30:00.000Z', periodSeconds: 60, canary: [9], baseline: [90] },
    };
    await w.store.putJudgedPeriods(ROLLOUT_ID, judged);
    await w.store.updateRollout(ROLLOUT_ID, { judgedPeriods: judged });
    await w.run({ retry: true, analyses: 3 });
    expect(w.weights).toEqual([50]);
    const record = await w.store.getRollout(ROLLOUT_ID);
    expect(await w.store.getJudgedPeriods(ROLLOUT_ID)).toBeUndefined();
    expect(record?.judgedPeriods).toBeUndefined();
    expect(record?.paused).toBeUndefined();
    expect(record?.canaryPercent).toBe(50);
    expect(record?.canaryStartedAt).toBe('2025-03-14T09:40:00.000Z');
    expect(record?.weightChangedAt).toEqual(['2025-03-14T09:40:00.000Z']);
  });

  it('a retry with a gating alarm still in ALARM moves nothing and fails AlarmFired (the workflow rolls back)', async () => {
    const states = (state: 'OK' | 'ALARM'): AlarmSource => ({
      states: async (names) => names.map((name) => ({ name, state: name === 'web-5xx' ? state : 'OK' })),
    });
    const firing = await setup(onFailure, states('ALARM'), ['web-latency', 'web-5xx']);
    await expect(firing.run({ retry: true })).rejects.toMatchObject({
      name: 'AlarmFired',
      message: expect.stringContaining('web-5xx still in ALARM'),
    });
    expect(firing.weights).toEqual([]);
    expect((await firing.store.getRollout(ROLLOUT_ID))?.paused).toEqual(onFailure);

    const quiet = await setup(onFailure, states('OK'), ['web-latency', 'web-5xx']);
    await quiet.run({ retry: true });
    expect(quiet.weights).toEqual([50]);
  });
});

describe("a person's pause and resume racing a pause on failure", () => {
  const clock: Clock = {
    now: () => new Date('2025-03-14T09:40:00.000Z'),
    workflowSeconds: (s) => s,
    sleep: async () => {},
  };

  async function setup(paused: PauseMark | undefined) {
    const store = new InMemoryRolloutStore();
    const record: RolloutRecord = {
      rolloutId: ROLLOUT_ID,
      service: SERVICE,
      image: rolloutDocFor(validParsedConfig()).image,
      status: 'running',
      alarms: [],
      createdAt: '2025-03-14T09:27:00.000Z',
      updatedAt: '2025-03-14T09:27:00.000Z',
      canaryPercent: 0,
      currentStep: 1,
      route: ROUTE,
    };
    await store.putRollout({ ...record, ...(paused ? { paused } : {}) });
    return { store, record };
  }
  const actor = { via: 'cli', by: 'bob' } as const;

  it('a pause read before the pause on failure landed leaves its mark and says so', async () => {
    // Prepare: the person read the record unpaused; the workflow then held on stable (the failure mark)
    const { store, record } = await setup(onFailure);
    // Act, Assess
    await expect(pauseRollout({ store, clock }, record, actor)).rejects.toThrow(
      /paused on a failed analysis.*nothing changed/,
    );
    expect((await store.getRollout(ROLLOUT_ID))?.paused).toEqual(onFailure);
  });

  it("a resume read while a person's pause held does not erase a pause on failure", async () => {
    const { store, record } = await setup(onFailure);
    await expect(resumeRollout({ store, clock }, { ...record, paused: byPerson }, actor)).rejects.toThrow(
      /paused on a failed analysis/,
    );
    expect((await store.getRollout(ROLLOUT_ID))?.paused).toEqual(onFailure);
  });

  it('pauses and resumes as before when nothing raced', async () => {
    const { store, record } = await setup(undefined);
    const paused = await pauseRollout({ store, clock }, record, actor);
    expect(paused.paused).toMatchObject({ cause: 'operator', by: 'bob' });
    const resumed = await resumeRollout({ store, clock }, paused, actor);
    expect(resumed.paused).toBeUndefined();
  });
});
