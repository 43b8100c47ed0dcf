import { GetTimeSeriesServiceStatisticsCommand } from '@aws-sdk/client-xray';
import { describe, expect, it } from 'vitest';
import { runRollouts, SCENARIOS } from '../../sandbox/run';
import { seededRandom } from '../../sandbox/versions';
import { DOWNSTREAM_FAULTS, LocalXRay } from '../../sandbox/xray';

const CANARY_TG = 'tg/canary';
const STABLE_TG = 'tg/stable';
const T0 = Date.parse('2025-03-14T09:30:00Z');

function localXRay() {
  const xray = new LocalXRay(
    (tg) => (tg === CANARY_TG ? 'web-canary' : tg === STABLE_TG ? 'web-stable' : undefined),
    seededRandom(7),
  );
  xray.createGroup('web-canary', { annotation: 'deployment', value: 'web-canary' });
  xray.createGroup('web-stable', { annotation: 'deployment', value: 'web-stable' });
  return xray;
}

describe('the local X-Ray', () => {
  it("samples as the SDKs' default rule and counts downstream faults the app answered 200 for", async () => {
    // Prepare: 10 requests a second for a minute on each version, every one answered 200.
    const xray = localXRay();
    for (let i = 0; i < 600; i++) {
      const at = T0 + i * 100;
      xray.record(CANARY_TG, at, DOWNSTREAM_FAULTS, 200, 10);
      xray.record(STABLE_TG, at, { errorRate: 0, latencyMs: 10, jitterMs: 0 }, 200, 10);
    }

    // Act
    const out = await xray.client().send(
      new GetTimeSeriesServiceStatisticsCommand({
        StartTime: new Date(T0),
        EndTime: new Date(T0 + 60_000),
        Period: 60,
        GroupName: 'web-canary',
      }),
    );
    const stable = xray.getTimeSeriesServiceStatistics({
      StartTime: new Date(T0),
      EndTime: new Date(T0 + 60_000),
      Period: 60,
      GroupName: 'web-stable',
    });

    // Assess: 60 reservoir traces (one a second) and about 5% of the other 540 per version.
    const canary = out.TimeSeriesServiceStatistics?.[0]?.EdgeSummaryStatistics;
    const stableEdges = stable.TimeSeriesServiceStatistics?.[0]?.EdgeSummaryStatistics;
    expect(stableEdges?.TotalCount).toBeGreaterThanOrEqual(60);
    expect(stableEdges?.TotalCount).toBeLessThan(120);
    expect(stableEdges?.FaultStatistics?.TotalCount).toBe(0);
    // Two edges per traced canary request (client → app, app → downstream); faults only downstream.
    expect((canary?.TotalCount ?? 0) % 2).toBe(0);
    expect(canary?.FaultStatistics?.TotalCount).toBeGreaterThan(0);
    expect(xray.traced).toBe((canary?.TotalCount ?? 0) / 2 + (stableEdges?.TotalCount ?? 0));
  });

  it('refuses a group that does not exist, naming it', () => {
    // Act / Assess
    expect(() =>
      localXRay().getTimeSeriesServiceStatistics({
        StartTime: new Date(T0),
        EndTime: new Date(T0 + 60_000),
        GroupName: 'web-blue',
      }),
    ).toThrow(/Group not found: web-blue/);
  });
});

describe('npm start -- --scenario xray', () => {
  it('promotes v2 and rolls back v5 on X-Ray faults the load balancer never saw', async () => {
    // Act
    const scenario = SCENARIOS.xray;
    const { traces, world } = await runRollouts({
      scale: 60,
      rps: 1000,
      traffic: 'synthetic',
      seed: 42,
      versions: scenario?.versions ?? [],
      ...(scenario?.service ? { service: scenario.service } : {}),
    });

    // Assess
    const [v2, v5] = traces.map((t) => t.summary);
    expect(v2).toMatchObject({ version: 'v2', outcome: 'promoted' });
    expect(v5).toMatchObject({ version: 'v5', outcome: 'rolledBack', alarmToStableMs: null });
    expect(v5?.reason).toMatch(/^CanaryFailed: xray\.errorRate: X-Ray canary/);
    const analyses = traces[1]?.history.filter((e) => e.type === 'analysis') ?? [];
    expect(analyses.length).toBeGreaterThan(0);
    expect(world.xray.traced).toBeGreaterThan(0);
    expect(world.violations).toEqual([]);
    expect(world.errors).toEqual([]);
  }, 120_000);
});
