/** Lambda (workflow task): move the stable service onto the new version and take the canary out. */
import { makePromote } from '../tasks/promote';
import { deployerFor, portsWith } from './aws';
import { log, withObservability } from './observability';

export const handler = withObservability(makePromote({ ...portsWith(deployerFor()), log }), 'promote');
