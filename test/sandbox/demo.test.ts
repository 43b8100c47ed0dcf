import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { renderHtml } from '../../sandbox/report';
import { runRollouts, runRolloutsKeepingTime, SCENARIOS } from '../../sandbox/run';
import { describeShortfall } from '../../sandbox/timekeeping';

const run = promisify(execFile);

describe('npm start: the demo over real HTTP on loopback', () => {
  it('promotes v2, rolls back v3 on analysis and v4 on the alarm, and renders the report', async () => {
    const { traces, world, timekeeping } = await runRolloutsKeepingTime({
      scale: 30,
      rps: 1000,
      traffic: 'http',
      seed: 42,
      versions: SCENARIOS.demo?.versions ?? [],
    });
    // A machine too busy to keep time even at a lower scale: the run says so and reports no outcome for what it
    // stopped, which is all it may say.
    if (!timekeeping.valid) {
      expect(describeShortfall(timekeeping)).toMatch(/^run invalid: .* (late|planned requests)/);
      expect(traces.length).toBeLessThan(3);
      return;
    }
    const [v2, v3, v4] = traces.map((t) => t.summary);
    expect(v2).toMatchObject({ version: 'v2', outcome: 'promoted' });
    expect(v2?.steps.map((s) => s.verdict)).toEqual(['pass', 'pass', 'pass', 'pass', 'pass']);
    // The latency thresholds come from stable minutes the local CloudWatch had published by the first set-weight.
    const v2Record = await world.store.getRollout(v2?.rolloutId ?? '');
    expect(v2Record?.latencyThresholds?.p99Ms).toBeGreaterThan(0);
    expect(v3).toMatchObject({ version: 'v3', outcome: 'rolledBack', alarmToStableMs: null });
    expect(v3?.reason).toMatch(/^CanaryFailed: errorRate/);
    expect(v3?.failedRequestsServed).toBeGreaterThan(0);
    expect(v4).toMatchObject({ version: 'v4', outcome: 'rolledBack' });
    expect(v4?.reason).toMatch(/^AlarmFired/);
    expect(v4?.alarmToStableMs).toBeGreaterThan(0);
    expect(v4?.alarmToStableMs).toBeLessThan(2000);
    expect(world.violations).toEqual([]);
    expect(world.errors).toEqual([]);
    const html = renderHtml(traces);
    expect(html).toContain('<svg');
    expect(html.match(/<section>/g)).toHaveLength(3);
    expect(html).not.toMatch(/<script|https?:\/\//);
  }, 360_000);
});

describe('npm start: a canary that crashes mid-bake', () => {
  it('is rolled back by the analysis on the requests it never answered, with the 5xx alarm quiet', async () => {
    const { traces, world, timekeeping } = await runRolloutsKeepingTime({
      scale: 30,
      rps: 1000,
      traffic: 'http',
      seed: 42,
      versions: SCENARIOS.crash?.versions ?? [],
    });
    if (!timekeeping.valid) {
      expect(describeShortfall(timekeeping)).toMatch(/^run invalid: /);
      expect(traces).toEqual([]);
      return;
    }
    const [v6] = traces.map((t) => t.summary);
    expect(v6).toMatchObject({ version: 'v6', outcome: 'rolledBack', alarmToStableMs: null });
    expect(v6?.reason).toMatch(/^CanaryFailed: errorRate: .*[1-9]\d* without a target response/);
    expect(v6?.steps.at(-1)?.verdict).toBe('fail');
    // The users' 502s from the load balancer are failed requests served; the alarm on target 5xx never saw them.
    expect(v6?.failedRequestsServed).toBeGreaterThan(0);
    expect(world.alarms.firedAt).toEqual([]);
    expect(world.violations).toEqual([]);
    expect(world.errors).toEqual([]);
  }, 240_000);
});

describe('npm start: a machine that cannot keep the compressed time', () => {
  it('stops the rollout under way at the first shortfall, reports no outcome for it, and leaves stable at 100%', async () => {
    const lines: string[] = [];
    // No machine sends twice its planned requests: the first whole window of rollout time (200 s, after the 150 s
    // the stable version serves alone, so mid-rollout) falls short, whatever the load.
    const { traces, world, timekeeping } = await runRollouts({
      scale: 60,
      rps: 300,
      traffic: 'synthetic',
      seed: 42,
      versions: SCENARIOS.demo?.versions ?? [],
      timeKeeping: { maxLagMs: Number.POSITIVE_INFINITY, minRequestShare: 2, windowMs: 200_000 },
      progress: (line) => lines.push(line),
    });
    expect(timekeeping).toMatchObject({
      valid: false,
      shortfall: { kind: 'requests', planned: expect.any(Number) },
      suggestedScale: expect.any(Number),
    });
    expect(traces).toEqual([]);
    // v2 was started and stopped: ABORTED, never reported promoted or rolled back, and the listener back on stable.
    const executions = world.executions.list();
    expect(executions.map((e) => e.status)).toEqual(['ABORTED']);
    expect(world.appliedCanaryPercent()).toBe(0);
    expect(lines.at(-1)).toBe(`      ⚠ ${describeShortfall(timekeeping)}`);
    expect(lines.some((l) => /promoted|rolled back/.test(l))).toBe(false);
    expect(world.violations).toEqual([]);
  }, 60_000);
});

describe('npm start: the command line', () => {
  const main = ['--import', 'tsx', 'sandbox/main.ts'];

  it('lists scenarios and options with --help', async () => {
    const { stdout } = await run(process.execPath, [...main, '--help']);
    for (const word of ['--scenario', '--json', '--scale', 'demo', 'healthy', 'errors', 'alarm', 'crash'])
      expect(stdout).toContain(word);
  });

  it('rejects an unknown scenario with exit code 2 and says which exist', async () => {
    await expect(run(process.execPath, [...main, '--scenario', 'nope'])).rejects.toMatchObject({
      code: 2,
      stderr: expect.stringContaining('unknown scenario "nope"'),
    });
  });

  it('says in --json that the crashing canary was rolled back by analysis', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'canary-report-'));
    const { stdout } = await run(process.execPath, [
      ...main,
      '--json',
      '--scenario',
      'crash',
      '--traffic',
      'synthetic',
      '--scale',
      '60',
      '--report-dir',
      dir,
    ]);
    const summary = JSON.parse(stdout) as { rollouts: Record<string, unknown>[] };
    expect(summary.rollouts).toEqual([
      expect.objectContaining({
        version: 'v6',
        outcome: 'rolledBack',
        reason: expect.stringMatching(/^CanaryFailed: errorRate: .*without a target response/),
        failedRequestsServed: expect.any(Number),
        alarmToStableMs: null,
      }),
    ]);
    expect(summary.rollouts[0]?.failedRequestsServed).toBeGreaterThan(0);
  }, 60_000);

  it('prints only the JSON summary with --json and writes the report files', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'canary-report-'));
    const { stdout } = await run(process.execPath, [
      ...main,
      '--json',
      '--scenario',
      'errors',
      '--traffic',
      'synthetic',
      '--scale',
      '60',
      '--report-dir',
      dir,
    ]);
    const summary = JSON.parse(stdout) as { rollouts: Record<string, unknown>[] };
    expect(summary.rollouts).toHaveLength(1);
    expect(Object.keys(summary.rollouts[0] ?? {}).sort()).toEqual([
      'alarmToStableMs',
      'failedRequestsServed',
      'outcome',
      'reason',
      'steps',
      'userRequestsServed',
      'version',
    ]);
    expect(summary.rollouts[0]).toMatchObject({ version: 'v3', outcome: 'rolledBack' });
    expect(JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')).traces).toHaveLength(1);
    expect(readFileSync(join(dir, 'report.html'), 'utf8')).toContain('<svg');
  }, 60_000);
});
