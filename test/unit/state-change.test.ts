/**
 * The `Canary Rollout State Change` detail: one event per history entry type, each valid against the published
 * schema, strict (unknown fields refused, naming them), and bounded far below PutEvents' 256 KB per entry.
 */
import { describe, expect, expectTypeOf, it } from 'vitest';
import { CONTROLLER_EVENT_SOURCE } from '../../functions/core/events';
import { type HistoryEntry, type HistoryType, historyEntrySchema } from '../../functions/core/history';
import {
  HISTORY_STATES,
  MAX_ENTRY_BYTES,
  MAX_EVIDENCE,
  MAX_TEXT,
  putEventsEntrySize,
  ROLLOUT_STATES,
  type RolloutState,
  rolloutStateChangeDetail,
  STATE_CHANGE_DETAIL_TYPE,
  stateChangeOf,
} from '../../functions/core/state-change';
import * as v from '../../functions/core/valibot';
import type { Log, StateChangeBus } from '../../functions/ports';
import { announce, recordHistory } from '../../functions/tasks/lib/procedures';
import { InMemoryRolloutStore } from '../../sandbox/store';

/** Every kind the history has. */
const KINDS: HistoryType[] = historyEntrySchema.options.map((o) => o.entries.type.literal);

const DIGEST = `sha256:${'ab'.repeat(32)}`;
const subject = {
  rolloutId: 'web-abababababababab',
  service: 'web',
  image: { repository: 'shop/web', digest: DIGEST, tag: 'v2' },
  currentStep: 1,
  canaryPercent: 10,
};
const AT = '2026-03-14T09:26:54.000Z';
const versionSummary = { requests: 1200, errors: 3, errorRate: 0.0025, p99Ms: 88 };

/** An entry before it is stamped with its time. */
type Unstamped = HistoryEntry extends infer E ? (E extends HistoryEntry ? Omit<E, 'at'> : never) : never;

/** The entry each task records (type, message, detail), per state. */
const ENTRIES = {
  started: { type: 'started', message: 'rollout of shop/web:v2 started', detail: { trigger: 'ecr-push' } },
  canaryDeployed: {
    type: 'prepared',
    message: 'deploying shop/web:v2 as the canary',
    detail: { weightsFound: {}, previousStable: 'shop/web:v1' },
  },
  stepSet: { type: 'weight', message: 'step 2: 10% on the canary', detail: { step: 1, weight: 10 } },
  analyzed: {
    type: 'analysis',
    message: 'step 2 (10%): pass → advance',
    detail: {
      step: 1,
      weight: 10,
      verdict: 'pass',
      action: 'advance',
      reason: 'every check passed',
      canary: versionSummary,
      baseline: { ...versionSummary, targetErrors: 3 },
      evidence: [{ metric: 'errorRate', result: 'pass', canary: 0.0025, baseline: 0.002, limit: 0.05 }],
    },
  },
  trafficDrifted: { type: 'drift', message: 'step 2: weights changed', detail: { step: 1, weight: 10 } },
  awaitingApproval: {
    type: 'approval',
    message: 'step 2 (10%) waits for approval',
    detail: { step: 1, weight: 10 },
  },
  bakeEnded: {
    type: 'promoted-full',
    message: 'skipped from step 2 to 100% from the CLI (alice)',
    detail: { step: 1, via: 'cli', by: 'the CLI (alice)', wait: 'w1' },
  },
  approved: {
    type: 'approved',
    message: 'approved',
    detail: { step: 1, via: 'approval-page', by: 'alice', wait: 'w1' },
  },
  rejected: {
    type: 'rejected',
    message: 'rejected: slow',
    detail: { step: 1, via: 'cli', by: 'the CLI (bob)' },
  },
  aborted: { type: 'aborted', message: 'aborted by the CLI', detail: { via: 'cli', by: 'the CLI (bob)' } },
  paused: {
    type: 'paused',
    message: 'step 2 paused from the CLI (bob)',
    detail: { step: 1, weight: 10, cause: 'operator', via: 'cli', by: 'the CLI (bob)' },
  },
  resumed: {
    type: 'resumed',
    message: 'resumed from the CLI (bob)',
    detail: { via: 'cli', by: 'the CLI (bob)' },
  },
  retried: {
    type: 'retried',
    message: 'step 2 retried from the CLI (bob)',
    detail: { step: 1, via: 'cli', by: 'the CLI (bob)', wait: 'w2' },
  },
  alarmFired: { type: 'alarm', message: 'alarm web-5xx in ALARM', detail: { alarm: 'web-5xx' } },
  superseded: {
    type: 'superseded',
    message: 'superseded by shop/web:v3',
    detail: { by: 'web-cdcdcdcdcdcdcdcd' },
  },
  promoting: { type: 'promoting', message: 'promoting shop/web:v2' },
  promoted: { type: 'promoted', message: 'shop/web:v2 promoted' },
  rolledBack: {
    type: 'rolledBack',
    message: 'shop/web:v2 rolled back: errorRate',
    detail: { error: 'CanaryFailed', reason: 'errorRate: canary 2.9%', quarantined: true },
  },
  hookRan: {
    type: 'hook',
    message: 'hook smoke (beforeStep) passed',
    detail: { stage: 'beforeStep', hook: 'smoke', status: 'pass', calls: 1, step: 1, weight: 10 },
  },
  rollbackFailed: {
    type: 'rollbackFailed',
    message: 'web: rollback of shop/web:v2 did not complete',
    detail: { error: 'States.Timeout', reason: 'rollback timed out' },
  },
} satisfies Record<RolloutState, Unstamped>;

describe('Canary Rollout State Change detail (schema version 1)', () => {
  it('maps every history entry type a task records to a state, and every state to one entry type', () => {
    expectTypeOf<keyof typeof HISTORY_STATES>().toEqualTypeOf<HistoryType>();
    expect(Object.keys(HISTORY_STATES).sort()).toEqual([...KINDS].sort());
    expect([...new Set(Object.values(HISTORY_STATES))].sort()).toEqual([...ROLLOUT_STATES].sort());
  });

  for (const state of ROLLOUT_STATES) {
    it(`${state}: the event built from its history entry is valid against the schema`, () => {
      const change = stateChangeOf(subject, { ...ENTRIES[state], at: AT });
      expect(v.parse(rolloutStateChangeDetail, change)).toEqual(change);
      expect(change).toMatchObject({
        schemaVersion: '1',
        rolloutId: subject.rolloutId,
        service: 'web',
        image: { repository: 'shop/web', digest: DIGEST, tag: 'v2' },
        state,
        at: AT,
        message: ENTRIES[state].message,
      });
      // Steps count from 1 in events, as in messages and `canary status`.
      expect(change.step).toBe(2);
    });
  }

  it('gives each state its own fields: verdict and evidence, who decided, the alarm, the rollback', () => {
    const of = (s: RolloutState) => stateChangeOf(subject, { ...ENTRIES[s], at: AT });
    expect(of('analyzed')).toMatchObject({
      verdict: 'pass',
      action: 'advance',
      canary: versionSummary,
      baseline: versionSummary,
      evidence: [{ metric: 'errorRate', result: 'pass' }],
    });
    expect(of('approved')).toMatchObject({ via: 'approval-page', by: 'alice' });
    expect(of('bakeEnded')).toMatchObject({ via: 'cli', by: 'the CLI (alice)', full: true });
    expect(of('alarmFired')).toMatchObject({ alarm: 'web-5xx', weight: 0 });
    expect(of('superseded')).toMatchObject({ supersededBy: 'web-cdcdcdcdcdcdcdcd', weight: 10 });
    expect(of('rolledBack')).toMatchObject({ error: 'CanaryFailed', quarantined: true, weight: 0 });
    expect(of('promoted')).toMatchObject({ weight: 100 });
    expect(of('started')).toMatchObject({ trigger: 'ecr-push', weight: 0 });
  });

  it('says null for a step or weight it does not know', () => {
    const change = stateChangeOf(
      { rolloutId: subject.rolloutId, service: 'web', image: subject.image },
      { ...ENTRIES.rollbackFailed, at: AT },
    );
    expect(change).toMatchObject({ step: null, weight: null });
  });

  it('refuses an unknown field, naming it, and an entry type that is not a state', () => {
    const change = stateChangeOf(subject, { ...ENTRIES.promoted, at: AT });
    const result = v.safeParse(rolloutStateChangeDetail, { ...change, extra: 1, more: 2 });
    expect(result.success).toBe(false);
    expect(result.issues?.map((i) => i.message)).toEqual(['Unrecognized keys: "extra", "more"']);
    // Entries the types rule out, made around them (a cast stands for JavaScript or a defect).
    const note = { type: 'note', message: 'x', at: AT } as unknown as HistoryEntry;
    expect(() => stateChangeOf(subject, note)).toThrow('history entry type "note" is not a rollout state');
    const alarm = { type: 'alarm', message: 'alarm', at: AT, detail: {} } as unknown as HistoryEntry;
    expect(() => stateChangeOf(subject, alarm)).toThrow(/alarm/);
  });

  it('stays far below 256 KB per PutEvents entry however long the texts (cut at MAX_TEXT)', () => {
    // Prepare: the widest characters JSON can hold, escaped control characters, in every free text.
    const wide = '\u0001𝄞'.repeat(5000);
    const worst = stateChangeOf(subject, {
      type: 'analysis',
      at: AT,
      message: wide,
      detail: {
        ...ENTRIES.analyzed.detail,
        reason: wide,
        evidence: Array.from({ length: 50 }, () => ({
          metric: 'xray.errorRate',
          result: 'inconclusive',
          canary: Number.MAX_VALUE,
          baseline: Number.MAX_VALUE,
          limit: Number.MAX_VALUE,
        })),
      },
    });
    if (worst.state !== 'analyzed') throw new Error('not an analysis');
    expect(Array.from(worst.message)).toHaveLength(MAX_TEXT);
    expect(worst.evidence).toHaveLength(MAX_EVIDENCE);
    const size = putEventsEntrySize({
      Source: CONTROLLER_EVENT_SOURCE,
      DetailType: STATE_CHANGE_DETAIL_TYPE,
      Detail: JSON.stringify(worst),
      Time: new Date(AT),
    });
    expect(size).toBeLessThan(MAX_ENTRY_BYTES / 8);
  });

  it('counts an entry as EventBridge does: 14 bytes for Time, UTF-8 bytes of the rest', () => {
    expect(putEventsEntrySize({ Source: 'a.b', DetailType: 'é', Detail: '{}', Time: new Date(AT) })).toBe(
      14 + 3 + 2 + 2,
    );
    expect(putEventsEntrySize({ Source: 'a', DetailType: 'b', Detail: 'c', Resources: ['arn:x'] })).toBe(8);
  });
});

describe('recordHistory announces what it records', () => {
  const log = () => {
    const errors: string[] = [];
    const l: Log = {
      info: () => {},
      warn: () => {},
      error: (m, e) => errors.push(`${m} ${JSON.stringify(e)}`),
    };
    return { l, errors };
  };
  const clock = { now: () => new Date(AT), workflowSeconds: (s: number) => s, sleep: async () => {} };

  it('puts the entry’s event after the entry is stored', async () => {
    const store = new InMemoryRolloutStore();
    const put: unknown[] = [];
    const events: StateChangeBus = { put: async (c) => void put.push(...c) };
    await recordHistory({ store, clock, events }, subject, 'weight', 'step 2: 10% on the canary', {
      step: 1,
      weight: 10,
    });
    expect(await store.history(subject.rolloutId)).toHaveLength(1);
    expect(put).toEqual([expect.objectContaining({ state: 'stepSet', step: 2, weight: 10, at: AT })]);
  });

  it('never fails the caller when the bus refuses: the failure is logged', async () => {
    const store = new InMemoryRolloutStore();
    const { l, errors } = log();
    const events: StateChangeBus = {
      put: async () => {
        throw new Error('1 of 1 state-change event(s) not put on canary-controller: AccessDeniedException');
      },
    };
    await expect(
      recordHistory({ store, clock, events, log: l }, subject, 'promoted', 'shop/web:v2 promoted'),
    ).resolves.toBeUndefined();
    expect(await store.history(subject.rolloutId)).toHaveLength(1);
    expect(errors).toEqual([expect.stringContaining('rollout state change event not published')]);
    expect(errors[0]).toContain('AccessDeniedException');
  });

  it('announces nothing when the entry could not be stored', async () => {
    const store = new InMemoryRolloutStore();
    store.appendHistory = async () => {
      throw new Error('ProvisionedThroughputExceededException');
    };
    const put: unknown[] = [];
    await expect(
      recordHistory(
        { store, clock, events: { put: async (c) => void put.push(...c) } },
        subject,
        'promoted',
        'x',
      ),
    ).rejects.toThrow('ProvisionedThroughputExceededException');
    expect(put).toEqual([]);
  });

  it('logs an entry that does not make a valid event instead of putting it', async () => {
    const { l, errors } = log();
    const put: unknown[] = [];
    // An alarm entry without its alarm: the types rule it out; the cast stands for a defect.
    const entry = { type: 'alarm', at: AT, message: 'alarm' } as unknown as HistoryEntry;
    const ok = await announce({ events: { put: async (c) => void put.push(...c) }, log: l }, subject, entry);
    expect(ok).toBe(false);
    expect(put).toEqual([]);
    expect(errors).toHaveLength(1);
  });
});
