/**
 * The protocols several tasks share (tasks/lib): holding a wait, resolving a decision, aborting a rollout. Each is
 * driven here on its own, against the in-memory store and a recording Step Functions.
 */
import { describe, expect, it } from 'vitest';
import { waitHash } from '../../functions/core/approval-links';
import { stepSpecs } from '../../functions/core/config';
import { ErrorName, RolloutAbortedError } from '../../functions/core/errors';
import { buildPlan } from '../../functions/core/plan';
import type { RolloutDoc, RolloutRecord, WaitToken } from '../../functions/core/rollout';
import type { Clock, Executions } from '../../functions/ports';
import {
  abortRollout,
  holdWait,
  resolveApproval,
  stableAfterAbort,
} from '../../functions/tasks/lib/procedures';
import { InMemoryRolloutStore } from '../../sandbox/store';
import { validParsedConfig } from '../helpers/config';

const ROLLOUT = 'web-0123456789abcdef';
const SERVICE = 'web';
const AT = new Date('2026-01-01T12:00:00Z');
const clock: Clock = { now: () => AT, workflowSeconds: (s) => s, sleep: async () => {} };
const WAIT: WaitToken = { token: 'tok-1', kind: 'approval', step: 1, seq: 100_001, since: AT.toISOString() };
const REQUEST = { token: 'tok-1', kind: 'approval', step: 1, analyses: 1 } as const;

/** Step Functions as a recording: each call, and whether the token was still held. */
function stepFunctions(held = true) {
  const calls: { method: string; token: string; error?: string; output?: unknown }[] = [];
  const executions = {
    sendTaskSuccess: async (token: string, output: unknown) => {
      calls.push({ method: 'sendTaskSuccess', token, output });
      return held;
    },
    sendTaskFailure: async (token: string, error: string) => {
      calls.push({ method: 'sendTaskFailure', token, error });
      return held;
    },
  } as unknown as Executions;
  return { executions, calls };
}

class FlakyStore extends InMemoryRolloutStore {
  historyFails = false;
  override async appendHistory(...args: Parameters<InMemoryRolloutStore['appendHistory']>) {
    if (this.historyFails) throw new Error('ProvisionedThroughputExceededException');
    return super.appendHistory(...args);
  }
}

async function running(wait?: WaitToken) {
  const store = new FlakyStore();
  const record: RolloutRecord = {
    rolloutId: ROLLOUT,
    service: SERVICE,
    image: { repository: 'shop/web', digest: `sha256:${'ab'.repeat(32)}`, tag: 'v2' },
    status: 'running',
    alarms: [],
    createdAt: AT.toISOString(),
    updatedAt: AT.toISOString(),
    ...(wait ? { wait } : {}),
  };
  await store.putRollout(record);
  await store.acquireLock(SERVICE, ROLLOUT, AT);
  return { store, record };
}

describe('holdWait', () => {
  it('keeps the token on the record of a rollout that owns its service', async () => {
    // Prepare
    const { store } = await running();
    // Act
    const held = await holdWait({ store, clock }, { rolloutId: ROLLOUT, service: SERVICE }, REQUEST);
    // Assess
    expect(held?.rolloutId).toBe(ROLLOUT);
    expect((await store.getRollout(ROLLOUT))?.wait).toEqual(WAIT);
  });

  it('leaves a later wait alone and says the late token is not held', async () => {
    // Prepare
    const later = { ...WAIT, token: 'tok-2', seq: 200_000 };
    const { store } = await running(later);
    await store.setWait(ROLLOUT, later);
    // Act
    const held = await holdWait({ store, clock }, { rolloutId: ROLLOUT, service: SERVICE }, REQUEST);
    // Assess
    expect(held).toBeUndefined();
    expect((await store.getRollout(ROLLOUT))?.wait?.token).toBe('tok-2');
  });

  it('fails with the abort when the rollout was aborted, and stores nothing', async () => {
    // Prepare
    const { store } = await running();
    await store.markAborted(ROLLOUT, ErrorName.AlarmFired, 'alarm', AT);
    // Act
    const held = holdWait({ store, clock }, { rolloutId: ROLLOUT, service: SERVICE }, REQUEST);
    // Assess
    await expect(held).rejects.toBeInstanceOf(RolloutAbortedError);
    expect((await store.getRollout(ROLLOUT))?.wait).toBeUndefined();
  });
});

describe('resolveApproval', () => {
  it('rejects the wait, clears it and records who decided which wait', async () => {
    // Prepare
    const { store, record } = await running(WAIT);
    const { executions, calls } = stepFunctions();
    // Act
    const outcome = await resolveApproval(
      { store, clock, executions },
      record,
      WAIT,
      { approve: false, message: 'step 2 rejected from the CLI: p99' },
      { via: 'cli', by: 'the CLI' },
    );
    // Assess
    expect(outcome).toEqual({ sent: true, lagging: [] });
    expect(calls).toEqual([{ method: 'sendTaskFailure', token: 'tok-1', error: ErrorName.ApprovalRejected }]);
    expect((await store.getRollout(ROLLOUT))?.wait).toBeUndefined();
    expect((await store.history(ROLLOUT)).map((h) => [h.type, 'detail' in h ? h.detail : undefined])).toEqual(
      [['rejected', { step: 1, via: 'cli', by: 'the CLI', wait: waitHash('tok-1') }]],
    );
  });

  it('keeps a taken decision when the history cannot be written, and names the write that lags', async () => {
    // Prepare
    const { store, record } = await running(WAIT);
    store.historyFails = true;
    const { executions, calls } = stepFunctions();
    const late: string[] = [];
    // Act
    const outcome = await resolveApproval(
      { store, clock, executions },
      record,
      WAIT,
      { approve: true, message: 'step 2 approved from the approval page' },
      { via: 'approval-page', by: 'the approval page', onLagging: (write) => late.push(write) },
    );
    // Assess
    expect(outcome).toEqual({ sent: true, lagging: ['history'] });
    expect(late).toEqual(['history']);
    expect(calls[0]).toMatchObject({
      method: 'sendTaskSuccess',
      output: { approved: true, by: 'approval-page' },
    });
    expect((await store.getRollout(ROLLOUT))?.wait).toBeUndefined();
  });

  it('clears a wait Step Functions no longer held, and records no decision', async () => {
    // Prepare
    const { store, record } = await running(WAIT);
    const { executions } = stepFunctions(false);
    // Act
    const outcome = await resolveApproval(
      { store, clock, executions },
      record,
      WAIT,
      { approve: true, message: 'approved' },
      { via: 'cli', by: 'the CLI' },
    );
    // Assess
    expect(outcome).toEqual({ sent: false });
    expect((await store.getRollout(ROLLOUT))?.wait).toBeUndefined();
    expect(await store.history(ROLLOUT)).toEqual([]);
  });
});

describe('abortRollout', () => {
  it('marks the rollout, puts stable back, fails its wait with the reason, and records why, in that order', async () => {
    // Prepare
    const { store, record } = await running(WAIT);
    const { executions, calls } = stepFunctions();
    const order: string[] = [];
    // Act
    const outcome = await abortRollout({ store, clock, executions }, record, {
      reason: ErrorName.AlarmFired,
      message: 'alarm web-5xx in ALARM',
      entry: { type: 'alarm', detail: { alarm: 'web-5xx' } },
      putStableBack: async (marked) => {
        order.push(`stable (marked: ${marked}, wait failed: ${calls.length > 0})`);
      },
    });
    // Assess
    expect(outcome.status).toBe('aborted');
    expect(order).toEqual(['stable (marked: true, wait failed: false)']);
    expect((await store.getRollout(ROLLOUT))?.abort?.reason).toBe(ErrorName.AlarmFired);
    expect(calls).toEqual([{ method: 'sendTaskFailure', token: 'tok-1', error: ErrorName.AlarmFired }]);
    expect((await store.history(ROLLOUT)).map((h) => h.type)).toEqual(['alarm']);
  });

  it('moves no traffic and marks nothing when the rollout ended and a newer one took its service', async () => {
    // Prepare: the record was read while it ran; it ended and a newer rollout holds the service before the mark.
    const { store, record } = await running(WAIT);
    await store.updateRollout(ROLLOUT, { status: 'promoted' });
    await store.releaseLock(SERVICE, ROLLOUT, AT);
    await store.putRollout({ ...record, rolloutId: 'web-newer', canaryPercent: 10 });
    await store.acquireLock(SERVICE, 'web-newer', AT);
    const { executions, calls } = stepFunctions();
    const moved: boolean[] = [];
    // Act
    const outcome = await abortRollout({ store, clock, executions }, record, {
      reason: ErrorName.Aborted,
      message: 'aborted from the CLI',
      entry: { type: 'aborted', detail: { via: 'cli', by: 'the CLI' } },
      putStableBack: async (marked) => {
        moved.push(marked);
      },
    });
    // Assess
    expect(outcome).toMatchObject({ status: 'notHolding' });
    expect(outcome.status === 'notHolding' && outcome.why).toBe(
      `${ROLLOUT} is promoted and web's lock is held by web-newer`,
    );
    expect(moved).toEqual([]);
    expect(calls).toEqual([]);
    expect((await store.getRollout(ROLLOUT))?.abort).toBeUndefined();
    expect((await store.getRollout('web-newer'))?.canaryPercent).toBe(10);
    expect(await store.history(ROLLOUT)).toEqual([]);
  });

  it('puts stable back and throws when the mark cannot be stored', async () => {
    // Prepare
    const { store, record } = await running(WAIT);
    store.markAborted = async () => {
      throw new Error('InternalServerError');
    };
    const { executions, calls } = stepFunctions();
    const restored: boolean[] = [];
    // Act
    const aborting = abortRollout({ store, clock, executions }, record, {
      reason: ErrorName.AlarmFired,
      message: 'alarm',
      entry: { type: 'alarm', detail: { alarm: 'web-5xx' } },
      putStableBack: async (marked) => {
        restored.push(marked);
      },
    });
    // Assess
    await expect(aborting).rejects.toThrow('InternalServerError');
    expect(restored).toEqual([false]);
    expect(calls).toEqual([]);
  });

  it('leaves a rollout already stopping for another reason to it, when asked to yield', async () => {
    // Prepare
    const { store, record } = await running(WAIT);
    await store.markAborted(ROLLOUT, ErrorName.Superseded, 'superseded by v3', AT);
    const { executions, calls } = stepFunctions();
    // Act
    const outcome = await abortRollout({ store, clock, executions }, record, {
      reason: ErrorName.Aborted,
      message: 'aborted from the CLI',
      entry: { type: 'aborted', detail: { via: 'cli', by: 'the CLI' } },
      writes: 'settle',
      yieldToEarlier: true,
    });
    // Assess
    expect(outcome.status).toBe('alreadyStopping');
    expect(calls).toEqual([]);
    expect(await store.history(ROLLOUT)).toEqual([]);
  });

  it('settles an operator abort whose history cannot be written: the abort stands, the lag is reported', async () => {
    // Prepare
    const { store, record } = await running(WAIT);
    store.historyFails = true;
    const { executions, calls } = stepFunctions();
    // Act
    const outcome = await abortRollout({ store, clock, executions }, record, {
      reason: ErrorName.Aborted,
      message: 'aborted from the CLI',
      entry: { type: 'aborted', detail: { via: 'cli', by: 'the CLI' } },
      writes: 'settle',
    });
    // Assess
    expect(outcome).toMatchObject({ status: 'aborted', waitInterrupted: true, historyWritten: false });
    expect(calls).toEqual([{ method: 'sendTaskFailure', token: 'tok-1', error: ErrorName.Aborted }]);
    expect((await store.getRollout(ROLLOUT))?.abort?.reason).toBe(ErrorName.Aborted);
  });
});

describe('stableAfterAbort, when the mark could not be stored', () => {
  const config = validParsedConfig();
  const DOC: RolloutDoc = {
    rolloutId: ROLLOUT,
    service: SERVICE,
    image: { repository: config.repository, digest: `sha256:${'ab'.repeat(32)}` },
    config,
    plan: buildPlan(stepSpecs(config)),
    trigger: 'ecr-push',
    requestedAt: AT.toISOString(),
  };
  const ROUTE = { listenerArn: 'l', stableTargetGroupArn: 'tg-stable', canaryTargetGroupArn: 'tg-canary' };
  const runningOf = (...names: string[]) =>
    ({
      running: async () =>
        names.map((name) => ({
          name,
          input: JSON.stringify({ rollout: { ...DOC, rolloutId: name } }),
          startedAt: AT.toISOString(),
        })),
      lastStateEntered: async () => ({ name: 'Bake' }),
    }) as unknown as Executions;
  const router = () => {
    const weights: number[] = [];
    const r = {
      describe: async () => ({}),
      setWeights: async (_route: unknown, percent: number) => void weights.push(percent),
      verifyWeights: async (_route: unknown, percent: number) => weights.at(-1) === percent,
    };
    return { r, weights };
  };

  it('moves nothing when a newer execution of the service holds it, and says so', async () => {
    // Prepare: newest first, as ListExecutions answers.
    const { store, record } = await running();
    const { r, weights } = router();
    const put = stableAfterAbort(
      { router: r, clock, store, executions: runningOf('web-newer', ROLLOUT) },
      record,
      ROUTE,
    );
    // Act, Assess
    await expect(put(false)).rejects.toMatchObject({
      name: ErrorName.LockHeld,
      message: `the store could not be written and ${ROLLOUT}'s execution does not hold ${SERVICE} (web-newer does): no traffic was moved`,
    });
    expect(weights).toEqual([]);
  });

  it('puts stable back when its execution is the newest running one of the service', async () => {
    const { store, record } = await running();
    const { r, weights } = router();
    const put = stableAfterAbort({ router: r, clock, store, executions: runningOf(ROLLOUT) }, record, ROUTE);
    await put(false);
    expect(weights).toEqual([0]);
  });
});
