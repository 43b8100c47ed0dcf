/** Lambda: a Step Functions execution status change; cleans up after executions that ended abnormally. */
import { makeReconcile } from '../tasks/reconcile';
import { announcing, catalog, deployerFor, executions, notifiers, realClock, router, store } from './aws';
import { log, withObservability } from './observability';

export const handler = withObservability(
  makeReconcile({
    router: router(),
    deployerFor: deployerFor(),
    store: store(),
    executions: executions(),
    catalog: catalog(),
    notifiers: notifiers(),
    clock: realClock,
    ...announcing(),
    log,
  }),
  'reconcile',
);
