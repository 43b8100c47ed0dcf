/**
 * The task registry holds together the places a task is named: each entry has its handler and task modules, the
 * state machine names exactly the entries that have an `asl` key, and the sandbox runs a handler for every entry.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { APPROVAL_PAGE_TASK, TASKS } from '../../functions/tasks/registry';
import { REPO_ROOT } from '../../infra/controller-function';
import { pascal } from '../../infra/names';
import { demoService, HEALTHY } from '../../sandbox/demo';
import { World } from '../../sandbox/world';

const NAMES = [...Object.keys(TASKS), 'approval-page'];

describe('the task registry', () => {
  it('has a handler module and a task module (make<Name>) for every entry', async () => {
    // Prepare
    const modules = await Promise.all(
      NAMES.map(async (name) => ({
        name,
        handler: existsSync(path.join(REPO_ROOT, 'functions', 'handlers', `${name}.ts`)),
        task: (await import(`../../functions/tasks/${name}.ts`)) as Record<string, unknown>,
      })),
    );
    // Assess
    for (const { name, handler, task } of modules) {
      expect(handler, `functions/handlers/${name}.ts`).toBe(true);
      expect(typeof task[`make${pascal(name)}`], `functions/tasks/${name}.ts`).toBe('function');
    }
  });

  it('names, in its asl keys, exactly the functions the state machine invokes', () => {
    // Prepare
    const definition = readFileSync(path.join(REPO_ROOT, 'statemachine', 'canary.asl.json'), 'utf8');
    // Act
    const invoked = new Set([...definition.matchAll(/\$\{(\w+)FunctionArn\}/g)].map((m) => m[1]));
    // Assess
    const keys = [...Object.values(TASKS), APPROVAL_PAGE_TASK].flatMap((t) => t.asl ?? []);
    expect(new Set(keys).size).toBe(keys.length);
    expect([...invoked].sort()).toEqual(keys.sort());
  });

  it('is what the sandbox runs: a handler per entry', () => {
    // Prepare (a world that is never started: no servers, no traffic)
    const world = new World({
      scale: 120,
      rps: 10,
      traffic: 'synthetic',
      services: [demoService()],
      stable: { tag: 'v1', profile: HEALTHY },
      images: [],
    });
    // Assess
    expect(Object.keys(world.handlers).sort()).toEqual(Object.keys(TASKS).map(pascal).sort());
  });
});
