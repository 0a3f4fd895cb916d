/**
 * The report page: one self-contained HTML file (inline CSS, inline SVG, a
 * few lines of inline script that only measure what the browser drew). It
 * loads nothing: no external script, font, image or network request.
 */
import { BUCKETS_PER_DECADE, TOP_CHART, type FingerprintStats, type ReportData } from './data.js';
import { attrs, escapeHtml, fmtCount, fmtNs, fmtPct, shorten } from './format.js';
import { emptyChart, hbarChart, latencyHistogram, type Series } from './svg.js';
import { STYLE } from './style.js';
import { modelScatter } from './scatter.js';
import { MODEL_POINTS } from './model-data.js';

export const NO_OPERATORS = 'no per-call operator data: collect with --level operator --operator-probes';
export const NO_PLAN_NODES = 'no operator data: collect with --level operator';

const SERIES: Series[] = [
  { key: 'on-cpu', label: 'on-CPU', color: '#3b6fb6' },
  { key: 'off-cpu', label: 'off-CPU (blocked: I/O, locks, client)', color: '#e0913c' },
  { key: 'runq', label: 'run-queue wait (runnable, no CPU)', color: '#c0392b' },
];

/** on-CPU, blocked off-CPU and run-queue wait: the three add up to the total. */
function split(on: bigint, off: bigint, runq: bigint) {
  const blocked = off > runq ? off - runq : 0n;
  return [{ key: 'on-cpu', value: on }, { key: 'off-cpu', value: blocked }, { key: 'runq', value: runq }];
}

const noText = '(text not captured)';

function nodeTypeChart(d: ReportData): string {
  const title = 'Exclusive time by plan node type';
  if (d.nodeTypes === null) return emptyChart('node-types', title, NO_OPERATORS);
  if (d.nodeTypes.length === 0) return emptyChart('node-types', title, 'the operators table has no rows');
  return hbarChart({
    chart: 'node-types',
    title,
    subtitle: 'Time spent in each node itself (operators.excl_ns, children excluded), summed over every plan node of that type; parallel workers\' shares are included, so it can exceed wall-clock time.',
    series: SERIES,
    mode: 'absolute',
    labelWidth: 180,
    bars: d.nodeTypes.map((n) => ({
      label: n.nodeType,
      title: `${n.nodeType}: ${fmtNs(n.exclNs)} exclusive in ${fmtCount(n.nodes)} nodes of ${fmtCount(n.statements)} statements`,
      total: n.exclNs,
      segments: split(n.onCpuNs, n.offCpuNs, n.runqNs),
      note: `${fmtNs(n.exclNs)} · ${fmtPct(n.onCpuNs, n.exclNs)} CPU`,
      data: { 'data-on-cpu': n.onCpuNs, 'data-off-cpu': n.offCpuNs, 'data-runq': n.runqNs, 'data-nodes': n.nodes },
    })),
  });
}

const qerr = (v: number | null) => (v === null ? '—' : v.toFixed(2));

/** Operator level: buffers, exclusive time and the planner's row-estimate error per node type. */
function planNodeTable(d: ReportData): string {
  const title = 'Plan nodes by type: buffers, time and row estimates';
  if (d.planNodeTypes === null) return emptyChart('plan-node-types', title, NO_PLAN_NODES);
  if (d.planNodeTypes.length === 0) return emptyChart('plan-node-types', title, 'no statement was instrumented (see docs/dataset.md, operator level)');
  const rows = d.planNodeTypes.map((t) => `<tr${attrs({ 'data-node-type': t.nodeType, 'data-calls': t.calls, 'data-shared-hit': t.sharedHit, 'data-qerror-median': t.qerrorMedian ?? '' })}>
<td>${escapeHtml(t.nodeType)}</td><td class="num">${fmtCount(t.calls)}</td><td class="num">${fmtCount(t.rows)}</td><td class="num">${fmtCount(t.loops)}</td>
<td class="num">${fmtCount(t.sharedHit)}</td><td class="num">${fmtCount(t.sharedRead)}</td><td class="num">${fmtCount(t.tempBlocks)}</td>
<td class="num">${t.exclNs === null ? '—' : fmtNs(t.exclNs)}</td><td class="num">${fmtCount(t.timedCalls)}</td>
<td class="num">${qerr(t.qerrorMedian)}</td><td class="num">${qerr(t.qerrorP90)}</td></tr>`).join('\n');
  return `<figure class="chart table"${attrs({ 'data-chart': 'plan-node-types', 'data-rows': d.planNodeTypes.length })}>
<figcaption><h2>${title}</h2><p>PostgreSQL's own per-node counts of every instrumented execution (plan_node_stats), by node type: shared buffers hit and read (children included, as EXPLAIN BUFFERS), exclusive time over the timed calls, and the rows q-error — max(estimate / actual, actual / estimate) per loop — over the sampled executions (plan_nodes, weighted).</p></figcaption>
<table>
<thead><tr><th>node type</th><th>calls</th><th>rows</th><th>loops</th><th>shared hit</th><th>shared read</th><th>temp blocks</th><th>exclusive time</th><th>timed calls</th><th>q-error median</th><th>q-error p90</th></tr></thead>
<tbody>
${rows}
</tbody>
</table>
</figure>`;
}

/** The trained models' picture: predicted vs actual on the templates they never saw. */
function modelCharts(d: ReportData): string {
  const title = 'Model vs PostgreSQL\'s cost model on held-out query templates';
  if (d.models === null) return emptyChart('model', title, `${NO_PLAN_NODES}, then pgscout train`);
  if (d.models.length === 0) return emptyChart('model', title, `no model trained on this dataset: run pgscout train ${d.dataset}`);
  return d.models.map((m) => modelScatter(`model-${m.target}`, m.target === 'operator' ? `${title}: plan-node exclusive time` : `${title}: statement time`,
    `${m.modelFile} scored on the ${m.testTemplates} templates it held out, per ${m.target === 'operator' ? 'node type (most frequent first)' : 'statement'}: predicted vs actual, log-log; on the dashed line a prediction is exact. At most ${MODEL_POINTS} points per series are drawn; n and the median q-errors are over all held-out samples.`,
    m.panels)).join('\n');
}

function latencyChart(d: ReportData): string {
  const l = d.latency;
  if (l.buckets.length === 0) return emptyChart('latency', 'Statement latency distribution', 'no statements');
  const markers = [
    { key: 'p50', ns: l.p50, color: '#2e7d32' },
    { key: 'p95', ns: l.p95, color: '#8e44ad' },
    { key: 'p99', ns: l.p99, color: '#c0392b' },
  ].filter((m): m is { key: string; ns: bigint; color: string } => m.ns !== null);
  return latencyHistogram(l, BUCKETS_PER_DECADE, markers);
}

function cpuChart(d: ReportData): string {
  const o = d.overview;
  const fp = (f: FingerprintStats) => ({
    label: shorten(f.text ?? noText, 46),
    title: `${f.fingerprint ?? 'no fingerprint'}: ${shorten(f.text ?? noText, 400)}`,
    total: f.totalNs,
    segments: split(f.onCpuNs, f.offCpuNs, f.runqNs),
    note: `${fmtNs(f.totalNs)} · ${fmtCount(f.calls)} calls`,
    data: { 'data-fingerprint': f.fingerprint, 'data-on-cpu': f.onCpuNs, 'data-off-cpu': f.offCpuNs, 'data-runq': f.runqNs },
  });
  return hbarChart({
    chart: 'cpu',
    title: 'CPU vs off-CPU vs run-queue wait',
    subtitle: `Where statement time went (on_cpu_ns, off_cpu_ns, runq_wait_ns): all statements, then the top ${TOP_CHART} fingerprints by total time.`,
    series: SERIES,
    mode: 'share',
    labelWidth: 380,
    monoLabels: true,
    bars: [
      {
        label: 'all statements',
        title: `all ${fmtCount(o.statements)} statements`,
        total: o.totalNs,
        segments: split(o.onCpuNs, o.offCpuNs, o.runqNs),
        note: `${fmtNs(o.totalNs)} · ${fmtCount(o.statements)} calls`,
        data: { 'data-fingerprint': 'all', 'data-on-cpu': o.onCpuNs, 'data-off-cpu': o.offCpuNs, 'data-runq': o.runqNs },
      },
      ...d.top.slice(0, TOP_CHART).map(fp),
    ],
  });
}

function topTable(d: ReportData): string {
  const rows = d.top.map((f, i) => `<tr${attrs({
    'data-fingerprint': f.fingerprint ?? '', 'data-calls': f.calls, 'data-total-ns': f.totalNs, 'data-mean-ns': f.meanNs,
    'data-rows': f.rows ?? '', 'data-on-cpu-ns': f.onCpuNs,
  })}>
<td class="num">${i + 1}</td><td class="mono">${escapeHtml(f.fingerprint ?? '—')}</td><td>${escapeHtml(f.command ?? '—')}</td>
<td class="num">${fmtCount(f.calls)}</td><td class="num">${fmtNs(f.totalNs)}</td><td class="num">${fmtNs(f.meanNs)}</td>
<td class="num">${fmtNs(f.p95Ns)}</td><td class="num">${f.rows === null ? '—' : fmtCount(f.rows)}</td>
<td class="num">${fmtPct(f.onCpuNs, f.totalNs)}</td><td class="query"><div>${f.text === null ? `<em>${noText}</em>` : escapeHtml(f.text)}</div></td></tr>`).join('\n');
  return `<figure class="chart table"${attrs({ 'data-chart': 'top-fingerprints', 'data-rows': d.top.length })}>
<figcaption><h2>Top fingerprints by total time</h2><p>Statements grouped by libpg-query fingerprint; text is the dataset's normalized text (constants are $n).</p></figcaption>
<table>
<thead><tr><th>#</th><th>fingerprint</th><th>command</th><th>calls</th><th>total</th><th>mean</th><th>p95</th><th>rows</th><th>on-CPU</th><th>normalized text</th></tr></thead>
<tbody>
${rows}
</tbody>
</table>
</figure>`;
}

function header(d: ReportData): string {
  const o = d.overview;
  const iso = (ns: bigint | null) => (ns === null ? '—' : new Date(Number(ns / 1_000_000n)).toISOString().replace('T', ' ').slice(0, 19));
  const span = o.firstNs !== null && o.lastNs !== null ? fmtNs(o.lastNs - o.firstNs) : '—';
  const cards: [string, string][] = [
    ['statements', fmtCount(o.statements)],
    ['failed (query_errors)', fmtCount(o.failed)],
    ['fingerprints', fmtCount(o.fingerprints)],
    ['backends', fmtCount(o.backends)],
    ['statement time', fmtNs(o.totalNs)],
    ['on-CPU', fmtPct(o.onCpuNs, o.totalNs)],
    ['run-queue wait', fmtPct(o.runqNs, o.totalNs)],
  ];
  return `<header>
<h1>pgscout report</h1>
<p class="meta">dataset <code>${escapeHtml(d.dataset)}</code> · host${o.hosts.length === 1 ? '' : 's'} ${escapeHtml(o.hosts.join(', ') || '—')}
 · ${iso(o.firstNs)} → ${iso(o.lastNs)} UTC (${span})</p>
<div class="cards">${cards.map(([k, v]) => `<div class="card"${attrs({ 'data-card': k })}><div class="v">${escapeHtml(v)}</div><div class="k">${escapeHtml(k)}</div></div>`).join('')}</div>
</header>`;
}

/**
 * Runs after the page is laid out: records on every chart how large it was
 * drawn and how many bar pieces have a non-empty box, so a headless browser's
 * DOM dump proves the charts were rendered, not just present in the source.
 */
const MEASURE = `(() => {
  for (const chart of document.querySelectorAll('[data-chart]')) {
    const box = chart.getBoundingClientRect();
    chart.dataset.renderedWidth = String(Math.round(box.width));
    chart.dataset.renderedHeight = String(Math.round(box.height));
    let drawn = 0;
    for (const seg of chart.querySelectorAll('[data-segment]')) {
      const r = seg.getBoundingClientRect();
      if (r.width > 0 && r.height > 0) drawn++;
    }
    chart.dataset.renderedSegments = String(drawn);
    chart.dataset.renderedRows = String(chart.querySelectorAll('tbody tr').length);
  }
  document.body.dataset.rendered = 'true';
})();`;

export function renderReport(d: ReportData): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'">
<title>pgscout report — ${escapeHtml(d.dataset)}</title>
<style>${STYLE}</style>
</head>
<body>
${header(d)}
<main>
${planNodeTable(d)}
${nodeTypeChart(d)}
${modelCharts(d)}
${latencyChart(d)}
${cpuChart(d)}
${topTable(d)}
</main>
<footer>Generated by <code>pgscout report</code> from the Parquet files of this dataset only: sums, counts and percentiles of its columns and its normalized statement text.</footer>
<script>${MEASURE}</script>
</body>
</html>
`;
}
