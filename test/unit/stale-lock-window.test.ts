/**
 * start-rollout takes a service over from a lock holder that has no record past the starting grace (it died before
 * it started). The holder's own start can still be retried (Lambda retries its event): if that retry writes the
 * holder's record and starts its execution between the newer push's read of "no record" and its release of the
 * lock, the lock must not be taken from a holder that is running.
 */
import { describe, expect, it } from 'vitest';
import { buildPlan } from '../../functions/core/plan';
import type { RolloutDoc } from '../../functions/core/rollout';
import { stepSpecs } from '../../functions/core/steps';
import type { Clock, Executions, StartedExecution } from '../../functions/ports';
import { startRolloutExecution } from '../../functions/tasks/lib/procedures';
import { makeStartRollout } from '../../functions/tasks/start-rollout';
import { InMemoryRolloutStore } from '../../sandbox/store';
import { validParsedConfig } from '../helpers/config';
import { loadEvent } from '../helpers/fixtures';

const NOW = new Date('2025-03-14T09:40:00Z');
/** The holder took the lock ten minutes before, past the five-minute grace. */
const TAKEN = new Date('2025-03-14T09:30:00Z');
const HOLDER = 'web-0000000000000001';
const clock: Clock = { now: () => NOW, workflowSeconds: (s) => s, sleep: async () => undefined };
const config = validParsedConfig();
const holderDoc: RolloutDoc = {
  rolloutId: HOLDER,
  service: 'web',
  image: { repository: 'acme/web', digest: `sha256:${'01'.repeat(32)}`, tag: 'v1.4.1' },
  config,
  plan: buildPlan(stepSpecs(config)),
  trigger: 'ecr-push',
  // Pushed before the fixture's push (09:26:53), which supersedes it.
  requestedAt: '2025-03-14T09:25:00Z',
};

function fakeExecutions() {
  const started: string[] = [];
  const executions = {
    start: async (name: string): Promise<StartedExecution> => {
      const alreadyStarted = started.includes(name);
      if (!alreadyStarted) started.push(name);
      return {
        executionArn: `arn:aws:states:us-east-1:123456789012:execution:canary:${name}`,
        alreadyStarted,
      };
    },
    running: async () => [],
    sendTaskFailure: async () => true,
  } as unknown as Executions;
  return { executions, started };
}

describe('start-rollout: a stale lock whose holder starts meanwhile', () => {
  it('leaves the lock to a holder whose retried start wrote its record after the newer push read none', async () => {
    // Prepare: the holder has the lock, no record, and no execution; its retried start runs right after the newer
    // push's start-rollout reads the holder's record (none yet).
    const store = new InMemoryRolloutStore();
    await store.acquireLock('web', HOLDER, TAKEN, holderDoc);
    const { executions, started } = fakeExecutions();
    const read = store.getRollout.bind(store);
    let retried = false;
    store.getRollout = async (rolloutId) => {
      const found = await read(rolloutId);
      if (rolloutId === HOLDER && !retried) {
        retried = true;
        await startRolloutExecution({ store, executions, clock }, holderDoc);
      }
      return found;
    };
    const handler = makeStartRollout({
      catalog: { byRepository: async () => config, byName: async () => config },
      store,
      executions,
      notifiers: [],
      clock,
      log: { info: () => undefined, warn: () => undefined, error: () => undefined },
    });
    // Act
    const result = await handler(loadEvent('ecr/push'), {} as never);
    // Assess: one execution (the holder's), which keeps the service; the newer image waits for it to hand over.
    expect(retried).toBe(true);
    expect(started).toEqual([HOLDER]);
    expect(result).toMatchObject({ status: 'superseding', supersedes: HOLDER });
    const lock = await store.getLock('web');
    expect(lock?.rolloutId).toBe(HOLDER);
    expect(lock?.pending?.rolloutId).toBe(result.status === 'superseding' ? result.rolloutId : '');
    expect((await store.getRollout(HOLDER))?.abort?.reason).toBe('Superseded');
  });
});
