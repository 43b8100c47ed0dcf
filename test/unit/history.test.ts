/**
 * The rollout history's kinds: each reads back as itself, entries of earlier versions still read as their kind,
 * anything else reads as unrecognized (never refused), and every consumer of the kinds covers them all.
 */
import { describe, expect, expectTypeOf, it } from 'vitest';
import {
  type HistoryEntry,
  type HistoryType,
  historyEntrySchema,
  readHistoryEntry,
  type StoredHistoryEntry,
  storedTypeOf,
} from '../../functions/core/history';
import type { RolloutRecord } from '../../functions/core/rollout';
import { HISTORY_STATES } from '../../functions/core/state-change';
import type { RolloutEvent } from '../../functions/ports';
import { recordHistory } from '../../functions/tasks/lib/procedures';
import { renderCharts, stepVerdicts, traceFromHistory } from '../../functions/views/report-html';
import { InMemoryRolloutStore } from '../../sandbox/store';

/** Every kind the history has. */
const KINDS: HistoryType[] = historyEntrySchema.options.map((o) => o.entries.type.literal);

const AT = '2026-03-14T09:30:00.000Z';
const summary = { requests: 400, errors: 1, errorRate: 0.0025, p99Ms: 80 };
const decision = {
  step: 1,
  via: 'cli',
  by: 'the CLI (alice)',
  wait: '0123456789abcdef0123456789abcdef',
} as const;

/** One entry of every kind, as the tasks and the CLI record them (a kind left out does not compile). */
const SAMPLES: { [K in HistoryType]: Extract<HistoryEntry, { type: K }> } = {
  started: { at: AT, type: 'started', message: 'started', detail: { trigger: 'ecr-push' } },
  hook: {
    at: AT,
    type: 'hook',
    message: 'hook smoke (beforeTraffic) failed',
    detail: { stage: 'beforeTraffic', hook: 'smoke', status: 'fail', calls: 1, message: '/checkout: 500' },
  },
  prepared: {
    at: AT,
    type: 'prepared',
    message: 'prepared',
    detail: { weightsFound: { 'tg-stable': 100 }, previousStable: 'shop/web:v1' },
  },
  weight: {
    at: AT,
    type: 'weight',
    message: 'weight',
    detail: { step: 1, weight: 10, capacity: { polls: 2, detail: '2 of 2 healthy', healthy: 2, needed: 2 } },
  },
  analysis: {
    at: AT,
    type: 'analysis',
    message: 'analysis',
    detail: {
      step: 1,
      weight: 10,
      verdict: 'pass',
      action: 'advance',
      reason: 'every check passed',
      canary: summary,
      baseline: { ...summary, targetErrors: 1, noResponse: 0, connectionErrors: 0 },
      evidence: [{ metric: 'errorRate', result: 'pass', canary: 0.0025, baseline: 0.002, limit: 0.05 }],
    },
  },
  drift: { at: AT, type: 'drift', message: 'drift', detail: { step: 1, weight: 10 } },
  approval: { at: AT, type: 'approval', message: 'approval', detail: { step: 1, weight: 10 } },
  'promoted-early': { at: AT, type: 'promoted-early', message: 'promoted-early', detail: decision },
  'promoted-full': { at: AT, type: 'promoted-full', message: 'promoted-full', detail: decision },
  approved: { at: AT, type: 'approved', message: 'approved', detail: { ...decision, via: 'approval-page' } },
  rejected: { at: AT, type: 'rejected', message: 'rejected', detail: decision },
  aborted: { at: AT, type: 'aborted', message: 'aborted', detail: { via: 'cli', by: 'the CLI (bob)' } },
  paused: {
    at: AT,
    type: 'paused',
    message: 'paused',
    detail: { step: 1, weight: 0, cause: 'failure', via: 'workflow', by: 'the workflow', until: AT },
  },
  resumed: { at: AT, type: 'resumed', message: 'resumed', detail: { via: 'cli', by: 'the CLI (alice)' } },
  retried: { at: AT, type: 'retried', message: 'retried', detail: decision },
  alarm: { at: AT, type: 'alarm', message: 'alarm', detail: { alarm: 'web-5xx' } },
  superseded: { at: AT, type: 'superseded', message: 'superseded', detail: { by: 'web-cdcdcdcdcdcdcdcd' } },
  promoting: { at: AT, type: 'promoting', message: 'promoting' },
  promoted: { at: AT, type: 'promoted', message: 'promoted' },
  rolledBack: {
    at: AT,
    type: 'rolledBack',
    message: 'rolledBack',
    detail: { error: 'CanaryFailed', reason: 'errorRate', quarantined: true },
  },
  rollbackFailed: {
    at: AT,
    type: 'rollbackFailed',
    message: 'rollbackFailed',
    detail: { error: 'States.Timeout', reason: 'rollback timed out' },
  },
};

describe('readHistoryEntry', () => {
  it('reads every kind back as itself', () => {
    expect(Object.keys(SAMPLES).sort()).toEqual([...KINDS].sort());
    for (const entry of Object.values(SAMPLES))
      expect(readHistoryEntry(structuredClone(entry))).toEqual(entry);
  });

  it('reads entries of earlier versions as their kind: decisions without who or which wait, analyses without evidence', () => {
    // Prepare: entries as the first versions of the controller stored them.
    const older = [
      { at: AT, type: 'approved', message: 'step 2 approved', detail: { step: 1, via: 'approval-page' } },
      { at: AT, type: 'aborted', message: 'aborted', detail: { via: 'cli' } },
      { at: AT, type: 'weight', message: 'step 2: 10% on the canary', detail: { step: 1, weight: 10 } },
      {
        at: AT,
        type: 'analysis',
        message: 'step 2 (10%): pass → advance',
        detail: {
          step: 1,
          weight: 10,
          verdict: 'pass',
          action: 'advance',
          reason: 'ok',
          canary: summary,
          baseline: summary,
        },
      },
    ];

    // Act
    const read = older.map(readHistoryEntry);

    // Assess: each as stored, of its kind, and the report still counts the old analysis.
    expect(read).toEqual(older);
    expect(read.map((e) => e.type)).toEqual(['approved', 'aborted', 'weight', 'analysis']);
    expect(stepVerdicts(read, '')).toEqual([{ weight: 10, verdict: 'pass' }]);
  });

  it('keeps the fields a kind does not name (a newer version’s), as stored', () => {
    const newer = { ...SAMPLES.alarm, detail: { alarm: 'web-5xx', region: 'eu-west-1' }, source: 'newer' };
    expect(readHistoryEntry(newer)).toEqual(newer);
  });

  it('reads an entry no kind fits as unrecognized, keeping its stored type, message and detail; never throws', () => {
    const cases: [unknown, StoredHistoryEntry][] = [
      [
        { at: AT, type: 'paused', message: 'paused by alice', detail: { by: 'alice' } },
        {
          at: AT,
          type: 'unrecognized',
          storedType: 'paused',
          message: 'paused by alice',
          detail: { by: 'alice' },
        },
      ],
      // A known kind whose detail this version cannot read.
      [
        { at: AT, type: 'alarm', message: 'alarm', detail: { alarm: 7 } },
        { at: AT, type: 'unrecognized', storedType: 'alarm', message: 'alarm', detail: { alarm: 7 } },
      ],
      [
        {
          at: AT,
          type: 'prepared',
          message: 'prepared',
          detail: { weightsFound: { tg: '100' }, previousStable: 'v1' },
        },
        {
          at: AT,
          type: 'unrecognized',
          storedType: 'prepared',
          message: 'prepared',
          detail: { weightsFound: { tg: '100' }, previousStable: 'v1' },
        },
      ],
      [
        { at: AT, type: 'rolledBack', message: 'rolled back', detail: 'CanaryFailed' },
        { at: AT, type: 'unrecognized', storedType: 'rolledBack', message: 'rolled back' },
      ],
      // Damaged items.
      [{ message: 3 }, { at: '', type: 'unrecognized', storedType: '', message: '' }],
      [null, { at: '', type: 'unrecognized', storedType: '', message: '' }],
    ];
    for (const [stored, read] of cases) expect(readHistoryEntry(stored)).toEqual(read);
    expect(cases.map(([stored]) => storedTypeOf(readHistoryEntry(stored)))).toEqual([
      'paused',
      'alarm',
      'prepared',
      'rolledBack',
      '',
      '',
    ]);
  });
});

describe('every consumer covers every kind', () => {
  const record: RolloutRecord = {
    rolloutId: 'web-abababababababab',
    service: 'web',
    image: { repository: 'shop/web', digest: `sha256:${'ab'.repeat(32)}`, tag: 'v2' },
    status: 'running',
    alarms: [],
    createdAt: '2026-03-14T09:00:00.000Z',
    updatedAt: AT,
  };
  const unrecognized = readHistoryEntry({ at: AT, type: 'paused', message: 'paused' });

  it('announces every kind as a state-change state', () => {
    expectTypeOf<keyof typeof HISTORY_STATES>().toEqualTypeOf<HistoryType>();
    for (const type of KINDS) expect(HISTORY_STATES[type]).toEqual(expect.any(String));
  });

  it('the report marks the analyses and decisions on its charts, and draws a history of any kind', () => {
    const marked = [...Object.values(SAMPLES), unrecognized].filter((entry) =>
      renderCharts(traceFromHistory(record, [entry], undefined, new Date(AT))).includes(
        `<title>${entry.message}</title>`,
      ),
    );
    expect(marked.map(storedTypeOf).sort()).toEqual(
      [
        'aborted',
        'alarm',
        'analysis',
        'approval',
        'approved',
        'hook',
        'paused',
        'promoted',
        'rejected',
        'resumed',
        'retried',
        'rolledBack',
      ].sort(),
    );
  });

  it('records only an entry whose detail fits its kind (checked by the compiler)', async () => {
    const store = new InMemoryRolloutStore();
    const clock = {
      now: () => new Date(AT),
      workflowSeconds: (s: number) => s,
      sleep: async () => undefined,
    };
    const deps = { store, clock };
    await recordHistory(deps, record, 'alarm', 'alarm', { alarm: 'web-5xx' });
    await recordHistory(deps, record, 'promoted', 'promoted');
    // @ts-expect-error an alarm entry names its alarm
    await recordHistory(deps, record, 'alarm', 'alarm', { step: 1 });
    // @ts-expect-error a kind the history does not have
    await recordHistory(deps, record, 'paused', 'paused', {});
    // @ts-expect-error promoted carries no detail
    await recordHistory(deps, record, 'promoted', 'promoted', { by: 'alice' });
    expect((await store.history(record.rolloutId)).map(storedTypeOf)).toEqual([
      'alarm',
      'promoted',
      'alarm',
      'paused',
      'promoted',
    ]);
  });

  it('a notification says what its type always carries (checked by the compiler)', () => {
    const base = {
      severity: 'info',
      rolloutId: 'r',
      service: 'web',
      image: 'shop/web:v2',
      summary: 's',
      at: AT,
    } as const;
    const events: RolloutEvent[] = [
      { ...base, type: 'rollout.promoted' },
      { ...base, type: 'rollout.refused', severity: 'warning', reason: 'quarantined' },
      // @ts-expect-error a refusal says why
      { ...base, type: 'rollout.refused', severity: 'warning' },
      // @ts-expect-error an approval request names its step
      { ...base, type: 'approval.requested', severity: 'warning', reason: 'asks' },
    ];
    expect(events.map((e) => e.type)).toEqual([
      'rollout.promoted',
      'rollout.refused',
      'rollout.refused',
      'approval.requested',
    ]);
  });
});
