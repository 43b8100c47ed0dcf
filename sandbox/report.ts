/**
 * The rollout report: JSON, and a self-contained HTML page (inline SVG, no scripts, no network) with, per
 * rollout, the canary's weight and canary vs stable error rate and p99 over time, and the decisions taken.
 */
import type { RolloutTrace } from './run';

const W = 900;
const PANEL_H = 120;
const PAD = { left: 60, right: 20, top: 18, bottom: 22 };

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

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
      return `<path d="${d}" fill="none" stroke="${s.color}" stroke-width="2"/>`;
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

export function renderHtml(traces: RolloutTrace[], title = 'Canary rollouts'): string {
  const sections = traces.map((trace) => {
    const { summary, fromMs: from, toMs: to } = trace;
    const marks = trace.history
      .filter((h) => ['analysis', 'alarm', 'rolledBack', 'promoted'].includes(h.type))
      .map((h) => ({ t: Date.parse(h.at) - trace.originMs, label: h.message }));
    const errMax = Math.max(0.02, ...[...trace.canary, ...trace.stable].map((r) => r.errorRate ?? 0));
    const p99Max = Math.max(20, ...[...trace.canary, ...trace.stable].map((r) => r.p99Ms ?? 0));
    const weightPoints = [
      { t: from, v: trace.weights[0]?.canaryPercent ?? 0 },
      ...trace.weights.map((w) => ({ t: w.t, v: w.canaryPercent })),
    ];
    const charts = [
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
          {
            label: 'canary',
            color: '#e31a1c',
            points: trace.canary.map((r) => ({ t: r.t, v: r.errorRate })),
          },
          {
            label: 'stable',
            color: '#1f78b4',
            points: trace.stable.map((r) => ({ t: r.t, v: r.errorRate })),
          },
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
    const decisions = trace.history
      .map((h) => `<li><code>${esc(h.at.slice(11, 19))}</code> ${esc(h.message)}</li>`)
      .join('');
    const outcome =
      summary.outcome === 'promoted'
        ? '<b style="color:#2e7d32">promoted</b>'
        : '<b style="color:#c62828">rolled back</b>';
    return `<section><h2>${esc(summary.version)} — ${outcome}</h2>
<p>${esc(summary.reason)}</p>
<p>Rollout <code>${esc(summary.rolloutId)}</code> · ${summary.failedRequestsServed} failed requests served by the canary${summary.alarmToStableMs !== null ? ` · alarm → 100% stable in ${summary.alarmToStableMs} ms` : ''} · ${(summary.wallMs / 1000).toFixed(1)} s wall time</p>
${charts}
<details><summary>Decisions</summary><ol>${decisions}</ol></details></section>`;
  });
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title>
<style>body{font-family:system-ui,sans-serif;max-width:960px;margin:2em auto;color:#222}section{margin-bottom:2.5em}svg{display:block;margin:.3em 0}code{background:#f3f3f3;padding:0 .2em}</style>
</head><body><h1>${esc(title)}</h1>${sections.join('\n')}</body></html>`;
}
