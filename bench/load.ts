/**
 * `npm run bench -- load [--runs N] [--json]`: the alarm scenario over real HTTP at 600 and at 1,000 requests per
 * second, side by side in one process: proxy throughput and latency, and the time from the alarm event to the
 * proxy serving 100% stable. Medians over the runs; the ratio between the loads is the figure to read.
 */
import { runRollouts, SCENARIOS } from '../sandbox/run';

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

export async function loadBench(args: string[]): Promise<void> {
  const json = args.includes('--json');
  const i = args.indexOf('--runs');
  const runs = i >= 0 ? Number(args[i + 1]) : 3;
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs takes a whole number, got ${args[i + 1]}`);
  const loads = [600, 1000];
  const figures: Record<
    number,
    { throughput: number[]; alarmToStableMs: number[]; outcome: string[]; p99: number[] }
  > = {};
  for (let run = 0; run < runs; run++) {
    // Alternate the order so drift on a shared machine hits both loads alike.
    for (const rps of run % 2 ? [...loads].reverse() : loads) {
      const { traces, world, wallMs } = await runRollouts({
        scale: 30,
        rps,
        traffic: 'http',
        seed: 42 + run,
        versions: SCENARIOS.alarm?.versions ?? [],
      });
      const served = [...world.traffic.served.byTargetGroup.values()].reduce((a, c) => a + c.requests, 0);
      figures[rps] ??= { throughput: [], alarmToStableMs: [], outcome: [], p99: [] };
      const f = figures[rps];
      f.throughput.push(served / (wallMs / 1000));
      const summary = traces[0]?.summary;
      if (summary?.alarmToStableMs !== null && summary?.alarmToStableMs !== undefined)
        f.alarmToStableMs.push(summary.alarmToStableMs);
      f.outcome.push(summary?.outcome ?? 'none');
      const p99s = traces[0]?.stable.map((r) => r.p99Ms).filter((x): x is number => x !== null) ?? [];
      if (p99s.length) f.p99.push(median(p99s));
    }
  }
  const rows = loads.map((rps) => {
    const f = figures[rps] ?? { throughput: [], alarmToStableMs: [], outcome: [], p99: [] };
    return {
      rps,
      runs,
      medianThroughputRps: Math.round(median(f.throughput)),
      medianAlarmToStableMs: f.alarmToStableMs.length ? median(f.alarmToStableMs) : null,
      medianStableP99Ms: f.p99.length ? Math.round(median(f.p99) * 10) / 10 : null,
      outcomes: f.outcome,
    };
  });
  const low = rows[0];
  const high = rows[1];
  const ratio =
    low?.medianAlarmToStableMs && high?.medianAlarmToStableMs
      ? Math.round((high.medianAlarmToStableMs / low.medianAlarmToStableMs) * 100) / 100
      : null;
  if (json) {
    process.stdout.write(`${JSON.stringify({ loads: rows, alarmToStableRatio1000vs600: ratio })}\n`);
    return;
  }
  process.stdout.write(
    [
      `Load: the alarm scenario over HTTP on loopback, ${runs} run(s) per load, medians`,
      '',
      'offered rps  served rps  alarm→stable  stable p99  outcomes',
      ...rows.map(
        (r) =>
          `${String(r.rps).padStart(11)}  ${String(r.medianThroughputRps).padStart(10)}  ${(r.medianAlarmToStableMs === null ? '-' : `${r.medianAlarmToStableMs} ms`).padStart(12)}  ${(r.medianStableP99Ms === null ? '-' : `${r.medianStableP99Ms} ms`).padStart(10)}  ${r.outcomes.join(',')}`,
      ),
      '',
      `alarm→stable at 1,000 rps / at 600 rps: ${ratio ?? 'n/a'}`,
      '',
    ].join('\n'),
  );
}
