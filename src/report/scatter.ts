/**
 * Predicted vs actual on log-log axes, one small panel per node type: the
 * model's points and the cost-model baseline's, with the y = x line a perfect
 * predictor would sit on. Every point is a <circle data-segment="model|baseline">
 * with its actual and predicted ns, so the page can be read back.
 */
import { attrs, escapeHtml } from './format.js';
import type { ModelPanel } from './model-data.js';
import { axisNs, figure, legend, WIDTH, type Series } from './svg.js';

export const SCATTER_SERIES: Series[] = [
  { key: 'model', label: 'model (random forest)', color: '#3b6fb6' },
  { key: 'baseline', label: 'baseline: PostgreSQL cost × a + b', color: '#e0913c' },
];

const COLUMNS = 3;
const PANEL_W = WIDTH / COLUMNS;
const PANEL_H = 290;
const PAD = { left: 52, right: 14, top: 36, bottom: 36 };

/** Whole decades spanning every value of the panel (both axes share them). */
export function decadeRange(values: number[]): [number, number] {
  const logs = values.filter((v) => v > 0).map(Math.log10);
  if (logs.length === 0) return [3, 6];
  const lo = Math.floor(Math.min(...logs));
  const hi = Math.ceil(Math.max(...logs));
  return [lo, hi > lo ? hi : lo + 1];
}

function panelSvg(p: ModelPanel, x0: number, y0: number): string {
  const [lo, hi] = decadeRange(p.points.flatMap((q) => [q.actualNs, q.modelNs, q.baselineNs]));
  const w = PANEL_W - PAD.left - PAD.right;
  const h = PANEL_H - PAD.top - PAD.bottom;
  const sx = (ns: number) => x0 + PAD.left + ((Math.log10(Math.max(ns, 10 ** lo)) - lo) / (hi - lo)) * w;
  const sy = (ns: number) => y0 + PAD.top + h - ((Math.log10(Math.max(ns, 10 ** lo)) - lo) / (hi - lo)) * h;
  const ticks: string[] = [];
  for (let d = lo; d <= hi; d++) {
    const v = 10 ** d;
    ticks.push(`<line class="grid" x1="${sx(v).toFixed(1)}" x2="${sx(v).toFixed(1)}" y1="${y0 + PAD.top}" y2="${y0 + PAD.top + h}"/>`,
      `<line class="grid" x1="${x0 + PAD.left}" x2="${x0 + PAD.left + w}" y1="${sy(v).toFixed(1)}" y2="${sy(v).toFixed(1)}"/>`,
      `<text class="tick" x="${sx(v).toFixed(1)}" y="${y0 + PAD.top + h + 14}" text-anchor="middle">${escapeHtml(axisNs(v))}</text>`,
      `<text class="tick" x="${x0 + PAD.left - 4}" y="${(sy(v) + 4).toFixed(1)}" text-anchor="end">${escapeHtml(axisNs(v))}</text>`);
  }
  const circles = (key: 'model' | 'baseline', color: string) => p.points.map((q) => {
    const predicted = key === 'model' ? q.modelNs : q.baselineNs;
    return `<circle${attrs({ 'data-segment': key, 'data-actual': Math.round(q.actualNs), 'data-predicted': Math.round(predicted) })} cx="${sx(q.actualNs).toFixed(1)}" cy="${sy(predicted).toFixed(1)}" r="2.2" fill="${color}" fill-opacity="0.45"/>`;
  }).join('');
  const [base, model] = [SCATTER_SERIES[1]!, SCATTER_SERIES[0]!];
  return `<g class="panel"${attrs({ 'data-panel': p.label, 'data-n': p.n, 'data-points': p.points.length, 'data-model-median-qerror': p.modelMedianQ, 'data-baseline-median-qerror': p.baselineMedianQ, 'data-decades': `${lo}..${hi}` })}>
<text x="${x0 + PAD.left}" y="${y0 + 14}" font-weight="600">${escapeHtml(p.label)}</text>
<text class="note" x="${x0 + PAD.left}" y="${y0 + 28}">${escapeHtml(`n ${p.n} · median q-error model ${p.modelMedianQ.toFixed(2)}, cost ${p.baselineMedianQ.toFixed(2)}`)}</text>
${ticks.join('')}
<line x1="${sx(10 ** lo).toFixed(1)}" y1="${sy(10 ** lo).toFixed(1)}" x2="${sx(10 ** hi).toFixed(1)}" y2="${sy(10 ** hi).toFixed(1)}" stroke="#9aa5b1" stroke-dasharray="4 3"/>
${circles('baseline', base.color)}
${circles('model', model.color)}
<text class="axis-title" x="${x0 + PAD.left + w / 2}" y="${y0 + PANEL_H - 6}" text-anchor="middle">actual</text>
<text class="axis-title" x="${x0 + 12}" y="${y0 + PAD.top + h / 2}" text-anchor="middle" transform="rotate(-90 ${x0 + 12} ${y0 + PAD.top + h / 2})">predicted</text>
</g>`;
}

/** The panels of one trained target as a figure. */
export function modelScatter(chart: string, title: string, subtitle: string, panels: ModelPanel[]): string {
  const rows = Math.ceil(panels.length / COLUMNS);
  const height = rows * PANEL_H;
  const body = panels.map((p, i) => panelSvg(p, (i % COLUMNS) * PANEL_W, Math.floor(i / COLUMNS) * PANEL_H)).join('\n');
  return figure(chart, title, subtitle, { 'data-panels': panels.length },
    `${legend(SCATTER_SERIES)}
<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${WIDTH} ${height}" width="${WIDTH}" height="${height}" role="img">
${body}
</svg>`);
}
