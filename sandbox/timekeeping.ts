/**
 * Whether the sandbox keeps the time it compresses. At ×30 a minute of a rollout is two real seconds: on a busy
 * machine timers fire late and the traffic generator sends fewer requests than planned, so the rollout's bakes see
 * thinner minutes and its waits run longer than the plan says, something AWS never does to a real rollout. The
 * outcome of such a run says nothing about the versions: the sandbox measures how far it falls behind and calls the
 * run invalid past the limits, instead of reporting that outcome as if it were real.
 *
 * Two measures, both in the plan's terms:
 * - lag: how late a timer meant to fire every `probeMs` (real) fires, in rollout time (late by 100 ms real at ×30
 *   is 3 s of the rollout with no request sent, no alarm evaluated, no wait ended);
 * - request share: the requests sent over each window of rollout time (one metric period) against the planned rate
 *   over the real time that window took.
 */

export interface TimeKeepingLimits {
  /** The latest a timer may fire, in rollout ms. */
  maxLagMs: number;
  /** The least share of the planned requests each window must send (0–1). */
  minRequestShare: number;
  /** The window the request share is measured over, in rollout ms. */
  windowMs: number;
}

/**
 * Defaults: a timer may be late by at most half a minute of rollout time (1 s real at ×30: a longer stall leaves
 * the minute it falls in, what one analysis period judges, with most of its requests missing or sent in one burst),
 * and each minute of rollout time must carry at least half the planned requests.
 */
export const DEFAULT_TIME_KEEPING: TimeKeepingLimits = {
  maxLagMs: 30_000,
  minRequestShare: 0.5,
  windowMs: 60_000,
};

/** Real ms between the probe's timer firings. */
export const PROBE_MS = 50;

/** The first way the sandbox fell behind its plan, with where (rollout ms since the keeper started). */
export type Shortfall =
  | { kind: 'lag'; atMs: number; lagMs: number; realLagMs: number }
  | { kind: 'requests'; atMs: number; share: number; sent: number; planned: number };

export interface TimeKeepingReport {
  valid: boolean;
  scale: number;
  /** The latest any probe timer fired, in rollout ms. */
  worstLagMs: number;
  /** The lowest request share of a whole window (null: no whole window yet). */
  lowestRequestShare: number | null;
  /** Requests sent over planned, over the whole run so far (null: nothing planned yet). */
  requestShare: number | null;
  shortfall?: Shortfall;
  /** A scale this machine would likely keep, when the run fell behind. */
  suggestedScale?: number;
}

/**
 * Fed by a real timer (`observe` at each firing, with the real time and the requests sent so far); pure otherwise,
 * so tests inject both.
 */
export class TimeKeeper {
  private startReal: number | undefined;
  private lastReal = 0;
  private lastSent = 0;
  private windowStartReal = 0;
  private windowStartSent = 0;
  /** Real ms and requests sent while watching, for the run's overall share. */
  private watchedReal = 0;
  private watchedSent = 0;
  private watching = true;
  private rebase = false;
  private worstLagMs = 0;
  private lowestShare: number | null = null;
  private shortfall: Shortfall | undefined;
  private readonly listeners: ((shortfall: Shortfall) => void)[] = [];

  constructor(
    readonly scale: number,
    /** Planned requests per real second. */
    readonly rps: number,
    readonly limits: TimeKeepingLimits = DEFAULT_TIME_KEEPING,
    readonly probeMs = PROBE_MS,
  ) {}

  /**
   * Stops judging until `resume`: the time between rollouts decides nothing (the probe still runs, its firings are
   * not held against the plan).
   */
  pause(): void {
    this.watching = false;
  }

  /** Judges again from the next firing, with a fresh window. */
  resume(): void {
    if (this.watching) return;
    this.watching = true;
    this.rebase = true;
  }

  /** One firing of the probe timer at real time `nowRealMs`, with `sent` requests sent since the data plane began. */
  observe(nowRealMs: number, sent: number): void {
    if (this.startReal === undefined || !this.watching || this.rebase) {
      this.startReal ??= nowRealMs;
      this.lastReal = this.windowStartReal = nowRealMs;
      this.lastSent = this.windowStartSent = sent;
      this.rebase = false;
      return;
    }
    const atMs = (nowRealMs - this.startReal) * this.scale;
    const realLagMs = Math.max(0, nowRealMs - this.lastReal - this.probeMs);
    const lagMs = realLagMs * this.scale;
    this.watchedReal += nowRealMs - this.lastReal;
    this.watchedSent += sent - this.lastSent;
    this.lastReal = nowRealMs;
    this.lastSent = sent;
    this.worstLagMs = Math.max(this.worstLagMs, lagMs);
    if (lagMs > this.limits.maxLagMs) this.fallBehind({ kind: 'lag', atMs, lagMs, realLagMs });
    const windowReal = nowRealMs - this.windowStartReal;
    if (windowReal * this.scale >= this.limits.windowMs) {
      const planned = (this.rps * windowReal) / 1000;
      const windowSent = sent - this.windowStartSent;
      const share = windowSent / planned;
      this.lowestShare = Math.min(this.lowestShare ?? share, share);
      if (share < this.limits.minRequestShare)
        this.fallBehind({ kind: 'requests', atMs, share, sent: windowSent, planned: Math.round(planned) });
      this.windowStartReal = nowRealMs;
      this.windowStartSent = sent;
    }
  }

  private fallBehind(shortfall: Shortfall): void {
    if (this.shortfall) return;
    this.shortfall = shortfall;
    for (const listener of this.listeners) listener(shortfall);
  }

  /** Called once, with the first shortfall (at once if the keeper has already fallen behind). */
  onShortfall(listener: (shortfall: Shortfall) => void): void {
    if (this.shortfall) listener(this.shortfall);
    else this.listeners.push(listener);
  }

  report(): TimeKeepingReport {
    const planned = (this.rps * this.watchedReal) / 1000;
    const report: TimeKeepingReport = {
      valid: this.shortfall === undefined,
      scale: this.scale,
      worstLagMs: Math.round(this.worstLagMs),
      lowestRequestShare: this.lowestShare === null ? null : round2(this.lowestShare),
      requestShare: planned > 0 ? round2(this.watchedSent / planned) : null,
    };
    if (!this.shortfall) return report;
    // The scale at which the worst lag and the lowest share seen would have stayed inside the limits, halved: a busy
    // machine's capacity moves with what else runs, and the same rate at a lower scale is sent no faster when the
    // requests in flight are what holds it back.
    const byLag = this.worstLagMs > 0 ? this.limits.maxLagMs / this.worstLagMs : 1;
    const byShare = this.lowestShare === null ? 1 : this.lowestShare / this.limits.minRequestShare;
    const factor = Math.min(1, byLag, byShare) * 0.5;
    return {
      ...report,
      shortfall: this.shortfall,
      suggestedScale: Math.max(1, Math.floor(this.scale * factor)),
    };
  }
}

const round2 = (x: number) => Math.round(x * 100) / 100;
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** One paragraph saying why a run is invalid, naming the lag or the missing requests and what to do. */
export function describeShortfall(report: TimeKeepingReport): string {
  const s = report.shortfall;
  if (!s) return `the sandbox kept its time (×${report.scale})`;
  const when = `${seconds(s.atMs)} into the run`;
  const what =
    s.kind === 'lag'
      ? `a timer fired ${seconds(s.lagMs)} of rollout time late (${Math.round(s.realLagMs)} ms real at ×${report.scale}) ${when}`
      : `a minute of rollout time carried ${Math.round(s.share * 100)}% of the planned requests (${s.sent} of ${s.planned}) ${when}`;
  return (
    `run invalid: this machine could not keep the sandbox's time: ${what}. ` +
    'The rollouts saw thinner minutes and later timers than their plan, so their outcomes are not evidence. ' +
    `Rerun on a quieter machine or with a lower time scale (--scale ${report.suggestedScale ?? 1}).`
  );
}
