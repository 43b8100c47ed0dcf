/**
 * The approval page's HTML (functions/tasks/approval-page.ts is its controller): the rollout waiting for approval,
 * led by one sentence saying what the last analysis found and what approving does, then the rollout, the
 * evidence table (the statistics), the timeline and the Approve / Reject form; the refusals and the results of a
 * decision. Everything a record holds is escaped.
 */
import type { RolloutRecord } from '../core/rollout';
import { imageLabel } from '../core/rollout';
import type { MetricEvidence, Verdict } from '../core/verdict';
import { evidenceText } from './evidence-text';
import { verdictSentence } from './headline';
import { esc, type RolloutTrace, renderCharts } from './report-html';

/** The reason a person may give with a decision, in code points (the form's `maxlength`). */
export const MAX_REASON_LENGTH = 200;

/** How the page words each decision on an approval wait (history entry type → words). */
export const DECIDED = {
  approved: 'approved',
  rejected: 'rejected',
  'promoted-full': 'approved and skipped to 100%',
} as const;

/** Why a link is refused, as the page says it: status, title, explanation. */
export const LINK_REFUSALS = {
  malformed: [403, 'This approval link is not valid', 'The link is incomplete or was altered.'],
  forged: [
    403,
    'This approval link is not valid',
    'The link was not issued by the canary controller, or was altered.',
  ],
  expired: [410, 'This approval link has expired', 'Approval links expire; this one is past its time.'],
} as const;

const utc = (at: string) => `${at.replace('T', ' ').slice(0, 19)} UTC`;
const pct = (x: number | null | undefined) =>
  x === null || x === undefined ? 'n/a' : `${(x * 100).toFixed(2)}%`;
const ms = (x: number | null | undefined) => (x === null || x === undefined ? 'n/a' : `${Math.round(x)} ms`);
const resultClass = (r: string) => (r === 'pass' ? 'ok' : r === 'fail' ? 'bad' : 'warn');

/** A refusal: what is wrong, that nothing changed, and where to look instead. */
export function refusalBody(title: string, explanation: string): string {
  return (
    `<h1>${esc(title)}</h1><div class="refusal" role="alert"><p>${esc(explanation)}</p><p>Nothing was changed. ` +
    'Check the rollout with <code>canary status &lt;service&gt;</code>, or ask for a new approval link.</p></div>'
  );
}

/** Who decided a wait, which way and when (never from where). */
export function decisionText(step: number, type: keyof typeof DECIDED, by: string | undefined, at: string) {
  return `Step ${step + 1} was ${DECIDED[type]} from ${by ?? 'an operator'} at ${utc(at)}.`;
}

/** Why a link whose wait is over is refused: what was decided, and where the rollout is now. */
export function staleText(record: RolloutRecord, earlier: string | undefined, decided: boolean): string {
  const wait = record.wait;
  const now = wait && !decided ? `, now waiting for ${wait.kind} at step ${wait.step + 1}` : '';
  const aborted = record.abort ? `, aborted: ${record.abort.reason}` : '';
  return `${earlier ? `${earlier} ` : ''}Rollout ${record.rolloutId} of ${imageLabel(record.image)} is no longer waiting for this approval (status: ${record.status}${now}${aborted}).`;
}

function evidence(verdict: Verdict | undefined): string {
  if (!verdict) return '<p>No analysis has run yet for this rollout.</p>';
  const rows = (label: string, v: Verdict['canary']) =>
    `<tr><td>${label}</td><td>${v.requests}</td><td>${v.errors}</td><td>${pct(v.errorRate)}</td><td>${ms(v.p99Ms)}</td></tr>`;
  const metric = (m: MetricEvidence) =>
    `<tr><td>${esc(m.metric)}</td><td class="${resultClass(m.result)}">${esc(m.result)}</td><td>${esc(evidenceText(m))}</td></tr>`;
  return `<h2>Evidence of the last analysis: <span class="${resultClass(verdict.result)}">${esc(verdict.result)}</span></h2>
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
<tr><td>status</td><td>${esc(record.paused ? `${record.status}, paused at ${record.paused.weight}% by ${record.paused.by}` : record.status)}</td></tr>
</tbody></table>`;
}

/** Pause holds the canary's share (approving then moves nothing up until resumed); Resume lets the plan go on. */
function holdButton(record: RolloutRecord): string {
  return record.paused
    ? '<button type="submit" name="decision" value="resume">Resume</button>'
    : '<button type="submit" name="decision" value="pause">Pause (hold the weight)</button>';
}

function form(link: string, record: RolloutRecord): string {
  return `<form method="post" action="approve">
<input type="hidden" name="t" value="${esc(link)}">
<p><label>Reason (optional): <input type="text" name="reason" maxlength="${MAX_REASON_LENGTH}"></label></p>
<p><button class="approve" type="submit" name="decision" value="approve">Approve</button>
<button class="reject" type="submit" name="decision" value="reject">Reject (roll back)</button>
${holdButton(record)}</p>
</form>`;
}

/** A pause or a resume taken from the page: what it does. */
export function holdBody(action: 'pause' | 'resume', record: RolloutRecord): string {
  const weight = record.canaryPercent ?? 0;
  const result =
    action === 'pause'
      ? `${record.rolloutId} is paused at ${weight}%: analyses go on and can still roll it back; no step raises the canary's share until it is resumed. The approval stays open.`
      : `${record.rolloutId} is resumed: the plan goes on from ${weight}%.`;
  return `<h1>${action === 'pause' ? 'Paused' : 'Resumed'}</h1><p id="result">${esc(result)}</p><p>Follow it with <code>canary status ${esc(record.service)}</code>.</p>`;
}

/** The sentence the page leads with: what the last analysis found, and what each button does. */
export function approvalSentence(record: RolloutRecord, step: number): string {
  return verdictSentence(
    record.lastVerdict,
    `approve to continue the rollout of ${imageLabel(record.image)} past step ${step + 1}, or reject to roll back to stable`,
  );
}

export function approvalTitle(record: RolloutRecord, step: number): string {
  return `Approve ${record.service} step ${step + 1}?`;
}

/** The page of a rollout waiting for approval: the sentence, the rollout, the evidence, the timeline, the form. */
export function approvalBody(record: RolloutRecord, step: number, trace: RolloutTrace, link: string): string {
  return `<h1>${esc(approvalTitle(record, step))}</h1>
<p class="lead" id="headline">${esc(approvalSentence(record, step))}</p>
${header(record, step)}
${evidence(record.lastVerdict)}
<h2>Timeline</h2>
${renderCharts(trace)}
${form(link, record)}`;
}

/** Step Functions did not confirm a decision: it may or may not be taken. */
export function notConfirmedBody(decision: string, step: number, service: string): string {
  return `<h1>The decision was not confirmed</h1><div class="refusal" role="alert"><p>Step Functions did not confirm the ${esc(decision)} of step ${step + 1}: it may or may not have been taken.</p><p>See what the rollout does with <code>canary status ${esc(service)}</code> before deciding again; this link decides nothing once a decision was taken.</p></div>`;
}

export const decidedTitle = (decision: 'approve' | 'reject') =>
  decision === 'approve' ? 'Approved' : 'Rejected';

/** A decision taken: what it does, and whether the record of it may lag. */
export function decidedBody(
  decision: 'approve' | 'reject',
  record: RolloutRecord,
  step: number,
  lagging: boolean,
): string {
  const what = `Step ${step + 1} of ${record.rolloutId} (${imageLabel(record.image)}) is`;
  const result =
    decision === 'approve'
      ? `${what} approved: the rollout continues.`
      : `${what} rejected: the rollout rolls back to stable.`;
  const lag = lagging
    ? '<p id="lag">The decision is taken, but the controller could not record it yet: the record of the ' +
      'rollout may show it late (<code>canary status</code> may still show the wait for a while). Do not ' +
      'decide again.</p>'
    : '';
  return `<h1 class="${decision === 'approve' ? 'ok' : 'bad'}">${decidedTitle(decision)}</h1><p id="result">${esc(result)}</p>${lag}<p>Follow it with <code>canary status ${esc(record.service)}</code>.</p>`;
}

export const FAILURE_BODY =
  '<h1>Something went wrong</h1><p>Nothing was decided. Try again, or use <code>canary approve &lt;service&gt;</code>.</p>';
