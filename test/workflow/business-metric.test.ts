import { describe, expect, it } from 'vitest';
import { demoService, FEWER_ORDERS, ORDER_METRICS } from '../../sandbox/demo';
import { expectSettled, startWorld } from '../helpers/world';

describe('a custom business metric on the real state machine', () => {
  it('rolls back a canary whose errors and latency pass but whose completed orders per attempt drop by a third', async () => {
    const analysis = { ...demoService().analysis, metrics: [...ORDER_METRICS] };
    // Half the traffic at once: the canary's checkouts show the drop within its first step.
    const steps = [
      { weight: 50, bakeSeconds: 60 },
      { weight: 100, bakeSeconds: 60 },
    ];
    const world = await startWorld({
      services: [demoService({ steps, analysis })],
      images: [{ tag: 'v7', profile: FEWER_ORDERS }],
    });
    const started = await world.push('v7');
    if (started.status !== 'started') throw new Error(`not started: ${started.status}`);
    const execution = await world.waitFor(started.rolloutId);
    expect(execution.status).toBe('FAILED');
    expect(execution.error).toBe('CanaryFailed');
    const record = await world.store.getRollout(started.rolloutId);
    const verdict = record?.lastVerdict;
    const byMetric = new Map(verdict?.metrics.map((m) => [m.metric, m]));
    expect(byMetric.get('custom.orders')?.result).toBe('fail');
    expect(byMetric.get('errorRate')?.result).not.toBe('fail');
    expect(byMetric.get('latencyP99')?.result).not.toBe('fail');
    // The ECS deployer's CPU and memory came along, reported only, and so did the orders per attempt by metric math.
    expect(byMetric.get('custom.ecsCpu')?.facts.advisory).toBe(true);
    expect(byMetric.get('custom.ordersPerAttempt')?.facts.data).toBeGreaterThan(0);
    expect(record?.outcome?.reason).toMatch(/custom\.orders: canary good .* vs stable/);
    await expectSettled(world, { stableTag: 'v1' });
  });
});
