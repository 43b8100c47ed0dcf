/**
 * A rollout's history: one entry per change, each kind with its own detail. The schemas are the types: entries
 * are written as `HistoryEntry` and read back through `readHistoryEntry`, which keeps an entry no kind fits (an
 * older or newer version wrote it, or it is damaged) readable as an `UnrecognizedHistoryEntry`.
 *
 * A kind's detail requires what every version of the controller has written for it; fields added since are
 * optional, so entries stored before them still read as their kind. Pure.
 */

import { HOOK_RESULTS, HOOK_STAGES } from './hook-stages';
import type { VersionSummary } from './judge';
import * as v from './valibot';

const verdictResult = v.picklist(['pass', 'fail', 'inconclusive']);

const versionSummary = v.object({
  requests: v.number(),
  errors: v.number(),
  errorRate: v.nullable(v.number()),
  p99Ms: v.nullable(v.number()),
  targetErrors: v.optional(v.number()),
  noResponse: v.optional(v.number()),
  connectionErrors: v.optional(v.number()),
}) satisfies v.GenericSchema<unknown, VersionSummary>;

/** One check of an analysis, its numbers without its prose (core/state-change.ts evidenceSummary). */
const evidenceRow = v.object({
  metric: v.string(),
  result: verdictResult,
  canary: v.nullable(v.number()),
  baseline: v.nullable(v.number()),
  limit: v.nullable(v.number()),
});

/**
 * Weights keyed by target group ARN. Checked by hand rather than with a record schema, which would add to every
 * Lambda bundle for this one field.
 */
const weightsFound = v.custom<Record<string, number>>(
  (v) =>
    typeof v === 'object' &&
    v !== null &&
    !Array.isArray(v) &&
    Object.values(v).every((n) => typeof n === 'number'),
  'must be weights keyed by target group ARN',
);

/** Where a step stands: its index in the plan (from 0) and its share of traffic (%). */
const atStep = { step: v.number(), weight: v.number() };

/** Who decided, from where; `step` and `wait` (the wait's hash) say which wait the decision ended. */
const decision = v.object({
  step: v.number(),
  via: v.picklist(['approval-page', 'cli']),
  /** Absent on decisions recorded before the history named who decided. */
  by: v.optional(v.string()),
  /** Absent on decisions recorded before the history named the wait. */
  wait: v.optional(v.string()),
});

const common = { at: v.string(), message: v.string() };
const entry = <T extends string, D extends v.GenericSchema>(type: T, detail: D) =>
  v.object({ ...common, type: v.literal(type), detail });
const bare = <T extends string>(type: T) => v.object({ ...common, type: v.literal(type) });

/**
 * Held where it is: by a person (`operator`: no weight moves up until resumed), or on a failed analysis
 * (`failure`: 100% on stable, the canary kept, until retried or aborted; `until` is when it rolls back).
 */
const pausedEntry = () =>
  entry(
    'paused',
    v.object({
      ...atStep,
      cause: v.picklist(['operator', 'failure']),
      via: v.picklist(['approval-page', 'cli', 'workflow']),
      by: v.string(),
      until: v.optional(v.string()),
    }),
  );

/**
 * A hook's answer (core/hooks.ts): pass, fail, the first "running", or `unavailable` when it could not be called.
 * `step`/`weight`: the step it ran for, absent before and after the plan.
 */
const hookEntry = () =>
  entry(
    'hook',
    v.object({
      stage: v.picklist(HOOK_STAGES),
      hook: v.string(),
      status: v.picklist(HOOK_RESULTS),
      calls: v.number(),
      step: v.optional(v.number()),
      weight: v.optional(v.number()),
      message: v.optional(v.string()),
      /** The answer's details as JSON, shortened (core/hooks.ts EVIDENCE_CHARS). */
      details: v.optional(v.string()),
    }),
  );

const buildHistoryEntrySchema = () =>
  v.variant('type', [
    entry('started', v.object({ trigger: v.picklist(['ecr-push', 'deploy-requested']) })),
    entry(
      'prepared',
      v.object({
        /** The listener's weights as Prepare found them, keyed by target group ARN. */
        weightsFound,
        /** The image the stable service ran. */
        previousStable: v.string(),
      }),
    ),
    entry(
      'weight',
      v.object({
        ...atStep,
        /** How the canary's capacity for the step was waited for (absent when the controller does not size it). */
        capacity: v.optional(
          v.object({
            polls: v.number(),
            detail: v.string(),
            healthy: v.optional(v.number()),
            needed: v.optional(v.number()),
          }),
        ),
      }),
    ),
    entry(
      'analysis',
      v.object({
        ...atStep,
        verdict: verdictResult,
        /** What the rollout did next (core/rules.ts NextAction). */
        action: v.string(),
        reason: v.string(),
        canary: versionSummary,
        baseline: versionSummary,
        /** Absent on analyses recorded before the history kept each check's numbers. */
        evidence: v.optional(v.array(evidenceRow)),
      }),
    ),
    /** The listener's weights were changed outside the rollout: it waits for a person. */
    entry('drift', v.object(atStep)),
    entry('approval', v.object(atStep)),
    /** The bake ended early from the CLI (`canary promote`). */
    entry('promoted-early', decision),
    /** Skipped to the last step from the CLI (`canary promote --full`). */
    entry('promoted-full', decision),
    entry('approved', decision),
    entry('rejected', decision),
    entry('aborted', v.omit(decision, ['step'])),
    pausedEntry(),
    entry('resumed', v.omit(decision, ['step', 'wait'])),
    /** The failed step run again from a pause on failure (`canary retry`). */
    entry('retried', decision),
    entry('alarm', v.object({ alarm: v.string() })),
    /** `by`: the rollout that superseded this one. */
    entry('superseded', v.object({ by: v.string() })),
    bare('promoting'),
    bare('promoted'),
    hookEntry(),
    entry('rolledBack', v.object({ error: v.string(), reason: v.string(), quarantined: v.boolean() })),
    entry('rollbackFailed', v.object({ error: v.string(), reason: v.string() })),
  ]);

/**
 * Every kind of entry. Marked pure: a Lambda bundle keeps it only if it names it; readHistoryEntry builds its own on
 * first use, so a function that never reads a history never builds it.
 */
export const historyEntrySchema = /* @__PURE__ */ buildHistoryEntrySchema();
let readSchema: typeof historyEntrySchema | undefined;

/** An entry of a kind this version records. */
export type HistoryEntry = v.InferOutput<typeof historyEntrySchema>;
export type HistoryType = HistoryEntry['type'];
/** The detail an entry of the kind carries (undefined for kinds without one). */
export type HistoryDetail<T extends HistoryType> =
  Extract<HistoryEntry, { type: T }> extends { detail: infer D } ? D : undefined;

/**
 * A stored entry no kind fits: of a kind this version does not know, or of a known kind whose detail it cannot
 * read. Shown as stored (its message, its detail); never decided on.
 */
export interface UnrecognizedHistoryEntry {
  at: string;
  type: 'unrecognized';
  /** The type it was stored with ('' when it had none). */
  storedType: string;
  message: string;
  detail?: Record<string, unknown>;
}

/** What reading a history returns. */
export type StoredHistoryEntry = HistoryEntry | UnrecognizedHistoryEntry;

const text = (v: unknown) => (typeof v === 'string' ? v : '');

/**
 * An entry as read from a store. One that fits a kind is returned as stored: the schema only checks it, so fields
 * it does not name (a newer version's) are kept for whoever shows the entry.
 */
export function readHistoryEntry(item: unknown): StoredHistoryEntry {
  readSchema ??= buildHistoryEntrySchema();
  if (v.safeParse(readSchema, item).success) return item as HistoryEntry;
  const raw = (typeof item === 'object' && item !== null ? item : {}) as Record<string, unknown>;
  const detail = raw.detail;
  return {
    at: text(raw.at),
    type: 'unrecognized',
    storedType: text(raw.type),
    message: text(raw.message),
    ...(typeof detail === 'object' && detail !== null && !Array.isArray(detail)
      ? { detail: detail as Record<string, unknown> }
      : {}),
  };
}

/** The type an entry was stored with, for showing it. */
export function storedTypeOf(entry: StoredHistoryEntry): string {
  return entry.type === 'unrecognized' ? entry.storedType : entry.type;
}
