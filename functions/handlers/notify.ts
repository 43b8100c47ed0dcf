/** Lambda (workflow task): tell the configured notifiers how the rollout ended, and count the outcome. */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { OUTCOME_METRICS } from '../core/outcome-metrics';
import { makeNotify } from '../tasks/notify';
import { announcing, notifiers, notifyStore, realClock } from './aws';
import { log, metrics, withObservability } from './observability';

export const handler = withObservability(
  makeNotify({
    store: notifyStore(),
    notifiers: notifiers(),
    clock: realClock,
    ...announcing(),
    log,
    // Flushed with the invocation's other metrics by the logMetrics middleware.
    countOutcome: (outcome) => metrics.addMetric(OUTCOME_METRICS[outcome], MetricUnit.Count, 1),
  }),
  'notify',
);
