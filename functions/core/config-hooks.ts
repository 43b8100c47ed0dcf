/**
 * The `hooks` of a service config: tests and checks a team runs at fixed points of a rollout (config.ts composes
 * it). A hook is a Lambda function or an HTTPS endpoint; the contract it answers is in core/hooks.ts.
 */
import * as z from './zod';

export { HOOK_RESULTS, HOOK_STAGES, type HookStage } from './hook-stages';

/** Hooks per stage: each is called in turn, so a stage's worst case stays bounded (core/workflow-limits.ts). */
export const MAX_HOOKS_PER_STAGE = 5;

/**
 * A Lambda function by ARN (unqualified, or with a version or alias) or by name (the controller's account and
 * region). Lambda API reference, Invoke: FunctionName is a name, a function ARN or a partial ARN, with an optional
 * `:qualifier`; names are 1–64 characters of letters, digits, hyphens and underscores. An ARN of another region is
 * accepted: it is invoked with a client of its region (adapters/aws/hooks.ts).
 */
const LAMBDA_FUNCTION =
  /^(?:arn:aws(?:-[a-z]+)*:lambda:[a-z]{2}(?:-[a-z]+)+-\d:\d{12}:function:)?[\w-]{1,64}(?::(?:\$LATEST|[\w-]{1,128}))?$/;

const lambdaTarget = z.string().check(z.regex(LAMBDA_FUNCTION, 'must be a Lambda function ARN or name'));

/** An HTTPS URL: a hook's answer decides a rollout, so it never travels in clear text. */
const httpsUrl = z.string().check(
  z.maxLength(2048),
  z.refine((s) => URL.canParse(s) && new URL(s).protocol === 'https:', {
    message: 'must be an https:// URL',
  }),
);

export const hookSchema = z
  .strictObject({
    /** Names the hook in the history, the report and notifications. */
    name: z
      .string()
      .check(z.regex(/^[A-Za-z0-9][A-Za-z0-9 ._-]{0,63}$/, 'must be 1–64 letters, digits, spaces, . _ -')),
    lambda: z.optional(lambdaTarget),
    url: z.optional(httpsUrl),
    /**
     * How long the hook may take in all, "running" answers included; past it the hook fails. Default 300 s.
     */
    timeoutSeconds: z._default(z.int().check(z.gte(1), z.lte(3600)), 300),
    /** The wait between calls while the hook answers "running". Default 30 s. */
    pollSeconds: z._default(z.int().check(z.gte(1), z.lte(900)), 30),
    /** Calls that fail (the function errs or is throttled, the endpoint answers 429/5xx or not at all) retried. */
    retries: z._default(z.int().check(z.gte(0), z.lte(10)), 2),
  })
  .check(
    z.refine((h) => (h.lambda === undefined) !== (h.url === undefined), {
      message: 'set exactly one of lambda and url',
      path: ['lambda'],
    }),
    z.refine((h) => h.pollSeconds <= h.timeoutSeconds, {
      message: 'must not exceed timeoutSeconds',
      path: ['pollSeconds'],
    }),
  );
export type HookSpec = z.output<typeof hookSchema>;

const stageHooks = z.optional(
  z.array(hookSchema).check(
    z.minLength(1),
    z.maxLength(MAX_HOOKS_PER_STAGE),
    z.refine((hs) => new Set(hs.map((h) => h.name)).size === hs.length, { message: 'names must be unique' }),
  ),
);

/**
 * - `beforeTraffic`: once the canary is healthy, before any public traffic; with `traffic.headerRule` the canary
 *   is reachable through that rule alone (the test route), so a failing smoke test rolls back before any user
 *   request reaches the canary.
 * - `beforeStep`: before each weight change.
 * - `afterBake`: after each bake interval, before its analysis.
 * - `afterPromotion`: once the canary serves 100%, while the stable service still runs the previous version,
 *   warm: a failure still moves traffic back to it.
 */
export const hooksSchema = z.strictObject({
  beforeTraffic: stageHooks,
  beforeStep: stageHooks,
  afterBake: stageHooks,
  afterPromotion: stageHooks,
});
export type HooksConfig = z.output<typeof hooksSchema>;
