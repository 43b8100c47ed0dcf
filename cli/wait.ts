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
  const started = io.now();
  const deadline = options.timeoutMs === undefined ? Number.POSITIVE_INFINITY : started + options.timeoutMs;
  const request = 'request' in target ? target.request : undefined;
  let rolloutId = request ? undefined : target.rolloutId;
  let announced: string | undefined;
  let note = '';
  let refusals = 0;
  let since: string | undefined;
  const printed = new Set<string>();
  let last: RolloutProgress | undefined;
  let finalRead = false;
  let interval = options.poll.initialMs;
  let failures = 0;

  const out = (text: string, value: Record<string, unknown>) =>
    io.stdout(options.json ? json(value) : `${text}\n`);
  const finish = (
    code: number,
    outcome: string,
    text: string,
    extra: Record<string, unknown> = {},
  ): number => {
    if (!options.json) {
      // In text, an error is for stderr; in JSON the result is always the last line of stdout.
      (outcome === 'unknown' || outcome === 'error' ? io.stderr : io.stdout)(`${text}\n`);
      return code;
    }
    io.stdout(
      json({
        type: 'result',
        outcome,
        exitCode: code,
        ...(rolloutId ? { rolloutId } : {}),
        ...(last ? { rollout: last.rollout } : {}),
        waitedMs: Math.round(io.now() - started),
        ...extra,
      }),
    );
    return code;
  };

  for (;;) {
    let changed = false;
    try {
      if (!rolloutId && request) {
        const state = await backend.locate(request);
        if (state.state === 'rollout') {
          rolloutId = state.rolloutId;
          refusals = 0;
        } else if (state.state === 'refused') {
          // Seen twice, a poll apart: a push caught between its two writes reads as refused for an instant.
          if (++refusals >= 2)
            return finish(WAIT_EXIT.failed, 'refused', `Refused: ${safe(state.message)}`, {
              reason: state.message,
            });
        } else {
          refusals = 0;
          if (state.message !== note) {
            note = state.message;
            changed = true;
            out(`Waiting: ${safe(note)}`, {
              type: 'request',
              state: state.state,
              rolloutId: state.rolloutId,
              message: note,
            });
          }
        }
      }
      if (rolloutId) {
        const progress = await backend.progress(rolloutId, since);
        last = progress;
        if (announced !== rolloutId) {
          announced = rolloutId;
          changed = true;
          out(
            `Following ${rolloutId} (${safe(progress.rollout.image)} on ${safe(progress.rollout.service)})`,
            {
              type: 'rollout',
              rolloutId,
              service: progress.rollout.service,
              image: progress.rollout.image,
            },
          );
        }
        for (const entry of progress.entries) {
          const type = storedTypeOf(entry);
          const key = `${entry.at}\u0000${type}\u0000${entry.message}`;
          if (printed.has(key)) continue;
          printed.add(key);
          changed = true;
          out(`${entry.at.replace('T', ' ').slice(0, 19)}  ${safe(type).padEnd(9)} ${safe(entry.message)}`, {
            type: 'history',
            rolloutId,
            at: entry.at,
            event: type,
            message: entry.message,
            ...('detail' in entry && entry.detail ? { detail: entry.detail } : {}),
          });
        }
        const from = since;
        since = nextSince(since, progress.entries);
        if (progress.result) {
          // A full page: more history to print before the outcome.
          if (progress.entries.length >= PROGRESS_PAGE && since !== from) continue;
          // The record turns final just before its last history entry is written: read once more for it.
          if (!finalRead) {
            finalRead = true;
            await io.sleep(options.poll.initialMs);
            continue;
          }
          const reason = progress.rollout.outcome ?? '';
          if (progress.result === 'promoted')
            return finish(
              WAIT_EXIT.promoted,
              'promoted',
              `Promoted: ${safe(progress.rollout.image)} (${rolloutId})`,
            );
          return finish(
            WAIT_EXIT.failed,
            progress.result,
            progress.result === 'rolledBack'
              ? `Rolled back: ${safe(reason)} (${rolloutId})`
              : `Rollback failed: ${safe(reason)} (${rolloutId}): traffic needs a person`,
            { reason },
          );
        }
      }
      failures = 0;
    } catch (error) {
      const message = error instanceof Error ? `${error.message}` : String(error);
      const unknown = error instanceof OperationError && error.code === 'not-found' && !last && !request;
      if (unknown && io.now() - started >= options.poll.unknownAfterMs)
        return finish(WAIT_EXIT.usage, 'unknown', `canary: ${safe(message)}`, { error: message });
      if (unknown) {
        if (note !== message) {
          note = message;
          out(`Waiting: ${safe(message)} yet`, { type: 'request', state: 'requested', rolloutId, message });
        }
      } else if (isPermanent(error))
        return finish(WAIT_EXIT.failed, 'error', `canary: cannot follow the rollout: ${safe(message)}`, {
          error: message,
        });
      else {
        failures++;
        const retryIn = Math.min(
          nextInterval(interval, false, options.poll),
          Math.max(0, deadline - io.now()),
        );
        io.stderr(
          options.json
            ? json({ type: 'retry', error: message, failures, retryInMs: Math.round(retryIn) })
            : `canary: reading the rollout failed (${safe(message)}); retrying in ${formatDuration(retryIn)}\n`,
        );
      }
    }
    interval = nextInterval(interval, changed && failures === 0, options.poll);
    const now = io.now();
    if (now >= deadline) {
      const state = last && rolloutId ? `${rolloutId} is ${where(last.rollout)}` : note || 'nothing read yet';
      return finish(
        WAIT_EXIT.timeout,
        'timeout',
        `Timed out after ${formatDuration(options.timeoutMs ?? now - started)}: ${safe(state)}; the rollout goes on (follow it again with \`canary wait ${rolloutId ?? '<rollout-id>'}\`)`,
      );
    }
    await io.sleep(Math.min(interval, deadline - now));
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
