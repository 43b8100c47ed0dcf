import { describe, expect, it } from 'vitest';
import { demoService, HEALTHY } from '../../sandbox/demo';
import type { World } from '../../sandbox/world';
import { expectSettled, pages, SHORT_PLAN, startWorld } from '../helpers/world';

function lostResponse(message: string): Error {
  // Lambda reports a function that crashed after its side effects as Lambda.Unknown; the workflow retries it.
  const error = new Error(message);
  error.name = 'Lambda.Unknown';
  return error;
}

const rolloutOf = (event: unknown) => (event as { rollout?: { rolloutId?: string } }).rollout?.rolloutId;

describe('a retry after a lost response is a no-op once the rollout is over', () => {
  it('a retried PromoteFinish leaves the next rollout of the service alone', async () => {
    let world: World | undefined;
    let first: string | undefined;
    let next: Promise<{ status: string; rolloutId?: string }> | undefined;
    let retried: () => void = () => undefined;
    const retryDone = new Promise<void>((resolve) => {
      retried = resolve;
    });
    let finishes = 0;
    world = await startWorld({
      services: [demoService({ steps: SHORT_PLAN, analysis: { alarms: [] } })],
      alarms: [],
      images: [
        { tag: 'v2', profile: HEALTHY },
        { tag: 'v5', profile: HEALTHY },
      ],
      invoke: async (fn, event, call) => {
        const id = rolloutOf(event);
        const phase = (event as { phase?: string }).phase;
        if (fn === 'Promote' && phase === 'finish' && id === first && world) {
          finishes++;
          const result = await call();
          if (finishes > 1) {
            retried();
            return result;
          }
          // The first attempt promoted and released the service; the next image takes it and deploys its canary;
          // then the first attempt's response is lost, and the workflow retries it.
          next = world.push('v5');
          const started = await next;
          if (started.status !== 'started' || !started.rolloutId) throw new Error('v5 did not start');
          const nextId = started.rolloutId;
          for (let i = 0; i < 500 && !(await world.store.getRollout(nextId))?.route; i++)
            await new Promise((r) => setTimeout(r, 5));
          throw lostResponse('Promote: crashed after its side effects (injected)');
        }
        // The next rollout waits at its first readiness poll until the retry has run.
        if (fn === 'CheckReady' && first && id !== first) await retryDone;
        return call();
      },
    });
    const started = await world.push('v2');
    if (started.status !== 'started') throw new Error('not started');
    first = started.rolloutId;

    const execution = await world.waitFor(first);
    expect(execution.status).toBe('SUCCEEDED');
    expect(finishes).toBe(2);
    const second = await next;
    if (!second?.rolloutId) throw new Error('v5 did not start');
    const secondExecution = await world.waitFor(second.rolloutId);

    expect(secondExecution.status).toBe('SUCCEEDED');
    expect(await world.store.isQuarantined('web', world.imageByTag('v5').digest)).toBe(false);
    expect((await world.store.getRollout(first))?.status).toBe('promoted');
    expect(pages(world)).toEqual([]);
    await expectSettled(world, { stableTag: 'v5' });
  });
});
