/**
 * Runs rollouts in a local world one after another and measures what users got: the outcome and reason, the
 * verdict of each step, the server errors the canary served, and the time from an alarm to 100% stable.
 */
import type { ServiceConfigInput } from '../functions/core/config';
import type { HistoryEntry, StoredHistoryEntry } from '../functions/core/history';
import { imageLabel } from '../functions/core/rollout';
import { stepVerdicts } from '../functions/views/report-html';
import { demoAlarm, demoService, HEALTHY } from './demo';
import { type PauseAnswer, pauseOperator } from './pause-operator';
import { ROLLOUT_TIMEOUT_MS } from './scenarios';
import {
  describeShortfall,
  type Shortfall,
  type TimeKeepingLimits,
  type TimeKeepingReport,
} from './timekeeping';
import type { FaultProfile } from './versions';
import { World } from './world';

export { SCENARIOS } from './scenarios';

export interface StepSummary {
  weight: number;
  verdict: string;
}

export interface RolloutSummary {
  version: string;
  /** The image as imageLabel names it, and its service (the report's sentence names them). */
  image?: string;
  service?: string;
  rolloutId: string;
  outcome: 'promoted' | 'rolledBack';
  reason: string;
  steps: StepSummary[];
  failedRequestsServed: number;
  /** Public users' requests the canary served (internal users carry the header rule's header; hooks' are not counted). */
  userRequestsServed?: number;
  alarmToStableMs: number | null;
  wallMs: number;
}

export interface TimelinePoint {
  /** Rollout time, ms since the run started. */
  t: number;
  canaryPercent: number;
}

export interface RolloutTrace {
  summary: RolloutSummary;
  history: StoredHistoryEntry[];
  weights: TimelinePoint[];
  canary: { t: number; requests: number; errorRate: number | null; p99Ms: number | null }[];
  stable: { t: number; requests: number; errorRate: number | null; p99Ms: number | null }[];
  fromMs: number;
  toMs: number;
  /** The run's start in rollout time (epoch ms): history timestamps minus this give chart positions. */
  originMs: number;
}

export interface RunOptions {
  scale: number;
  rps: number;
  traffic: 'http' | 'synthetic';
  seed: number;
  versions: { tag: string; profile: FaultProfile }[];
  /** Overrides of the demo service's config (steps, approvals). */
  service?: Partial<ServiceConfigInput>;
  /** Real ms to wait for one rollout to finish (default: 90 minutes of rollout time, 180 s at ×30). */
  rolloutTimeoutMs?: number;
  /** How far the sandbox may fall behind its compressed time (default: sandbox/timekeeping.ts). */
  timeKeeping?: TimeKeepingLimits;
  /** Called once the world runs (the approval page and control endpoint are up). */
  onStarted?: (world: World) => void;
  /** Called with a line a person can follow. */
  progress?: (line: string) => void;
  /** How this run answers each pause on a failed analysis, in turn (sandbox/pause-operator.ts). */
  answerPauses?: readonly PauseAnswer[];
}

const pct = (x: number | null | undefined) =>
  x === null || x === undefined ? '   n/a' : `${(x * 100).toFixed(2).padStart(5)}%`;
const ms = (x: number | null | undefined) => (x === null || x === undefined ? 'n/a' : `${Math.round(x)}ms`);

/** A history entry as one progress line. */
function describeEntry(version: string, e: HistoryEntry): string {
  const tag = version.padEnd(4);
  if (e.type === 'analysis') {
    const d = e.detail;
    return `${tag}  ${e.message.padEnd(42)} canary ${pct(d.canary.errorRate)} err, p99 ${ms(d.canary.p99Ms).padStart(5)} (${d.canary.requests} req) | stable ${pct(d.baseline.errorRate)} err, p99 ${ms(d.baseline.p99Ms).padStart(5)}`;
  }
  return `${tag}  ${e.message}`;
}

export interface RunResult {
  /** The rollouts that ended while the sandbox kept its time. */
  traces: RolloutTrace[];
  wallMs: number;
  world: World;
  /**
   * Whether this machine kept the compressed time (timer lag, requests sent against the plan). Invalid: the run
   * stopped at the first shortfall, the rollout under way was stopped and is not in `traces`.
   */
  timekeeping: TimeKeepingReport;
}

export async function runRollouts(options: RunOptions): Promise<RunResult> {
  const say = options.progress ?? (() => undefined);
  const world = sandboxWorld(options, say);
  const runStart = performance.now();
  const virtualStart = world.clock.now().getTime();
  const { weights, applied } = watchWeights(world, virtualStart);
  const { canary: canaryTg } = world.servingTargetGroups();
  let current = '';
  // Once the sandbox has fallen behind, what the rollout does next is not its story: it is stopped, not told.
  let behind: Shortfall | undefined;
  const fellBehind = new Promise<Shortfall>((resolve) =>
    world.timekeeper.onShortfall((s) => {
      behind = s;
      resolve(s);
    }),
  );
  /** Real ms, or less if the sandbox falls behind meanwhile. */
  const sleep = (ms: number) => Promise.race([new Promise((r) => setTimeout(r, ms)), fellBehind]);
  const onPause = options.answerPauses ? pauseOperator(world, say, options.answerPauses) : undefined;
  world.store.on('history', (id: string, e: HistoryEntry) => {
    if (!behind) sayEntry(world, say, current, id, e);
    if (!behind) onPause?.(e);
  });

  await world.start();
  // Only the rollouts are held to the plan: the time around them decides nothing.
  world.timekeeper.pause();
  options.onStarted?.(world);
  const traces: RolloutTrace[] = [];
  const run: Run = { world, options, say, fellBehind, virtualStart, weights, applied, canaryTg };
  try {
    // Let the stable version take traffic for a while, as it has on AWS long before a rollout: the charts start with
    // a baseline, and the local CloudWatch has published whole minutes of it (60 s late) by the first set-weight,
    // which takes the latency thresholds from them.
    await sleep(world.clock.realMs(150_000));
    for (const { tag } of options.versions) {
      if (behind) break;
      current = tag;
      const trace = await rollOut(run, tag);
      if (!trace) break;
      traces.push(trace);
      // Let the alarm see the canary idle again before the next rollout.
      await sleep(world.clock.realMs(25_000));
    }
  } finally {
    await world.stop();
  }
  for (const t of traces) {
    for (const row of [...t.canary, ...t.stable]) row.t -= virtualStart;
  }
  const timekeeping = world.timekeeper.report();
  if (!timekeeping.valid) say(`      ⚠ ${describeShortfall(timekeeping)}`);
  return { traces, wallMs: Math.round(performance.now() - runStart), world, timekeeping };
}

/** The world the scenarios run in: the demo service and alarm, v1 stable, the scenario's versions to push. */
function sandboxWorld(options: RunOptions, say: (line: string) => void): World {
  return new World({
    scale: options.scale,
    rps: options.rps,
    traffic: options.traffic,
    seed: options.seed,
    services: [demoService(options.service)],
    stable: { tag: 'v1', profile: HEALTHY },
    images: options.versions,
    alarms: [demoAlarm()],
    ...(options.timeKeeping ? { timeKeeping: options.timeKeeping } : {}),
    onLog: (level, message, extra) => {
      if (level === 'error') say(`      ! ${message} ${JSON.stringify(extra ?? {})}`);
    },
  });
}

/** The canary's share over rollout time (for the charts), and each weight change the load balancer applied. */
function watchWeights(world: World, virtualStart: number) {
  const weights: TimelinePoint[] = [{ t: 0, canaryPercent: 0 }];
  /** `canary`: the canary's share once applied (0: all on stable). */
  const applied: { at: number; canary: number }[] = [];
  const onApplied = (at: number) => {
    const percent = world.appliedCanaryPercent() ?? 0;
    applied.push({ at, canary: percent });
    weights.push({ t: world.clock.now().getTime() - virtualStart, canaryPercent: percent });
  };
  world.lb.on('applied', (_listener: string, _state: unknown, at: number) => onApplied(at));
  // Weighted records: a change is answered once INSYNC (clients still follow it only as their caches expire).
  world.route53.on('applied', (_zone: string, at: number) => onApplied(at));
  return { weights, applied };
}

/** A history entry as progress lines; an approval wait says where to decide it. */
function sayEntry(
  world: World,
  say: (line: string) => void,
  version: string,
  id: string,
  e: HistoryEntry,
): void {
  say(describeEntry(version, e));
  if (e.type === 'approval') {
    const link = world.approvalLinks.get(id);
    say(`${''.padEnd(4)}  ⏸ waiting for a person. Approve or reject on the page:`);
    if (link) say(`        ${link}`);
    say(
      `      or from another terminal: npx canary approve web --sandbox   (reject: npx canary reject web --sandbox --reason "...")`,
    );
  }
}

/** What one rollout of a run needs: the world, and what the run watches in it. */
interface Run {
  world: World;
  options: RunOptions;
  say: (line: string) => void;
  fellBehind: Promise<Shortfall>;
  virtualStart: number;
  weights: TimelinePoint[];
  applied: { at: number; canary: number }[];
  canaryTg: string;
}

/** Push one version and follow its rollout to the end; undefined when the sandbox fell behind meanwhile. */
async function rollOut(run: Run, tag: string): Promise<RolloutTrace | undefined> {
  const { world, options, canaryTg, virtualStart } = run;
  const started = performance.now();
  const fromMs = world.clock.now().getTime();
  const publicBefore = world.traffic.served.publicSnapshot(canaryTg).requests;
  const servedBefore = world.traffic.served.snapshot(canaryTg).serverErrors;
  const alarmsBefore = world.alarms.firedAt.length;
  world.timekeeper.resume();
  const result = await world.push(tag);
  if (result.status !== 'started') throw new Error(`${tag} did not start: ${JSON.stringify(result)}`);
  const ended = world
    .waitFor(result.rolloutId, options.rolloutTimeoutMs ?? world.clock.realMs(ROLLOUT_TIMEOUT_MS))
    .then(() => 'ended' as const);
  if ((await Promise.race([ended, run.fellBehind])) !== 'ended') {
    ended.catch(() => undefined);
    await world.executions.stop(result.rolloutId);
    await world.executions.idle();
    return undefined;
  }
  await world.executions.idle();
  world.timekeeper.pause();
  const record = await world.store.getRollout(result.rolloutId);
  const history = await world.store.history(result.rolloutId);
  const toMs = world.clock.now().getTime();
  const alarm = world.alarms.firedAt[alarmsBefore];
  const stableAt = alarm ? run.applied.find((a) => a.at >= alarm.at && a.canary === 0)?.at : undefined;
  const reason = record?.outcome?.reason ?? 'unknown';
  const summary: RolloutSummary = {
    version: tag,
    ...(record ? { image: imageLabel(record.image), service: record.service } : {}),
    rolloutId: result.rolloutId,
    outcome: record?.status === 'promoted' ? 'promoted' : 'rolledBack',
    reason,
    steps: stepVerdicts(history, reason),
    failedRequestsServed: world.traffic.served.snapshot(canaryTg).serverErrors - servedBefore,
    userRequestsServed: world.traffic.served.publicSnapshot(canaryTg).requests - publicBefore,
    alarmToStableMs: alarm && stableAt !== undefined ? Math.round((stableAt - alarm.at) * 10) / 10 : null,
    wallMs: Math.round(performance.now() - started),
  };
  run.say(
    `${tag.padEnd(4)}  ${summary.outcome === 'promoted' ? '✔ promoted' : '✘ rolled back'} in ${(summary.wallMs / 1000).toFixed(1)}s` +
      `; ${summary.failedRequestsServed} failed requests served by the canary (${summary.userRequestsServed} public requests)` +
      (summary.alarmToStableMs !== null ? `; alarm → 100% stable in ${summary.alarmToStableMs} ms` : ''),
  );
  const { stable: stableTg } = world.servingTargetGroups();
  return {
    summary,
    history,
    weights: run.weights.filter((w) => w.t >= fromMs - virtualStart && w.t <= toMs - virtualStart),
    canary: world.recorder.timeline(canaryTg, fromMs, toMs),
    stable: world.recorder.timeline(stableTg, fromMs, toMs),
    fromMs: fromMs - virtualStart,
    toMs: toMs - virtualStart,
    originMs: virtualStart,
  };
}

/**
 * runRollouts, and once more if this machine could not keep the time scale: at the scale the first run suggests,
 * with the requests per second lowered alike, so every minute of rollout time carries the planned requests while
 * the machine has more real time for it. The result says which scale and rate it ran at, and whether it kept them.
 */
export async function runRolloutsKeepingTime(
  options: RunOptions,
  onRetry: (first: TimeKeepingReport, again: { scale: number; rps: number }) => void = () => undefined,
): Promise<RunResult & { scale: number; rps: number }> {
  const first = await runRollouts(options);
  const lower = first.timekeeping.suggestedScale;
  if (first.timekeeping.valid || lower === undefined || lower >= options.scale)
    return { ...first, scale: options.scale, rps: options.rps };
  const again = { scale: lower, rps: Math.max(1, Math.round((options.rps * lower) / options.scale)) };
  onRetry(first.timekeeping, again);
  return { ...(await runRollouts({ ...options, ...again })), ...again };
}
