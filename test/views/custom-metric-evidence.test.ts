/** A custom metric's evidence reaches every surface the error rate's does: page, notifications, events. */
import { describe, expect, it } from 'vitest';
import type { CustomMetricConfig } from '../../functions/core/custom-metrics';
import { judge, type MetricWindow } from '../../functions/core/judge';
import type { RolloutRecord } from '../../functions/core/rollout';
import { evidenceSummary } from '../../functions/core/state-change';
import { approvalBody } from '../../functions/views/approval-page';
import { pagerDutyTrigger, snsMessage } from '../../functions/views/notification';
import { traceFromHistory } from '../../functions/views/report-html';
import { ROLLOUT_ID, SERVICE, validParsedConfig } from '../helpers/config';

const START = Date.parse('2025-03-14T09:30:00Z');
const at = (i: number) => new Date(START + i * 60_000).toISOString();
const ORDERS: CustomMetricConfig = {
  name: 'orders',
  kind: 'counts',
  direction: 'lowerIsWorse',
  tolerance: 0.1,
  critical: true,
  versionDimension: { name: 'Service', canary: 'web-canary', stable: 'web' },
  good: { namespace: 'Shop', metricName: 'OrdersCompleted' },
  total: { namespace: 'Shop', metricName: 'OrdersAttempted' },
};
const n = 8;
const window: MetricWindow = {
  from: at(0),
  to: at(n),
  periodSeconds: 60,
  canary: Array.from({ length: n }, (_, i) => ({ start: at(i), requests: 300, errors: 0, p99Ms: 90 })),
  baseline: Array.from({ length: n }, (_, i) => ({ start: at(i), requests: 2700, errors: 1, p99Ms: 90 })),
  custom: [
    {
      name: 'orders',
      canary: Array.from({ length: n }, (_, i) => ({ start: at(i), good: 54, total: 90 })),
      baseline: Array.from({ length: n }, (_, i) => ({ start: at(i), good: 729, total: 810 })),
    },
  ],
};
const verdict = judge(window, [], validParsedConfig({ analysis: { alarms: [] } }).analysis, [ORDERS]);
const LINE =
  /custom\.orders: fail \(canary good 60\.00% \(432\/720\) vs stable 90\.00% \(5832\/6480\): shown below stable \/ 1\.10;/;

describe('custom metric evidence on every surface', () => {
  it('fails the verdict on the business metric alone', () => {
    expect(verdict.result).toBe('fail');
    expect(verdict.metrics.filter((m) => m.result === 'fail').map((m) => m.metric)).toEqual([
      'custom.orders',
    ]);
  });

  it('is a row of the approval page and of the state-change event', () => {
    const record = {
      rolloutId: ROLLOUT_ID,
      service: SERVICE,
      image: { repository: 'acme/web', tag: 'v2', digest: `sha256:${'c'.repeat(64)}` },
      status: 'running',
      alarms: [],
      createdAt: at(0),
      updatedAt: at(0),
      canaryPercent: 10,
      lastVerdict: verdict,
    } satisfies RolloutRecord;
    const html = approvalBody(record, 0, traceFromHistory(record, [], undefined, new Date(at(10))), 'link');
    expect(html).toMatch(/<tr><td>custom\.orders<\/td><td class="[^"]*">fail<\/td><td>canary good 60\.00%/);
    expect(html).toContain('The canary&#39;s orders rate is lower than stable&#39;s');
    expect(evidenceSummary(verdict)).toContainEqual({
      metric: 'custom.orders',
      result: 'fail',
      canary: 0.6,
      baseline: 0.9,
      limit: 0.9 / 1.1,
    });
  });

  it('is in the SNS message and the PagerDuty incident', () => {
    const event = {
      type: 'rollout.rolledBack' as const,
      severity: 'error' as const,
      rolloutId: ROLLOUT_ID,
      service: SERVICE,
      image: 'acme/web:v2',
      summary: 'web: acme/web:v2 rolled back at 10%',
      verdict,
      channels: { sns: true, pagerDuty: true },
      at: at(9),
    };
    expect(snsMessage(event).message).toMatch(LINE);
    expect(JSON.stringify(pagerDutyTrigger(event, 'R0UT1NGK3Y0000000000000000000000'))).toContain(
      'custom.orders',
    );
  });
});
