/**
 * PagerDuty refusing the page of a rollback (503, as its Events API v2 answers when unavailable): traffic is back on
 * stable first, then the page is retried by the workflow until it is delivered, as one incident (dedup key = the
 * rollout id); when PagerDuty never answers, the rollback is recorded anyway and the undelivered page is counted.
 */
import { describe, expect, it } from 'vitest';
import { demoService } from '../../sandbox/demo';
import { expectSettled, pages, SHORT_PLAN, startWorld } from '../helpers/world';

async function startedId(p: Promise<{ status: string; rolloutId?: string }>): Promise<string> {
  const r = await p;
  if (r.status !== 'started' || !r.rolloutId) throw new Error(`expected a start, got ${JSON.stringify(r)}`);
  return r.rolloutId;
}

describe('the page of a rollback when PagerDuty refuses it', () => {
  it('PagerDuty refusing more requests than the notifier retries, then recovering: one page, rolled back, stable', async () => {
    const world = await startWorld({ services: [demoService({ steps: SHORT_PLAN })] });
    // The notifier tries 4 times per attempt of the task: 10 refusals outlast two of its attempts.
    world.receiver.refusePagerDuty = 10;
    const id = await startedId(world.push('v3'));

    const execution = await world.waitFor(id);
    expect(execution.status).toBe('FAILED');
    expect(execution.error).toBe('CanaryFailed');

    expect(world.receiver.refusedPagerDuty).toBe(10);
    expect(pages(world).map((p) => p.dedup_key)).toEqual([id]);
    expect((await world.store.getRollout(id))?.status).toBe('rolledBack');
    await expectSettled(world, { stableTag: 'v1' });
    expect(world.outcomes.filter((o) => o === 'pageUndelivered').length).toBeGreaterThan(0);
    expect(world.outcomes).toContain('rolledBack');
  });

  it('PagerDuty down for good: the rollback completes, the lock is free, the undelivered page is counted', async () => {
    const world = await startWorld({ services: [demoService({ steps: SHORT_PLAN })] });
    world.receiver.refusePagerDuty = Number.POSITIVE_INFINITY;
    const id = await startedId(world.push('v3'));

    const execution = await world.waitFor(id);

    expect(execution.status).toBe('FAILED');
    expect(execution.error).toBe('CanaryFailed');
    expect(pages(world)).toEqual([]);
    expect(world.receiver.refusedPagerDuty).toBeGreaterThan(4);
    expect((await world.store.getRollout(id))?.status).toBe('rolledBack');
    await expectSettled(world, { stableTag: 'v1' });
    expect(world.outcomes).toContain('pageUndelivered');
    expect(world.outcomes).not.toContain('rolledBack');
  });
});
