import { afterEach } from 'vitest';
import { configuredTargetGroups } from '../../functions/core/routes';
import { demoAlarm, demoService, HEALTHY, SERVER_ERRORS, TURNS_BAD } from '../../sandbox/demo';
import { World, type WorldOptions } from '../../sandbox/world';

const worlds: World[] = [];

/** A sandbox world with synthetic traffic and fast time, stopped after each test. */
export async function startWorld(overrides: Partial<WorldOptions> = {}): Promise<World> {
  const world = new World({
    scale: 120,
    rps: 1500,
    traffic: 'synthetic',
    seed: 7,
    services: [demoService()],
    stable: { tag: 'v1', profile: HEALTHY },
    images: [
      { tag: 'v2', profile: HEALTHY },
      { tag: 'v3', profile: SERVER_ERRORS },
      { tag: 'v4', profile: TURNS_BAD },
    ],
    alarms: [demoAlarm()],
    startSeconds: 10,
    ...overrides,
  });
  worlds.push(world);
  await world.start();
  return world;
}

afterEach(async () => {
  await Promise.all(worlds.splice(0).map((w) => w.executions.idle().finally(() => w.stop())));
});

export const ctx = { functionName: 'test', getRemainingTimeInMillis: () => 60_000 } as never;

/** A CloudWatch Alarm State Change event as EventBridge delivers it. */
export function alarmEvent(alarmName: string, value: 'ALARM' | 'OK' = 'ALARM') {
  return {
    version: '0',
    id: crypto.randomUUID(),
    'detail-type': 'CloudWatch Alarm State Change',
    source: 'aws.cloudwatch',
    account: '123456789012',
    time: new Date().toISOString(),
    region: 'us-east-1',
    resources: [`arn:aws:cloudwatch:us-east-1:123456789012:alarm:${alarmName}`],
    detail: { alarmName, state: { value, reason: 'test' }, previousState: { value: 'OK' } },
  };
}

/**
 * The invariants of a settled world: every execution ended, no service locked, the listener back at 100% on
 * one target group that runs the expected version, nothing scaled down while it had weight, no stray errors.
 */
export async function expectSettled(world: World, expected: { stableTag: string }): Promise<void> {
  const { expect } = await import('vitest');
  await world.executions.idle();
  expect(world.executions.list().every((e) => e.status !== 'RUNNING')).toBe(true);
  expect(world.store.heldLocks()).toEqual([]);
  expect(world.violations).toEqual([]);
  expect(world.errors).toEqual([]);
  const traffic = world.config().traffic;
  const t = configuredTargetGroups(traffic);
  const weights =
    traffic.kind === 'route53'
      ? world.route53.weights(traffic)
      : world.lb.appliedState(traffic.listenerArn)?.weights;
  const serving = (await world.store.getServingTargetGroup(world.config().service)) ?? t.stable;
  const other = serving === t.stable ? t.canary : t.stable;
  expect(weights?.[other]).toBe(0);
  expect(weights?.[serving]).toBeGreaterThan(0);
  expect(world.backends.get(serving)?.version.tag).toBe(expected.stableTag);
  if (world.config().deployer.kind === 'ecs') expect(world.backends.get(other)).toBeUndefined();
}

export function pages(world: World) {
  return world.receiver.messages
    .filter((m) => m.channel === 'pagerduty')
    .map((m) => m.body as { event_action: string; dedup_key: string; payload: { severity: string } });
}

export function snsEvents(world: World): string[] {
  return world.receiver.messages
    .filter((m) => m.channel === 'sns')
    .map(
      (m) => (m.body as { MessageAttributes: { event: { Value: string } } }).MessageAttributes.event.Value,
    );
}

export const SHORT_PLAN = [
  { weight: 25, bakeSeconds: 60 },
  { weight: 100, bakeSeconds: 60 },
];
