/** Lambda (workflow task): tell the configured notifiers how the rollout ended. */
import { makeNotify } from '../tasks/notify';
import { notifiers, realClock, store } from './aws';
import { log, withObservability } from './observability';

export const handler = withObservability(
  makeNotify({ store: store(), notifiers: notifiers(), clock: realClock, log }),
  'notify',
);
