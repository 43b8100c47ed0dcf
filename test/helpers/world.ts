import { afterEach } from 'vitest';
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
