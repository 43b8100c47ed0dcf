import fc from 'fast-check';
import { beforeEach, describe, expect, it } from 'vitest';
import { albTraffic } from '../../functions/core/config-route';
import { CONTROLLER_EVENT_SOURCE } from '../../functions/core/events';
import { demoService } from '../../sandbox/demo';
import type { World } from '../../sandbox/world';
import { ctx, SHORT_PLAN, startWorld } from '../helpers/world';

/** Values of the wrong type for any field the controller reads (every one of them is a string or an object). */
const WRONG = [undefined, null, 42, true, [], { nested: 1 }] as const;

function setPath(target: Record<string, unknown>, path: string[], value: unknown): void {
  let node = target;
  for (const key of path.slice(0, -1)) node = node[key] as Record<string, unknown>;
  const last = path[path.length - 1] as string;
  if (value === undefined) delete node[last];
  else node[last] = value;
}

let world: World;
beforeEach(async () => {
  world = await startWorld({ services: [demoService({ steps: SHORT_PLAN })] });
});

function validEvents() {
  const digest = world.imageByTag('v2').digest;
  const base = {
    version: '0',
    id: 'e1',
    account: '123456789012',
    time: '2026-11-23T12:00:00Z',
    region: 'us-east-1',
    resources: [],
  };
  return {
    StartRollout: [
      {
        event: {
          ...base,
          source: 'aws.ecr',
          'detail-type': 'ECR Image Action',
          detail: {
            'action-type': 'PUSH',
            result: 'SUCCESS',
            'repository-name': 'shop/web',
            'image-digest': digest,
            'image-tag': 'v2',
          },
        },
        required: [
          ['source'],
          ['detail-type'],
          ['id'],
          ['time'],
          ['detail'],
          ['detail', 'action-type'],
          ['detail', 'result'],
          ['detail', 'repository-name'],
          ['detail', 'image-digest'],
        ],
      },
      {
        event: {
          ...base,
          source: CONTROLLER_EVENT_SOURCE,
          'detail-type': 'Deploy Requested',
          detail: { service: 'web', image: { digest, tag: 'v2' } },
        },
        required: [
          ['source'],
          ['detail-type'],
          ['detail'],
          ['detail', 'service'],
          ['detail', 'image'],
          ['detail', 'image', 'digest'],
        ],
      },
    ],
    OnAlarm: [
      {
        event: {
          ...base,
          source: 'aws.cloudwatch',
          'detail-type': 'CloudWatch Alarm State Change',
          detail: { alarmName: 'web-canary-5xx', state: { value: 'ALARM', reason: 'r' } },
        },
        required: [
          ['source'],
          ['detail-type'],
          ['detail'],
          ['detail', 'alarmName'],
          ['detail', 'state'],
          ['detail', 'state', 'value'],
        ],
      },
    ],
    Reconcile: [
      {
        event: {
          ...base,
          source: 'aws.states',
          'detail-type': 'Step Functions Execution Status Change',
          detail: {
            executionArn: 'arn:aws:states:us-east-1:123456789012:execution:canary:web-1',
            name: 'web-1',
            status: 'FAILED',
          },
        },
        required: [
          ['source'],
          ['detail-type'],
          ['detail'],
          ['detail', 'executionArn'],
          ['detail', 'name'],
          ['detail', 'status'],
        ],
      },
    ],
  } as const;
}

describe('bad input at every event entry point', () => {
  it('is refused with InputInvalid naming the field, and changes nothing', async () => {
    const events = validEvents();
    const cases = Object.entries(events).flatMap(([handler, variants]) =>
      variants.flatMap((v) => v.required.map((path) => ({ handler, event: v.event, path: [...path] }))),
    );
    const listener = albTraffic(world.config().traffic).listenerArn;
    const before = JSON.stringify(world.lb.configuredState(listener));
    let tried = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...cases),
        fc.constantFrom(...WRONG),
        async ({ handler, event, path }, wrong) => {
          tried++;
          const bad = structuredClone(event) as Record<string, unknown>;
          setPath(bad, path, wrong);
          const call = world.handlers[handler as 'StartRollout' | 'OnAlarm' | 'Reconcile'](bad, ctx);
          await expect(call).rejects.toMatchObject({ name: 'InputInvalid' });
          const message = await call.catch((e: Error) => e.message);
          expect(message).toContain(path.join('.'));
        },
      ),
      { numRuns: 300, seed: 7 },
    );
    // Not an event at all.
    for (const junk of [null, 'text', 42, [], {}]) {
      for (const h of ['StartRollout', 'OnAlarm', 'Reconcile'] as const) {
        tried++;
        await expect(world.handlers[h](junk, ctx)).rejects.toMatchObject({ name: 'InputInvalid' });
      }
    }
    expect(tried).toBeGreaterThanOrEqual(315);
    expect(world.executions.list()).toEqual([]);
    expect(world.store.heldLocks()).toEqual([]);
    expect(await world.store.listActive()).toEqual([]);
    expect(world.receiver.messages).toEqual([]);
    expect(JSON.stringify(world.lb.configuredState(listener))).toBe(before);
  });

  it('refuses an invalid value (not only a wrong type) naming the field', async () => {
    const { StartRollout } = validEvents();
    const bad = structuredClone(StartRollout[1].event) as unknown as {
      detail: { service: string; extra?: string };
    };
    bad.detail.extra = 'x';
    await expect(world.handlers.StartRollout(bad, ctx)).rejects.toThrow(/detail\.extra: unknown field/);
    bad.detail = { service: 'Web Service!', image: { digest: 'sha256:zz' } } as never;
    await expect(world.handlers.StartRollout(bad, ctx)).rejects.toThrow(/detail\.service: must be/);
    expect(world.executions.list()).toEqual([]);
  });
});
