import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseServiceConfig } from '../../functions/core/config';
import { ConfigInvalidError } from '../../functions/core/errors';
import { STEP_PRESET_NAMES, STEP_PRESETS } from '../../functions/core/plan';
import {
  EVENTS,
  EXECUTION_TIMEOUT_SECONDS,
  HISTORY_EVENT_BUDGET,
  maxAnalyses,
  planWorstCase,
} from '../../functions/core/workflow-limits';
import { validServiceConfig } from '../helpers/config';

function issues(value: unknown): { path: string; message: string }[] {
  try {
    parseServiceConfig(value);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigInvalidError);
    return (error as ConfigInvalidError).issues;
  }
  return [];
}

describe('a plan must fit one execution', () => {
  it('uses the state machine’s own TimeoutSeconds', () => {
    const definition = JSON.parse(
      readFileSync(new URL('../../statemachine/canary.asl.json', import.meta.url), 'utf8'),
    ) as { TimeoutSeconds: number };
    expect(definition.TimeoutSeconds).toBe(EXECUTION_TIMEOUT_SECONDS);
  });

  it('counts at least the events of the states a step passes through (a change to the definition updates EVENTS)', () => {
    type State = {
      Type: string;
      Resource?: string;
      Next?: string;
      Default?: string;
      Choices?: { Next: string }[];
    };
    const { States } = JSON.parse(
      readFileSync(new URL('../../statemachine/canary.asl.json', import.meta.url), 'utf8'),
    ) as { States: Record<string, State> };
    const eventsOf = (name: string) => {
      const s = States[name] as State;
      if (s.Type !== 'Task') return 2;
      return s.Resource?.endsWith('.waitForTaskToken') ? 6 : 5;
    };
    // From SelectStep to the bake (or straight to StepDone), then on to the next step: a loop on this path (a
    // polling loop) would need its own bound in workflow-limits.ts, like readiness and the capacity polls
    // (WaitForCapacity starts one, counted by EVENTS.perCapacityPoll). WaitWhilePaused starts the loop of a person's
    // pause before the first step, spaced as analyses are (from the pause on, core/pause.ts heldWait): about
    // 60 + 60 ln(hours) turns in a week, as the analyses of a step.
    const path: string[] = [];
    const visit = (name: string, stack: string[]) => {
      // Hook runs (Start<Stage>Hooks → RunHook) are bounded by EVENTS.perHookRun and perHookCall; the hooks after
      // the last step belong to the promotion (EVENTS.fixed).
      if (/^Start\w+Hooks$/.test(name) || name === 'AfterPromotionHooks') return;
      const stops = [
        'Bake',
        'AwaitApproval',
        'PromoteBegin',
        'Rollback',
        'WaitForCapacity',
        'WaitWhilePaused',
      ];
      if (stops.includes(name)) return;
      if (stack.includes(name)) {
        // Back to the next step is the plan's own loop; any other loop would repeat without a bound here.
        expect(name, `a loop through ${name} on a step's path`).toBe('SelectStep');
        return;
      }
      if (path.includes(name)) return;
      path.push(name);
      const s = States[name] as State;
      for (const next of [s.Next, s.Default, ...(s.Choices ?? []).map((c) => c.Next)])
        if (next) visit(next, [...stack, name]);
    };
    visit('SelectStep', []);
    const perStep = path.reduce((sum, name) => sum + eventsOf(name), 0);
    expect(perStep).toBeLessThanOrEqual(EVENTS.perStep);
    expect(
      eventsOf('Bake') +
        eventsOf('AfterBake') +
        eventsOf('AfterBakeHooks') +
        eventsOf('Analyze') +
        eventsOf('Decide'),
    ).toBeLessThanOrEqual(EVENTS.perAnalysis);
    expect(
      eventsOf('CheckCanaryReady') + eventsOf('IsCanaryReady') + eventsOf('WaitForCanary'),
    ).toBeLessThanOrEqual(EVENTS.perReadinessPoll);
    // The capacity loop: WaitForCapacity → CheckCapacity → IsCapacityReady, and nothing else.
    expect(States.WaitForCapacity?.Next).toBe('CheckCapacity');
    expect(States.CheckCapacity?.Next).toBe('IsCapacityReady');
    expect(
      eventsOf('WaitForCapacity') + eventsOf('CheckCapacity') + eventsOf('IsCapacityReady'),
    ).toBeLessThanOrEqual(EVENTS.perCapacityPoll);
    // The hook loop: RunHook → HookDone → WaitForHook → RunHook, entered by a Start<Stage>Hooks Pass.
    expect(States.WaitForHook?.Next).toBe('RunHook');
    expect(eventsOf('RunHook') + eventsOf('HookDone') + eventsOf('WaitForHook')).toBeLessThanOrEqual(
      EVENTS.perHookCall,
    );
    expect(eventsOf('StartAfterBakeHooks')).toBeLessThanOrEqual(EVENTS.perHookRun);
  });

  it('counts hooks polled to their timeout: refuses afterBake hooks that could fill the history, naming them', () => {
    const lambda = 'arn:aws:lambda:us-east-1:123456789012:function:web-check';
    // Defaults (300 s polled every 30 s, 2 retries): up to 33 calls before each of hundreds of analyses.
    const found = issues(validServiceConfig({ hooks: { afterBake: [{ name: 'check', lambda }] } } as never));
    expect(found.map((i) => i.path)).toEqual(['hooks.afterBake']);
    expect(found[0]?.message).toMatch(
      /history events, over the 20,000 it may use: lower timeoutSeconds or retries/,
    );
    // One quick call per analysis fits, and so do generous hooks at the stages that run once or once a step.
    const quick = { name: 'check', lambda, timeoutSeconds: 20, pollSeconds: 20, retries: 0 };
    const generous = { name: 'suite', lambda, timeoutSeconds: 900, pollSeconds: 60, retries: 1 };
    expect(
      issues(
        validServiceConfig({
          hooks: {
            afterBake: [quick],
            beforeTraffic: [generous],
            beforeStep: [generous],
            afterPromotion: [generous],
          },
        } as never),
      ),
    ).toEqual([]);
  });

  it('refuses readiness polled so often it could pass the 25,000-event history, naming the field and numbers', () => {
    // 3,600 polls of the canary and 3,600 of the stable service, 9 events each: 64,800 events.
    const found = issues(
      validServiceConfig({ readiness: { timeoutSeconds: 3600, pollSeconds: 1 } } as never),
    );

    expect(found).toHaveLength(1);
    expect(found[0]?.path).toBe('readiness.pollSeconds');
    expect(found[0]?.message).toMatch(/timeoutSeconds 3,600 polled every 1 s makes up to 7,200 polls/);
    expect(found[0]?.message).toMatch(/64,800 history events/);
    expect(found[0]?.message).toMatch(/poll every 6 s or more/);
    // What it suggests is accepted.
    expect(
      issues(validServiceConfig({ readiness: { timeoutSeconds: 3600, pollSeconds: 6 } } as never)),
    ).toEqual([]);
  });

  it('refuses a plan whose bakes, extensions and approvals cannot finish before the execution times out', () => {
    const found = issues(
      validServiceConfig({
        steps: [
          { weight: 10, bakeSeconds: 86400, approval: true },
          { weight: 50, bakeSeconds: 86400, approval: true },
          { weight: 100, bakeSeconds: 3600 },
        ],
        approvals: { timeoutSeconds: 3 * 86400 },
      } as never),
    );

    expect(found.map((i) => i.path)).toEqual(['steps']);
    expect(found[0]?.message).toMatch(
      // Bakes: 86,400 + 86,400 + 3,600 s, each plus the 120 s metric delay (the last analysis judges the whole bake).
      /up to 700,260 s \(bakes 176,760 s, extensions 1,800 s .*approvals 518,400 s .*readiness 1,200 s, capacity waits 1,800 s .*drain 300 s\).*\(604,800 s\)/,
    );
  });

  it('accepts every preset with the defaults, and the longest plans the fields allow one by one', () => {
    for (const steps of STEP_PRESET_NAMES)
      expect(issues(validServiceConfig({ steps } as never)), steps).toEqual([]);
    const longest = Array.from({ length: 50 }, (_, i) => ({ weight: (i + 1) * 2, bakeSeconds: 600 }));
    expect(
      issues(validServiceConfig({ steps: longest, analysis: { extensionSeconds: 1 } } as never)),
    ).toEqual([]);
  });

  it('counts analyses as the spacing allows: about 60 + 60 ln(hours) in a week', () => {
    expect(maxAnalyses(3600, 60, 0)).toBe(60);
    const week = maxAnalyses(EXECUTION_TIMEOUT_SECONDS, 60, 0);
    expect(week).toBeGreaterThan(350);
    expect(week).toBeLessThan(380);
    // Defaults: well inside the budget.
    const worst = planWorstCase({
      steps: STEP_PRESETS.Progressive5To100,
      analysis: { maxExtensions: 10, extensionSeconds: 60 },
      approvals: { timeoutSeconds: 3600 },
      readiness: { timeoutSeconds: 600, pollSeconds: 15 },
      traffic: { deregistrationDelaySeconds: 300 },
    });
    expect(worst.events).toBeLessThan(HISTORY_EVENT_BUDGET / 2);
    expect(worst.readinessPolls * EVENTS.perReadinessPoll).toBe(720);
  });
});
