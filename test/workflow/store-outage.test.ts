/**
 * The rollout table throttled or unavailable while a rollout has to go back: traffic returns to 100% stable and
 * on-call is paged from what the execution and the events carry, and the record and the lock are repaired once
 * the table answers again. The store fails as the DynamoDB adapter surfaces an SDK error (sandbox/store.ts).
 */
import { describe, expect, it, vi } from 'vitest';
import { DEMO_ALARM, demoService, HEALTHY, SERVER_ERRORS } from '../../sandbox/demo';
import type { StoreOutageError } from '../../sandbox/store';
import type { World } from '../../sandbox/world';
import { alarmEvent, ctx, expectSettled, pages, SHORT_PLAN, startWorld } from '../helpers/world';

/** A first step whose bake outlasts the test, so the rollout is reliably mid-bake when interrupted. */
const LONG_BAKE = [
  { weight: 25, bakeSeconds: 600 },
  { weight: 100, bakeSeconds: 60 },
];

async function startedId(p: Promise<{ status: string; rolloutId?: string }>): Promise<string> {
  const r = await p;
  if (r.status !== 'started' || !r.rolloutId) throw new Error(`expected a start, got ${JSON.stringify(r)}`);
  return r.rolloutId;
}

/** While the table is still failing: 100% on stable, and one page for the rollout. */
async function expectSafeDuringOutage(world: World, id: string): Promise<void> {
  await vi.waitFor(
    () => {
      expect(world.appliedCanaryPercent()).toBe(0);
      expect(pages(world).map((p) => p.dedup_key)).toEqual([id]);
    },
    { timeout: 15_000, interval: 20 },
  );
  expect(world.storeOutage.active).toBe(true);
  expect(world.storeOutage.refused).toBeGreaterThan(0);
}

/** Once the table is back: the record says rolled back, the lock is free, still exactly one page. */
async function expectRepaired(world: World, id: string): Promise<void> {
  await vi.waitFor(
    async () => {
      expect((await world.store.getRollout(id))?.status).toBe('rolledBack');
      expect(world.store.heldLocks()).toEqual([]);
    },
    { timeout: 15_000, interval: 20 },
  );
  await expectSettled(world, { stableTag: 'v1' });
  expect(pages(world).map((p) => p.dedup_key)).toEqual([id]);
  expect((await world.store.history(id)).some((h) => h.type === 'rolledBack')).toBe(true);
}

describe('the rollout table failing while a rollout goes back', () => {
  it.each<StoreOutageError>([
    'ProvisionedThroughputExceededException',
    'ThrottlingException',
    'InternalServerError',
    'ServiceUnavailable',
  ])(
    'a bad canary at a quarter of the traffic, the table failing with %s: stable gets all of it, on-call is paged, the record is repaired',
    async (error) => {
      const world = await startWorld({
        services: [demoService({ steps: SHORT_PLAN })],
        images: [{ tag: 'v3', profile: SERVER_ERRORS }],
        alarms: [],
      });
      const id = await startedId(world.push('v3'));
      await world.waitForWait(id, 'bake');
      expect(world.appliedCanaryPercent()).toBe(25);

      world.storeOutage.begin(error);

      await expectSafeDuringOutage(world, id);
      expect(world.executions.get(id)?.status).toBe('RUNNING');
      world.storeOutage.end();
      expect((await world.waitFor(id)).status).toBe('FAILED');
      await expectRepaired(world, id);
    },
  );

  it('a table failing for longer than RecordRollback retries: reconcile records the rollback, without paging again', async () => {
    const world = await startWorld({
      services: [demoService({ steps: SHORT_PLAN })],
      images: [{ tag: 'v3', profile: SERVER_ERRORS }],
      alarms: [],
    });
    const id = await startedId(world.push('v3'));
    await world.waitForWait(id, 'bake');

    world.storeOutage.begin('ProvisionedThroughputExceededException');
    await expectSafeDuringOutage(world, id);
    // RecordRollback gives up; the execution fails from RolledBack and reconcile waits for the table.
    await vi.waitFor(() => expect(world.executions.get(id)?.status).toBe('FAILED'), {
      timeout: 30_000,
      interval: 20,
    });
    world.storeOutage.end();

    await world.waitFor(id);
    await expectRepaired(world, id);
  });

  it('an alarm with the table failing: 100% on stable before on-alarm returns, the rollout stops and pages', async () => {
    const world = await startWorld({ services: [demoService({ steps: LONG_BAKE })] });
    const id = await startedId(world.push('v2'));
    await world.waitForWait(id, 'bake');

    world.storeOutage.begin('ThrottlingException');
    const handled = await world.handlers.OnAlarm(alarmEvent(DEMO_ALARM), ctx);

    expect(handled).toMatchObject({ stopped: [id] });
    expect(world.appliedCanaryPercent()).toBe(0);
    await expectSafeDuringOutage(world, id);
    world.storeOutage.end();
    expect((await world.waitFor(id)).status).toBe('ABORTED');
    await expectRepaired(world, id);
  });

  it('an execution stopped from outside with the table failing is reconciled from its input', async () => {
    const world = await startWorld({
      services: [demoService({ steps: LONG_BAKE })],
      images: [{ tag: 'v2', profile: HEALTHY }],
    });
    const id = await startedId(world.push('v2'));
    await world.waitForWait(id, 'bake');

    world.storeOutage.begin('InternalServerError');
    await world.executions.stop(id);

    // (The execution's end resolves only once reconcile has returned, which waits for the store.)
    await expectSafeDuringOutage(world, id);
    world.storeOutage.end();
    expect((await world.waitFor(id)).status).toBe('ABORTED');
    await expectRepaired(world, id);
  });

  it('an alarm for a rollout of another service changes nothing, with the table failing', async () => {
    const world = await startWorld({ services: [demoService({ steps: LONG_BAKE })] });
    const id = await startedId(world.push('v2'));
    await world.waitForWait(id, 'bake');

    world.storeOutage.begin('ServiceUnavailable');
    const handled = await world.handlers.OnAlarm(alarmEvent('some-other-alarm'), ctx);
    world.storeOutage.end();

    expect(handled).toMatchObject({ stopped: [] });
    expect(world.appliedCanaryPercent()).toBe(25);
    expect(world.executions.get(id)?.status).toBe('RUNNING');
    await world.executions.stop(id);
    await world.waitFor(id);
    await expectSettled(world, { stableTag: 'v1' });
  });

  it('without the store, a rollback after a promotion may have finished touches nothing and waits for the store', async () => {
    const world = await startWorld({ services: [demoService({ steps: LONG_BAKE })] });
    const id = await startedId(world.push('v2'));
    await world.waitForWait(id, 'bake');
    const rollout = (JSON.parse(world.executions.get(id)?.input ?? '{}') as { rollout: unknown }).rollout;
    const route = (await world.store.getRollout(id))?.route;

    world.storeOutage.begin('ServiceUnavailable');
    const attempt = world.handlers.Rollback(
      { rollout, error: { Error: 'CanaryFailed', Cause: 'test' }, prepared: { route, phase: 'finishing' } },
      ctx,
    );

    await expect(attempt).rejects.toMatchObject({ name: 'Transient' });
    expect(world.appliedCanaryPercent()).toBe(25);
    world.storeOutage.end();
    await world.executions.stop(id);
    await world.waitFor(id);
    await expectSettled(world, { stableTag: 'v1' });
  });

  it('without the store, a rollback after a promotion began puts the stable service back on what the execution carries', async () => {
    const world = await startWorld({ services: [demoService({ steps: LONG_BAKE })] });
    const id = await startedId(world.push('v2'));
    await world.waitForWait(id, 'bake');
    const rollout = (JSON.parse(world.executions.get(id)?.input ?? '{}') as { rollout: unknown }).rollout;
    const { route, previousStable } = (await world.store.getRollout(id)) ?? {};
    const { stable } = world.servingTargetGroups();
    // As PromoteBegin leaves it: the stable service runs the new image.
    const canary = world.backends.get(world.servingTargetGroups().canary);
    if (!canary) throw new Error('no canary running');
    world.backends.set(stable, {
      version: canary.version,
      startedAtMs: canary.startedAtMs,
      readyAtMs: canary.readyAtMs,
      capacityPercent: 100,
    });
    expect(world.backends.get(stable)?.version.tag).toBe('v2');

    world.storeOutage.begin('InternalServerError');
    const traffic = await world.handlers.Rollback(
      {
        rollout,
        error: { Error: 'CanaryFailed', Cause: 'test' },
        prepared: { route, previousStable, phase: 'promoting' },
      },
      ctx,
    );

    expect(traffic).toEqual({
      restored: true,
      routed: true,
      stableRestored: true,
      canaryScaledDown: true,
      storeUnavailable: true,
    });
    expect(world.appliedCanaryPercent()).toBe(0);
    expect(world.backends.get(stable)?.version.tag).toBe('v1');
    world.storeOutage.end();
    await world.executions.stop(id);
    await world.waitFor(id);
    await expectSettled(world, { stableTag: 'v1' });
  });

  it('an execution stopped while its promotion ran, with the table failing: reconcile reads how far it got from the execution, puts the stable service back, and pages', async () => {
    const world = await startWorld({ services: [demoService({ steps: LONG_BAKE })] });
    const id = await startedId(world.push('v2'));
    await world.waitForWait(id, 'bake');
    const execution = world.executions.get(id);
    if (!execution) throw new Error('no execution');
    const { route, previousStable } = (await world.store.getRollout(id)) ?? {};
    const { stable, canary } = world.servingTargetGroups();
    // As PromoteBegin leaves it: the stable service runs the new image, the execution waits for it to be ready.
    const canaryBackend = world.backends.get(canary);
    if (!canaryBackend) throw new Error('no canary running');
    world.backends.set(stable, {
      version: canaryBackend.version,
      startedAtMs: canaryBackend.startedAtMs,
      readyAtMs: canaryBackend.readyAtMs,
      capacityPercent: 100,
    });
    execution.lastEntered = {
      name: 'WaitForStable',
      input: JSON.stringify({
        rollout: JSON.parse(execution.input).rollout,
        prepared: { route, previousStable },
      }),
    };

    world.storeOutage.begin('InternalServerError');
    await world.executions.stop(id);

    await expectSafeDuringOutage(world, id);
    expect(world.backends.get(stable)?.version.tag).toBe('v1');
    world.storeOutage.end();
    expect((await world.waitFor(id)).status).toBe('ABORTED');
    await expectRepaired(world, id);
  });

  it('notify without the store: the page goes out with what the workflow carries; a promotion it saw never pages', async () => {
    const world = await startWorld({ services: [demoService({ steps: LONG_BAKE })] });
    const id = await startedId(world.push('v2'));
    await world.waitForWait(id, 'bake');
    const rollout = (JSON.parse(world.executions.get(id)?.input ?? '{}') as { rollout: unknown }).rollout;
    const error = { Error: 'CanaryFailed', Cause: 'errorRate: canary 4.6% vs stable 0.1%' };
    const seen = { restored: false, routed: false, stableRestored: false, canaryScaledDown: false };

    world.storeOutage.begin('ThrottlingException');
    await world.handlers.Notify(
      { rollout, outcome: 'rolledBack', error, rollback: { ...seen, promoted: true } },
      ctx,
    );
    expect(pages(world)).toEqual([]);
    await world.handlers.Notify({ rollout, outcome: 'rolledBack', error }, ctx);
    world.storeOutage.end();

    expect(pages(world)).toEqual([
      expect.objectContaining({ dedup_key: id, payload: expect.objectContaining({ severity: 'error' }) }),
    ]);
    await world.executions.stop(id);
    await world.waitFor(id);
  });
});
