/**
 * The rollout report as a self-contained HTML page (inline SVG and one inline style sheet; no scripts, no
 * network): per rollout, one sentence saying how it went and what to do, then the canary's weight and canary vs
 * stable error rate and p99 over time, and the decisions taken. Pure rendering, shared by the sandbox (recorded
 * metrics), the CLI (`canary report`, from the store's history) and the approval page (its chart). The time of
 * "now" (the end of a running rollout's charts) is the caller's.
 */
import type { StoredHistoryEntry } from '../core/history';
import { imageLabel, type RolloutRecord } from '../core/rollout';
import type { Verdict } from '../core/verdict';
import { rolloutSentence } from './headline';

export interface RolloutSummary {
  /** The image's tag (or digest prefix): the version the sandbox pushed. */
  version: string;
  /** The image as imageLabel names it; absent: the version. */
  image?: string;
  service?: string;
  rolloutId: string;
  outcome: 'promoted' | 'rolledBack' | 'running' | 'rollbackFailed';
  reason: string;
  steps: { weight: number; verdict: string }[];
  failedRequestsServed: number | null;
  alarmToStableMs: number | null;
  wallMs: number | null;
}

export interface TimelinePoint {
  /** Rollout time, ms since `originMs`. */
  t: number;
  canaryPercent: number;
}

export interface MetricPoint {
  t: number;
  requests: number;
  errorRate: number | null;
  p99Ms: number | null;
}

export interface RolloutTrace {
  summary: RolloutSummary;
  history: StoredHistoryEntry[];
  weights: TimelinePoint[];
  canary: MetricPoint[];
  stable: MetricPoint[];
  fromMs: number;
  toMs: number;
  /** The origin in rollout time (epoch ms): history timestamps minus this give chart positions. */
  originMs: number;
  /** A running rollout's last verdict, and whether it waits for approval: what its sentence speaks of. */
  verdict?: Verdict;
  waitingForApproval?: boolean;
}

/** The sentence a rollout's section leads with. */
export function traceSentence(trace: RolloutTrace): string {
  const { summary } = trace;
  return rolloutSentence({
    service: summary.service ?? 'the service',
    image: summary.image ?? summary.version,
    outcome: summary.outcome,
    ...(summary.outcome === 'running' ? {} : { reason: summary.reason }),
    ...(trace.verdict ? { verdict: trace.verdict } : {}),
    ...(trace.waitingForApproval ? { waitingForApproval: true } : {}),
  });
}

const W = 900;
const PANEL_H = 120;
const PAD = { left: 60, right: 20, top: 18, bottom: 22 };

export function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** The one style sheet every page uses (inline, so a strict CSP can allow it by hash). */
export const STYLE =
  'body{font-family:system-ui,sans-serif;max-width:960px;margin:2em auto;color:#222;padding:0 1em}section{margin-bottom:2.5em}' +
  'svg{display:block;margin:.3em 0;max-width:100%;height:auto}code{background:#f3f3f3;padding:0 .2em}' +
  '.ok{color:#2e7d32}.bad{color:#c62828}.warn{color:#a15c00}table{border-collapse:collapse;margin:.5em 0}' +
  'td,th{border:1px solid #ddd;padding:.25em .6em;text-align:right}th:first-child,td:first-child{text-align:left}' +
  'button{font-size:1.1em;padding:.5em 1.4em;margin-right:1em;border-radius:4px;border:1px solid #888;cursor:pointer}' +
  'button.approve{background:#2e7d32;color:#fff}button.reject{background:#c62828;color:#fff}' +
  'input[type=text]{width:30em;padding:.3em}.refusal{border-left:4px solid #c62828;padding:.5em 1em;background:#fdf0f0}' +
  '.lead{font-size:1.15em;font-weight:600}';

interface Series {
  label: string;
  color: string;
  points: { t: number; v: number | null }[];
  step?: boolean;
}

function panel(
  title: string,
  series: Series[],
  from: number,
  to: number,
  yMax: number,
  format: (v: number) => string,
  marks: { t: number; label: string }[],
): string {
  const innerW = W - PAD.left - PAD.right;
  const innerH = PANEL_H - PAD.top - PAD.bottom;
  const x = (t: number) => PAD.left + ((t - from) / Math.max(1, to - from)) * innerW;
  const y = (v: number) => PAD.top + innerH - (Math.min(v, yMax) / (yMax || 1)) * innerH;
  const lines = series
    .map((s) => {
      let d = '';
      let prev: { t: number; v: number } | undefined;
      for (const p of s.points) {
        if (p.v === null) {
          prev = undefined;
          continue;
        }
        if (!prev) d += `M${x(p.t).toFixed(1)},${y(p.v).toFixed(1)}`;
        else if (s.step) d += `H${x(p.t).toFixed(1)}V${y(p.v).toFixed(1)}`;
        else d += `L${x(p.t).toFixed(1)},${y(p.v).toFixed(1)}`;
        prev = { t: p.t, v: p.v };
      }
      if (s.step && prev) d += `H${x(to).toFixed(1)}`;
      // A single point draws nothing as a path: mark it.
      const dots =
        s.points.filter((p) => p.v !== null).length === 1
          ? s.points
              .filter((p) => p.v !== null)
              .map(
                (p) =>
                  `<circle cx="${x(p.t).toFixed(1)}" cy="${y(p.v ?? 0).toFixed(1)}" r="3" fill="${s.color}"/>`,
              )
              .join('')
          : '';
      return `<path d="${d}" fill="none" stroke="${s.color}" stroke-width="2"/>${dots}`;
    })
    .join('');
  const legend = series
    .map(
      (s, i) =>
        `<text x="${PAD.left + 8 + i * 130}" y="12" fill="${s.color}" font-size="11">■ ${esc(s.label)}</text>`,
    )
    .join('');
  const markLines = marks
    .map(
      (m) =>
        `<line x1="${x(m.t)}" x2="${x(m.t)}" y1="${PAD.top}" y2="${PAD.top + innerH}" stroke="#999" stroke-dasharray="3,3"><title>${esc(m.label)}</title></line>`,
    )
    .join('');
  const axis = [0, 0.5, 1]
    .map(
      (f) =>
        `<text x="${PAD.left - 6}" y="${y(yMax * f) + 4}" text-anchor="end" font-size="10" fill="#555">${esc(format(yMax * f))}</text>`,
    )
    .join('');
  const seconds = (to - from) / 1000;
  return `<svg viewBox="0 0 ${W} ${PANEL_H}" width="${W}" height="${PANEL_H}" role="img" aria-label="${esc(title)}">
<rect x="${PAD.left}" y="${PAD.top}" width="${innerW}" height="${innerH}" fill="#fafafa" stroke="#ddd"/>
<text x="${W - PAD.right}" y="12" text-anchor="end" font-size="11" font-weight="bold">${esc(title)}</text>${legend}${axis}${markLines}${lines}
<text x="${PAD.left}" y="${PANEL_H - 6}" font-size="10" fill="#555">0 s</text><text x="${W - PAD.right}" y="${PANEL_H - 6}" text-anchor="end" font-size="10" fill="#555">${seconds.toFixed(0)} s of rollout time</text>
</svg>`;
}

/**
 * Which history entries the charts mark with a dashed line: the analyses and the decisions. Every kind says, so
 * a kind added to the history cannot be left out unnoticed.
 */
const MARKED = {
  started: false,
  prepared: false,
  weight: false,
  analysis: true,
  drift: false,
  approval: true,
  'promoted-early': false,
  'promoted-full': false,
  approved: true,
  rejected: true,
  aborted: true,
  paused: true,
  resumed: true,
  retried: true,
  alarm: true,
  superseded: false,
  promoting: false,
  promoted: true,
  rolledBack: true,
  rollbackFailed: false,
  hook: true,
  unrecognized: false,
} as const satisfies Record<StoredHistoryEntry['type'], boolean>;

/** The three panels of a rollout: weight, error rate, p99 (decisions marked as dashed lines). */
export function renderCharts(trace: RolloutTrace): string {
  const { fromMs: from, toMs: to } = trace;
  const marks = trace.history
    .filter((h) => MARKED[h.type])
    .map((h) => ({ t: Date.parse(h.at) - trace.originMs, label: h.message }));
  const errMax = Math.max(0.02, ...[...trace.canary, ...trace.stable].map((r) => r.errorRate ?? 0));
  const p99Max = Math.max(20, ...[...trace.canary, ...trace.stable].map((r) => r.p99Ms ?? 0));
  const weightPoints = [
    { t: from, v: trace.weights[0]?.canaryPercent ?? 0 },
    ...trace.weights.map((w) => ({ t: w.t, v: w.canaryPercent })),
  ];
  return [
    panel(
      'canary weight (%)',
      [{ label: 'canary weight', color: '#6a3d9a', points: weightPoints, step: true }],
      from,
      to,
      100,
      (v) => `${v.toFixed(0)}%`,
      marks,
    ),
    panel(
      'server error rate',
      [
        { label: 'canary', color: '#e31a1c', points: trace.canary.map((r) => ({ t: r.t, v: r.errorRate })) },
        { label: 'stable', color: '#1f78b4', points: trace.stable.map((r) => ({ t: r.t, v: r.errorRate })) },
      ],
      from,
      to,
      errMax,
      (v) => `${(v * 100).toFixed(1)}%`,
      marks,
    ),
    panel(
      'p99 latency',
      [
        { label: 'canary', color: '#e31a1c', points: trace.canary.map((r) => ({ t: r.t, v: r.p99Ms })) },
        { label: 'stable', color: '#1f78b4', points: trace.stable.map((r) => ({ t: r.t, v: r.p99Ms })) },
      ],
      from,
      to,
      p99Max,
      (v) => `${v.toFixed(0)} ms`,
      marks,
    ),
  ].join('\n');
}

const OUTCOME: Record<RolloutSummary['outcome'], string> = {
  promoted: '<b class="ok">promoted</b>',
  rolledBack: '<b class="bad">rolled back</b>',
  rollbackFailed: '<b class="bad">rollback failed</b>',
  running: '<b class="warn">in progress</b>',
};

function renderSection(trace: RolloutTrace): string {
  const { summary } = trace;
  const decisions = trace.history
    .map((h) => `<li><code>${esc(h.at.slice(11, 19))}</code> ${esc(h.message)}</li>`)
    .join('');
  const facts = [
    `Rollout <code>${esc(summary.rolloutId)}</code>`,
    ...(summary.failedRequestsServed !== null
      ? [`${summary.failedRequestsServed} failed requests served by the canary`]
      : []),
    ...(summary.alarmToStableMs !== null ? [`alarm → 100% stable in ${summary.alarmToStableMs} ms`] : []),
    ...(summary.wallMs !== null ? [`${(summary.wallMs / 1000).toFixed(1)} s wall time`] : []),
  ];
  return `<section><h2>${esc(summary.image ?? summary.version)} — ${OUTCOME[summary.outcome]}</h2>
<p class="lead">${esc(traceSentence(trace))}</p>
<p>${facts.join(' · ')}</p>
<p>${esc(summary.reason)}</p>
${renderCharts(trace)}
<details><summary>Decisions</summary><ol>${decisions}</ol></details></section>`;
}

/** A whole page around a body: one inline style sheet, nothing else. */
export function page(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><meta name="referrer" content="no-referrer"><title>${esc(title)}</title>
<style>${STYLE}</style>
</head><body>${body}</body></html>`;
}

export function renderHtml(traces: RolloutTrace[], title = 'Canary rollouts'): string {
  return page(title, `<h1>${esc(title)}</h1>${traces.map(renderSection).join('\n')}`);
}

/** Per-step verdicts from the history: the last analysis of each step, or how the step was interrupted. */
export function stepVerdicts(history: StoredHistoryEntry[], outcomeReason: string): RolloutSummary['steps'] {
  const steps = new Map<number, { weight: number; verdict: string }>();
  for (const e of history) {
    if (e.type === 'weight') steps.set(e.detail.step, { weight: e.detail.weight, verdict: 'interrupted' });
    if (e.type === 'analysis')
      steps.set(e.detail.step, { weight: e.detail.weight, verdict: e.detail.verdict });
  }
  const list = [...steps.entries()].sort(([a], [b]) => a - b).map(([, s]) => s);
  const last = list[list.length - 1];
  if (last?.verdict === 'interrupted' && outcomeReason.startsWith('AlarmFired')) last.verdict = 'alarm';
  return list;
}

/**
 * A trace from what the store keeps (the record and its history), for when no recorded metrics exist (AWS): the
 * weights from the `weight` entries and canary vs stable from each analysis (cumulative since the canary
 * started, which is what the judge saw). `metrics` replaces the analysis points when the caller has a finer
 * timeline (the sandbox's recorder).
 */
export function traceFromHistory(
  record: RolloutRecord,
  history: StoredHistoryEntry[],
  metrics: { canary: MetricPoint[]; stable: MetricPoint[] } | undefined,
  now: Date,
): RolloutTrace {
  const origin = Date.parse(record.createdAt);
  const t = (at: string) => Date.parse(at) - origin;
  const weights: TimelinePoint[] = [{ t: 0, canaryPercent: 0 }];
  const canary: MetricPoint[] = [];
  const stable: MetricPoint[] = [];
  for (const e of history) {
    if (e.type === 'weight') weights.push({ t: t(e.at), canaryPercent: e.detail.weight });
    if (e.type === 'rolledBack' || e.type === 'alarm') weights.push({ t: t(e.at), canaryPercent: 0 });
    if (e.type === 'analysis') {
      canary.push({ t: t(e.at), ...pick(e.detail.canary) });
      stable.push({ t: t(e.at), ...pick(e.detail.baseline) });
    }
  }
  const end = record.outcome?.at ?? history[history.length - 1]?.at ?? now.toISOString();
  const toMs = Math.max(t(record.outcome ? end : now.toISOString()), t(end), 1000);
  const reason =
    record.outcome?.reason ??
    (record.wait?.kind === 'approval'
      ? `waiting for approval of step ${record.wait.step + 1}`
      : `${record.status}${record.canaryPercent !== undefined ? ` at ${record.canaryPercent}%` : ''}`);
  const outcome: RolloutSummary['outcome'] =
    record.status === 'promoted' || record.status === 'rolledBack' || record.status === 'rollbackFailed'
      ? record.status
      : 'running';
  return {
    summary: {
      version: record.image.tag ?? record.image.digest.slice(0, 19),
      image: imageLabel(record.image),
      service: record.service,
      rolloutId: record.rolloutId,
      outcome,
      reason,
      steps: stepVerdicts(history, reason),
      failedRequestsServed: null,
      alarmToStableMs: null,
      wallMs: null,
    },
    history,
    weights,
    canary: metrics?.canary.map((p) => ({ ...p, t: p.t - origin })) ?? canary,
    stable: metrics?.stable.map((p) => ({ ...p, t: p.t - origin })) ?? stable,
    fromMs: 0,
    toMs,
    originMs: origin,
    ...(record.lastVerdict ? { verdict: record.lastVerdict } : {}),
    ...(record.wait?.kind === 'approval' ? { waitingForApproval: true } : {}),
  };
}

function pick(s: { requests: number; errorRate: number | null; p99Ms: number | null }) {
  return { requests: s.requests, errorRate: s.errorRate, p99Ms: s.p99Ms };
}
