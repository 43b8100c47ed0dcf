/**
 * `npm run bench -- faults [--schedules N] [--seed S] [--kinds a,b] [--strategy blueGreen] [--json]`: the real
 * workflow under generated fault schedules (10,000 by default; `--strategy blueGreen`: on a blue/green plan). Schedule i is derived from seed S + i alone and its outcome does not depend
 * on timing, so two runs with the same seed give the same result, busy machine or not. Prints the count of each
 * fault kind injected and of each outcome, the invariants broken, and for each fault kind found in a broken
 * schedule the smallest such schedule with its seed (`--seed <that seed> --schedules 1` runs it alone).
 */
import { type Exclusion, scheduleFor } from '../sandbox/fault-schedules';
import {
  ALL_FAULT_KINDS,
  FAULT_KINDS,
  type FaultKind,
  type Outcome,
  runSchedule,
  type Schedule,
} from '../sandbox/faults';

const DEFAULT_SEED = 20261123;

/** The invariant a violation message breaks (the checks of sandbox/faults.ts checkInvariants). */
function invariantOf(message: string): string {
  const rules: [RegExp, string][] = [
    [
      /^did not settle|still running|lock still held|ended (running|rollingBack|promoting)|dead letters/,
      'settles',
    ],
    [
      /traffic not 100%|weights not applied|canary still running|stable runs/,
      'listener ends 100% on one version',
    ],
    [/scaled down with weight/, 'nothing scaled down while it has weight'],
    [/two executions weight/, 'one execution weights a listener'],
    [/newest|older image/, 'the newest healthy image ends on stable'],
    [/rolled out \d+ times/, 'one event, at most one rollout'],
    [/paged|paging|dedup_key/, 'a failed rollout pages once, a promotion never'],
    [/quarantined/, 'no healthy image quarantined'],
  ];
  return rules.find(([re]) => re.test(message))?.[1] ?? 'other';
}

/**
 * The smallest schedule that still breaks an invariant: drop each fault in turn and keep it dropped while the
 * violations remain (the outcome does not depend on timing, so a rerun is a faithful check).
 */
async function shrink(schedule: Schedule): Promise<{ schedule: Schedule; violations: string[] }> {
  let current = schedule;
  let violations = (await runSchedule(current)).violations;
  for (let i = current.faults.length - 1; i >= 0; i--) {
    const candidate = { ...current, faults: current.faults.filter((_, k) => k !== i) };
    const r = await runSchedule(candidate);
    if (r.violations.length > 0) {
      current = candidate;
      violations = r.violations;
    }
  }
  return { schedule: current, violations };
}

export interface CampaignResult {
  seed: number;
  schedules: number;
  violations: number;
  outcomes: Record<Outcome, number>;
  faults: Record<FaultKind, number>;
  deadLettersRedriven: number;
  invariants: Record<string, number>;
  /**
   * For each fault kind left in a broken schedule once shrunk (the faults it needs to break): how many schedules,
   * and the smallest, with the seed it came from.
   */
  byKind: Record<string, { schedules: number; seed: number; schedule: Schedule; violations: string[] }>;
}

export async function runCampaign(
  seed: number,
  total: number,
  kinds: readonly FaultKind[] = FAULT_KINDS,
  progress?: (done: number) => void,
  exclusions: readonly Exclusion[] = [],
  /** The plan of every schedule: the canary's three steps (absent), or blue/green's test step and window. */
  strategy?: Schedule['strategy'],
  /** The service's traffic: a listener (default), or weighted records (`route53`). */
  route?: Schedule['route'],
): Promise<CampaignResult> {
  const outcomes: Record<Outcome, number> = { promoted: 0, rolledBack: 0, stuck: 0 };
  const faults = Object.fromEntries(ALL_FAULT_KINDS.map((k) => [k, 0])) as Record<FaultKind, number>;
  const invariants: Record<string, number> = {};
  const byKind: CampaignResult['byKind'] = {};
  let violations = 0;
  let deadLetters = 0;
  const batch = 25;
  for (let from = 0; from < total; from += batch) {
    const seeds = Array.from({ length: Math.min(batch, total - from) }, (_, k) => seed + from + k);
    const schedules = seeds.map((s) => ({
      ...scheduleFor(s, kinds, exclusions),
      ...(strategy ? { strategy } : {}),
      ...(route ? { route } : {}),
    }));
    const results = await Promise.all(schedules.map((s) => runSchedule(s)));
    const shrunk = await Promise.all(
      results.map((r, k) => (r.violations.length > 0 ? shrink(schedules[k] as Schedule) : undefined)),
    );
    results.forEach((r, k) => {
      const schedule = schedules[k] as Schedule;
      outcomes[r.outcome]++;
      deadLetters += r.deadLetters;
      for (const kind of ALL_FAULT_KINDS) faults[kind] += r.injected[kind];
      if (r.violations.length === 0) return;
      violations++;
      for (const name of new Set(r.violations.map(invariantOf)))
        invariants[name] = (invariants[name] ?? 0) + 1;
      const minimal = shrunk[k] ?? { schedule, violations: r.violations };
      const present = new Set(minimal.schedule.faults.map((f) => f.kind));
      for (const kind of present.size > 0 ? present : ['(none)']) {
        const seen = byKind[kind];
        const entry = { seed: seeds[k] as number, ...minimal };
        if (!seen) byKind[kind] = { schedules: 1, ...entry };
        else {
          seen.schedules++;
          if (schedule.faults.length < seen.schedule.faults.length) Object.assign(seen, entry);
        }
      }
    });
    progress?.(from + seeds.length);
  }
  return {
    seed,
    schedules: total,
    violations,
    outcomes,
    faults,
    deadLettersRedriven: deadLetters,
    invariants,
    byKind,
  };
}

function option(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

export async function faultsBench(args: string[]): Promise<void> {
  const json = args.includes('--json');
  const total = Number(option(args, '--schedules') ?? 10_000);
  if (!Number.isInteger(total) || total < 1)
    throw new Error(`--schedules takes a whole number, got ${option(args, '--schedules')}`);
  const seed = Number(option(args, '--seed') ?? DEFAULT_SEED);
  if (!Number.isInteger(seed)) throw new Error(`--seed takes a whole number, got ${option(args, '--seed')}`);
  const kindList = option(args, '--kinds');
  const kinds = kindList ? (kindList.split(',') as FaultKind[]) : FAULT_KINDS;
  const unknown = kinds.filter((k) => !(FAULT_KINDS as readonly string[]).includes(k));
  if (unknown.length > 0)
    throw new Error(`--kinds: unknown fault kind(s) ${unknown.join(', ')}; known: ${FAULT_KINDS.join(', ')}`);
  const strategy = option(args, '--strategy');
  if (strategy !== undefined && strategy !== 'blueGreen')
    throw new Error(`--strategy takes blueGreen (the canary's plan is the default), got ${strategy}`);
  const one = option(args, '--schedule');
  if (one) {
    const r = await runSchedule(JSON.parse(one) as Schedule);
    process.stdout.write(
      `${JSON.stringify({ outcome: r.outcome, stable: r.stable, violations: r.violations })}\n`,
    );
    if (r.violations.length > 0) process.exitCode = 1;
    return;
  }
  const started = performance.now();
  const result = await runCampaign(
    seed,
    total,
    kinds,
    (done) => {
      if (!json) process.stderr.write(`  ${done}/${total} schedules\r`);
    },
    [],
    strategy,
  );
  const seconds = (performance.now() - started) / 1000;
  if (json) {
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } else {
    const lines = [
      `Fault injection over the real workflow: ${total} schedules in ${seconds.toFixed(1)} s (seed ${seed}${strategy ? `, ${strategy}` : ''})`,
      '',
      'fault kind                 injected',
      ...FAULT_KINDS.map((k) => `${k.padEnd(24)} ${String(result.faults[k]).padStart(9)}`),
      '',
      'outcome                    schedules',
      ...Object.entries(result.outcomes).map(([k, n]) => `${k.padEnd(24)} ${String(n).padStart(9)}`),
      `dead letters redriven    ${String(result.deadLettersRedriven).padStart(9)}`,
      '',
      `schedules breaking an invariant: ${result.violations}`,
      ...Object.entries(result.invariants).map(([k, n]) => `  ${k}: ${n}`),
      '',
      "by fault kind (smallest schedule, shrunk; run it with --schedule '<json>'):",
      ...Object.entries(result.byKind).map(
        ([k, b]) =>
          `  ${k}: ${b.schedules} schedule(s); seed ${b.seed}: ${JSON.stringify(b.schedule)}\n      ${b.violations.join('; ')}`,
      ),
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  }
  if (result.violations > 0) process.exitCode = 1;
}
