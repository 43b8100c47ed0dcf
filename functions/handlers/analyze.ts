/** Lambda (workflow task): judge the canary against the baseline and the alarms. */
import { makeAnalyze } from '../tasks/analyze';
import {
  alarmSource,
  analysisStore,
  announcing,
  metricSource,
  realClock,
  routeReader,
  stepPassedNotifiers,
  xraySources,
} from './aws';
import { log, withObservability } from './observability';

export const handler = withObservability(
  makeAnalyze({
    metrics: metricSource(),
    xrayFor: xraySources(),
    alarms: alarmSource(),
    router: routeReader(),
    store: analysisStore(),
    notifiers: stepPassedNotifiers(),
    clock: realClock,
    ...announcing(),
    log,
  }),
  'analyze',
);
