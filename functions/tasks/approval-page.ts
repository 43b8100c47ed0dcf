/**
 * The approval page (API Gateway HTTP API, payload v2): `GET /approve?t=<link>` shows the rollout waiting for
 * approval — service, image, step, weights, the canary-vs-stable evidence of the last analysis and its chart —
 * with Approve / Reject buttons that POST the link back, and Pause / Resume (the canary's share held, analyses going
 * on; the approval stays open). A GET never acts (mail scanners open links). A POST
 * with a link that is still good resolves the rollout's current approval wait (SendTaskSuccess, or
 * SendTaskFailure ApprovalRejected) and clears it, so the link cannot be used again. Forged, expired, reused,
 * tampered or stale links get a refusal page (403/410) and change nothing; a link whose wait was decided says who
 * decided it, which way and when. Once Step Functions has the decision it stands: the store writes after it are
 * retried, and one that still fails is reported as a record that may lag, never as "nothing was decided". Strict
 * CSP, no external resources; the link (which holds no secret, only a hash of the wait token) is never logged, and
 * the address a decision came from is only in the log, never on a page or in the history.
 */
import { createHash } from 'node:crypto';
import middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import {
  type ApprovalClaims,
  MAX_LINK_LENGTH,
  matchesWait,
  verifyApprovalLink,
} from '../core/approval-links';
import type { HistoryEntry, StoredHistoryEntry } from '../core/history';
import { pauseRefusal, resumeRefusal } from '../core/pause';
import { type RolloutRecord, TERMINAL_STATUSES } from '../core/rollout';
import { freeText } from '../core/text';
import type { Clock, DecisionStore, Log, StateChangeBus, TaskTokens } from '../ports';
import {
  approvalBody,
  approvalTitle,
  DECIDED,
  decidedBody,
  decidedTitle,
  decisionText,
  FAILURE_BODY,
  holdBody,
  LINK_REFUSALS,
  MAX_REASON_LENGTH,
  notConfirmedBody,
  refusalBody,
  staleText,
} from '../views/approval-page';
import { page, STYLE, traceFromHistory } from '../views/report-html';
import { PauseChangedError, pauseRollout, resolveApproval, resumeRollout } from './lib/procedures';

export interface ApprovalPageDeps {
  /** The record, its history, the wait and the pause (DecisionStore: no other part of the store). */
  store: DecisionStore;
  /** Ends the approval wait (SendTaskSuccess, SendTaskFailure). */
  executions: TaskTokens;
  clock: Clock;
  log: Log;
  /** The HMAC key links are signed with (Secrets Manager on AWS, random per sandbox run). */
  signingKey: () => Promise<string | Uint8Array>;
  /** Where each history entry is announced as a state-change event; absent: none. */
  events?: StateChangeBus;
}

export type ApprovalPageHandler = ((
  event: APIGatewayProxyEventV2,
  context: Context,
) => Promise<APIGatewayProxyStructuredResultV2>) &
  middy.MiddyfiedHandler<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2>;

const styleHash = createHash('sha256').update(STYLE, 'utf8').digest('base64');

/** Nothing but the page's own style sheet, inline SVG, and forms posting back to this origin. */
const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  `style-src 'sha256-${styleHash}'`,
  "img-src 'self' data:",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ');

const HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'cache-control': 'no-store',
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
};

const MAX_BODY = 4096;

/** History entries that are a decision on an approval wait (views/approval-page.ts words them). */
type Decision = Extract<HistoryEntry, { type: keyof typeof DECIDED }>;
const isDecision = (h: StoredHistoryEntry): h is Decision => Object.hasOwn(DECIDED, h.type);

function respond(statusCode: number, title: string, body: string): APIGatewayProxyStructuredResultV2 {
  return { statusCode, headers: HEADERS, body: page(title, body) };
}

function refuse(statusCode: 400 | 403 | 404 | 405 | 410, title: string, explanation: string) {
  return respond(statusCode, title, refusalBody(title, explanation));
}

/** The posted form; undefined when it is not a form (the page only ever posts url-encoded forms) or too large. */
function readForm(event: APIGatewayProxyEventV2): URLSearchParams | undefined {
  const type =
    Object.entries(event.headers ?? {}).find(([k]) => k.toLowerCase() === 'content-type')?.[1] ?? '';
  if (event.body && !/^application\/x-www-form-urlencoded\b/i.test(type)) return undefined;
  if (!event.body) return new URLSearchParams();
  const text = event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
  if (text.length > MAX_BODY) return undefined;
  return new URLSearchParams(text);
}

/**
 * What was decided on the wait a link names, from the history (who, when, which; never from where), or
 * undefined when nothing was recorded. Read best-effort: a refusal is still right without it.
 */
async function earlierDecision(
  { store }: ApprovalPageDeps,
  rolloutId: string,
  claims: ApprovalClaims,
): Promise<string | undefined> {
  let history: StoredHistoryEntry[];
  try {
    history = await store.history(rolloutId);
  } catch {
    return undefined;
  }
  const entry = history
    .filter(isDecision)
    .findLast((h) => h.detail.wait === claims.wait && h.detail.step === claims.step);
  if (!entry) return undefined;
  return decisionText(claims.step, entry.type, entry.detail.by, entry.at);
}

/** The link's claims and the record, or the refusal to send. */
async function check(
  deps: ApprovalPageDeps,
  link: string | undefined | null,
): Promise<
  | {
      ok: true;
      claims: ApprovalClaims;
      record: RolloutRecord & { wait: NonNullable<RolloutRecord['wait']> };
    }
  | { ok: false; response: APIGatewayProxyStructuredResultV2 }
> {
  const { store, clock, log } = deps;
  if (!link || link.length > MAX_LINK_LENGTH)
    return {
      ok: false,
      response: refuse(403, 'This approval link is not valid', 'The link is missing or too long.'),
    };
  const verified = verifyApprovalLink(await deps.signingKey(), link, clock.now());
  if (!verified.ok) {
    const [status, title, text] = LINK_REFUSALS[verified.reason];
    log.warn('approval link refused', { reason: verified.reason });
    return { ok: false, response: refuse(status, title, text) };
  }
  const { claims } = verified;
  const record = await store.getRollout(claims.rolloutId);
  if (!record) {
    log.warn('approval link refused', { reason: 'unknown rollout', rolloutId: claims.rolloutId });
    return {
      ok: false,
      response: refuse(410, 'This rollout no longer exists', 'The rollout named by the link is not known.'),
    };
  }
  const wait = record.wait;
  // A decision already taken on this wait stands, even while the record still shows the wait (its clearing
  // failed after Step Functions had the decision).
  const decided =
    wait?.kind === 'approval' && matchesWait(claims, wait)
      ? await earlierDecision(deps, record.rolloutId, claims)
      : undefined;
  if (
    wait?.kind !== 'approval' ||
    !matchesWait(claims, wait) ||
    decided ||
    record.abort ||
    TERMINAL_STATUSES.has(record.status)
  ) {
    log.warn('approval link refused', {
      reason: 'stale',
      rolloutId: record.rolloutId,
      status: record.status,
    });
    if (decided && wait)
      // Repair what the decision left behind: the wait the workflow no longer holds (best-effort).
      await store.clearWait(record.rolloutId, wait.token).catch(() => undefined);
    const earlier = decided ?? (await earlierDecision(deps, record.rolloutId, claims));
    return {
      ok: false,
      response: refuse(
        410,
        'This approval link was already used or is out of date',
        staleText(record, earlier, decided !== undefined),
      ),
    };
  }
  return { ok: true, claims, record: { ...record, wait } };
}

async function show(deps: ApprovalPageDeps, event: APIGatewayProxyEventV2) {
  const { store, clock } = deps;
  const link = event.queryStringParameters?.t;
  const checked = await check(deps, link);
  if (!checked.ok) return checked.response;
  const { record, claims } = checked;
  const history = await store.history(record.rolloutId);
  const trace = traceFromHistory(record, history, undefined, clock.now());
  return respond(
    200,
    approvalTitle(record, claims.step),
    approvalBody(record, claims.step, trace, link ?? ''),
  );
}

/** A write after a decision that failed: logged; the page then says the record may lag. */
const recordedLate = (log: Log) => (write: string, error: unknown) =>
  log.error('decision recorded late', {
    write,
    error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
  });

async function act(deps: ApprovalPageDeps, event: APIGatewayProxyEventV2) {
  const { log } = deps;
  const fields = readForm(event);
  if (!fields)
    return refuse(400, 'Not a form', 'Send the form from the approval page (url-encoded, not too large).');
  const link = fields.get('t') ?? event.queryStringParameters?.t;
  const decision = fields.get('decision');
  const checked = await check(deps, link);
  if (!checked.ok) return checked.response;
  const reason = freeText(fields.get('reason') ?? '', MAX_REASON_LENGTH);
  if (decision === 'pause' || decision === 'resume') return hold(deps, checked.record, decision, reason);
  if (decision !== 'approve' && decision !== 'reject')
    return refuse(400, 'No decision', 'Choose Approve or Reject.');
  const { record, claims } = checked;
  // Who decided, for everyone who reads the history or the workflow's cause; the address the request came from
  // is only in this function's log, for audit.
  const who = 'the approval page';
  const message =
    decision === 'approve'
      ? `step ${record.wait.step + 1} approved from ${who}${reason ? `: ${reason}` : ''}`
      : `step ${record.wait.step + 1} rejected from ${who}${reason ? `: ${reason}` : ''}`;
  let outcome: Awaited<ReturnType<typeof resolveApproval>>;
  try {
    outcome = await resolveApproval(
      deps,
      record,
      record.wait,
      { approve: decision === 'approve', message },
      { via: 'approval-page', by: who, onLagging: recordedLate(log) },
    );
  } catch (error) {
    // The request may have reached Step Functions before it failed: the decision may or may not be taken.
    log.error('approval decision not confirmed', {
      rolloutId: record.rolloutId,
      decision,
      error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
    });
    return respond(
      503,
      'The decision was not confirmed',
      notConfirmedBody(decision, record.wait.step, record.service),
    );
  }
  if (!outcome.sent) {
    // The workflow no longer held this wait: it is cleared (best-effort; a later visit refuses the link the same
    // way) and must not be offered again.
    log.warn('approval wait already resolved', { rolloutId: record.rolloutId });
    const earlier = await earlierDecision(deps, record.rolloutId, claims);
    return refuse(
      410,
      'This approval link was already used or is out of date',
      `${earlier ? `${earlier} ` : ''}The rollout had already stopped waiting for this approval.`,
    );
  }
  // Decided: from here on nothing may say otherwise (the writes after it are retried, lib/approval.ts).
  log.info('approval decided', {
    rolloutId: record.rolloutId,
    decision,
    step: record.wait.step,
    sourceIp: event.requestContext?.http?.sourceIp ?? 'unknown',
  });
  const lagging = outcome.lagging;
  return respond(
    200,
    decidedTitle(decision),
    decidedBody(decision, record, record.wait.step, lagging.length > 0),
  );
}

/**
 * Pause or resume from the page, with the same signed link (lib/pause.ts): the approval wait stays open, so the
 * link stays good for the other buttons. A refusal (already paused, not paused) changes nothing.
 */
async function hold(
  deps: ApprovalPageDeps,
  record: RolloutRecord,
  action: 'pause' | 'resume',
  reason: string,
): Promise<APIGatewayProxyStructuredResultV2> {
  const refusal = action === 'pause' ? pauseRefusal(record) : resumeRefusal(record);
  if (refusal) return refuse(410, action === 'pause' ? 'Not paused' : 'Not resumed', refusal);
  const actor = { via: 'approval-page' as const, by: 'the approval page' };
  const stored = await (action === 'pause'
    ? pauseRollout(deps, record, actor, reason || undefined)
    : resumeRollout(deps, record, actor)
  ).catch((e: unknown) => {
    // The pause changed since the record was read (a pause on failure landed): nothing was written.
    if (e instanceof PauseChangedError) return e;
    throw e;
  });
  if (stored instanceof PauseChangedError)
    return refuse(410, action === 'pause' ? 'Not paused' : 'Not resumed', stored.message);
  deps.log.info(`rollout ${action}d from the approval page`, { rolloutId: record.rolloutId });
  return respond(200, action === 'pause' ? 'Paused' : 'Resumed', holdBody(action, stored));
}

export function makeApprovalPage(deps: ApprovalPageDeps): ApprovalPageHandler {
  const { log } = deps;
  return middy<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2>().handler(async (event) => {
    const method = event.requestContext?.http?.method ?? 'GET';
    const path = event.rawPath ?? event.requestContext?.http?.path ?? '/';
    if (!/(^|\/)approve\/?$/.test(path)) return refuse(404, 'Not found', 'There is no page here.');
    try {
      if (method === 'GET' || method === 'HEAD') return await show(deps, event);
      if (method === 'POST') return await act(deps, event);
      return {
        ...refuse(405, 'Method not allowed', 'Use the buttons on the approval page.'),
        headers: { ...HEADERS, allow: 'GET, POST' },
      };
    } catch (error) {
      log.error('approval page failed', {
        error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
      });
      return respond(500, 'Something went wrong', FAILURE_BODY);
    }
  }) as ApprovalPageHandler;
}
