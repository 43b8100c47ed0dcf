/** Lambda (workflow task): move the stable service onto the new version and take the canary out. */
import { makePromote } from '../tasks/promote';
import { announcing, deployerFor, executions, realClock, router, store } from './aws';
import { log, withObservability } from './observability';

export const handler = withObservability(
  makePromote({
    router: router(),
    deployerFor: deployerFor(),
    store: store(),
    executions: executions(),
    clock: realClock,
    ...announcing(),
    log,
  }),
  'promote',
);
