/** Lambda (workflow task): is the canary (or the promoted stable) healthy yet. */
import { makeCheckReady } from '../tasks/check-ready';
import { deployerFor, realClock, store } from './aws';
import { withObservability } from './observability';

export const handler = withObservability(
  makeCheckReady({ deployerFor: deployerFor(), store: store(), clock: realClock }),
  'check-ready',
);
