/**
 * `npm start -- --scenario many`: 20 services' rollouts at once on one controller, one line per service saying how
 * it ended and what was its own (weights on its rule, pages, SNS messages, lock), and whether any of it was not.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { EXPECTED, runMany, type ServiceResult } from './many';
import { describeShortfall } from './timekeeping';

export const MANY_SCENARIO = 'many';
export const MANY_DESCRIPTION =
  '20 services behind one listener (a rule each) pushed at once: a third healthy (promoted), a third failing the judge, a third failing their alarm (rolled back); each one checked for interference';
/** Requests per second through the shared listener by default: 400 per service. */
export const MANY_RPS = 8000;

/** What is wrong with one service's result: not its expected outcome, or anything of another service. */
export function interference(r: ServiceResult): string[] {
  const expected = EXPECTED[r.behaviour];
  const out: string[] = [];
  if (r.outcome !== expected.outcome || r.error !== expected.error)
    out.push(`ended ${r.outcome} (${r.error ?? 'no error'}), expected ${expected.outcome}`);
  if (r.foreignTargetGroups.length > 0) out.push(`its rule carried ${r.foreignTargetGroups.join(', ')}`);
  if (r.othersNamed.length > 0) out.push(`its notifications name ${r.othersNamed.join(', ')}`);
  if (r.records.some((x) => x.service !== r.service || x.rolloutId !== r.rolloutId))
    out.push('records of another rollout');
  if (r.lockHeld) out.push('its lock is still held');
  if (r.weights.at(-1) !== 0) out.push(`its canary ended at ${r.weights.at(-1)}%`);
  return out;
}

export async function runManyCli(o: {
  scale: number;
  rps: number;
  traffic: 'http' | 'synthetic';
  seed: number;
  json: boolean;
  reportDir: string | undefined;
}): Promise<number> {
  const say = o.json ? () => undefined : (line: string) => process.stdout.write(`${line}\n`);
  say(
    `Sandbox: scenario many · time ×${o.scale} · ${o.rps} req/s over ${o.traffic === 'http' ? 'HTTP on loopback' : 'synthetic traffic'}, shared by 20 services`,
  );
  const { world, results, wallMs } = await runMany({ ...o, services: 20 });
  const timekeeping = world.timekeeper.report();
  const rows = results.map((r) => ({
    service: r.service,
    behaviour: r.behaviour,
    outcome: r.outcome,
    error: r.error ?? null,
    weights: r.weights,
    pages: r.pages.length,
    sns: r.sns.length,
    interference: interference(r),
    reason: r.reason,
  }));
  const dir = resolve(o.reportDir ?? join('reports', new Date().toISOString().replace(/[:.]/g, '-')));
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, 'report.json'),
    `${JSON.stringify({ scenario: MANY_SCENARIO, scale: o.scale, rps: o.rps, wallMs, timekeeping, rows }, null, 2)}\n`,
  );
  if (o.json) process.stdout.write(`${JSON.stringify({ rows, timekeeping })}\n`);
  say('');
  say('service  injected    outcome     error         canary % on its rule  pages  sns  interference');
  for (const r of rows)
    say(
      `${r.service.padEnd(8)} ${r.behaviour.padEnd(11)} ${r.outcome.padEnd(11)} ${(r.error ?? '-').padEnd(13)} ${r.weights.join('→').padEnd(21)} ${String(r.pages).padStart(5)} ${String(r.sns).padStart(4)}  ${r.interference.join('; ') || 'none'}`,
    );
  say('');
  say(`Wall time ${(wallMs / 1000).toFixed(1)} s. Report: ${join(dir, 'report.json')}`);
  if (world.violations.length > 0 || world.errors.length > 0 || rows.some((r) => r.interference.length > 0)) {
    process.stderr.write(
      `interference or invariant violations: ${JSON.stringify(world.violations)}; errors: ${world.errors.map(String).join('; ')}\n`,
    );
    return 1;
  }
  if (!timekeeping.valid) {
    // The outcomes are shown, but a run that fell behind its compressed time proves nothing: say so.
    process.stderr.write(`${describeShortfall(timekeeping)}\n`);
    return 3;
  }
  return 0;
}
