/** Lambda (workflow task): shift the canary's share of traffic to the step's weight. */
import { makeSetWeight } from '../tasks/set-weight';
import { deployerFor, realClock, router, store } from './aws';
import { log, withObservability } from './observability';

export const handler = withObservability(
  makeSetWeight({ router: router(), deployerFor: deployerFor(), store: store(), clock: realClock, log }),
  'set-weight',
);
