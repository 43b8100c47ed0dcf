import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  FINISHING_STATES,
  PROMOTED_STATES,
  PROMOTING_STATES,
  phaseAt,
} from '../../functions/core/workflow-phase';

type State = {
  Next?: string;
  Default?: string;
  Choices?: { Next: string }[];
  Catch?: { Next: string }[];
};
const { States } = JSON.parse(
  readFileSync(new URL('../../statemachine/canary.asl.json', import.meta.url), 'utf8'),
) as { States: Record<string, State> };

/** The states reachable from `from` (itself included), not going through any of `stops`. */
function reach(from: string, stops: readonly string[]): string[] {
  const seen = new Set<string>();
  const visit = (name: string) => {
    if (seen.has(name) || stops.includes(name)) return;
    seen.add(name);
    const s = States[name];
    if (!s) throw new Error(`no state ${name}`);
    for (const next of [
      s.Next,
      s.Default,
      ...(s.Choices ?? []).map((c) => c.Next),
      ...(s.Catch ?? []).map((c) => c.Next),
    ])
      if (next) visit(next);
  };
  visit(from);
  return [...seen].sort();
}

describe('how far a rollout got, from the state its execution entered last', () => {
  it('names the promotion states as the definition has them', () => {
    // From PromoteBegin to PromoteFinish, and where a failure on the way goes before Rollback.
    expect(reach('PromoteBegin', ['PromoteFinish', 'Rollback'])).toEqual([...PROMOTING_STATES].sort());
    expect(reach('PromoteFinish', ['NotifyPromoted', 'Rollback'])).toEqual([...FINISHING_STATES].sort());
    // Only PromoteFinish returning leads there.
    expect(reach('NotifyPromoted', [])).toEqual([...PROMOTED_STATES].sort());
    expect(
      Object.entries(States)
        .filter(([, s]) => s.Next === 'NotifyPromoted')
        .map(([n]) => n),
    ).toEqual(['PromoteFinish']);
  });

  it('maps each state to its phase; any other state to none', () => {
    expect(phaseAt('WaitForStable')).toBe('promoting');
    expect(phaseAt('PromoteFinish')).toBe('finishing');
    expect(phaseAt('NotifyPromoted')).toBe('promoted');
    expect(phaseAt('Bake')).toBeUndefined();
    expect(phaseAt('Rollback')).toBeUndefined();
  });
});
