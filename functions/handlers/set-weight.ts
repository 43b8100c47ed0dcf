/** Lambda (workflow task): shift the canary's share of traffic to the step's weight. */
import { makeSetWeight } from '../tasks/set-weight';
import { alarmSource, announcing, deployerFor, metricSource, realClock, router, stepStore } from './aws';
import { log, withObservability } from './observability';

export const handler = withObservability(
  makeSetWeight({
    router: router(),
    deployerFor: deployerFor(),
    store: stepStore(),
    metrics: metricSource(),
    alarms: alarmSource(),
    clock: realClock,
    ...announcing(),
    log,
  }),
  'set-weight',
);
