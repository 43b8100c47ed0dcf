/** Lambda (workflow task): judge the canary against the baseline and the alarms. */
import { makeAnalyze } from '../tasks/analyze';
import {
  alarmSource,
  announcing,
  metricSource,
  notifiers,
  realClock,
  router,
  store,
  xraySources,
} from './aws';
import { log, withObservability } from './observability';

export const handler = withObservability(
  makeAnalyze({
    metrics: metricSource(),
    xrayFor: xraySources(),
    alarms: alarmSource(),
    router: router(),
    store: store(),
    notifiers: notifiers(),
    clock: realClock,
    ...announcing(),
    log,
  }),
  'analyze',
);
