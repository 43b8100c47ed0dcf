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
import * as z from './zod';

const verdictResult = z.enum(['pass', 'fail', 'inconclusive']);

const versionSummary = z.object({
  requests: z.number(),
  errors: z.number(),
  errorRate: z.nullable(z.number()),
  p99Ms: z.nullable(z.number()),
  targetErrors: z.optional(z.number()),
  noResponse: z.optional(z.number()),
  connectionErrors: z.optional(z.number()),
}) satisfies z.ZodMiniType<VersionSummary>;

/** One check of an analysis, its numbers without its prose (core/state-change.ts evidenceSummary). */
const evidenceRow = z.object({
  metric: z.string(),
  result: verdictResult,
  canary: z.nullable(z.number()),
  baseline: z.nullable(z.number()),
  limit: z.nullable(z.number()),
});

/**
 * Weights keyed by target group ARN. Checked by hand rather than with z.record, which would add about 4.5 KB to
 * every Lambda bundle for this one field.
 */
const weightsFound = z.custom<Record<string, number>>(
  (v) =>
    typeof v === 'object' &&
    v !== null &&
    !Array.isArray(v) &&
    Object.values(v).every((n) => typeof n === 'number'),
  'must be weights keyed by target group ARN',
);

/** Where a step stands: its index in the plan (from 0) and its share of traffic (%). */
const atStep = { step: z.number(), weight: z.number() };

/** Who decided, from where; `step` and `wait` (the wait's hash) say which wait the decision ended. */
const decision = z.object({
  step: z.number(),
  via: z.enum(['approval-page', 'cli']),
  /** Absent on decisions recorded before the history named who decided. */
  by: z.optional(z.string()),
  /** Absent on decisions recorded before the history named the wait. */
  wait: z.optional(z.string()),
});

const common = { at: z.string(), message: z.string() };
const entry = <T extends string, D extends z.ZodMiniType>(type: T, detail: D) =>
  z.object({ ...common, type: z.literal(type), detail });
const bare = <T extends string>(type: T) => z.object({ ...common, type: z.literal(type) });

/**
 * Held where it is: by a person (`operator`: no weight moves up until resumed), or on a failed analysis
 * (`failure`: 100% on stable, the canary kept, until retried or aborted; `until` is when it rolls back).
 */
const pausedEntry = () =>
  entry(
    'paused',
    z.object({
      ...atStep,
      cause: z.enum(['operator', 'failure']),
      via: z.enum(['approval-page', 'cli', 'workflow']),
      by: z.string(),
      until: z.optional(z.string()),
    }),
  );

/**
 * A hook's answer (core/hooks.ts): pass, fail, the first "running", or `unavailable` when it could not be called.
 * `step`/`weight`: the step it ran for, absent before and after the plan.
 */
const hookEntry = () =>
  entry(
    'hook',
    z.object({
      stage: z.enum(HOOK_STAGES),
      hook: z.string(),
      status: z.enum(HOOK_RESULTS),
      calls: z.number(),
      step: z.optional(z.number()),
      weight: z.optional(z.number()),
      message: z.optional(z.string()),
      /** The answer's details as JSON, shortened (core/hooks.ts EVIDENCE_CHARS). */
      details: z.optional(z.string()),
    }),
  );

const buildHistoryEntrySchema = () =>
  z.discriminatedUnion('type', [
    entry('started', z.object({ trigger: z.enum(['ecr-push', 'deploy-requested']) })),
    entry(
      'prepared',
      z.object({
        /** The listener's weights as Prepare found them, keyed by target group ARN. */
        weightsFound,
        /** The image the stable service ran. */
        previousStable: z.string(),
      }),
    ),
    entry(
      'weight',
      z.object({
        ...atStep,
        /** How the canary's capacity for the step was waited for (absent when the controller does not size it). */
        capacity: z.optional(
          z.object({
            polls: z.number(),
            detail: z.string(),
            healthy: z.optional(z.number()),
            needed: z.optional(z.number()),
          }),
        ),
      }),
    ),
    entry(
      'analysis',
      z.object({
        ...atStep,
        verdict: verdictResult,
        /** What the rollout did next (core/rules.ts NextAction). */
        action: z.string(),
        reason: z.string(),
        canary: versionSummary,
        baseline: versionSummary,
        /** Absent on analyses recorded before the history kept each check's numbers. */
        evidence: z.optional(z.array(evidenceRow)),
      }),
    ),
    /** The listener's weights were changed outside the rollout: it waits for a person. */
    entry('drift', z.object(atStep)),
    entry('approval', z.object(atStep)),
    /** The bake ended early from the CLI (`canary promote`). */
    entry('promoted-early', decision),
    /** Skipped to the last step from the CLI (`canary promote --full`). */
    entry('promoted-full', decision),
    entry('approved', decision),
    entry('rejected', decision),
    entry('aborted', z.omit(decision, { step: true })),
    pausedEntry(),
    entry('resumed', z.omit(decision, { step: true, wait: true })),
    /** The failed step run again from a pause on failure (`canary retry`). */
    entry('retried', decision),
    entry('alarm', z.object({ alarm: z.string() })),
    /** `by`: the rollout that superseded this one. */
    entry('superseded', z.object({ by: z.string() })),
    bare('promoting'),
    bare('promoted'),
    hookEntry(),
    entry('rolledBack', z.object({ error: z.string(), reason: z.string(), quarantined: z.boolean() })),
    entry('rollbackFailed', z.object({ error: z.string(), reason: z.string() })),
  ]);

/**
 * Every kind of entry. Marked pure: a Lambda bundle keeps it only if it names it; readHistoryEntry builds its own on
 * first use, so a function that never reads a history never builds it.
 */
export const historyEntrySchema = /* @__PURE__ */ buildHistoryEntrySchema();
let readSchema: typeof historyEntrySchema | undefined;

/** An entry of a kind this version records. */
export type HistoryEntry = z.output<typeof historyEntrySchema>;
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
  if (readSchema.safeParse(item).success) return item as HistoryEntry;
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
