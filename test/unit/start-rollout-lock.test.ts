import { describe, expect, it } from 'vitest';
import { TransientError } from '../../functions/core/errors';
import type { RolloutDoc } from '../../functions/core/rollout';
import type { Executions, StartedExecution } from '../../functions/ports';
import { makeStartRollout } from '../../functions/tasks/start-rollout';
import { InMemoryRolloutStore } from '../../sandbox/store';
import { validParsedConfig } from '../helpers/config';
import { loadEvent } from '../helpers/fixtures';
import { docOf, HOLDER, PENDING, TAKEN } from '../helpers/lock-holders';

/** Step Functions as a fake: the executions started, and what the next start does instead. */
function fakeExecutions() {
  const started = new Map<string, RolloutDoc>();
  let next: (() => Promise<never>) | undefined;
  const executions: Executions = {
    start: async (name, input): Promise<StartedExecution> => {
      const fail = next;
      next = undefined;
      if (fail) return fail();
      const alreadyStarted = started.has(name);
      started.set(name, input.rollout);
      return {
        executionArn: `arn:aws:states:us-east-1:123456789012:execution:canary:${name}`,
        alreadyStarted,
      };
    },
    stop: async () => undefined,
    isRunning: async (name) => started.has(name),
    running: async () => [],
    lastStateEntered: async () => undefined,
    sendTaskSuccess: async () => true,
    sendTaskFailure: async () => true,
  };
  return { executions, started, failNext: (fail: () => Promise<never>) => (next = fail) };
}

function world() {
  const store = new InMemoryRolloutStore();
  const sfn = fakeExecutions();
  const logs: string[] = [];
  const handler = makeStartRollout({
    catalog: { byRepository: async () => validParsedConfig(), byName: async () => validParsedConfig() },
    store,
    executions: sfn.executions,
    notifiers: [],
    clock: {
      now: () => new Date('2025-03-14T09:27:00Z'),
      workflowSeconds: (s) => s,
      sleep: async () => undefined,
    },
    log: { info: () => undefined, warn: () => undefined, error: (m) => logs.push(m) },
  });
  return { store, sfn, handler, logs };
}

describe('start-rollout and the lock when StartExecution fails', () => {
  it('keeps the lock when the start may have run (throttled, timed out, response lost); the retry resumes it', async () => {
    const { store, sfn, handler } = world();
    const event = loadEvent('ecr/push');
    sfn.failNext(async () => {
      throw new TransientError('states:StartExecution failed after 3 attempt(s): ThrottlingException');
    });

    await expect(handler(event, {} as never)).rejects.toThrow(TransientError);
    const [lock] = store.heldLocks();
    expect(lock?.rolloutId).toMatch(/^web-/);
    expect(lock?.doc?.rolloutId).toBe(lock?.rolloutId);

    // Lambda delivers the event again: the same rollout starts, by the same name, once.
    const again = await handler(loadEvent('ecr/push'), {} as never);
    expect(again).toMatchObject({ status: 'duplicate', rolloutId: lock?.rolloutId });
    expect([...sfn.started.keys()]).toEqual([lock?.rolloutId]);
    expect(store.heldLocks().map((l) => l.rolloutId)).toEqual([lock?.rolloutId]);
  });

  it('gives the service back when Step Functions started nothing, and says why', async () => {
    const { store, sfn, handler } = world();
    sfn.failNext(async () => {
      throw Object.assign(new Error('Input exceeds the 256 KiB limit'), { name: 'InvalidExecutionInput' });
    });

    const result = await handler(loadEvent('ecr/push'), {} as never);

    expect(result).toMatchObject({ status: 'refused' });
    expect(result.status === 'refused' && result.reason).toMatch(/InvalidExecutionInput/);
    expect(store.heldLocks()).toEqual([]);
    const record = await store.getRollout(result.status === 'refused' ? result.rolloutId : '');
    expect(record?.status).toBe('rolledBack');
    expect(record?.outcome?.reason).toMatch(/could not start: InvalidExecutionInput/);
    expect(sfn.started.size).toBe(0);
  });
});

/** A holder that rolled back but kept its lock (its release never ran), with a newer image pending on it. */
async function settledHolderWithPending(store: InMemoryRolloutStore) {
  await store.acquireLock('web', HOLDER, TAKEN, docOf(HOLDER, '01'));
  await store.setPending('web', HOLDER, docOf(PENDING, '02'));
  await store.putRollout({
    rolloutId: HOLDER,
    service: 'web',
    image: docOf(HOLDER, '01').image,
    status: 'rolledBack',
    alarms: [],
    createdAt: TAKEN.toISOString(),
    updatedAt: TAKEN.toISOString(),
  });
}

describe('start-rollout when a settled holder kept its lock with a rollout pending on it', () => {
  it('starts the push, the pending rollout recorded as superseded before it started', async () => {
    const { store, sfn, handler } = world();
    await settledHolderWithPending(store);

    const result = await handler(loadEvent('ecr/push'), {} as never);

    const pushed = result.status === 'started' || result.status === 'superseding' ? result.rolloutId : '';
    expect(pushed).toMatch(/^web-/);
    expect([...sfn.started.keys()]).toEqual([pushed]);
    expect(store.heldLocks().map((l) => l.rolloutId)).toEqual([pushed]);
    const pending = await store.getRollout(PENDING);
    expect(pending?.status).toBe('rolledBack');
    expect(pending?.outcome?.reason).toBe(`Superseded: ${pushed} arrived before it started`);
  });

  it('starts the newest when an earlier attempt handed the lock to the pending rollout and went no further', async () => {
    const { store, sfn, handler } = world();
    await settledHolderWithPending(store);
    // The attempt released the settled holder's lock (handing it to the pending rollout), then its Lambda ended.
    await store.releaseLock('web', HOLDER, new Date('2025-03-14T09:26:00Z'));

    // Lambda delivers the event again, and again.
    const first = await handler(loadEvent('ecr/push'), {} as never);
    const second = await handler(loadEvent('ecr/push'), {} as never);

    expect(first).toMatchObject({ status: 'superseding', supersedes: PENDING });
    const pushed = first.status === 'superseding' ? first.rolloutId : '';
    expect(second).toMatchObject({ status: 'duplicate', rolloutId: pushed });
    expect([...sfn.started.keys()]).toEqual([pushed]);
    expect(store.heldLocks().map((l) => l.rolloutId)).toEqual([pushed]);
    expect((await store.getRollout(PENDING))?.status).toBe('rolledBack');
  });
});
