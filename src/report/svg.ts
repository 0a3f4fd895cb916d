/**
 * Inline SVG charts, built as strings: no script or external resource is
 * needed to draw them. Every chart is a <figure data-chart="…">; every bar is
 * a <g class="bar" data-label data-total …> and every drawn piece of a bar a
 * <rect data-segment="…" data-value="…"> (only pieces with a value > 0), so
 * tests and other tools can read the numbers back from the page.
 */
import { attrs, escapeHtml, fmtCompact, fmtCount, fmtNs } from './format.js';
import type { Latency } from './data.js';

export const WIDTH = 960;

export interface Series { key: string; label: string; color: string }
export interface Segment { key: string; value: bigint }

export interface HBar {
  label: string;
  /** Tooltip (SVG <title>) of the whole bar. */
  title: string;
  total: bigint;
  segments: Segment[];
  /** Text right of the bar. */
  note: string;
  /** Extra data-* attributes of the bar. */
  data?: Record<string, string | bigint | number | null>;
}

export interface HBarChart {
  chart: string;
  title: string;
  subtitle: string;
  series: Series[];
  bars: HBar[];
  /** absolute: bar length ∝ total (ns); share: every bar full width, pieces ∝ their share of it. */
  mode: 'absolute' | 'share';
  labelWidth: number;
  monoLabels?: boolean;
}

const ROW = 26;
const BAR = 18;
const NOTE = 170;
const AXIS = 24;

/** fmtNs without trailing zeros, for axes: "1 ms", "10 µs", "1.78 ms". */
export const axisNs = (ns: number) => fmtNs(ns).replace(/(\.\d*?)0+ /, '$1 ').replace(/\. /, ' ');

/** About `count` round tick values from 0 to ≥ max. */
export function niceTicks(max: number, count = 4): number[] {
  if (!(max > 0)) return [0];
  const raw = max / count;
  const pow = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * pow).find((s) => s >= raw) ?? 10 * pow;
  const ticks: number[] = [];
  for (let v = 0; v <= max + step * 1e-9; v += step) ticks.push(v);
  return ticks;
}

export function legend(series: Series[]): string {
  return `<div class="legend">${series.map((s) =>
    `<span class="key"><span class="swatch" style="background:${s.color}"></span>${escapeHtml(s.label)}</span>`).join('')}</div>`;
}

export function figure(chart: string, title: string, subtitle: string, extra: Record<string, string | number>, body: string): string {
  return `<figure class="chart"${attrs({ 'data-chart': chart, ...extra })}>
<figcaption><h2>${escapeHtml(title)}</h2><p>${escapeHtml(subtitle)}</p></figcaption>
${body}
</figure>`;
}

export function hbarChart(c: HBarChart): string {
  const plot = WIDTH - c.labelWidth - NOTE;
  const height = AXIS + c.bars.length * ROW + 4;
  const extent = (b: HBar) => Math.max(Number(b.total), b.segments.reduce((a, s) => a + Number(s.value), 0));
  const max = c.bars.reduce((m, b) => Math.max(m, extent(b)), 0);
  const scale = (v: number, total: number) => (c.mode === 'share' ? (total > 0 ? (v / total) * plot : 0) : max > 0 ? (v / max) * plot : 0);
  const color = new Map(c.series.map((s) => [s.key, s]));

  const ticks = c.mode === 'share' ? [0, 0.25, 0.5, 0.75, 1] : niceTicks(max);
  const tickMax = c.mode === 'share' ? 1 : max;
  const grid = ticks.filter((t) => t <= tickMax * (1 + 1e-9)).map((t) => {
    const x = c.labelWidth + (tickMax > 0 ? (t / tickMax) * plot : 0);
    const label = c.mode === 'share' ? `${Math.round(t * 100)} %` : axisNs(t);
    return `<line class="grid" x1="${x.toFixed(1)}" x2="${x.toFixed(1)}" y1="${AXIS - 4}" y2="${height}"/>` +
      `<text class="tick" x="${x.toFixed(1)}" y="${AXIS - 8}" text-anchor="middle">${escapeHtml(label)}</text>`;
  }).join('');

  const bars = c.bars.map((b, i) => {
    const y = AXIS + i * ROW;
    let x = c.labelWidth;
    // the pieces should add up to the total; if they do not (measurement skew), never draw past the bar's end
    const total = extent(b);
    const rects = b.segments.filter((s) => s.value > 0n).map((s) => {
      const w = scale(Number(s.value), total);
      const ser = color.get(s.key)!;
      const share = total > 0 ? ` (${((100 * Number(s.value)) / total).toFixed(1)} %)` : '';
      const r = `<rect${attrs({ 'data-segment': s.key, 'data-value': s.value })} x="${x.toFixed(2)}" y="${(ROW - BAR) / 2}" width="${Math.max(w, 0.5).toFixed(2)}" height="${BAR}" fill="${ser.color}">` +
        `<title>${escapeHtml(`${ser.label}: ${fmtNs(s.value)}${share}`)}</title></rect>`;
      x += w;
      return r;
    }).join('');
    const end = c.mode === 'share' ? c.labelWidth + plot : x;
    return `<g class="bar"${attrs({ 'data-label': b.label, 'data-total': b.total, ...b.data })} transform="translate(0,${y})">` +
      `<title>${escapeHtml(b.title)}</title>` +
      `<text class="label${c.monoLabels ? ' mono' : ''}" x="${c.labelWidth - 8}" y="${ROW / 2 + 4}" text-anchor="end">${escapeHtml(b.label)}</text>` +
      `${rects}<text class="note" x="${(end + 6).toFixed(1)}" y="${ROW / 2 + 4}">${escapeHtml(b.note)}</text></g>`;
  }).join('\n');

  return figure(c.chart, c.title, c.subtitle, { 'data-bars': c.bars.length, 'data-mode': c.mode },
    `${legend(c.series)}
<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${WIDTH} ${height}" width="${WIDTH}" height="${height}" role="img">
${grid}
${bars}
</svg>`);
}

export interface Marker { key: string; ns: bigint; color: string }

/** Histogram of statement latency over log-scale buckets, with percentile markers. */
export function latencyHistogram(lat: Latency, bucketsPerDecade: number, markers: Marker[]): string {
  const title = 'Statement latency distribution';
  const subtitle = `Statements per duration bucket (log scale, ${bucketsPerDecade} buckets per power of ten); dashed lines mark percentiles.`;
  const nb = lat.buckets.length;
  const left = 64;
  const right = 16;
  const top = 56;
  const plotH = 220;
  const height = top + plotH + 40;
  const plotW = WIDTH - left - right;
  const bw = nb > 0 ? plotW / nb : plotW;
  const maxCount = lat.buckets.reduce((m, b) => Math.max(m, Number(b.count)), 0);
  const first = lat.buckets[0]?.index ?? 0;
  const xOfNs = (ns: number) => left + (Math.log10(Math.max(ns, 1)) * bucketsPerDecade - first) * bw;

  const yTicks = niceTicks(maxCount).map((t) => {
    const y = top + plotH - (maxCount > 0 ? (t / maxCount) * plotH : 0);
    return `<line class="grid" x1="${left}" x2="${WIDTH - right}" y1="${y.toFixed(1)}" y2="${y.toFixed(1)}"/>` +
      `<text class="tick" x="${left - 6}" y="${(y + 4).toFixed(1)}" text-anchor="end">${fmtCount(t)}</text>`;
  }).join('');

  const counts: string[] = []; // drawn last, over the percentile lines
  const bars = lat.buckets.map((b, i) => {
    const h = maxCount > 0 ? (Number(b.count) / maxCount) * plotH : 0;
    const x = left + i * bw;
    const range = `${fmtNs(b.loNs)} – ${fmtNs(b.hiNs)}`;
    const y = top + plotH - Math.max(h, 2);
    const rect = b.count > 0n
      ? `<rect${attrs({ 'data-segment': 'statements', 'data-value': b.count })} x="${(x + 1).toFixed(2)}" y="${y.toFixed(2)}" width="${Math.max(bw - 2, 1).toFixed(2)}" height="${Math.max(h, 2).toFixed(2)}" fill="#3b6fb6"/>`
      : '';
    if (b.count > 0n && bw >= 26) {
      counts.push(`<text class="count" x="${(x + bw / 2).toFixed(2)}" y="${(y - 3).toFixed(2)}" text-anchor="middle">${fmtCompact(b.count)}</text>`);
    }
    return `<g class="bar"${attrs({ 'data-label': range, 'data-total': b.count, 'data-bucket': b.index, 'data-lo-ns': Math.round(b.loNs), 'data-hi-ns': Math.round(b.hiNs) })}>` +
      `<title>${escapeHtml(`${range}: ${fmtCount(b.count)} statements`)}</title>${rect}</g>`;
  }).join('\n');

  // x axis: a label at every power of ten (every bucket edge when the range is narrow)
  const step = nb + 1 <= 8 ? 1 : bucketsPerDecade;
  const xLabels: string[] = [];
  for (let i = 0; i <= nb; i++) {
    const b = first + i;
    if (((b % step) + step) % step !== 0 && step !== 1) continue;
    const x = left + i * bw;
    xLabels.push(`<line class="axis" x1="${x.toFixed(1)}" x2="${x.toFixed(1)}" y1="${top + plotH}" y2="${top + plotH + 5}"/>` +
      `<text class="tick" x="${x.toFixed(1)}" y="${top + plotH + 18}" text-anchor="middle">${escapeHtml(axisNs(10 ** (b / bucketsPerDecade)))}</text>`);
  }

  const marks = markers.map((m, row) => {
    const x = Math.min(Math.max(xOfNs(Number(m.ns)), left), WIDTH - right);
    const anchor = x > WIDTH - 140 ? 'end' : 'start';
    const tx = anchor === 'end' ? x - 4 : x + 4;
    const ty = 14 + row * 14;
    return `<g class="marker"${attrs({ 'data-marker': m.key, 'data-ns': m.ns })}>` +
      `<line x1="${x.toFixed(1)}" x2="${x.toFixed(1)}" y1="${ty - 4}" y2="${top + plotH}" stroke="${m.color}" stroke-width="1.5" stroke-dasharray="4 3"/>` +
      `<text class="marker-label" x="${tx.toFixed(1)}" y="${ty}" text-anchor="${anchor}" fill="${m.color}">${escapeHtml(`${m.key} ${fmtNs(m.ns)}`)}</text></g>`;
  }).join('\n');

  return figure('latency', title, subtitle, { 'data-bars': nb },
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${WIDTH} ${height}" width="${WIDTH}" height="${height}" role="img">
${yTicks}
<line class="axis" x1="${left}" x2="${WIDTH - right}" y1="${top + plotH}" y2="${top + plotH}"/>
${bars}
${xLabels.join('')}
<text class="axis-title" x="${left + plotW / 2}" y="${height - 4}" text-anchor="middle">statement duration</text>
<text class="axis-title" x="14" y="${top + plotH / 2}" text-anchor="middle" transform="rotate(-90 14 ${top + plotH / 2})">statements</text>
${marks}
${counts.join('')}
</svg>`);
}

/** A chart slot with nothing to draw, and why. */
export function emptyChart(chart: string, title: string, message: string): string {
  return figure(chart, title, '', { 'data-bars': 0, 'data-empty': 'true' }, `<p class="empty">${escapeHtml(message)}</p>`);
}
