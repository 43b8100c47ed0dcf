/**
 * Lambda (API Gateway HTTP API, payload v2): the approval page. The signing key is the string of the secret
 * APPROVAL_SIGNING_SECRET_ARN, read once per cold start; it never appears in a log or a page.
 */

import { makeApprovalPage } from '../tasks/approval-page';
import type { TaskHandler } from '../tasks/lib/task';
import { signingSecret } from './approval-links';
import { announcing, decisionStore, realClock, taskTokens } from './aws';
import { log, withObservability } from './observability';

export const handler = withObservability(
  makeApprovalPage({
    store: decisionStore(),
    executions: taskTokens(),
    clock: realClock,
    ...announcing(),
    log,
    signingKey: () => signingSecret().get(),
  }) as unknown as TaskHandler<unknown>,
  'approval-page',
);
