import type { MetricWindow, PeriodStats } from '../../functions/core/judge';
import type { Route } from '../../functions/core/rollout';
import type { MetricSource } from '../../functions/ports';
import { SERVER_ERRORS } from '../demo';
import type { World } from '../world';

/** Metric periods per analysis: enough requests for a verdict either way. */
const PERIODS = 5;

/**
 * The canary's and the stable version's metrics as a function of which image the canary runs and how many analyses
 * came before, never of timing: the same schedule gets the same verdicts on a busy machine. Analyses the schedule
 * names see no data (missing), a fifth of it (late: fewer requests than minRequests), or the canary failing as a bad
 * image's does (bad).
 */
export class ScriptedMetrics implements MetricSource {
  fetches = 0;
  constructor(
    private readonly world: () => World,
    private readonly scripted: (n: number) => 'missing' | 'late' | 'bad' | undefined,
  ) {}

  async fetch(query: { route: Route; from: Date; periodSeconds: number }): Promise<MetricWindow> {
    const n = this.fetches++;
    const lack = this.scripted(n);
    const canary = this.world().backends.get(query.route.canaryTargetGroupArn)?.version;
    const bad = canary?.profile === SERVER_ERRORS || lack === 'bad';
    const share = lack === 'missing' ? 0 : lack === 'late' ? 0.2 : 1;
    const periods = (requests: number, errorRate: number): PeriodStats[] =>
      Array.from({ length: PERIODS }, (_, i) => {
        const r = Math.round(requests * share);
        return {
          start: new Date(query.from.getTime() + i * query.periodSeconds * 1000).toISOString(),
          requests: r,
          errors: Math.round(r * errorRate),
          p99Ms: r > 0 ? 80 : null,
        };
      });
    return {
      from: query.from.toISOString(),
      to: new Date(query.from.getTime() + PERIODS * query.periodSeconds * 1000).toISOString(),
      periodSeconds: query.periodSeconds,
      canary: periods(40, bad ? 0.2 : 0),
      baseline: periods(4000, 0.001),
    };
  }

  async baselineThresholds(): Promise<undefined> {
    return undefined;
  }
}
