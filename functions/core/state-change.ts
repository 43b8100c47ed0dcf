/**
 * `Canary Rollout State Change`: the event the controller puts on its own bus for every change of a rollout, as
 * AWS services announce their deployments (ECS "ECS Deployment State Change", CodeDeploy "CodeDeploy Deployment
 * State-change Notification"), so that rules route them to chat, tickets and dashboards. One event per entry of
 * the rollout's history, built here from that entry; the detail is versioned (`schemaVersion`) and validated
 * strictly before it is put. Pure.
 */

import type { HistoryEntry, HistoryType } from './history';
import { HOOK_RESULTS, HOOK_STAGES } from './hook-stages';
import type { MetricEvidence, Verdict, VersionSummary } from './judge';
import type { RolloutRecord } from './rollout';
import * as v from './valibot';
import { parseInput } from './validation';

export const STATE_CHANGE_DETAIL_TYPE = 'Canary Rollout State Change';
/** Raised only for a change that breaks consumers (a field removed or retyped); new fields keep the version. */
export const STATE_CHANGE_SCHEMA_VERSION = '1';
/**
 * Longest free text in an event (message, reason, who decided). With at most MAX_EVIDENCE evidence rows, every
 * event stays far below PutEvents' 256 KB per entry (EventBridge User Guide, "Calculating PutEvents event entry
 * size"); a test holds the worst case to it.
 */
export const MAX_TEXT = 1000;
/** Every check of the judge fits: 7 built in, 22 custom metrics (20 configured, ECS CPU and memory), the alarms. */
export const MAX_EVIDENCE = 32;
/** PutEvents' limit on one entry, counted as that page counts it (UTF-8 bytes of Source, DetailType, Detail, Time). */
export const MAX_ENTRY_BYTES = 256 * 1024;

/** The rollout's states, in the order a rollout passes them (a rollout skips those that do not apply). */
export const ROLLOUT_STATES = [
  'started',
  'canaryDeployed',
  'stepSet',
  'analyzed',
  'trafficDrifted',
  'hookRan',
  'awaitingApproval',
  'bakeEnded',
  'approved',
  'rejected',
  'aborted',
  'paused',
  'resumed',
  'retried',
  'alarmFired',
  'superseded',
  'promoting',
  'promoted',
  'rolledBack',
  'rollbackFailed',
] as const;
export type RolloutState = (typeof ROLLOUT_STATES)[number];

/**
 * The state each kind of history entry announces (functions/tasks/lib/history.ts recordHistory, the CLI): every
 * kind has one, which the compiler holds to.
 */
export const HISTORY_STATES = {
  started: 'started',
  prepared: 'canaryDeployed',
  weight: 'stepSet',
  analysis: 'analyzed',
  drift: 'trafficDrifted',
  hook: 'hookRan',
  approval: 'awaitingApproval',
  'promoted-early': 'bakeEnded',
  'promoted-full': 'bakeEnded',
  approved: 'approved',
  rejected: 'rejected',
  aborted: 'aborted',
  paused: 'paused',
  resumed: 'resumed',
  retried: 'retried',
  alarm: 'alarmFired',
  superseded: 'superseded',
  promoting: 'promoting',
  promoted: 'promoted',
  rolledBack: 'rolledBack',
  rollbackFailed: 'rollbackFailed',
} as const satisfies Record<HistoryType, RolloutState>;

/** A string of `min` to `max` characters. */
const string = (min: number, max: number) =>
  min > 0
    ? v.pipe(v.string(), v.minLength(min), v.maxCodePoints(max))
    : v.pipe(v.string(), v.maxCodePoints(max));
const text = string(0, MAX_TEXT);
const count = v.pipe(v.int(), v.minValue(0));
const image = v.strictObject({
  repository: string(1, 256),
  digest: v.pipe(v.string(), v.regex(/^sha256:[0-9a-f]{64}$/, 'must be an image digest (sha256:<64 hex>)')),
  tag: v.optional(string(0, 128)),
});
const common = {
  schemaVersion: v.literal(STATE_CHANGE_SCHEMA_VERSION),
  rolloutId: string(1, 80),
  service: string(1, 64),
  image,
  /** The plan's step, counted from 1 (as `canary status` and the messages count); null before the first. */
  step: v.nullable(v.pipe(v.int(), v.minValue(1))),
  /** The share of traffic (%) the new image serves as of this change; null when the change does not tell. */
  weight: v.nullable(v.pipe(v.number(), v.minValue(0), v.maxValue(100))),
  at: v.isoDateTime(),
  /** The history's line for the change, for people. */
  message: text,
};
const verdictResult = v.picklist(['pass', 'fail', 'inconclusive']);
const versionSummary = v.strictObject({
  requests: count,
  errors: count,
  errorRate: v.nullable(v.pipe(v.number(), v.minValue(0), v.maxValue(1))),
  p99Ms: v.nullable(v.pipe(v.number(), v.minValue(0))),
});
const evidenceRow = v.strictObject({
  metric: string(0, 32),
  result: verdictResult,
  canary: v.nullable(v.number()),
  baseline: v.nullable(v.number()),
  limit: v.nullable(v.number()),
});
const decision = {
  /** Where the decision was taken: the approval page or the CLI. */
  via: v.picklist(['approval-page', 'cli']),
  by: text,
};
const state = <S extends RolloutState, T extends v.ObjectEntries>(s: S, fields: T) =>
  v.strictObject({ ...common, state: v.literal(s), ...fields });

export const rolloutStateChangeDetail = /* @__PURE__ */ v.lazy(() =>
  v.variant('state', [
    state('started', { trigger: v.picklist(['ecr-push', 'deploy-requested']) }),
    state('canaryDeployed', { previousStable: v.nullable(text) }),
    state('stepSet', {}),
    state('analyzed', {
      verdict: verdictResult,
      /** What the rollout does next: advance, keepBaking, awaitTraffic, bakeAgain, awaitApproval, rollback. */
      action: string(0, 32),
      reason: text,
      canary: versionSummary,
      baseline: versionSummary,
      /** Each check's result, the canary's and stable's values and the limit (core/judge.ts MetricEvidence). */
      evidence: v.pipe(v.array(evidenceRow), v.maxLength(MAX_EVIDENCE)),
    }),
    state('trafficDrifted', {}),
    /**
     * A hook answered (core/hooks.ts): `status` pass, fail, running, or unavailable when it could not be called; the
     * message carries what it said.
     */
    state('hookRan', {
      stage: v.picklist(HOOK_STAGES),
      hook: string(1, 64),
      status: v.picklist(HOOK_RESULTS),
    }),
    state('awaitingApproval', {}),
    /** An operator ended the bake now (`canary promote`); `full`: skipped to the last step. */
    state('bakeEnded', { ...decision, full: v.boolean() }),
    state('approved', decision),
    state('rejected', decision),
    state('aborted', decision),
    /** `cause` failure: an analysis failed and traffic is back on stable (weight 0), the canary kept. */
    state('paused', {
      cause: v.picklist(['operator', 'failure']),
      via: v.picklist(['approval-page', 'cli', 'workflow']),
      by: text,
      until: v.nullable(v.isoDateTime()),
    }),
    state('resumed', decision),
    state('retried', decision),
    state('alarmFired', { alarm: string(1, 255) }),
    state('superseded', { supersededBy: string(1, 80) }),
    state('promoting', {}),
    state('promoted', {}),
    state('rolledBack', { error: string(0, 128), reason: text, quarantined: v.boolean() }),
    state('rollbackFailed', { error: string(0, 128), reason: text }),
  ]),
);
export type RolloutStateChange = v.InferOutput<typeof rolloutStateChangeDetail>;

/** What an event says of the rollout besides the history entry: the record's step and weight when known. */
export type StateChangeSubject = Pick<RolloutRecord, 'rolloutId' | 'service' | 'image'> &
  Partial<Pick<RolloutRecord, 'currentStep' | 'canaryPercent'>>;

/** The new image's share once the change is done, for states that fix it whatever the record says. */
const SETTLED_WEIGHT: Partial<Record<RolloutState, number>> = {
  started: 0,
  canaryDeployed: 0,
  alarmFired: 0,
  promoting: 100,
  promoted: 100,
  rolledBack: 0,
};

/** Text cut to MAX_TEXT (by code point, never inside a surrogate pair). */
export function clip(value: string): string {
  const chars = Array.from(value);
  return chars.length <= MAX_TEXT ? value : `${chars.slice(0, MAX_TEXT - 1).join('')}…`;
}

/** The analysis's evidence as an event carries it: each check's numbers, without its prose. */
export function evidenceSummary(verdict: Pick<Verdict, 'metrics'>): v.InferOutput<typeof evidenceRow>[] {
  return verdict.metrics.slice(0, MAX_EVIDENCE).map((m: MetricEvidence) => ({
    metric: m.metric,
    result: m.result,
    canary: m.canary,
    baseline: m.baseline,
    limit: m.limit,
  }));
}

function summary(value: unknown): v.InferOutput<typeof versionSummary> {
  const s = (value ?? {}) as Partial<VersionSummary>;
  return {
    requests: s.requests ?? 0,
    errors: s.errors ?? 0,
    errorRate: s.errorRate ?? null,
    p99Ms: s.p99Ms ?? null,
  };
}

const str = (x: unknown): string | undefined => (typeof x === 'string' ? x : undefined);
const num = (x: unknown): number | undefined => (typeof x === 'number' && Number.isFinite(x) ? x : undefined);

/**
 * The state-change event of one history entry. Throws (an InputInvalidError naming the field) when the entry's type is
 * not a state or its detail lacks what the state's schema requires: a defect of the code that recorded it.
 */
export function stateChangeOf(subject: StateChangeSubject, entry: HistoryEntry): RolloutStateChange {
  // The types rule out any other entry; one made around them (a cast, JavaScript) is refused all the same.
  const s: RolloutState | undefined = HISTORY_STATES[entry.type];
  if (!s) throw new Error(`history entry type "${entry.type}" is not a rollout state`);
  const d = 'detail' in entry ? entry.detail : undefined;
  const stepIndex = num(d && 'step' in d ? d.step : undefined) ?? subject.currentStep;
  const base = {
    schemaVersion: STATE_CHANGE_SCHEMA_VERSION,
    rolloutId: subject.rolloutId,
    service: subject.service,
    image: {
      repository: subject.image.repository,
      digest: subject.image.digest,
      ...(subject.image.tag ? { tag: subject.image.tag } : {}),
    },
    step: stepIndex === undefined ? null : stepIndex + 1,
    weight:
      SETTLED_WEIGHT[s] ?? num(d && 'weight' in d ? d.weight : undefined) ?? subject.canaryPercent ?? null,
    at: entry.at,
    message: clip(entry.message),
    state: s,
  };
  return parseInput(rolloutStateChangeDetail, { ...base, ...stateFields(entry) }, `the ${s} event`);
}

/** What an entry's state says besides the common fields (validated by the caller). */
function stateFields(entry: HistoryEntry): Record<string, unknown> {
  switch (entry.type) {
    case 'started':
      return { trigger: entry.detail.trigger };
    case 'prepared':
      return { previousStable: str(entry.detail.previousStable) ?? null };
    case 'analysis': {
      const d = entry.detail;
      return {
        verdict: d.verdict,
        action: d.action,
        reason: clip(str(d.reason) ?? ''),
        canary: summary(d.canary),
        baseline: summary(d.baseline),
        evidence: Array.isArray(d.evidence) ? d.evidence.slice(0, MAX_EVIDENCE) : [],
      };
    }
    case 'promoted-early':
    case 'promoted-full':
      return {
        full: entry.type === 'promoted-full',
        via: entry.detail.via,
        by: clip(str(entry.detail.by) ?? 'unknown'),
      };
    case 'paused':
      return {
        cause: entry.detail.cause,
        via: entry.detail.via,
        by: clip(str(entry.detail.by) ?? 'unknown'),
        until: str(entry.detail.until) ?? null,
      };
    case 'approved':
    case 'rejected':
    case 'aborted':
    case 'resumed':
    case 'retried':
      return { via: entry.detail.via, by: clip(str(entry.detail.by) ?? 'unknown') };
    case 'alarm':
      return { alarm: entry.detail.alarm };
    case 'superseded':
      return { supersededBy: entry.detail.by };
    case 'rolledBack':
      return {
        error: entry.detail.error,
        reason: clip(str(entry.detail.reason) ?? ''),
        quarantined: entry.detail.quarantined === true,
      };
    case 'hook': {
      const { stage, hook, status } = entry.detail;
      return { stage, hook, status };
    }
    case 'rollbackFailed':
      return { error: entry.detail.error, reason: clip(str(entry.detail.reason) ?? '') };
    case 'weight':
    case 'drift':
    case 'approval':
    case 'promoting':
    case 'promoted':
      return {};
    default:
      return unknownEntry(entry);
  }
}

function unknownEntry(entry: never): never {
  throw new Error(`history entry type "${(entry as { type?: unknown }).type}" is not a rollout state`);
}

/** A PutEvents entry's size as EventBridge counts it against MAX_ENTRY_BYTES (Time counts 14 bytes). */
export function putEventsEntrySize(entry: {
  Source: string;
  DetailType: string;
  Detail: string;
  Time?: Date;
  Resources?: readonly string[];
}): number {
  const encoder = new TextEncoder();
  const bytes = (s: string) => encoder.encode(s).length;
  return (
    (entry.Time ? 14 : 0) +
    bytes(entry.Source) +
    bytes(entry.DetailType) +
    bytes(entry.Detail) +
    (entry.Resources ?? []).reduce((n, r) => n + bytes(r), 0)
  );
}
