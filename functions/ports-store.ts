/**
 * The rollout store's port (DynamoDB on AWS, functions/adapters/aws/dynamodb.ts; in memory in the sandbox), and the
 * parts of it each task uses. functions/ports.ts re-exports them.
 */
import type { AbortReason } from './core/errors';
import type { HistoryEntry, StoredHistoryEntry } from './core/history';
import type { JudgedPeriods } from './core/late-metrics';
import type { AcceptedPush, SeenImage } from './core/pushes';
import type { PauseMark, RolloutDoc, RolloutRecord, ServiceLock, WaitToken } from './core/rollout';
/** The part of the store a task that reads its record and writes history uses (notify). */
export type HistoryStore = Pick<RolloutStore, 'getRollout' | 'appendHistory'>;
/** The part of the store notify uses: its record, history, and the pause incidents PagerDuty has not resolved. */
export type NotifyStore = HistoryStore & Pick<RolloutStore, 'updateRollout'>;
/** The part of the store set-weight uses: ownership, the record, history, clearing the judged periods. */
export type StepStore = HistoryStore &
  Pick<RolloutStore, 'getLock' | 'updateRollout'> &
  Pick<JudgedPeriodsStore, 'clearJudgedPeriods'>;
/** The part of the store the approval page uses: the record and its history, the wait, the pause. */
export type DecisionStore = HistoryStore & Pick<RolloutStore, 'history' | 'clearWait' | 'setPause'>;
/** The part of the store analyze uses: a step's, the wait it ends when traffic drifted, the periods it judged. */
export type AnalysisStore = StepStore & Pick<RolloutStore, 'clearWait'> & JudgedPeriodsStore;
/** Analyze's judged periods (core/late-metrics.ts), apart from the record; a retried step clears them. */
export interface JudgedPeriodsStore {
  getJudgedPeriods(rolloutId: string): Promise<JudgedPeriods | undefined>;
  putJudgedPeriods(rolloutId: string, periods: JudgedPeriods): Promise<void>;
  clearJudgedPeriods(rolloutId: string): Promise<void>;
}
/** The part of the store a task that holds a wait uses: ownership, the wait token, history (request-approval). */
export type WaitStore = HistoryStore & Pick<RolloutStore, 'getLock' | 'setWait'>;

export interface RolloutStore {
  /**
   * Take the service's lock for a rollout (a no-op when it holds it already); throws LockHeld with the holder when
   * another rollout has it. `doc` is kept with the lock, so whoever finds the holder never started can start it.
   */
  acquireLock(service: string, rolloutId: string, at: Date, doc?: RolloutDoc): Promise<void>;
  getLock(service: string): Promise<ServiceLock | undefined>;
  /**
   * Record a newer rollout to start once the holder has rolled back, unless one pushed after it holds the lock or is
   * pending already (core/pushes.ts newerOnLock): that one is returned then, and nothing written.
   */
  setPending(service: string, holder: string, pending: RolloutDoc): Promise<RolloutDoc | undefined>;
  /**
   * Release the lock held by `rolloutId` (no-op when it does not hold it). When a newer rollout is pending, the
   * lock passes to it atomically (with its document, and `handedOverBy` naming `rolloutId`) and its document is
   * returned so the caller can start it.
   */
  releaseLock(service: string, rolloutId: string, at: Date): Promise<RolloutDoc | undefined>;
  /**
   * The holder is starting (its record about to be written): acquiredAt becomes `at`, so that releaseStaleLock, on
   * the lock as read before, no longer takes it. False, writing nothing, when `rolloutId` does not hold the lock.
   */
  renewLock(service: string, rolloutId: string, at: Date): Promise<boolean>;
  /** Delete the lock while it is as read (`holder`'s since `acquiredAt`), pending or not; false, writing nothing, if not. */
  releaseStaleLock(service: string, holder: string, acquiredAt: string): Promise<boolean>;

  /** The newest push accepted for the service (core/pushes.ts), which orders the pushes that arrive after it. */
  getNewestPush(service: string): Promise<AcceptedPush | undefined>;
  /**
   * Record `push` as the service's newest, only if the one stored is still the one with event id `expected`
   * (undefined: none stored). False, writing nothing, when another push got there first.
   */
  setNewestPush(service: string, push: AcceptedPush, expected: string | undefined): Promise<boolean>;
  /** The last request to run this image for the service. */
  getImage(service: string, digest: string): Promise<SeenImage | undefined>;
  /** Remember a request to run an image, with the same condition as setNewestPush (on the image's event id). */
  markImage(service: string, image: SeenImage, expected: string | undefined): Promise<boolean>;

  /** With `ifAbsent`, written only when the rollout has no record yet: false, writing nothing, otherwise. */
  putRollout(record: RolloutRecord, options?: { ifAbsent?: boolean }): Promise<boolean>;
  getRollout(rolloutId: string): Promise<RolloutRecord | undefined>;
  updateRollout(
    rolloutId: string,
    patch: Partial<Omit<RolloutRecord, 'rolloutId' | 'service'>>,
  ): Promise<RolloutRecord>;
  /**
   * Set (or, `paused` undefined, remove) the pause mark only if the stored one is still `expected` (`none`: no
   * mark; `operator`: a person's): a person's pause or resume never replaces a pause on failure. Undefined, writing
   * nothing, when the mark is no longer as expected.
   */
  setPause(
    rolloutId: string,
    paused: PauseMark | undefined,
    expected: 'none' | 'operator',
    at: string,
  ): Promise<RolloutRecord | undefined>;
  /** Records whose status is not terminal. */
  listActive(): Promise<RolloutRecord[]>;
  listByService(service: string, limit: number): Promise<RolloutRecord[]>;

  /**
   * Keep the token of the wait in progress, so alarms and operators can interrupt it. A conditional write: it
   * never replaces a later wait (core/rollout.ts replacesWait); false when it did not store `wait` for that reason.
   */
  setWait(rolloutId: string, wait: WaitToken): Promise<boolean>;
  /** Clear the wait only if it is still `token` (a newer wait is left alone). */
  clearWait(rolloutId: string, token: string): Promise<void>;
  /**
   * Mark the rollout for abort, the first reason winning, only while it still holds its service: its status is
   * not terminal and the service's lock is its own (core/rollout.ts holdsService). Otherwise nothing is written
   * and the answer says what was found, so whoever aborts moves no traffic a newer rollout owns.
   */
  markAborted(rolloutId: string, reason: AbortReason, message: string, at: Date): Promise<AbortMark>;

  appendHistory(rolloutId: string, entry: HistoryEntry): Promise<void>;
  /**
   * The rollout's history in time order; with `page`, only entries at or after `since` (an ISO time), at most
   * `limit` of them: a bounded read for whoever follows a rollout as it goes. Each entry is read with
   * core/history.ts readHistoryEntry, so one no kind fits comes back unrecognized, never as an error.
   */
  history(rolloutId: string, page?: HistoryPage): Promise<StoredHistoryEntry[]>;

  quarantine(service: string, digest: string, reason: string, at: Date): Promise<void>;
  isQuarantined(service: string, digest: string): Promise<boolean>;
  releaseQuarantine(service: string, digest: string): Promise<boolean>;

  /** For deployers that swap target-group roles: which target group serves stable now. */
  getServingTargetGroup(service: string): Promise<string | undefined>;
  setServingTargetGroup(service: string, targetGroupArn: string): Promise<void>;
}

/**
 * What markAborted did: `holds`, the mark stored (or an earlier one kept) on the record as it is now; or nothing
 * written, with the record (if any) and the service's lock holder (if any) it found.
 */
export type AbortMark =
  | { holds: true; record: RolloutRecord }
  | { holds: false; record: RolloutRecord | undefined; holder: string | undefined };

/** A bounded slice of a rollout's history. */
export interface HistoryPage {
  since?: string;
  limit?: number;
}
