/** Lambda (workflow task, wait for task token): ask a human to approve the next step. */
import { makeRequestApproval } from '../tasks/request-approval';
import { notifiers, realClock, store } from './aws';
import { log, withObservability } from './observability';

export const handler = withObservability(
  makeRequestApproval({ store: store(), notifiers: notifiers(), clock: realClock, log }),
  'request-approval',
);
