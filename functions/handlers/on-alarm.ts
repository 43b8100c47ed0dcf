/** Lambda: a CloudWatch alarm going to ALARM stops the rollouts it gates, traffic first. */
import { makeOnAlarm } from '../tasks/on-alarm';
import { announcing, deployerFor, executions, realClock, router, store } from './aws';
import { log, withObservability } from './observability';

export const handler = withObservability(
  makeOnAlarm({
    router: router(),
    deployerFor: deployerFor(),
    store: store(),
    executions: executions(),
    clock: realClock,
    ...announcing(),
    log,
  }),
  'on-alarm',
);
