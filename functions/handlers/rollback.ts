/** Lambda (workflow catch): send all traffic back to stable and scale the canary down. */
import { makeRollback } from '../tasks/rollback';
import { rollbackPorts } from './aws';
import { log, withObservability } from './observability';

export const handler = withObservability(makeRollback({ ...rollbackPorts(), log }), 'rollback');
