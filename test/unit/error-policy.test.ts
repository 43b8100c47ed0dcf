import { describe, expect, it } from 'vitest';
import {
  ERROR_POLICY,
  namesRetried,
  quarantineRule,
  rollbackIsDeliberate,
  TRANSIENT_INVOCATION_ERRORS,
} from '../../functions/core/error-policy';
import { ErrorName } from '../../functions/core/errors';
import { quarantines } from '../../functions/core/rules';
import { loadDefinition, taskStates } from '../../sandbox/step-functions';

interface Retrier {
  ErrorEquals: string[];
  MaxAttempts?: number;
}
type AnyState = {
  Type: string;
  Retry?: Retrier[];
  Catch?: { ErrorEquals: string[] }[];
  Error?: string;
  Parameters?: { Error?: string };
};

const states = () => loadDefinition().States as unknown as Record<string, AnyState>;
/** Error names of AWS and of the engine, as opposed to the controller's own. */
const isAwsName = (name: string) => /^(States|Lambda|Runtime|Sandbox)\./.test(name);
const sorted = (names: Iterable<string>) => [...new Set(names)].sort();

describe('error policy: the state machine agrees with the table', () => {
  it('retries in every Task exactly the transient invocation errors and the names the table retries per task', () => {
    // Prepare
    const expected = sorted([...TRANSIENT_INVOCATION_ERRORS, ...namesRetried('task')]);
    const all = states();
    // Act
    const lists = taskStates(loadDefinition())
      .map(({ state }) => ({ state, first: all[state]?.Retry?.[0]?.ErrorEquals ?? [] }))
      // Rollback and RecordRollback retry everything (after refusing the permanent names): no transient list.
      .filter(
        ({ first }) => !first.includes('States.ALL') && !namesRetried('never').includes(first[0] as never),
      );
    // Assess
    expect(lists.length).toBeGreaterThan(10);
    for (const { state, first } of lists)
      expect(sorted(first.filter((n) => n !== 'States.Timeout')), state).toEqual(expected);
  });

  it('never retries the permanent names in the states that otherwise retry everything', () => {
    // Prepare
    const all = states();
    const retryEverything = Object.entries(all).filter(([, s]) =>
      s.Retry?.some((r) => r.ErrorEquals.includes('States.ALL') && r.MaxAttempts !== 0),
    );
    // Act
    const refused = retryEverything.map(([name, s]) => ({
      name,
      refused: (s.Retry ?? []).filter((r) => r.MaxAttempts === 0).flatMap((r) => r.ErrorEquals),
    }));
    // Assess
    expect(refused.map((r) => r.name).sort()).toEqual([
      'NotifyPaused',
      'NotifyRollback',
      'RecordRollback',
      'Rollback',
    ]);
    const notifies = ['NotifyPaused', 'NotifyRollback'];
    for (const { name, refused: names } of refused.filter((r) => !notifies.includes(r.name)))
      expect(sorted(names), name).toEqual(sorted(namesRetried('never')));
  });

  it('gives a page that was not delivered its own long retry in NotifyRollback', () => {
    // Prepare
    const notify = states().NotifyRollback;
    // Act
    const own = notify?.Retry?.find((r) => r.ErrorEquals.every((n) => !isAwsName(n) && n !== 'Transient'));
    // Assess
    expect(sorted(own?.ErrorEquals ?? [])).toEqual(sorted(namesRetried('page')));
  });

  it('names no error of its own that the table does not know', () => {
    // Prepare
    const named = Object.values(states()).flatMap((s) => [
      ...(s.Retry ?? []).flatMap((r) => r.ErrorEquals),
      ...(s.Catch ?? []).flatMap((c) => c.ErrorEquals),
      ...(s.Type === 'Fail' && s.Error ? [s.Error] : []),
      ...(s.Type === 'Pass' && s.Parameters?.Error ? [s.Parameters.Error] : []),
    ]);
    // Act
    const unknown = sorted(named.filter((n) => !isAwsName(n) && !Object.hasOwn(ERROR_POLICY, n)));
    // Assess
    expect(unknown).toEqual([]);
  });
});

describe('error policy: the rules read the table', () => {
  it('quarantines the image exactly for the names the table says', () => {
    // Prepare
    const names = Object.values(ErrorName);
    // Act
    const kept = names.filter((n) => quarantines(n));
    // Assess
    expect(sorted(kept)).toEqual(sorted(names.filter((n) => ERROR_POLICY[n].quarantine !== 'never')));
    // The names the rules quarantined before the table existed: a change to the table shows here.
    expect(sorted(kept)).toEqual(
      sorted([
        'AlarmFired',
        'ApprovalRejected',
        'ApprovalTimedOut',
        'CanaryFailed',
        'CanaryNotReady',
        'HookFailed',
      ]),
    );
    expect(quarantineRule('Lambda.Unknown')).toBe('never');
  });

  it('announces a rollback a person chose without paging, and pages for any other name or none', () => {
    // Prepare
    const names = Object.values(ErrorName);
    // Act
    const deliberate = names.filter(rollbackIsDeliberate);
    // Assess
    expect(sorted(deliberate)).toEqual(
      sorted([ErrorName.Aborted, ErrorName.Superseded, ErrorName.ApprovalRejected]),
    );
    expect(rollbackIsDeliberate(undefined)).toBe(false);
    expect(rollbackIsDeliberate('States.TaskFailed')).toBe(false);
  });
});
