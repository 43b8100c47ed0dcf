/**
 * `canary wait <rollout-id>` and `canary start … --wait`: follow a rollout to its outcome, one line per history
 * entry (a step set, an analysis and its decision, an approval asked for or given, the outcome), then an exit
 * code a pipeline can branch on. Reads the rollout's record and a page of its history per poll (two reads of the
 * store), polling fast while something happens and backing off while nothing does; an error that may pass is
 * retried on the same backoff, never an exit.
 */
import { storedTypeOf } from '../functions/core/history';
import { terminalSafe, toJson } from './output';
import type { DeployRequest, RequestState, RolloutProgress, StatusRow } from './results';
import { OperationError, PROGRESS_PAGE } from './results';

/** What the wait ends with. 3 is the wait giving up: the rollout goes on, nothing was changed. */
export const WAIT_EXIT = { promoted: 0, failed: 1, usage: 2, timeout: 3 } as const;

export interface PollPolicy {
  /** The first interval, and the interval again once something changed. */
  initialMs: number;
  maxMs: number;
  /** The interval grows by this factor for every poll that found nothing new (and every failed read). */
  factor: number;
  /**
   * How long `canary wait <id>` looks for a rollout that has no record before calling the id unknown: a
   * `canary start` just made reaches the controller through EventBridge, which delivers it moments later.
   */
  unknownAfterMs: number;
}

/** Against AWS: two reads every 2 s while the rollout moves, every 20 s at most while it bakes. */
export const AWS_POLL: PollPolicy = { initialMs: 2_000, maxMs: 20_000, factor: 1.5, unknownAfterMs: 60_000 };
/** Against the sandbox on loopback, whose time runs compressed; it runs start-rollout as the request arrives. */
export const SANDBOX_POLL: PollPolicy = { initialMs: 100, maxMs: 1_000, factor: 1.5, unknownAfterMs: 0 };

/**
 * History entries can be written with a time a little before others already read (two writers, clocks apart):
 * each read starts this much before the newest entry seen, and entries already printed are skipped.
 */
const LATE_WRITE_MARGIN_MS = 60_000;

/** Errors that asking again does not fix: the wait ends (exit 1) instead of retrying until its timeout. */
const PERMANENT = new Set([
  'AccessDenied',
  'ResourceNotFoundException',
  'ValidationException',
  'UnrecognizedClientException',
  'InvalidSignatureException',
  'ExpiredToken',
  'ExpiredTokenException',
  'CredentialsProviderError',
]);

export interface WaitIo {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
  /** Wall-clock milliseconds (the timeout is real time, whatever the sandbox's time scale). */
  now: () => number;
  sleep: (ms: number) => Promise<void>;
}

export interface WaitOptions {
  json: boolean;
  timeoutMs?: number;
  poll: PollPolicy;
}

/** The backend's two read operations (the store through Operations, locally or in the sandbox). */
export interface WaitBackend {
  locate(request: DeployRequest): Promise<RequestState>;
  progress(rolloutId: string, since?: string): Promise<RolloutProgress>;
}

export type WaitTarget = { rolloutId: string } | { request: DeployRequest; rolloutId?: string };

/** `30s`, `10m`, `1h30m`, `500ms`, or a number of seconds; undefined when it is none of these or not positive. */
export function parseDuration(text: string): number | undefined {
  const t = text.trim();
  if (/^\d+(\.\d+)?$/.test(t)) {
    const ms = Number(t) * 1000;
    return ms > 0 ? ms : undefined;
  }
  const unit: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1 };
  const parts = [...t.matchAll(/(\d+(?:\.\d+)?)(ms|h|m|s)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== t) return undefined;
  const ms = parts.reduce((sum, p) => sum + Number(p[1]) * (unit[p[2] as string] ?? 0), 0);
  return ms > 0 && Number.isFinite(ms) ? ms : undefined;
}

function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const s = Math.round(ms / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = s % 60;
  return [h ? `${h}h` : '', m ? `${m}m` : '', rest || (!h && !m) ? `${rest}s` : ''].join('');
}

const safe = terminalSafe;
const json = (value: unknown) => `${toJson(value)}\n`;

function where(row: StatusRow): string {
  const parts = [row.status];
  if (row.step !== null) parts.push(`step ${row.step + 1}`);
  if (row.canaryPercent !== null) parts.push(`${row.canaryPercent}% on the canary`);
  if (row.waiting) parts.push(row.waiting === 'approval' ? 'waiting for approval' : 'baking');
  return parts.join(', ');
}

function isPermanent(error: unknown): boolean {
  if (error instanceof OperationError) return error.code !== 'unavailable';
  const name = (error as Error | undefined)?.name ?? '';
  return PERMANENT.has(name);
}

/** Follow a rollout (or the rollout a `canary start` request becomes) to its end; returns the exit code. */
export async function waitForRollout(
  backend: WaitBackend,
  target: WaitTarget,
  options: WaitOptions,
  io: WaitIo,
): Promise<number> {
  return new Follower(backend, target, options, io).run();
}

/** A poll's answer that asks for another read at once (a full page of history, or the final read). */
const AGAIN = Symbol('again');

/** One wait: what it has read and printed so far, and how often it reads. */
class Follower {
  private readonly started: number;
  private readonly deadline: number;
  private readonly request: DeployRequest | undefined;
  private rolloutId: string | undefined;
  private announced: string | undefined;
  private note = '';
  private refusals = 0;
  private since: string | undefined;
  private readonly printed = new Set<string>();
  private last: RolloutProgress | undefined;
  private finalRead = false;
  private interval: number;
  private failures = 0;
  /** Whether this poll found something new. */
  private changed = false;

  constructor(
    private readonly backend: WaitBackend,
    target: WaitTarget,
    private readonly options: WaitOptions,
    private readonly io: WaitIo,
  ) {
    this.started = io.now();
    this.deadline =
      options.timeoutMs === undefined ? Number.POSITIVE_INFINITY : this.started + options.timeoutMs;
    this.request = 'request' in target ? target.request : undefined;
    this.rolloutId = this.request ? undefined : target.rolloutId;
    this.interval = options.poll.initialMs;
  }

  async run(): Promise<number> {
    for (;;) {
      this.changed = false;
      try {
        const result = await this.poll();
        if (result === AGAIN) continue;
        if (result !== undefined) return result;
        this.failures = 0;
      } catch (error) {
        const code = this.readFailed(error);
        if (code !== undefined) return code;
      }
      this.interval = nextInterval(this.interval, this.changed && this.failures === 0, this.options.poll);
      const now = this.io.now();
      if (now >= this.deadline) return this.timedOut(now);
      await this.io.sleep(Math.min(this.interval, this.deadline - now));
    }
  }

  /** One round of reads: the request until it has a rollout, then the rollout; an exit code once it ended. */
  private async poll(): Promise<number | typeof AGAIN | undefined> {
    if (!this.rolloutId && this.request) {
      const code = await this.locate(this.request);
      if (code !== undefined) return code;
    }
    const rolloutId = this.rolloutId;
    if (!rolloutId) return undefined;
    const progress = await this.backend.progress(rolloutId, this.since);
    this.last = progress;
    this.announce(rolloutId, progress);
    this.printHistory(rolloutId, progress.entries);
    const from = this.since;
    this.since = nextSince(this.since, progress.entries);
    if (!progress.result) return undefined;
    // A full page: more history to print before the outcome.
    if (progress.entries.length >= PROGRESS_PAGE && this.since !== from) return AGAIN;
    // The record turns final just before its last history entry is written: read once more for it.
    if (!this.finalRead) {
      this.finalRead = true;
      await this.io.sleep(this.options.poll.initialMs);
      return AGAIN;
    }
    return this.ended(rolloutId, progress.rollout, progress.result);
  }

  /** Where the request stands; an exit code once it is refused for good. */
  private async locate(request: DeployRequest): Promise<number | undefined> {
    const state = await this.backend.locate(request);
    if (state.state === 'rollout') {
      this.rolloutId = state.rolloutId;
      this.refusals = 0;
    } else if (state.state === 'refused') {
      // Seen twice, a poll apart: a push caught between its two writes reads as refused for an instant.
      if (++this.refusals >= 2)
        return this.finish(WAIT_EXIT.failed, 'refused', `Refused: ${safe(state.message)}`, {
          reason: state.message,
        });
    } else {
      this.refusals = 0;
      if (state.message !== this.note) {
        this.note = state.message;
        this.changed = true;
        this.out(`Waiting: ${safe(this.note)}`, {
          type: 'request',
          state: state.state,
          rolloutId: state.rolloutId,
          message: this.note,
        });
      }
    }
    return undefined;
  }

  private announce(rolloutId: string, progress: RolloutProgress): void {
    if (this.announced === rolloutId) return;
    this.announced = rolloutId;
    this.changed = true;
    this.out(
      `Following ${rolloutId} (${safe(progress.rollout.image)} on ${safe(progress.rollout.service)})`,
      {
        type: 'rollout',
        rolloutId,
        service: progress.rollout.service,
        image: progress.rollout.image,
      },
    );
  }

  /** The history entries not printed yet. */
  private printHistory(rolloutId: string, entries: RolloutProgress['entries']): void {
    for (const entry of entries) {
      const type = storedTypeOf(entry);
      const key = `${entry.at}\u0000${type}\u0000${entry.message}`;
      if (this.printed.has(key)) continue;
      this.printed.add(key);
      this.changed = true;
      this.out(`${entry.at.replace('T', ' ').slice(0, 19)}  ${safe(type).padEnd(9)} ${safe(entry.message)}`, {
        type: 'history',
        rolloutId,
        at: entry.at,
        event: type,
        message: entry.message,
        ...('detail' in entry && entry.detail ? { detail: entry.detail } : {}),
      });
    }
  }

  /** The outcome of an ended rollout, as its exit code. */
  private ended(
    rolloutId: string,
    rollout: StatusRow,
    result: NonNullable<RolloutProgress['result']>,
  ): number {
    const reason = rollout.outcome ?? '';
    if (result === 'promoted')
      return this.finish(WAIT_EXIT.promoted, 'promoted', `Promoted: ${safe(rollout.image)} (${rolloutId})`);
    return this.finish(
      WAIT_EXIT.failed,
      result,
      result === 'rolledBack'
        ? `Rolled back: ${safe(reason)} (${rolloutId})`
        : `Rollback failed: ${safe(reason)} (${rolloutId}): traffic needs a person`,
      { reason },
    );
  }

  /** A read that failed: waited out (an id not known yet), retried (it may pass), or the end (exit code). */
  private readFailed(error: unknown): number | undefined {
    const { io, options } = this;
    const message = error instanceof Error ? `${error.message}` : String(error);
    const unknown =
      error instanceof OperationError && error.code === 'not-found' && !this.last && !this.request;
    if (unknown && io.now() - this.started >= options.poll.unknownAfterMs)
      return this.finish(WAIT_EXIT.usage, 'unknown', `canary: ${safe(message)}`, { error: message });
    if (unknown) {
      if (this.note !== message) {
        this.note = message;
        this.out(`Waiting: ${safe(message)} yet`, {
          type: 'request',
          state: 'requested',
          rolloutId: this.rolloutId,
          message,
        });
      }
      return undefined;
    }
    if (isPermanent(error))
      return this.finish(WAIT_EXIT.failed, 'error', `canary: cannot follow the rollout: ${safe(message)}`, {
        error: message,
      });
    this.failures++;
    const retryIn = Math.min(
      nextInterval(this.interval, false, options.poll),
      Math.max(0, this.deadline - io.now()),
    );
    io.stderr(
      options.json
        ? json({ type: 'retry', error: message, failures: this.failures, retryInMs: Math.round(retryIn) })
        : `canary: reading the rollout failed (${safe(message)}); retrying in ${formatDuration(retryIn)}\n`,
    );
    return undefined;
  }

  private timedOut(now: number): number {
    const { last, rolloutId } = this;
    const state =
      last && rolloutId ? `${rolloutId} is ${where(last.rollout)}` : this.note || 'nothing read yet';
    return this.finish(
      WAIT_EXIT.timeout,
      'timeout',
      `Timed out after ${formatDuration(this.options.timeoutMs ?? now - this.started)}: ${safe(state)}; the rollout goes on (follow it again with \`canary wait ${rolloutId ?? '<rollout-id>'}\`)`,
    );
  }

  private out(text: string, value: Record<string, unknown>): void {
    this.io.stdout(this.options.json ? json(value) : `${text}\n`);
  }

  private finish(code: number, outcome: string, text: string, extra: Record<string, unknown> = {}): number {
    if (!this.options.json) {
      // In text, an error is for stderr; in JSON the result is always the last line of stdout.
      (outcome === 'unknown' || outcome === 'error' ? this.io.stderr : this.io.stdout)(`${text}\n`);
      return code;
    }
    this.io.stdout(
      json({
        type: 'result',
        outcome,
        exitCode: code,
        ...(this.rolloutId ? { rolloutId: this.rolloutId } : {}),
        ...(this.last ? { rollout: this.last.rollout } : {}),
        waitedMs: Math.round(this.io.now() - this.started),
        ...extra,
      }),
    );
    return code;
  }
}

function nextInterval(current: number, changed: boolean, poll: PollPolicy): number {
  return changed ? poll.initialMs : Math.min(poll.maxMs, current * poll.factor);
}

/**
 * Where the next page starts: a full page continues from its last entry; otherwise a margin before the newest
 * entry seen, for entries written late. Never moves back, so a long history is read forward page by page.
 */
function nextSince(since: string | undefined, entries: RolloutProgress['entries']): string | undefined {
  const newest = entries.reduce<string | undefined>(
    (max, e) => (max === undefined || e.at > max ? e.at : max),
    undefined,
  );
  if (newest === undefined) return since;
  const lastAt = entries[entries.length - 1]?.at ?? newest;
  const candidate =
    entries.length >= PROGRESS_PAGE
      ? lastAt
      : new Date(Math.max(0, Date.parse(newest) - LATE_WRITE_MARGIN_MS)).toISOString();
  return since === undefined || candidate > since ? candidate : since;
}
