import { describe, expect, it } from 'vitest';
import type { StepSpec } from '../../functions/core/plan';
import { demoRoute53Traffic, demoService } from '../../sandbox/demo';
import { expectSettled, pages, startWorld } from '../helpers/world';

/** The demo service behind two weighted records instead of a listener (TTL 30 s unless told). */
const route53Service = (steps: StepSpec[], ttlSeconds = 30) =>
  demoService({ traffic: { ...demoRoute53Traffic(ttlSeconds), deregistrationDelaySeconds: 0 }, steps });

// Promotion behind weighted records runs in the fault campaign (test/faults/workflow-faults.test.ts) and in
// `npm start -- --scenario route53`; this keeps the suite's time down.
describe('the canary workflow behind Route 53 weighted records', () => {
  it('rolls back on what each endpoint served: the records 100% on stable, INSYNC, the canary gone', async () => {
    const world = await startWorld({
      startSeconds: 2,
      services: [
        route53Service([
          { weight: 25, bakeSeconds: 60 },
          { weight: 100, bakeSeconds: 60 },
        ]),
      ],
    });
    const started = await world.push('v3');
    if (started.status !== 'started') throw new Error('not started');
    const execution = await world.waitFor(started.rolloutId);
    expect(execution.status).toBe('FAILED');
    expect(execution.error).toBe('CanaryFailed');
    await expectSettled(world, { stableTag: 'v1' });
    // The judge counted the requests the canary's endpoint received (clients' caches lag the weights).
    const analyses = (await world.store.history(started.rolloutId)).flatMap((h) =>
      h.type === 'analysis' ? [h.detail] : [],
    );
    expect(analyses.at(-1)?.canary.requests).toBeGreaterThan(0);
    const t = world.config().traffic;
    if (t.kind !== 'route53') throw new Error('not weighted records');
    expect(world.route53.weights(t, 'listed')).toEqual(world.route53.weights(t, 'answering'));
    // 25%, then 0%: each one change batch of both records, followed until INSYNC; no listener touched.
    const calls = (api: string) => world.calls.total(api);
    expect(calls('route53:ChangeResourceRecordSets')).toBeGreaterThanOrEqual(2);
    expect(calls('route53:GetChange')).toBeGreaterThanOrEqual(calls('route53:ChangeResourceRecordSets'));
    expect(calls('elbv2:ModifyListener')).toBe(0);
    expect(pages(world)[0]?.dedup_key).toBe(started.rolloutId);
  });
});
