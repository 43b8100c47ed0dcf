/** Lambda (workflow catch): send all traffic back to stable and scale the canary down. */
import { makeRollback } from '../tasks/rollback';
import { announcing, deployerFor, executions, realClock, router, store } from './aws';
import { log, withObservability } from './observability';

export const handler = withObservability(
  makeRollback({
    router: router(),
    deployerFor: deployerFor(),
    store: store(),
    executions: executions(),
    clock: realClock,
    ...announcing(),
    log,
  }),
  'rollback',
);
