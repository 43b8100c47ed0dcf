/** Lambda (workflow task): shift the canary's share of traffic to the step's weight. */
import { makeSetWeight } from '../tasks/set-weight';
import { alarmSource, announcing, deployerFor, metricSource, realClock, router, store } from './aws';
import { log, withObservability } from './observability';

export const handler = withObservability(
  makeSetWeight({
    router: router(),
    deployerFor: deployerFor(),
    store: store(),
    metrics: metricSource(),
    alarms: alarmSource(),
    clock: realClock,
    ...announcing(),
    log,
  }),
  'set-weight',
);
