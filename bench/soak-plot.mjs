#!/usr/bin/env node
/**
 * Plots a soak's samples (the CSV of `bench/soak.mjs --csv`) as one SVG of six
 * small line charts over time: RSS (and its peak), open fds, CPU % of a core,
 * records dropped, drain wall time and the main thread's wait for a CPU. For docs/benchmarks.md.
 *
 *   node bench/soak-plot.mjs soak.csv docs/soak-30min.svg [--limit-rss 150]
 */
import fs from 'node:fs';
import { niceTicks } from '../dist/report/svg.js';
import { flag } from './lib/harness.mjs';

const [csv, out] = process.argv.slice(2).filter((a, i, all) => !a.startsWith('--') && !all[i - 1]?.startsWith('--'));
if (!csv || !out) {
  console.error('usage: node bench/soak-plot.mjs <soak.csv> <out.svg> [--limit-rss 150]');
  process.exit(2);
}
const LIMIT = Number(flag('limit-rss', '150'));
const [header, ...lines] = fs.readFileSync(csv, 'utf8').trim().split('\n');
const cols = header.split(',');
const rows = lines.map((l) => Object.fromEntries(l.split(',').map((v, i) => [cols[i], Number(v)])));

const W = 420;
const H = 220;
const PAD = { l: 52, r: 14, t: 30, b: 34 };
const tMax = Math.max(...rows.map((r) => r.t));

function panel(x0, y0, title, series, { limit = null, unit = '', limitLabel = 'target' } = {}) {
  const max = Math.max(1, limit ?? 0, ...series.flatMap((s) => rows.map((r) => r[s.key])).filter(Number.isFinite)) * 1.05;
  const yTicks = niceTicks(max, 4);
  const top = yTicks.at(-1);
  const sx = (t) => x0 + PAD.l + (t / tMax) * (W - PAD.l - PAD.r);
  const sy = (v) => y0 + H - PAD.b - (v / top) * (H - PAD.t - PAD.b);
  const grid = yTicks.map((v) => `<line x1="${x0 + PAD.l}" x2="${x0 + W - PAD.r}" y1="${sy(v)}" y2="${sy(v)}" stroke="#e4e7eb"/><text x="${x0 + PAD.l - 4}" y="${sy(v) + 4}" text-anchor="end" font-size="11" fill="#616e7c">${v}${unit}</text>`).join('');
  const xTicks = niceTicks(tMax / 60, 5).map((m) => `<text x="${sx(m * 60)}" y="${y0 + H - PAD.b + 14}" text-anchor="middle" font-size="11" fill="#616e7c">${m} min</text>`).join('');
  const lines = series.map((s) => `<polyline fill="none" stroke="${s.color}" stroke-width="1.6" points="${rows.filter((r) => Number.isFinite(r[s.key])).map((r) => `${sx(r.t).toFixed(1)},${sy(r[s.key]).toFixed(1)}`).join(' ')}"/>`).join('');
  const lim = limit === null ? '' : `<line x1="${x0 + PAD.l}" x2="${x0 + W - PAD.r}" y1="${sy(limit)}" y2="${sy(limit)}" stroke="#c0392b" stroke-dasharray="5 3"/><text x="${x0 + W - PAD.r}" y="${sy(limit) - 4}" text-anchor="end" font-size="11" fill="#c0392b">${limitLabel} ${limit}${unit}</text>`;
  const keys = series.map((s, i) => `<text x="${x0 + PAD.l + title.length * 8 + 16 + i * 70}" y="${y0 + 16}" font-size="11" fill="${s.color}">— ${s.label}</text>`).join('');
  return `<text x="${x0 + PAD.l}" y="${y0 + 16}" font-size="13" font-weight="600" fill="#1f2933">${title}</text>${keys}${grid}${xTicks}${lim}${lines}`;
}

const PANELS = [
  ['RSS (MB)', [{ key: 'rss_mb', label: 'RSS', color: '#3b6fb6' }, { key: 'peak_mb', label: 'peak', color: '#9aa5b1' }], { limit: LIMIT }],
  ['open fds', [{ key: 'fds', label: 'fds', color: '#3b6fb6' }]],
  ['CPU, % of one core', [{ key: 'cpu_pct', label: 'CPU', color: '#e0913c' }], { unit: '%' }],
  ['records dropped (total)', [{ key: 'dropped', label: 'dropped', color: '#c0392b' }]],
  ['drain wall time, mean (ms)', [{ key: 'drain_ms', label: 'drain', color: '#3b6fb6' }], { limit: 1000, limitLabel: 'interval' }],
  ['main thread waiting for a CPU', [{ key: 'runq_pct', label: 'run queue', color: '#8e44ad' }], { unit: '%' }],
].filter(([, series]) => series.every((x) => cols.includes(x.key)));
const COLS = 3;
const ROWS = Math.ceil(PANELS.length / COLS);
const svg = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${COLS * W} ${ROWS * H}" width="${COLS * W}" height="${ROWS * H}" font-family="system-ui, sans-serif">
<rect width="100%" height="100%" fill="#fff"/>
${PANELS.map(([title, series, opts], i) => panel((i % COLS) * W, Math.floor(i / COLS) * H, title, series, opts)).join('\n')}
</svg>
`;
fs.writeFileSync(out, svg);
console.log(`${out}: ${rows.length} samples over ${Math.round(tMax / 60)} min`);
