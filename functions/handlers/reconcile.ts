/** Lambda: a Step Functions execution status change; cleans up after executions that ended abnormally. */
import { makeReconcile } from '../tasks/reconcile';
import { rollbackPorts, verdictFreeNotifiers } from './aws';
import { catalog } from './catalog';
import { log, withObservability } from './observability';

export const handler = withObservability(
  makeReconcile({ ...rollbackPorts(), catalog: catalog(), notifiers: verdictFreeNotifiers(), log }),
  'reconcile',
);
