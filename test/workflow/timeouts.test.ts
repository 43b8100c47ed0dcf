import { describe, expect, it } from 'vitest';
import { demoService } from '../../sandbox/demo';
import { ctx, expectSettled, pages, startWorld } from '../helpers/world';

const LONG_BAKE = [
  { weight: 25, bakeSeconds: 600 },
  { weight: 100, bakeSeconds: 60 },
];

async function startedId(p: Promise<{ status: string; rolloutId?: string }>): Promise<string> {
  const r = await p;
  if (r.status !== 'started' || !r.rolloutId) throw new Error(`expected a start, got ${JSON.stringify(r)}`);
  return r.rolloutId;
}

async function nameOf(p: Promise<unknown>): Promise<string> {
  return p.then(
    () => 'accepted',
    (e: Error) => e.name,
  );
}

describe('an execution past its timeout', () => {
  it('ends TIMED_OUT, and the reconciler (on its status change event) rolls back and pages once', async () => {
    // No traffic: the canary waits for traffic, never failed for lack of data, until the execution times out.
    const world = await startWorld({ rps: 0, executionTimeoutSeconds: 600 });
    const id = await startedId(world.push('v2'));

    const execution = await world.waitFor(id);

    expect(execution.status).toBe('TIMED_OUT');
    await world.executions.idle();
    await expectSettled(world, { stableTag: 'v1' });
    const record = await world.store.getRollout(id);
    expect(record?.status).toBe('rolledBack');
    expect(record?.outcome?.reason).toMatch(/^TIMED_OUT: execution timed_out/);
    expect(pages(world).map((p) => p.dedup_key)).toEqual([id]);
  });
});

describe('task tokens as Step Functions treats them', () => {
  it('refuses a token once its wait timed out (TaskTimedOut) and one it never issued (InvalidToken)', async () => {
    const world = await startWorld({ services: [demoService({ steps: LONG_BAKE })] });
    const id = await startedId(world.push('v2'));
    await world.waitForWait(id, 'bake');
    const first = (await world.store.getRollout(id))?.wait?.token ?? '';
    // The first bake slice times out, the step is analysed, the next slice waits on a new token.
    for (;;) {
      const token = (await world.store.getRollout(id))?.wait?.token;
      if (token && token !== first) break;
      await new Promise((r) => setTimeout(r, 10));
    }

    expect(await nameOf(world.executions.taskSuccess(first, { promoted: true }))).toBe('TaskTimedOut');
    expect(await nameOf(world.executions.taskFailure('never-issued', 'Aborted', 'x'))).toBe('InvalidToken');
    // The Executions port, as the AWS adapter maps these errors: false, not a failure.
    expect(await world.executions.sendTaskSuccess(first, { promoted: true })).toBe(false);
    expect(await world.executions.isRunning(id)).toBe(true);
    await world.executions.stop(id);
  });

  it('refuses the token of a stopped execution (TaskTimedOut: its task is closed)', async () => {
    const world = await startWorld({ services: [demoService({ steps: LONG_BAKE })] });
    const id = await startedId(world.push('v2'));
    await world.waitForWait(id, 'bake');
    const token = (await world.store.getRollout(id))?.wait?.token ?? '';

    await world.executions.stop(id);
    expect((await world.waitFor(id)).status).toBe('ABORTED');

    expect(await nameOf(world.executions.taskFailure(token, 'AlarmFired', 'late alarm'))).toBe(
      'TaskTimedOut',
    );
    expect(await world.executions.sendTaskFailure(token, 'AlarmFired', 'late alarm')).toBe(false);
    await world.executions.idle();
    await expectSettled(world, { stableTag: 'v1' });
  });
});

describe('a wait task that finishes late', () => {
  it('leaves the next wait its token: alarms and operators still resolve the live wait', async () => {
    let late: Promise<void> | undefined;
    const world = await startWorld({
      services: [demoService({ steps: LONG_BAKE })],
      // The first bake's Lambda starts after its state (one 60 s slice: 0.5 s here) has timed out and the next
      // slice is waiting: it stores its token last, and started last.
      invoke: async (fn, _event, call) => {
        if (fn !== 'Bake' || late) return call();
        let done: () => void = () => undefined;
        late = new Promise<void>((r) => {
          done = r;
        });
        await new Promise((r) => setTimeout(r, 1500));
        return call().finally(done);
      },
    });
    const id = await startedId(world.push('v2'));
    await world.waitForWait(id, 'bake');
    await late;

    const live = (await world.store.getRollout(id))?.wait;
    expect(live?.seq).toBeGreaterThan(0);
    expect(await world.executions.sendTaskSuccess(live?.token ?? '', { skipToFull: true })).toBe(true);
    expect((await world.waitFor(id)).status).toBe('SUCCEEDED');
  });

  it('asks nobody to approve a wait that is already over', async () => {
    const world = await startWorld({ services: [demoService({ steps: LONG_BAKE })] });
    const id = await startedId(world.push('v2'));
    // Two analyses in: the live wait is the step's third bake slice.
    for (;;) {
      const seq = (await world.store.getRollout(id))?.wait?.seq ?? 0;
      if (seq >= 2) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    const live = (await world.store.getRollout(id))?.wait;
    const input = JSON.parse(world.executions.get(id)?.input ?? '{}') as { rollout: { plan: unknown[] } };
    const sent = world.receiver.messages.length;

    // An approval wait decided by the first analysis, whose task arrives after two more analyses.
    const result = await world.handlers.RequestApproval(
      { token: 'late-token', rollout: input.rollout, step: input.rollout.plan[0], seconds: 60, analyses: 1 },
      ctx,
    );

    expect(result).toEqual({ waiting: false, seconds: 60 });
    expect((await world.store.getRollout(id))?.wait?.token).toBe(live?.token);
    expect(
      world.receiver.messages.slice(sent).filter((m) => JSON.stringify(m.body).includes('approval')),
    ).toEqual([]);
    await world.executions.stop(id);
  });
});
