/**
 * `npm run bench -- faults [--schedules N] [--json]`: the real workflow under generated fault schedules
 * (10,000 by default), with the table of faults injected and outcomes, and every invariant violation found.
 */
import fc from 'fast-check';
import { faultSchedule } from '../sandbox/fault-schedules';
import { FAULT_KINDS, type FaultKind, runSchedule } from '../sandbox/faults';

export async function faultsBench(args: string[]): Promise<void> {
  const json = args.includes('--json');
  const i = args.indexOf('--schedules');
  const total = i >= 0 ? Number(args[i + 1]) : 10_000;
  if (!Number.isInteger(total) || total < 1)
    throw new Error(`--schedules takes a whole number, got ${args[i + 1]}`);
  const schedules = fc.sample(faultSchedule, { numRuns: total, seed: 20261123 });
  const outcomes = { promoted: 0, rolledBack: 0, stuck: 0 };
  const faults = Object.fromEntries(FAULT_KINDS.map((k) => [k, 0])) as Record<FaultKind, number>;
  const violations: { schedule: unknown; violations: string[] }[] = [];
  const started = performance.now();
  const batch = 50;
  for (let from = 0; from < schedules.length; from += batch) {
    const slice = schedules.slice(from, from + batch);
    const results = await Promise.all(slice.map((s) => runSchedule(s)));
    results.forEach((r, k) => {
      outcomes[r.outcome]++;
      for (const kind of FAULT_KINDS) faults[kind] += r.injected[kind];
      if (r.violations.length > 0) violations.push({ schedule: slice[k], violations: r.violations });
    });
    if (!json && (from / batch) % 20 === 0)
      process.stderr.write(`  ${from + slice.length}/${total} schedules\r`);
  }
  const seconds = (performance.now() - started) / 1000;
  if (json) {
    process.stdout.write(
      `${JSON.stringify({ schedules: total, violations: violations.length, outcomes: { promoted: outcomes.promoted, rolledBack: outcomes.rolledBack }, faults })}\n`,
    );
  } else {
    const lines = [
      `Fault injection over the real workflow: ${total} schedules in ${seconds.toFixed(1)} s (seed 20261123)`,
      '',
      'fault kind          injected',
      ...FAULT_KINDS.map((k) => `${k.padEnd(18)} ${String(faults[k]).padStart(9)}`),
      '',
      'outcome             schedules',
      `promoted           ${String(outcomes.promoted).padStart(10)}`,
      `rolled back        ${String(outcomes.rolledBack).padStart(10)}`,
      `stuck              ${String(outcomes.stuck).padStart(10)}`,
      '',
      `invariant violations: ${violations.length}`,
      ...violations.slice(0, 5).map((v) => `  ${JSON.stringify(v.schedule)}: ${v.violations.join('; ')}`),
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  }
  if (violations.length > 0 || outcomes.stuck > 0) process.exitCode = 1;
}
