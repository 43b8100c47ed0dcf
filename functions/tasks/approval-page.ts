/**
 * The approval page (API Gateway HTTP API, payload v2): `GET /approve?t=<link>` shows the rollout waiting for
 * approval — service, image, step, weights, the canary-vs-stable evidence of the last analysis and its chart —
 * with Approve / Reject buttons that POST the link back. A GET never acts (mail scanners open links). A POST
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
import { ErrorName } from '../core/errors';
import type { HistoryEntry, StoredHistoryEntry } from '../core/history';
import type { MetricEvidence, Verdict } from '../core/judge';
import { esc, page, renderCharts, STYLE, traceFromHistory } from '../core/report-html';
import { imageLabel, type RolloutRecord, TERMINAL_STATUSES } from '../core/rollout';
import { freeText } from '../core/text';
import type { Clock, Executions, Log, RolloutStore, StateChangeBus } from '../ports';
import { writeAfterDecision } from './lib/after-decision';
import { recordHistory } from './lib/procedures';

export interface ApprovalPageDeps {
  store: RolloutStore;
  executions: Executions;
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
/** The reason a person may give with a decision, in code points (the form's `maxlength`). */
const MAX_REASON_LENGTH = 200;

/** History entries that are a decision on an approval wait, and how the page words them. */
const DECIDED = {
  approved: 'approved',
  rejected: 'rejected',
  'promoted-full': 'approved and skipped to 100%',
} as const;
type Decision = Extract<HistoryEntry, { type: keyof typeof DECIDED }>;
const isDecision = (h: StoredHistoryEntry): h is Decision => Object.hasOwn(DECIDED, h.type);

const utc = (at: string) => `${at.replace('T', ' ').slice(0, 19)} UTC`;

function respond(statusCode: number, title: string, body: string): APIGatewayProxyStructuredResultV2 {
  return { statusCode, headers: HEADERS, body: page(title, body) };
}

function refuse(statusCode: 400 | 403 | 404 | 405 | 410, title: string, explanation: string) {
  return respond(
    statusCode,
    title,
    `<h1>${esc(title)}</h1><div class="refusal" role="alert"><p>${esc(explanation)}</p><p>Nothing was changed. ` +
      'Check the rollout with <code>canary status &lt;service&gt;</code>, or ask for a new approval link.</p></div>',
  );
}

const REFUSALS = {
  malformed: [403, 'This approval link is not valid', 'The link is incomplete or was altered.'],
  forged: [
    403,
    'This approval link is not valid',
    'The link was not issued by the canary controller, or was altered.',
  ],
  expired: [410, 'This approval link has expired', 'Approval links expire; this one is past its time.'],
} as const;

const pct = (x: number | null | undefined) =>
  x === null || x === undefined ? 'n/a' : `${(x * 100).toFixed(2)}%`;
const ms = (x: number | null | undefined) => (x === null || x === undefined ? 'n/a' : `${Math.round(x)} ms`);

function evidence(verdict: Verdict | undefined): string {
  if (!verdict) return '<p>No analysis has run yet for this rollout.</p>';
  const cls = verdict.result === 'pass' ? 'ok' : verdict.result === 'fail' ? 'bad' : 'warn';
  const rows = (label: string, v: Verdict['canary']) =>
    `<tr><td>${label}</td><td>${v.requests}</td><td>${v.errors}</td><td>${pct(v.errorRate)}</td><td>${ms(v.p99Ms)}</td></tr>`;
  const metric = (m: MetricEvidence) =>
    `<tr><td>${esc(m.metric)}</td><td class="${m.result === 'pass' ? 'ok' : m.result === 'fail' ? 'bad' : 'warn'}">${esc(m.result)}</td><td>${esc(m.detail)}</td></tr>`;
  return `<h2>Evidence of the last analysis: <span class="${cls}">${esc(verdict.result)}</span></h2>
<p>${esc(verdict.reason)}</p>
<table id="evidence"><thead><tr><th>version</th><th>requests</th><th>errors</th><th>error rate</th><th>p99</th></tr></thead>
<tbody>${rows('canary', verdict.canary)}${rows('stable', verdict.baseline)}</tbody></table>
<table><thead><tr><th>check</th><th>result</th><th>detail</th></tr></thead><tbody>${verdict.metrics.map(metric).join('')}</tbody></table>`;
}

function header(record: RolloutRecord, step: number): string {
  const canary = record.canaryPercent ?? 0;
  return `<table id="rollout"><tbody>
<tr><td>service</td><td><b>${esc(record.service)}</b></td></tr>
<tr><td>image</td><td><code>${esc(imageLabel(record.image))}</code></td></tr>
<tr><td>digest</td><td><code>${esc(record.image.digest)}</code></td></tr>
<tr><td>rollout</td><td><code>${esc(record.rolloutId)}</code></td></tr>
<tr><td>step</td><td>${step + 1}</td></tr>
<tr><td>weights</td><td>canary ${canary}% · stable ${Math.round((100 - canary) * 10) / 10}%</td></tr>
<tr><td>status</td><td>${esc(record.status)}</td></tr>
</tbody></table>`;
}

function form(link: string): string {
  return `<form method="post" action="approve">
<input type="hidden" name="t" value="${esc(link)}">
<p><label>Reason (optional): <input type="text" name="reason" maxlength="${MAX_REASON_LENGTH}"></label></p>
<p><button class="approve" type="submit" name="decision" value="approve">Approve</button>
<button class="reject" type="submit" name="decision" value="reject">Reject (roll back)</button></p>
</form>`;
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

export function makeApprovalPage(deps: ApprovalPageDeps): ApprovalPageHandler {
  const { store, executions, clock, log } = deps;

  /**
   * What was decided on the wait a link names, from the history (who, when, which; never from where), or
   * undefined when nothing was recorded. Read best-effort: a refusal is still right without it.
   */
  async function earlierDecision(rolloutId: string, claims: ApprovalClaims): Promise<string | undefined> {
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
    return `Step ${claims.step + 1} was ${DECIDED[entry.type]} from ${entry.detail.by ?? 'an operator'} at ${utc(entry.at)}.`;
  }

  /** The link's claims and the record, or the refusal to send. */
  async function check(link: string | undefined | null): Promise<
    | {
        ok: true;
        claims: ApprovalClaims;
        record: RolloutRecord & { wait: NonNullable<RolloutRecord['wait']> };
      }
    | { ok: false; response: APIGatewayProxyStructuredResultV2 }
  > {
    if (!link || link.length > MAX_LINK_LENGTH)
      return {
        ok: false,
        response: refuse(403, 'This approval link is not valid', 'The link is missing or too long.'),
      };
    const verified = verifyApprovalLink(await deps.signingKey(), link, clock.now());
    if (!verified.ok) {
      const [status, title, text] = REFUSALS[verified.reason];
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
        ? await earlierDecision(record.rolloutId, claims)
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
      const earlier = decided ?? (await earlierDecision(record.rolloutId, claims));
      return {
        ok: false,
        response: refuse(
          410,
          'This approval link was already used or is out of date',
          `${earlier ? `${earlier} ` : ''}Rollout ${record.rolloutId} of ${imageLabel(record.image)} is no longer waiting for this approval (status: ${record.status}${wait && !decided ? `, now waiting for ${wait.kind} at step ${wait.step + 1}` : ''}${record.abort ? `, aborted: ${record.abort.reason}` : ''}).`,
        ),
      };
    }
    return { ok: true, claims, record: { ...record, wait } };
  }

  async function show(event: APIGatewayProxyEventV2) {
    const link = event.queryStringParameters?.t;
    const checked = await check(link);
    if (!checked.ok) return checked.response;
    const { record, claims } = checked;
    const history = await store.history(record.rolloutId);
    const trace = traceFromHistory(record, history, undefined, clock.now());
    const title = `Approve ${record.service} step ${claims.step + 1}?`;
    return respond(
      200,
      title,
      `<h1>${esc(title)}</h1>
<p>${esc(record.service)} is rolling out <code>${esc(imageLabel(record.image))}</code>. Step ${claims.step + 1} passed analysis and waits for a person to approve it. Approving continues the rollout; rejecting rolls it back to stable.</p>
${header(record, claims.step)}
${evidence(record.lastVerdict)}
<h2>Timeline</h2>
${renderCharts(trace)}
${form(link ?? '')}`,
    );
  }

  /** Writes after a decision: a failure is logged; the page then says the record may lag. */
  const recordDecision = (writes: Record<string, () => Promise<unknown>>) =>
    writeAfterDecision(clock, writes, (write, error) =>
      log.error('decision recorded late', {
        write,
        error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
      }),
    );

  async function act(event: APIGatewayProxyEventV2) {
    const fields = readForm(event);
    if (!fields)
      return refuse(400, 'Not a form', 'Send the form from the approval page (url-encoded, not too large).');
    const link = fields.get('t') ?? event.queryStringParameters?.t;
    const decision = fields.get('decision');
    const checked = await check(link);
    if (!checked.ok) return checked.response;
    if (decision !== 'approve' && decision !== 'reject')
      return refuse(400, 'No decision', 'Choose Approve or Reject.');
    const { record, claims } = checked;
    const reason = freeText(fields.get('reason') ?? '', MAX_REASON_LENGTH);
    // Who decided, for everyone who reads the history or the workflow's cause; the address the request came from
    // is only in this function's log, for audit.
    const who = 'the approval page';
    const message =
      decision === 'approve'
        ? `step ${record.wait.step + 1} approved from ${who}${reason ? `: ${reason}` : ''}`
        : `step ${record.wait.step + 1} rejected from ${who}${reason ? `: ${reason}` : ''}`;
    let sent: boolean;
    try {
      sent =
        decision === 'approve'
          ? await executions.sendTaskSuccess(record.wait.token, { approved: true, by: 'approval-page' })
          : await executions.sendTaskFailure(record.wait.token, ErrorName.ApprovalRejected, message);
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
        `<h1>The decision was not confirmed</h1><div class="refusal" role="alert"><p>Step Functions did not confirm the ${esc(decision)} of step ${record.wait.step + 1}: it may or may not have been taken.</p><p>See what the rollout does with <code>canary status ${esc(record.service)}</code> before deciding again; this link decides nothing once a decision was taken.</p></div>`,
      );
    }
    if (!sent) {
      log.warn('approval wait already resolved', { rolloutId: record.rolloutId });
      // The workflow no longer holds this wait: it must not be offered again (best-effort; a later visit refuses
      // the link the same way).
      await recordDecision({ clearWait: () => store.clearWait(record.rolloutId, record.wait.token) });
      const earlier = await earlierDecision(record.rolloutId, claims);
      return refuse(
        410,
        'This approval link was already used or is out of date',
        `${earlier ? `${earlier} ` : ''}The rollout had already stopped waiting for this approval.`,
      );
    }
    // Decided: from here on nothing may say otherwise.
    log.info('approval decided', {
      rolloutId: record.rolloutId,
      decision,
      step: record.wait.step,
      sourceIp: event.requestContext?.http?.sourceIp ?? 'unknown',
    });
    const lagging = await recordDecision({
      // Cleared so the link cannot be used again.
      clearWait: () => store.clearWait(record.rolloutId, record.wait.token),
      history: () =>
        recordHistory(deps, record, decision === 'approve' ? 'approved' : 'rejected', message, {
          step: record.wait.step,
          via: 'approval-page',
          by: who,
          wait: claims.wait,
        }),
    });
    const title = decision === 'approve' ? 'Approved' : 'Rejected';
    return respond(
      200,
      title,
      `<h1 class="${decision === 'approve' ? 'ok' : 'bad'}">${title}</h1><p id="result">${esc(
        decision === 'approve'
          ? `Step ${record.wait.step + 1} of ${record.rolloutId} (${imageLabel(record.image)}) is approved: the rollout continues.`
          : `Step ${record.wait.step + 1} of ${record.rolloutId} (${imageLabel(record.image)}) is rejected: the rollout rolls back to stable.`,
      )}</p>${
        lagging.length > 0
          ? '<p id="lag">The decision is taken, but the controller could not record it yet: the record of the ' +
            'rollout may show it late (<code>canary status</code> may still show the wait for a while). Do not ' +
            'decide again.</p>'
          : ''
      }<p>Follow it with <code>canary status ${esc(record.service)}</code>.</p>`,
    );
  }

  return middy<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2>().handler(async (event) => {
    const method = event.requestContext?.http?.method ?? 'GET';
    const path = event.rawPath ?? event.requestContext?.http?.path ?? '/';
    if (!/(^|\/)approve\/?$/.test(path)) return refuse(404, 'Not found', 'There is no page here.');
    try {
      if (method === 'GET' || method === 'HEAD') return await show(event);
      if (method === 'POST') return await act(event);
      return {
        ...refuse(405, 'Method not allowed', 'Use the buttons on the approval page.'),
        headers: { ...HEADERS, allow: 'GET, POST' },
      };
    } catch (error) {
      log.error('approval page failed', {
        error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
      });
      return respond(
        500,
        'Something went wrong',
        '<h1>Something went wrong</h1><p>Nothing was decided. Try again, or use <code>canary approve &lt;service&gt;</code>.</p>',
      );
    }
  }) as ApprovalPageHandler;
}
