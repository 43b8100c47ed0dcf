/** Lambda (workflow task, wait for task token): ask a human to approve the next step. */
import { makeRequestApproval } from '../tasks/request-approval';
import { approvalLinks } from './approval-links';
import { announcing, notifiers, realClock, waitStore } from './aws';
import { optionalEnv } from './env';
import { log, withObservability } from './observability';

export const handler = withObservability(
  makeRequestApproval({
    store: waitStore(),
    notifiers: notifiers(),
    clock: realClock,
    ...announcing(),
    log,
    // Links to the approval page when the controller has one (APPROVAL_BASE_URL); else the CLI hint alone.
    ...(optionalEnv('APPROVAL_BASE_URL') ? { links: approvalLinks() } : {}),
  }),
  'request-approval',
);
