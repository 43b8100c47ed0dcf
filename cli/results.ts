/** What the operator's operations answer: rows of rollouts, results, where a start request stands, and failures. */
import type { StoredHistoryEntry } from '../functions/core/history';
import { imageLabel, type RolloutRecord } from '../functions/core/rollout';
import { recordSentence } from '../functions/views/headline';

/** A failure the operator should read (exit code 1), as opposed to a usage error (exit code 2). */
export class OperationError extends Error {
  constructor(
    message: string,
    /** `unavailable`: the backend did not answer (worth asking again); the others are answers. */
    readonly code:
      | 'unknown-service'
      | 'not-found'
      | 'not-waiting'
      | 'refused'
      | 'failed'
      | 'unavailable' = 'failed',
  ) {
    super(message);
    this.name = 'OperationError';
  }
}

export interface StatusRow {
  service: string;
  rolloutId: string;
  image: string;
  status: string;
  step: number | null;
  canaryPercent: number | null;
  waiting: 'bake' | 'approval' | 'failure' | null;
  verdict: string | null;
  updatedAt: string;
  outcome?: string;
  /** One sentence: how the rollout went, or what its last analysis found and what to do. */
  headline: string;
}

export interface OperationResult {
  ok: true;
  message: string;
  rolloutId?: string;
}

/** A `canary start` request as put on the bus: its event id names the rollout it starts (rolloutIdForPush). */
export interface DeployRequest {
  service: string;
  digest: string;
  eventId: string;
}

export interface StartResult extends OperationResult {
  /** The rollout that runs the request: its own, or the one already rolling the image out. */
  rolloutId: string;
  request: DeployRequest;
  /** Set when the controller answered at once that nothing will run (the sandbox runs start-rollout inline). */
  refused?: string;
}

/** What the backend did with a Deploy Requested event, as far as it knows when PutEvents returns. */
export interface DeployReceipt {
  eventId: string;
  /** Where it went, for the operator (`event … on bus …`). */
  via: string;
  /** start-rollout's answer, when the backend ran it at once (the sandbox); EventBridge delivers later. */
  answer?: { status: string; rolloutId?: string; reason?: string };
}

/**
 * Where a `canary start` request stands before its rollout has a record: `rollout` once there is one to follow
 * (its own, or the run of that image already under way), `refused` when nothing will run for it.
 */
export type RequestState =
  | { state: 'rollout'; rolloutId: string }
  | { state: 'requested' | 'starting' | 'queued'; rolloutId: string; message: string }
  | { state: 'refused'; message: string };

/** One read of a rollout for someone following it: its row, and a page of its history. */
export interface RolloutProgress {
  rollout: StatusRow;
  entries: StoredHistoryEntry[];
  /** Set once the rollout has ended. */
  result?: 'promoted' | 'rolledBack' | 'rollbackFailed';
}

/** History entries a progress read returns at most. */
export const PROGRESS_PAGE = 50;

/** The record's status as an operator reads it: stopping, or held (by whom, at which share, until when). */
function statusOf(r: RolloutRecord): string {
  if (r.abort && r.status === 'running') return `aborting (${r.abort.reason})`;
  if (r.paused?.cause === 'failure' && r.status === 'running')
    return 'paused: analysis failed, 100% on stable, canary kept (retry or abort)';
  if (r.paused && r.status === 'running') return `paused at ${r.paused.weight}% by ${r.paused.by}`;
  return r.status;
}

export function row(r: RolloutRecord): StatusRow {
  return {
    service: r.service,
    rolloutId: r.rolloutId,
    image: imageLabel(r.image),
    status: statusOf(r),
    step: r.currentStep ?? null,
    canaryPercent: r.canaryPercent ?? null,
    waiting: r.wait?.kind ?? null,
    verdict: r.lastVerdict?.result ?? null,
    updatedAt: r.updatedAt,
    ...(r.outcome ? { outcome: r.outcome.reason } : {}),
    headline: recordSentence(r),
  };
}
