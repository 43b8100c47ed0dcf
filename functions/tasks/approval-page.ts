/**
 * The approval page (API Gateway HTTP API, payload v2): `GET /approve?t=<link>` shows the rollout waiting for
 * approval — service, image, step, weights, the canary-vs-stable evidence of the last analysis and its chart —
 * with Approve / Reject buttons that POST the link back. A GET never acts (mail scanners open links). A POST
 * with a link that is still good resolves the rollout's current approval wait (SendTaskSuccess, or
 * SendTaskFailure ApprovalRejected) and clears it, so the link cannot be used again. Forged, expired, reused,
 * tampered or stale links get a refusal page (403/410) and change nothing. Strict CSP, no external resources;
 * the link (which holds no secret, only a hash of the wait token) is never logged.
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
import type { MetricEvidence, Verdict } from '../core/judge';
import { esc, page, renderCharts, STYLE, traceFromHistory } from '../core/report-html';
import { imageLabel, type RolloutRecord, TERMINAL_STATUSES } from '../core/rollout';
import type { Clock, Executions, Log, RolloutStore } from '../ports';
import { recordHistory } from './lib/procedures';

export interface ApprovalPageDeps {
  store: RolloutStore;
  executions: Executions;
  clock: Clock;
  log: Log;
  /** The HMAC key links are signed with (Secrets Manager on AWS, random per sandbox run). */
  signingKey: () => Promise<string | Uint8Array>;
}

export type ApprovalPageHandler = ((
  event: APIGatewayProxyEventV2,
  context: Context,
) => Promise<APIGatewayProxyStructuredResultV2>) &
  middy.MiddyfiedHandler<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2>;

const styleHash = createHash('sha256').update(STYLE, 'utf8').digest('base64');

/** Nothing but the page's own style sheet, inline SVG, and forms posting back to this origin. */
export const CONTENT_SECURITY_POLICY = [
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
<p><label>Reason (optional): <input type="text" name="reason" maxlength="200"></label></p>
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
    if (
      wait?.kind !== 'approval' ||
      !matchesWait(claims, wait) ||
      record.abort ||
      TERMINAL_STATUSES.has(record.status)
    ) {
      log.warn('approval link refused', {
        reason: 'stale',
        rolloutId: record.rolloutId,
        status: record.status,
      });
      return {
        ok: false,
        response: refuse(
          410,
          'This approval link was already used or is out of date',
          `Rollout ${record.rolloutId} of ${imageLabel(record.image)} is no longer waiting for this approval (status: ${record.status}${wait ? `, now waiting for ${wait.kind} at step ${wait.step + 1}` : ''}${record.abort ? `, aborted: ${record.abort.reason}` : ''}).`,
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
    const { record } = checked;
    const reason = (fields.get('reason') ?? '')
      .replace(/[^\x20-\x7e]/g, ' ')
      .trim()
      .slice(0, 200);
    const who = `the approval page (${event.requestContext?.http?.sourceIp ?? 'unknown address'})`;
    const message =
      decision === 'approve'
        ? `step ${record.wait.step + 1} approved from ${who}${reason ? `: ${reason}` : ''}`
        : `step ${record.wait.step + 1} rejected from ${who}${reason ? `: ${reason}` : ''}`;
    const sent =
      decision === 'approve'
        ? await executions.sendTaskSuccess(record.wait.token, { approved: true, by: 'approval-page' })
        : await executions.sendTaskFailure(record.wait.token, ErrorName.ApprovalRejected, message);
    // Cleared either way: a wait the workflow no longer holds must not be offered again.
    await store.clearWait(record.rolloutId, record.wait.token);
    if (!sent) {
      log.warn('approval wait already resolved', { rolloutId: record.rolloutId });
      return refuse(
        410,
        'This approval link was already used or is out of date',
        'The rollout had already stopped waiting for this approval.',
      );
    }
    await recordHistory(deps, record.rolloutId, decision === 'approve' ? 'approved' : 'rejected', message, {
      step: record.wait.step,
      via: 'approval-page',
    });
    log.info('approval decided', { rolloutId: record.rolloutId, decision, step: record.wait.step });
    const title = decision === 'approve' ? 'Approved' : 'Rejected';
    return respond(
      200,
      title,
      `<h1 class="${decision === 'approve' ? 'ok' : 'bad'}">${title}</h1><p id="result">${esc(
        decision === 'approve'
          ? `Step ${record.wait.step + 1} of ${record.rolloutId} (${imageLabel(record.image)}) is approved: the rollout continues.`
          : `Step ${record.wait.step + 1} of ${record.rolloutId} (${imageLabel(record.image)}) is rejected: the rollout rolls back to stable.`,
      )}</p><p>Follow it with <code>canary status ${esc(record.service)}</code>.</p>`,
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
