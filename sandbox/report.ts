/**
 * The rollout report: JSON, and a self-contained HTML page. The rendering lives in functions/core/report-html.ts
 * so the approval page (a Lambda) and the CLI draw the same charts.
 */
export { renderHtml } from '../functions/core/report-html';
