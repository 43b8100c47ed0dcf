/** Lambda (workflow task): move the stable service onto the new version and take the canary out. */
import { makePromote } from '../tasks/promote';
import { deployerFor, rollbackPorts } from './aws';
import { log, withObservability } from './observability';

export const handler = withObservability(
  makePromote({ ...rollbackPorts(), deployerFor: deployerFor(), log }),
  'promote',
);
