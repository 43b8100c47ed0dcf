/**
 * start-rollout racing itself: the same push delivered twice at once, a newer and an older push superseding the
 * same holder, and a rollout that ended handing its lock over while a push supersedes the rollout it handed it to.
 * The invariants: an execution left running besides the lock holder's is told by its record to stop before it
 * changes anything; a rollout recorded as over is never recorded running again; the newest push ends holding the service or pending on a holder that will hand it over.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type RolloutDoc, rolloutIdFor, TERMINAL_STATUSES } from '../../functions/core/rollout';
import type { Executions, StartedExecution } from '../../functions/ports';
import { startRolloutExecution } from '../../functions/tasks/lib/ownership';
import { makeStartRollout } from '../../functions/tasks/start-rollout';
import { InMemoryRolloutStore } from '../../sandbox/store';
import { validParsedConfig } from '../helpers/config';
import { loadEvent } from '../helpers/fixtures';
import { docOf, HOLDER, PENDING, TAKEN } from '../helpers/lock-holders';

const NOW = new Date('2025-03-14T09:27:00Z');

/** The fixture's push (`older`), or a push of another image a few seconds after it (`newer`). */
function push(which: 'older' | 'newer') {
  const event = loadEvent('ecr/push');
  if (which === 'older') return event;
  return {
    ...event,
    id: 'a9d1e5c2-0000-4000-8000-00000000000e',
    time: '2025-03-14T09:26:59Z',
    detail: { ...event.detail, 'image-digest': `sha256:${'ee'.repeat(32)}`, 'image-tag': 'v1.4.3' },
  };
}

type Wrap = <A extends unknown[], R>(f: (...a: A) => Promise<R>) => (...a: A) => Promise<R>;

/**
 * A world whose Step Functions records each start and, at that moment, what the store said: a start is wrong when
 * the lock is not the rollout's or its record says it is over. `interleave(wrap)` wraps each store call and start
 * from then on.
 */
function world() {
  const store = new InMemoryRolloutStore();
  const started = new Set<string>();
  const stopped = new Set<string>();
  const wrongStarts: string[] = [];
  let wrap: Wrap = (f) => f;
  const peek = store.getRollout.bind(store);
  const start = async (name: string): Promise<StartedExecution> => {
    const [lock, record] = [store.heldLocks().find((l) => l.service === 'web'), await peek(name)];
    if (lock?.rolloutId !== name || (record && TERMINAL_STATUSES.has(record.status)))
      wrongStarts.push(`${name} (lock ${lock?.rolloutId}, record ${record?.status})`);
    const alreadyStarted = started.has(name);
    started.add(name);
    return { executionArn: `arn:aws:states:us-east-1:123456789012:execution:canary:${name}`, alreadyStarted };
  };
  const executions: Executions = {
    start: (name, _input) => wrap(start)(name),
    stop: async (name) => {
      stopped.add(name);
    },
    isRunning: async (name) => started.has(name) && !stopped.has(name),
    running: async () => [],
    lastStateEntered: async () => undefined,
    sendTaskSuccess: async () => true,
    sendTaskFailure: async () => true,
  };
  const interleave = (by: Wrap) => {
    wrap = by;
    const raw = store as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>;
    for (const name of Object.getOwnPropertyNames(InMemoryRolloutStore.prototype)) {
      if (name === 'constructor' || name === 'heldLocks' || typeof raw[name] !== 'function') continue;
      raw[name] = by(raw[name].bind(store));
    }
  };
  const clock = { now: () => NOW, workflowSeconds: (s: number) => s, sleep: async () => undefined };
  const log = { info: () => undefined, warn: () => undefined, error: () => undefined };
  const handler = makeStartRollout({
    catalog: { byRepository: async () => validParsedConfig(), byName: async () => validParsedConfig() },
    store,
    executions,
    notifiers: [],
    clock,
    log,
  });
  const deliver = (event: ReturnType<typeof push>) => handler(event, {} as never);
  return {
    store,
    started,
    stopped,
    wrongStarts,
    deliver,
    interleave,
    deps: { store, executions, clock, log },
  };
}

/** The rollout an answer names, if any. */
const idOf = (result: { status: string } | undefined) =>
  result && 'rolloutId' in result ? (result.rolloutId as string) : undefined;

/** HOLDER rolled back and released its lock, handing it to PENDING, whose start (by HOLDER) has not run yet. */
async function handedOverUnstarted(store: InMemoryRolloutStore): Promise<RolloutDoc> {
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
  const pending = await store.releaseLock('web', HOLDER, new Date('2025-03-14T09:26:30Z'));
  if (!pending) throw new Error('the lock was not handed over');
  return pending;
}

/** HOLDER running (its execution started), holding the service. */
async function runningHolder(store: InMemoryRolloutStore, started: Set<string>) {
  await store.acquireLock('web', HOLDER, TAKEN, docOf(HOLDER, '01'));
  await store.putRollout({
    rolloutId: HOLDER,
    service: 'web',
    image: docOf(HOLDER, '01').image,
    status: 'running',
    alarms: [],
    createdAt: TAKEN.toISOString(),
    updatedAt: TAKEN.toISOString(),
  });
  started.add(HOLDER);
}

describe('a rollout handed the lock but not started yet, started by more than one starter', () => {
  it('the same push delivered twice at once starts the push only, never the rollout it supersedes', async () => {
    const { store, started, wrongStarts, deliver } = world();
    await handedOverUnstarted(store);

    const results = await Promise.all([deliver(push('older')), deliver(push('older'))]);

    const pushed = results.find((r) => r.status === 'superseding')?.rolloutId;
    expect(pushed).toMatch(/^web-/);
    expect([...started]).toEqual([pushed]);
    expect(wrongStarts).toEqual([]);
    expect(store.heldLocks().map((l) => l.rolloutId)).toEqual([pushed]);
    expect((await store.getRollout(PENDING))?.status).toBe('rolledBack');
  });

  it("the hand-over's own start, arriving after the push handled it, starts nothing and rewrites no record", async () => {
    const { store, started, wrongStarts, deliver, deps } = world();
    const pending = await handedOverUnstarted(store);
    const result = await deliver(push('older'));

    // HOLDER's releaseAndHandOver resumes: its start of PENDING comes late.
    await startRolloutExecution(deps, pending).catch(() => undefined);

    expect([...started]).toEqual([idOf(result)]);
    expect(wrongStarts).toEqual([]);
    expect((await store.getRollout(PENDING))?.status).toBe('rolledBack');
    expect(store.heldLocks().map((l) => l.rolloutId)).toEqual([idOf(result)]);
  });
});

describe('a lock holder whose first delivery died before it recorded its rollout', () => {
  /** The older push took the lock, then its Lambda timed out before it wrote its record: nothing started. */
  async function diedAfterTakingTheLock(w: ReturnType<typeof world>) {
    const put = w.store.putRollout.bind(w.store);
    let crash = true;
    w.store.putRollout = async (record, options) => {
      if (crash) {
        crash = false;
        throw new Error('Task timed out after 30.00 seconds');
      }
      return put(record, options);
    };
    await expect(w.deliver(push('older'))).rejects.toThrow('timed out');
  }

  it('a newer push superseding it within its start-up grace starts it, and it hands the service over', async () => {
    const w = world();
    await diedAfterTakingTheLock(w);
    const newer = await w.deliver(push('newer'));

    expect(newer).toMatchObject({ status: 'superseding' });
    const [lock] = w.store.heldLocks();
    expect(lock?.rolloutId).toBe(idOf(newer));
    expect([...w.started]).toContain(idOf(newer));
    expect(w.wrongStarts).toEqual([]);
  });

  it("the holder's own event, redelivered after a newer push is pending on it, starts it, which hands over", async () => {
    const w = world();
    await diedAfterTakingTheLock(w);
    const older = (await w.store.heldLocks())[0]?.rolloutId ?? '';
    // The newer push set its pending, then died before it did anything else.
    const setPending = w.store.setPending.bind(w.store);
    w.store.setPending = async (service, holder, doc) => {
      await setPending(service, holder, doc);
      throw new Error('Task timed out after 30.00 seconds');
    };
    await expect(w.deliver(push('newer'))).rejects.toThrow('timed out');
    w.store.setPending = setPending;
    expect(w.store.heldLocks()[0]?.pending?.rolloutId).toMatch(/^web-/);

    await w.deliver(push('older')); // Lambda's retry of the older push's event

    const [lock] = w.store.heldLocks();
    expect(lock?.rolloutId).not.toBe(older);
    expect([...w.started]).toEqual([lock?.rolloutId]);
    expect((await w.store.getRollout(older))?.status).toBe('rolledBack');
    expect(w.wrongStarts).toEqual([]);
  });
});

describe('an older and a newer push superseding the same holder', () => {
  it('the older one, setting its pending after the newer one, is ignored and leaves the newer pending', async () => {
    let releaseOlder: () => void = () => undefined;
    const olderMayWrite = new Promise<void>((resolve) => (releaseOlder = resolve));
    const { store, started, deliver } = world();
    await runningHolder(store, started);
    const setPending = store.setPending.bind(store);
    store.setPending = async (service, holder, doc) => {
      if (doc.image.digest === push('older').detail['image-digest']) await olderMayWrite;
      return setPending(service, holder, doc);
    };

    const older = deliver(push('older'));
    const newer = await deliver(push('newer'));
    releaseOlder();

    expect(newer).toMatchObject({ status: 'superseding', supersedes: HOLDER });
    expect(await older).toMatchObject({ status: 'ignored' });
    const [lock] = store.heldLocks();
    expect(lock?.rolloutId).toBe(HOLDER);
    expect(lock?.pending?.rolloutId).toBe(idOf(newer));
  });
});

type Start = 'idle' | 'handed-over' | 'running';
type Job = 'older' | 'newer' | 'hand-over';
/** Where a job's first attempt dies: at its n-th store call or start, before it or after it (its answer lost). */
type Crash = { at: number; after: boolean } | null;

/**
 * Lambda retries an asynchronous invocation that failed twice (AWS Lambda Developer Guide, "How Lambda handles
 * errors and retries with asynchronous invocation"); a hand-over's task is retried by its state's Retry.
 */
const RETRIES = 2;

/** The attempt a store call or start belongs to: how many calls it made, and where it dies. */
const attempt = new AsyncLocalStorage<{ calls: number; crash: Crash }>();

/**
 * Each store call and start waits for fast-check's scheduler before it runs, so fast-check orders them (one call is
 * one conditional write or read, as on DynamoDB); an attempt dies at its `crash` call, as a Lambda that timed out.
 */
function scheduledWith(s: fc.Scheduler, until: { settled: boolean }): Wrap {
  return (f) =>
    async (...a) => {
      const context = attempt.getStore();
      if (until.settled || !context) return f(...a);
      const n = context.calls++;
      const dies = (after: boolean) => context.crash?.at === n && context.crash.after === after;
      await s.schedule(Promise.resolve(n));
      if (dies(false)) throw new Error('Task timed out after 30.00 seconds');
      const result = await f(...a);
      if (dies(true)) throw new Error('Task timed out after 30.00 seconds');
      return result;
    };
}

const rolloutOf = (which: 'older' | 'newer') => rolloutIdFor('web', push(which).detail['image-digest'] ?? '');

describe('start-rollout under interleavings and crashes fast-check picks', () => {
  it('leaves no execution but the lock holder free to act, and never loses the newest push', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.scheduler(),
        fc.constantFrom<Start>('idle', 'handed-over', 'running'),
        fc.array(
          fc.tuple(
            fc.constantFrom<Job>('older', 'newer', 'hand-over'),
            fc.option(fc.record({ at: fc.nat(12), after: fc.boolean() })),
          ),
          { minLength: 2, maxLength: 3 },
        ),
        async (s, start, deliveries) => {
          const jobs = deliveries.map(([job]) => job);
          const w = world();
          const { store, started, stopped } = w;
          const pending =
            start === 'handed-over'
              ? await handedOverUnstarted(store)
              : start === 'running'
                ? await runningHolder(store, started)
                : undefined;
          const until = { settled: false };
          w.interleave(scheduledWith(s, until));
          // A job that threw is delivered again (Lambda's retry), as often as Lambda retries; only a first attempt dies.
          const run = async (job: Job, crash: Crash, retries: number): Promise<unknown> => {
            try {
              return await attempt.run({ calls: 0, crash }, () =>
                job === 'hand-over'
                  ? pending && startRolloutExecution(w.deps, pending)
                  : w.deliver(push(job)),
              );
            } catch (error) {
              if (retries === 0) return error;
              return run(job, null, retries - 1);
            }
          };
          await s.waitFor(Promise.all(deliveries.map(([job, crash]) => run(job, crash, RETRIES))));
          until.settled = true;

          // No execution starts while the lock is not its own or its record says it is over, unless it is stopped
          // at once or its record, which its first task reads (checkpoint), tells it to stop.
          for (const wrong of w.wrongStarts) {
            const name = wrong.split(' ')[0] ?? '';
            const record = await store.getRollout(name);
            const told = record && (TERMINAL_STATUSES.has(record.status) || record.abort !== undefined);
            expect(stopped.has(name) || told, `${wrong} was left free to act`).toBe(true);
          }
          // Besides the lock holder, an execution left running is one that lost a race with a starter that found
          // its rollout superseded: its record says stop.
          const [lock] = store.heldLocks();
          const running = [...started].filter((name) => !stopped.has(name) && name !== lock?.rolloutId);
          for (const name of running) {
            const record = await store.getRollout(name);
            expect(record && (TERMINAL_STATUSES.has(record.status) || record.abort !== undefined)).toBe(true);
          }
          // The newest push delivered, whatever its deliveries answered, runs, or waits on a holder that runs and
          // hands the service over when it ends.
          const newest = jobs.includes('newer')
            ? rolloutOf('newer')
            : jobs.includes('older')
              ? rolloutOf('older')
              : undefined;
          if (!newest) return;
          const holder = lock && (await store.getRollout(lock.rolloutId));
          const holderRuns =
            holder !== undefined &&
            !TERMINAL_STATUSES.has(holder.status) &&
            started.has(holder.rolloutId) &&
            !stopped.has(holder.rolloutId);
          const state = `lock ${lock?.rolloutId} (${holder?.status ?? 'no record'}, pending ${lock?.pending?.rolloutId}), started ${[...started]}, stopped ${[...stopped]}`;
          expect(lock?.rolloutId === newest || lock?.pending?.rolloutId === newest, state).toBe(true);
          expect(holderRuns, state).toBe(true);
        },
      ),
      { numRuns: 600 },
    );
  });
});
