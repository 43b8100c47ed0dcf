import { GetTimeSeriesServiceStatisticsCommand } from '@aws-sdk/client-xray';
import { describe, expect, it } from 'vitest';
import { runRolloutsKeepingTime, SCENARIOS } from '../../sandbox/run';
import { describeShortfall } from '../../sandbox/timekeeping';
import { seededRandom } from '../../sandbox/versions';
import { DOWNSTREAM_FAULTS, LocalXRay } from '../../sandbox/xray';

const CANARY_TG = 'tg/canary';
const STABLE_TG = 'tg/stable';
const T0 = Date.parse('2025-03-14T09:30:00Z');

function localXRay() {
  const xray = new LocalXRay(
    (tg) =>
      tg === CANARY_TG
        ? { service: 'web', deployment: 'web-canary' }
        : tg === STABLE_TG
          ? { service: 'web', deployment: 'web-stable' }
          : undefined,
    seededRandom(7),
  );
  xray.createGroup('web-canary', { annotation: 'deployment', value: 'web-canary' });
  xray.createGroup('web-stable', { annotation: 'deployment', value: 'web-stable' });
  return xray;
}

describe('the local X-Ray', () => {
  const SERVICE = 'service("web")';

  it("samples as the SDKs' default rule and answers the service node's statistics: one count per traced request, downstream faults the app marked on its segment", async () => {
    // Prepare: 10 requests a second for a minute on each version, every one answered 200.
    const xray = localXRay();
    for (let i = 0; i < 600; i++) {
      const at = T0 + i * 100;
      xray.record(CANARY_TG, at, DOWNSTREAM_FAULTS, 200, 10);
      xray.record(STABLE_TG, at, { errorRate: 0, latencyMs: 10, jitterMs: 0 }, 200, 10);
    }

    // Act
    const ask = (GroupName: string, EntitySelectorExpression?: string) =>
      xray.client().send(
        new GetTimeSeriesServiceStatisticsCommand({
          StartTime: new Date(T0),
          EndTime: new Date(T0 + 60_000),
          Period: 60,
          GroupName,
          ...(EntitySelectorExpression ? { EntitySelectorExpression } : {}),
        }),
      );
    const canary = (await ask('web-canary', SERVICE)).TimeSeriesServiceStatistics?.[0];
    const stable = (await ask('web-stable', SERVICE)).TimeSeriesServiceStatistics?.[0];
    const canaryEdges = (await ask('web-canary')).TimeSeriesServiceStatistics?.[0];

    // Assess: 60 reservoir traces (one a second) and about 5% of the other 540 per version, each counted once.
    const node = canary?.ServiceSummaryStatistics;
    const stableNode = stable?.ServiceSummaryStatistics;
    expect(stableNode?.TotalCount).toBeGreaterThanOrEqual(60);
    expect(stableNode?.TotalCount).toBeLessThan(120);
    expect(stableNode?.FaultStatistics?.TotalCount).toBe(0);
    expect(xray.traced).toBe((node?.TotalCount ?? 0) + (stableNode?.TotalCount ?? 0));
    expect(node?.FaultStatistics?.TotalCount).toBeGreaterThan(0);
    expect(canary?.EdgeSummaryStatistics).toBeUndefined();
    // The node's histogram holds the app's own response times, one per request.
    expect(canary?.ResponseTimeHistogram?.reduce((n, e) => n + (e.Count ?? 0), 0)).toBe(node?.TotalCount);
    // Without a selector: edge statistics, a traced request counted on each edge it crosses.
    expect(canaryEdges?.ServiceSummaryStatistics).toBeUndefined();
    expect(canaryEdges?.EdgeSummaryStatistics?.TotalCount).toBe(2 * (node?.TotalCount ?? 0));
  });

  it('answers nothing for another service, and refuses a selector it does not know, naming it', () => {
    // Prepare
    const xray = localXRay();
    xray.record(CANARY_TG, T0, DOWNSTREAM_FAULTS, 200, 10);
    const input = { StartTime: new Date(T0), EndTime: new Date(T0 + 60_000), GroupName: 'web-canary' };

    // Act / Assess
    expect(
      xray.getTimeSeriesServiceStatistics({ ...input, EntitySelectorExpression: 'service("api")' })
        .TimeSeriesServiceStatistics,
    ).toEqual([]);
    expect(() =>
      xray.getTimeSeriesServiceStatistics({ ...input, EntitySelectorExpression: 'edge("a", "b")' }),
    ).toThrow(/edge\("a", "b"\)/);
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
    const { traces, world, timekeeping } = await runRolloutsKeepingTime({
      scale: 60,
      rps: 1000,
      traffic: 'synthetic',
      seed: 42,
      versions: scenario?.versions ?? [],
      ...(scenario?.service ? { service: scenario.service } : {}),
    });

    // Assess
    // A machine too busy to keep time even at a lower scale: the run says so and reports no outcome for what it
    // stopped, which is all it may say.
    if (!timekeeping.valid) {
      expect(describeShortfall(timekeeping)).toMatch(/^run invalid: .* (late|planned requests)/);
      expect(traces.length).toBeLessThan(2);
      return;
    }
    const [v2, v5] = traces.map((t) => t.summary);
    expect(v2).toMatchObject({ version: 'v2', outcome: 'promoted' });
    expect(v5).toMatchObject({ version: 'v5', outcome: 'rolledBack', alarmToStableMs: null });
    expect(v5?.reason).toMatch(/^CanaryFailed: xray\.errorRate: X-Ray canary/);
    const analyses = traces[1]?.history.filter((e) => e.type === 'analysis') ?? [];
    expect(analyses.length).toBeGreaterThan(0);
    expect(world.xray.traced).toBeGreaterThan(0);
    expect(world.violations).toEqual([]);
    expect(world.errors).toEqual([]);
  }, 360_000);
});
