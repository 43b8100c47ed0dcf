/**
 * The sandbox's load balancer metrics, as ALB publishes them ("CloudWatch metrics for your Application Load
 * Balancer") and the CloudWatch adapter reads them from the local CloudWatch: a request its target never answered,
 * and the newest minute still being published.
 */
import { describe, expect, it } from 'vitest';
import { CloudWatchMetricSource } from '../../functions/adapters/aws/cloudwatch';
import type { Route } from '../../functions/core/rollout';
import { LocalCloudWatch } from '../../sandbox/cloudwatch';
import { Backends } from '../../sandbox/deployer';
import { MetricsRecorder } from '../../sandbox/metrics';
import { sampleTargetHealth } from '../../sandbox/traffic';
import { CANARY_TG_ARN, LISTENER_ARN, STABLE_TG_ARN } from '../helpers/config';

const T0 = Date.parse('2025-03-14T09:00:00.000Z');
const route: Route = {
  listenerArn: LISTENER_ARN,
  stableTargetGroupArn: STABLE_TG_ARN,
  canaryTargetGroupArn: CANARY_TG_ARN,
};
const minute = (m: number) => new Date(T0 + m * 60_000);

/** The CloudWatch adapter over a local CloudWatch of `r`, its clock at `nowMs` (default: all published). */
const sourceOf = (r: MetricsRecorder, nowMs = T0 + 3_600_000) =>
  new CloudWatchMetricSource(new LocalCloudWatch(r, { now: () => new Date(nowMs) }, 60).client());

describe('MetricsRecorder: requests the target never answered', () => {
  it('a refused or reset connection is a request without a target code or response time; refused is a connection error', async () => {
    const r = new MetricsRecorder(10_000);
    r.record(CANARY_TG_ARN, T0 + 1_000, 200, 12);
    r.record(CANARY_TG_ARN, T0 + 2_000, 503, 40);
    r.recordNoResponse(CANARY_TG_ARN, T0 + 3_000, 'refused');
    r.recordNoResponse(CANARY_TG_ARN, T0 + 4_000, 'reset');

    const [period] = (await sourceOf(r).fetch({ route, from: minute(0), to: minute(1), periodSeconds: 60 }))
      .canary;

    expect(period).toEqual({
      start: minute(0).toISOString(),
      requests: 4,
      errors: 3,
      targetErrors: 1,
      noResponse: 2,
      connectionErrors: 1,
      // Only the two target responses have a TargetResponseTime.
      p99Ms: 40,
      // No target registered: no health reported.
    });
    // An alarm on HTTPCode_Target_5XX_Count / RequestCount sees only the target's own 5xx.
    expect(r.totals(CANARY_TG_ARN, T0, T0 + 60_000)).toEqual({ requests: 4, errors: 1 });
  });
});

describe('the local CloudWatch: publication delay', () => {
  function recorder() {
    const r = new MetricsRecorder(10_000);
    // 6 requests a minute, one per 10 s bucket, minutes 0 to 2.
    for (let s = 5; s < 180; s += 10) r.record(CANARY_TG_ARN, T0 + s * 1000, 200, 10);
    return r;
  }
  it('returns the newest minutes partial or empty, as CloudWatch does before they are published', async () => {
    // At 09:02:40 with a 60 s publication delay, data up to 09:01:40 has arrived.
    const source = sourceOf(recorder(), T0 + 160_000);

    const window = await source.fetch({ route, from: minute(0), to: minute(3), periodSeconds: 60 });

    expect(window.canary.map((p) => p.requests)).toEqual([6, 4, 0]);
  });

  it('a minute older than the delay is complete', async () => {
    const source = sourceOf(recorder(), T0 + 240_000);

    const window = await source.fetch({ route, from: minute(0), to: minute(3), periodSeconds: 60 });

    expect(window.canary.map((p) => p.requests)).toEqual([6, 6, 6]);
  });

  it('whole periods only: the minute still running at `to` is left out', async () => {
    const source = sourceOf(recorder());

    const window = await source.fetch({
      route,
      from: minute(0),
      to: new Date(T0 + 150_000),
      periodSeconds: 60,
    });

    expect(window.canary.map((p) => p.start)).toEqual([minute(0).toISOString(), minute(1).toISOString()]);
  });
});

describe('sandbox target health (HealthyHostCount, UnHealthyHostCount)', () => {
  const version = (crashAfterSeconds?: number) => ({
    tag: 'v5',
    digest: 'sha256:00',
    profile: { errorRate: 0, latencyMs: 5, jitterMs: 1, ...(crashAfterSeconds ? { crashAfterSeconds } : {}) },
  });

  it('a crashed process turns unhealthy after two failed 30 s health checks; the period keeps most healthy, fewest unhealthy', async () => {
    const r = new MetricsRecorder(10_000);
    const backends = new Backends();
    // Started at T0, ready at T0 + 20 s, dies at T0 + 30 s, sized for 20% of the traffic (2 tasks).
    backends.set(CANARY_TG_ARN, {
      version: version(30),
      startedAtMs: T0,
      readyAtMs: T0 + 20_000,
      capacityPercent: 20,
    });
    for (let s = 5; s < 180; s += 10)
      sampleTargetHealth(backends, r, [CANARY_TG_ARN, STABLE_TG_ARN], T0 + s * 1000);

    const window = await sourceOf(r).fetch({ route, from: minute(0), to: minute(3), periodSeconds: 60 });
    const periods = window.canary;

    expect(periods.map((p) => [p.healthyHosts, p.unhealthyHosts])).toEqual([
      [2, 0], // initial checks, then healthy (still passing: the checks have not failed twice yet)
      [2, 0], // healthy until T0 + 90 s, then unhealthy: at least one sample saw a healthy target
      [0, 2], // every sample: no healthy target
    ]);
    // No target registered behind the stable group here: ALB reports no HealthyHostCount for it, which the adapter
    // reads as 0 healthy since the canary group's is there, and no UnHealthyHostCount.
    expect(window.baseline[0]?.healthyHosts).toBe(0);
    expect(window.baseline[0]).not.toHaveProperty('unhealthyHosts');
  });
});
