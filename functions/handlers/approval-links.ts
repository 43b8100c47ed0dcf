/**
 * Signed links to the approval page, shared by the approval-page Lambda (which checks them) and the
 * request-approval Lambda (which sends them). The signing key is the string of APPROVAL_SIGNING_SECRET_ARN,
 * read once per cold start.
 */
import { SecretCache } from '../adapters/aws/secretsmanager';
import { approvalUrl, mintApprovalLink } from '../core/approval-links';
import { lazy, realClock, secretsClient } from './aws';
import { optionalEnv, requireEnv } from './env';

export const signingSecret = lazy(
  () => new SecretCache(secretsClient(), requireEnv('APPROVAL_SIGNING_SECRET_ARN')),
);

/** Links to the approval page, valid `ttlSeconds` (a day by default) and only for the wait they name. */
export function approvalLinks(ttlSeconds = Number(optionalEnv('APPROVAL_LINK_TTL_SECONDS') ?? 86_400)) {
  const base = requireEnv('APPROVAL_BASE_URL');
  return {
    approval: async (rolloutId: string, step: number, waitToken: string) =>
      approvalUrl(
        base,
        mintApprovalLink(await signingSecret().get(), {
          rolloutId,
          step,
          waitToken,
          now: realClock.now(),
          ttlSeconds,
        }),
      ),
  };
}
