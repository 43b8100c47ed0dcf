import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { ErrorName } from '../../functions/core/errors';
import { NEXT_ACTIONS } from '../../functions/core/rules';
import { HISTORY_EVENT_BUDGET, HISTORY_EVENT_LIMIT } from '../../functions/core/workflow-limits';
import { loadDefinition, substitutedDefinition, taskStates } from '../../sandbox/step-functions';

const validator = createRequire(import.meta.url)('asl-validator') as (definition: unknown) => {
  isValid: boolean;
  errorsText: (separator?: string) => string;
};

type AnyState = Record<string, unknown> & { Type: string };
const states = () => loadDefinition().States as unknown as Record<string, AnyState>;

describe('statemachine/canary.asl.json', () => {
  it('is valid Amazon States Language once its substitutions are filled in', () => {
    // asl-validator mutates what it is given: validate a clone.
    const result = validator(structuredClone(substitutedDefinition()));
    expect(result.errorsText()).toBe('');
    expect(result.isValid).toBe(true);
  });

  it('routes every action Analyze returns: waits go back to Bake, approval to AwaitApproval, advance on', () => {
    const decide = states().Decide as unknown as { Choices: { StringEquals: string; Next: string }[] };
    const next = Object.fromEntries(decide.Choices.map((c) => [c.StringEquals, c.Next]));
    // rollback is not returned: Analyze fails with CanaryFailed and the Catch rolls back. drifted: the listener's
    // weights were changed outside the rollout under analysis.onDrift 'pause'. paused: a person holds the rollout.
    expect(Object.keys(next).sort()).toEqual(
      [...NEXT_ACTIONS.filter((a) => a !== 'rollback'), 'drifted', 'paused'].sort(),
    );
    expect(next).toEqual({
      keepBaking: 'Bake',
      awaitTraffic: 'Bake',
      bakeAgain: 'Bake',
      awaitApproval: 'AwaitApproval',
      advance: 'StepDone',
      drifted: 'AwaitApproval',
      paused: 'Bake',
    });
    // Approving a drift (or its timeout under onTimeout 'approve') writes the step's weights again, then bakes.
    expect(states().RestoreWeight).toMatchObject({
      Type: 'Task',
      Parameters: { phase: 'shift' },
      Next: 'ShouldBake',
    });
    const afterApproval = states().AfterApproval as unknown as { Choices: { Next: string }[] };
    expect(afterApproval.Choices[0]).toEqual({
      Variable: '$.Payload.action',
      StringEquals: 'drifted',
      Next: 'RestoreWeight',
    });
    // Analyze reads what is left of the bake, and a person ending the bake leaves none of it.
    expect(
      (states().Analyze as unknown as { Parameters: Record<string, string> }).Parameters['bakeLeft.$'],
    ).toBe('$.Payload.bakeLeft');
    expect(states().EndBakeNow).toMatchObject({
      Type: 'Pass',
      Parameters: { bakeLeft: 0 },
      Next: 'AfterBakeHooks',
    });
    // The afterBake hooks (if any) run between the bake and its analysis.
    expect(states().AfterBakeHooks).toMatchObject({ Type: 'Choice', Default: 'Analyze' });
  });

  it('uses JSONPath only (the local engine ignores JSONata, Assign and Variables)', () => {
    const text = JSON.stringify(loadDefinition());
    for (const key of ['"QueryLanguage"', '"Assign"', '"Arguments"', '"Output"', '{%'])
      expect(text).not.toContain(key);
  });

  it('gives every Task an explicit timeout, a jittered Retry for transient errors, and a Catch', () => {
    for (const [name, s] of Object.entries(states()).filter(([, s]) => s.Type === 'Task')) {
      expect(s.TimeoutSeconds ?? s.TimeoutSecondsPath, name).toBeDefined();
      const retry = s.Retry as { ErrorEquals: string[]; JitterStrategy?: string; MaxAttempts?: number }[];
      // A retrier with MaxAttempts 0 says "never retry these"; every one that retries jitters.
      const retrying = retry.filter((r) => r.MaxAttempts !== 0);
      expect(retrying.length, name).toBeGreaterThan(0);
      expect(
        retrying.every((r) => r.JitterStrategy === 'FULL'),
        name,
      ).toBe(true);
      expect((s.Catch as unknown[])?.length, name).toBeGreaterThan(0);
    }
  });

  it('pauses on a failed analysis only under analysis.onFailure pause, and ends the pause by a retry or a full rollback', () => {
    const all = states();
    expect(((all.Analyze?.Catch ?? []) as unknown[])[0]).toEqual({
      ErrorEquals: ['CanaryFailed'],
      ResultPath: '$.error',
      Next: 'OnAnalysisFailed',
    });
    expect(all.OnAnalysisFailed).toMatchObject({ Default: 'Rollback', Choices: [{ Next: 'HoldOnStable' }] });
    expect(all.HoldOnStable).toMatchObject({ Parameters: { phase: 'hold' }, Next: 'NotifyPaused' });
    expect(all.HoldOnStable?.Catch).toEqual([
      { ErrorEquals: ['States.ALL'], ResultPath: '$.holdError', Next: 'Rollback' },
    ]);
    expect(all.NotifyPaused).toMatchObject({ Parameters: { outcome: 'paused' }, Next: 'AwaitRetry' });
    // The timeout, an abort or anything else rolls back with the analysis's error still in $.error (quarantined).
    expect(all.AwaitRetry?.Catch).toEqual([
      { ErrorEquals: ['States.ALL'], ResultPath: '$.pauseEnd', Next: 'Rollback' },
    ]);
    // A retry resolves the pause's incident first (the record still shows the pause), and goes on whatever happens.
    expect(all.AwaitRetry).toMatchObject({ Next: 'ResolvePausePage' });
    expect(all.ResolvePausePage).toMatchObject({
      Parameters: { outcome: 'resumed' },
      ResultPath: null,
      Next: 'RetryStep',
      Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.resolveError', Next: 'RetryStep' }],
    });
    expect(all.RetryStep).toMatchObject({ Parameters: { phase: 'shift', retry: true }, Next: 'ShouldBake' });
  });

  it('reads a wait timeout from $.Payload.seconds, a path that exists before and after Parameters', () => {
    const waits = Object.entries(states()).filter(([, s]) =>
      String(s.Resource).endsWith('.waitForTaskToken'),
    );
    expect(waits.map(([n]) => n).sort()).toEqual(['AwaitApproval', 'AwaitRetry', 'Bake']);
    for (const [, s] of waits) {
      expect(s.TimeoutSecondsPath).toBe('$.Payload.seconds');
      expect((s.Parameters as { Payload: Record<string, string> }).Payload['seconds.$']).toBe(
        '$.Payload.seconds',
      );
      expect((s.Parameters as { Payload: Record<string, string> }).Payload['token.$']).toBe('$$.Task.Token');
    }
  });

  it('routes every failure to Rollback, and a bake that times out to Analyze', () => {
    const all = states();
    const bakeCatch = all.Bake?.Catch as { ErrorEquals: string[]; Next: string }[];
    expect(bakeCatch[0]).toMatchObject({ ErrorEquals: ['States.Timeout'], Next: 'AfterBakeHooks' });
    for (const name of [
      'CheckCanaryReady',
      'ScaleCanary',
      'CheckCapacity',
      'SetWeight',
      'Analyze',
      'PromoteBegin',
      'PromoteShiftBack',
      'PromoteFinish',
      'RunHook',
    ]) {
      const c = all[name]?.Catch as { ErrorEquals: string[]; Next: string }[];
      // Directly, or through a Pass state that notes how far a promotion got.
      const leadsToRollback = (next: string) =>
        next === 'Rollback' || (all[next]?.Type === 'Pass' && all[next]?.Next === 'Rollback');
      expect(
        c.some((x) => x.ErrorEquals.includes('States.ALL') && leadsToRollback(x.Next)),
        name,
      ).toBe(true);
    }
  });

  it('rolls back from what the execution carries: traffic, then the page, then the store, retried for hours', () => {
    const all = states();
    expect((all.Rollback as unknown as { Parameters: Record<string, string> }).Parameters).toEqual({
      'rollout.$': '$.rollout',
      'error.$': '$.error',
      'prepared.$': '$.prepared',
    });
    // $.prepared exists on every path into Rollback: a failed Prepare sets an empty one.
    const prepareCatch = all.Prepare?.Catch as { ErrorEquals: string[]; Next: string }[];
    expect(prepareCatch.find((c) => c.ErrorEquals.includes('States.ALL'))?.Next).toBe('Unprepared');
    expect(all.Unprepared).toMatchObject({
      Type: 'Pass',
      Result: {},
      ResultPath: '$.prepared',
      Next: 'Rollback',
    });
    for (const [name, phase] of [
      ['PromoteBegin', 'promoting'],
      ['CheckStableReady', 'promoting'],
      ['PromoteShiftBack', 'promoting'],
      ['PromoteFinish', 'finishing'],
    ] as const) {
      const c = all[name]?.Catch as { ErrorEquals: string[]; Next: string }[];
      const next = c.find((x) => x.ErrorEquals.includes('States.ALL'))?.Next ?? '';
      expect(all[next], name).toMatchObject({ Type: 'Pass', Result: phase, ResultPath: '$.prepared.phase' });
    }
    expect(all.Rollback?.Next).toBe('NotifyRollback');
    expect(all.NotifyRollback?.Next).toBe('RecordRollback');
    expect(all.RecordRollback).toMatchObject({
      Resource: all.Rollback?.Resource,
      Parameters: { phase: 'record', 'rollback.$': '$.rollback' },
      Next: 'RolledBack',
    });
    const retry = all.RecordRollback?.Retry as { ErrorEquals: string[]; MaxAttempts: number }[];
    expect(retry.find((r) => r.ErrorEquals.includes('States.ALL'))?.MaxAttempts).toBeGreaterThanOrEqual(50);
  });

  it('retries an undelivered page of a rollback for an hour or more, then records the rollback anyway', () => {
    const all = states();
    const notify = all.NotifyRollback as unknown as {
      Retry: {
        ErrorEquals: string[];
        IntervalSeconds: number;
        MaxAttempts: number;
        BackoffRate: number;
        MaxDelaySeconds: number;
      }[];
      Catch: { ErrorEquals: string[]; ResultPath: string | null; Next: string }[];
    };
    for (const error of ['PageNotDelivered', 'States.ALL']) {
      const r = notify.Retry.find((x) => x.ErrorEquals.includes(error));
      if (!r) throw new Error(`NotifyRollback does not retry ${error}`);
      // Without jitter: the sum of the waits; FULL jitter halves it on average.
      let seconds = 0;
      for (let i = 0; i < r.MaxAttempts; i++)
        seconds += Math.min(r.MaxDelaySeconds, r.IntervalSeconds * r.BackoffRate ** i);
      expect(seconds / 2, error).toBeGreaterThanOrEqual(3600);
      // Each retry adds a handful of history events: the reserve past the plan's budget holds them.
      expect(r.MaxAttempts * 5).toBeLessThan(HISTORY_EVENT_LIMIT - HISTORY_EVENT_BUDGET);
    }
    expect(notify.Retry.at(-1)?.ErrorEquals).toEqual(['States.ALL']);
    expect(notify.Catch).toEqual([
      { ErrorEquals: ['States.ALL'], ResultPath: '$.notifyError', Next: 'RecordRollback' },
    ]);
  });

  it('retries what Lambda reports as transient under its own names, on every Lambda task', () => {
    // Step Functions developer guide, "Handle transient Lambda service exceptions": a function timeout, crash or
    // out-of-memory reaches the state machine as Lambda.Unknown (not States.Timeout), and AWS's retrier lists
    // Lambda.ClientExecutionTimeoutException, ServiceException, AWSLambdaException and SdkClientException;
    // Lambda.TooManyRequestsException when Lambda throttles the invocation. Lambda now types those unhandled
    // errors (Lambda developer guide, "Troubleshoot invocation issues": Sandbox.Timedout, Runtime.NodejsExit;
    // "Lambda runtime exit errors": Runtime.ExitError), and Step Functions names a function error by its
    // errorType ("Handling error conditions" tutorial), so the typed names are retried too.
    const transient = [
      'Lambda.ServiceException',
      'Lambda.AWSLambdaException',
      'Lambda.SdkClientException',
      'Lambda.TooManyRequestsException',
      'Lambda.ClientExecutionTimeoutException',
      'Lambda.Unknown',
      'Sandbox.Timedout',
      'Runtime.ExitError',
      'Runtime.OutOfMemory',
      'Runtime.NodejsExit',
    ];
    for (const { state } of taskStates(loadDefinition())) {
      const retry = states()[state]?.Retry as { ErrorEquals: string[]; MaxAttempts?: number }[];
      const retried = retry.filter((r) => r.MaxAttempts !== 0).flatMap((r) => r.ErrorEquals);
      if (retried.includes('States.ALL')) continue;
      for (const name of transient) expect(retried, `${state} retries ${name}`).toContain(name);
    }
  });

  it('names each error once per Retry and Catch list, with no catcher a later States.ALL catcher repeats', () => {
    // Step Functions uses the first retrier or catcher whose ErrorEquals matches (Amazon States Language: Retry and
    // Catch): a name met again later is never reached, and a catcher going where States.ALL goes adds nothing.
    type Rule = { ErrorEquals: string[]; Next?: string; ResultPath?: string | null };
    const found: string[] = [];
    for (const [name, state] of Object.entries(states())) {
      for (const field of ['Retry', 'Catch'] as const) {
        const rules = (state[field] ?? []) as Rule[];
        const seen = new Set<string>();
        rules.forEach((rule, i) => {
          for (const error of rule.ErrorEquals) {
            if (seen.has(error)) found.push(`${name}.${field}: ${error} named twice`);
            seen.add(error);
          }
          const all = rules.slice(i + 1).find((r) => r.ErrorEquals.includes('States.ALL'));
          if (field === 'Catch' && all && all.Next === rule.Next && all.ResultPath === rule.ResultPath)
            found.push(`${name}.Catch: ${rule.ErrorEquals.join(', ')} caught as States.ALL is`);
        });
      }
    }
    expect(found).toEqual([]);
  });

  it('retries States.Timeout only where a Task times out on its own, never on a wait (its timeout ends it)', () => {
    for (const { state, waits } of taskStates(loadDefinition())) {
      const s = states()[state] as AnyState & { TimeoutSeconds?: number };
      const retry = s.Retry as { ErrorEquals: string[]; MaxAttempts?: number }[];
      const retried = retry.filter((r) => r.MaxAttempts !== 0).flatMap((r) => r.ErrorEquals);
      if (waits) expect(retried, state).not.toContain('States.Timeout');
      // Each function's own timeout (infra: 50 s, Rollback 280 s) is below its Task's TimeoutSeconds, so a slow
      // function ends as Lambda.Unknown and States.Timeout means the invocation itself never came back.
      else if (!retried.includes('States.ALL')) expect(retried, state).toContain('States.Timeout');
    }
  });

  it('moves a step weight only after a capacity check: SelectStep scales, IsCapacityReady alone leads to SetWeight', () => {
    const all = states();
    const into = (target: string) =>
      Object.entries(all)
        .filter(([, s]) => {
          const choices = (s.Choices as { Next: string }[] | undefined) ?? [];
          return s.Next === target || s.Default === target || choices.some((c) => c.Next === target);
        })
        .map(([n]) => n);
    // The beforeStep hooks (if any) run first; they only lead on to ScaleCanary.
    expect(all.SelectStep?.Next).toBe('BeforeStepHooks');
    expect(all.BeforeStepHooks).toMatchObject({ Default: 'ScaleCanary' });
    const fn = (name: string) => taskStates(loadDefinition()).find((t) => t.state === name)?.fn;
    expect([fn('ScaleCanary'), fn('SetWeight'), fn('CheckCapacity')]).toEqual([
      'SetWeight',
      'SetWeight',
      'CheckReady',
    ]);
    expect(all.ScaleCanary).toMatchObject({
      Parameters: { phase: 'scale', 'step.$': '$.current.step' },
      ResultPath: '$.capacity',
      Next: 'IsCapacityReady',
    });
    expect(into('SetWeight')).toEqual(['IsCapacityReady']);
    expect(all.IsCapacityReady).toMatchObject({
      Choices: [{ Variable: '$.capacity.ready', BooleanEquals: true, Next: 'SetWeight' }],
      Default: 'WaitForCapacity',
    });
    expect(all.WaitForCapacity).toMatchObject({
      SecondsPath: '$.capacity.waitSeconds',
      Next: 'CheckCapacity',
    });
    expect(all.CheckCapacity).toMatchObject({
      Parameters: { which: 'capacity', 'weight.$': '$.current.step.weight', 'readiness.$': '$.capacity' },
      ResultPath: '$.capacity',
      Next: 'IsCapacityReady',
    });
    expect(all.SetWeight).toMatchObject({ Parameters: { phase: 'shift' } });
    // The new Task states retry and catch exactly as the ones they sit beside.
    expect(all.ScaleCanary?.Retry).toEqual(all.SetWeight?.Retry);
    expect(all.ScaleCanary?.Catch).toEqual(all.SetWeight?.Catch);
    expect(all.CheckCapacity?.Retry).toEqual(all.CheckCanaryReady?.Retry);
    expect(all.CheckCapacity?.Catch).toEqual(all.CheckCanaryReady?.Catch);
  });

  it('does not retry a rollback that lacks permissions or config, so on-call hears at once', () => {
    const retry = states().Rollback?.Retry as { ErrorEquals: string[]; MaxAttempts?: number }[];
    expect(retry[0]).toEqual({ ErrorEquals: ['AccessDenied', 'ConfigInvalid'], MaxAttempts: 0 });
  });

  it('names only errors the tasks throw', () => {
    const known = new Set<string>([
      ...Object.values(ErrorName),
      'States.ALL',
      'States.Timeout',
      'RollbackFailed',
    ]);
    const named =
      JSON.stringify(loadDefinition()).match(/"(ErrorEquals|Error)":\s*(\[[^\]]*\]|"[^"]*")/g) ?? [];
    for (const entry of named) {
      for (const name of entry.match(/"([A-Za-z.]+)"/g)?.slice(1) ?? []) {
        const n = name.replaceAll('"', '');
        // Names Lambda itself reports (service errors, and a function's timeout or runtime exit).
        if (['Lambda.', 'Sandbox.', 'Runtime.'].some((p) => n.startsWith(p))) continue;
        expect(known.has(n), n).toBe(true);
      }
    }
  });

  it('calls one function per task, each through a <Name>FunctionArn substitution', () => {
    const functions = new Set(taskStates(loadDefinition()).map((t) => t.fn));
    expect([...functions].sort()).toEqual([
      'Analyze',
      'Bake',
      'CheckReady',
      'Notify',
      'Prepare',
      'Promote',
      'RequestApproval',
      'Rollback',
      'RunHook',
      'SetWeight',
    ]);
  });
});
