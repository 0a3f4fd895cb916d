/**
 * `pgscout report`: a small dataset written with the project's own Parquet
 * writer (no BPF needed), the report made by the built CLI, then the page
 * opened in headless Chromium and its rendered DOM checked against the rows
 * that were written.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ParquetTableWriter } from '../../src/dataset/parquet-writer.js';
import type { Row, TableSpec } from '../../src/dataset/schema.js';
import { OPERATORS_TABLE } from '../../src/collectors/operators/table.js';
import { PLAN_NODES_TABLE, PLAN_NODE_STATS_TABLE } from '../../src/collectors/plan-nodes/table.js';
import { QUERIES_TABLE } from '../../src/collectors/statements/tables.js';
import { BUCKETS_PER_DECADE } from '../../src/report/data.js';
import { runCli } from '../helpers/cli.js';

const CHROMIUM = 'chromium';
const CHROMIUM_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run'];

/** Every column at its type's zero (null when nullable), then the given values. */
function row(table: TableSpec, values: Row): Row {
  const r: Row = {};
  for (const c of table.columns) {
    r[c.name] = c.nullable ? null : c.type === 'INT64' ? 0n : c.type === 'STRING' ? '' : c.type === 'BOOLEAN' ? false : 0;
  }
  return { ...r, ...values };
}

// ---- the dataset ---------------------------------------------------------

const NASTY = 'SELECT "<script>alert(1)</script>", "<b>x</b>" FROM "a&b" WHERE c < $1 AND d > $2 AND e = \'$3\'';
const T0 = 1_763_700_000_000_000_000n;

interface Fp { fingerprint: string | null; text: string | null; command: string | null; durations: bigint[] }

/** 12 fingerprints (more than the chart's 10); #1 has HTML in its text, #5 had no text captured, #3 never waited for a CPU. */
const FPS: Fp[] = Array.from({ length: 12 }, (_, i) => {
  const mults = [1.3, 2.4, 4.2, 7.5]; // never near a bucket edge (10^(k/4) = 1, 1.78, 3.16, 5.62)
  const durations = Array.from({ length: 3 + i }, (_, j) => BigInt(Math.round(mults[(i + j) % 4]! * 10 ** (4 + ((i * j) % 4)))));
  if (i === 5) return { fingerprint: null, text: null, command: null, durations };
  return {
    fingerprint: (0xa0 + i).toString(16).padStart(16, '0'),
    text: i === 1 ? NASTY : `SELECT c${i} FROM t${i} WHERE id = $1`,
    command: 'SELECT',
    durations,
  };
});

const split = (i: number, d: bigint) => {
  const on = (d * 6n) / 10n;
  const off = d - on;
  return { on, off, runq: i === 3 ? 0n : off / 3n };
};

function queryRows(): Row[] {
  const rows: Row[] = [];
  let seq = 0n;
  FPS.forEach((fp, i) => fp.durations.forEach((d, j) => {
    const { on, off, runq } = split(i, d);
    const start = T0 + seq * 1_000_000n;
    rows.push(row(QUERIES_TABLE, {
      exec_id: (4242n << 32n) | seq++, query_id: fp.fingerprint === null ? null : BigInt(1000 + i), fingerprint: fp.fingerprint,
      query_text: fp.text, command: fp.command, database: 'bench', pid: 4242, protocol: 'simple',
      start_ns: start, end_ns: start + d, duration_ns: d, execute_ns: d, executor_ns: d,
      on_cpu_ns: on, off_cpu_ns: off, runq_wait_ns: runq, rows: i === 5 ? null : BigInt(j + 1),
    }));
  }));
  return rows;
}

/** [node type, excl_on_cpu_ns, excl_off_cpu_ns, excl_runq_wait_ns] per plan node row. */
const NODES: [string, bigint, bigint, bigint][] = [
  ['Seq Scan', 9_000_000n, 3_000_000n, 1_000_000n],
  ['Seq Scan', 7_000_000n, 1_000_000n, 0n],
  ['Hash Join', 6_000_000n, 0n, 0n],
  ['Hash', 2_500_000n, 500_000n, 500_000n],
  ['Index Scan', 1_200_000n, 4_800_000n, 0n],
  ['Sort', 3_000_000n, 250_000n, 125_000n],
  ['Aggregate', 800_000n, 0n, 0n],
];

function operatorRows(): Row[] {
  return NODES.map(([nodeType, on, off, runq], k) => row(OPERATORS_TABLE, {
    exec_id: (4242n << 32n) | BigInt(k % 3), pid: 4242, leader_pid: 4242, worker: -1, plan_node_id: k, depth: 0,
    node_type: nodeType, calls: 10n, loops: 1n, tuples: 9n, incl_ns: on + off, excl_ns: on + off,
    excl_on_cpu_ns: on, excl_off_cpu_ns: off, excl_runq_wait_ns: runq,
  }));
}

/** Operator level: per-node sums and sampled executions with known q-errors. */
const PLAN_TYPES = [
  // node type, calls, shared hit, shared read, excl ns
  ['Seq Scan', 40n, 9000n, 700n, 5_000_000n],
  ['Hash Join', 40n, 9500n, 700n, 2_000_000n],
  ['Index Scan', 300n, 1200n, 0n, null],
] as const;

function planNodeStatsRows(): Row[] {
  return PLAN_TYPES.flatMap(([nodeType, calls, hit, read, excl], k) => [0, 1].map((half) => row(PLAN_NODE_STATS_TABLE, {
    interval_start: T0 + BigInt(half) * 1_000_000_000n, interval_end: T0 + BigInt(half + 1) * 1_000_000_000n,
    query_id: 77n, plan_node_id: k, node_type: nodeType, calls: calls / 2n, rows: calls * 5n, loops: calls / 2n,
    shared_blks_hit: hit / 2n, shared_blks_read: read / 2n, excl_ns: excl === null ? null : excl / 2n,
    timed_calls: excl === null ? 0n : calls / 4n,
  })));
}

/**
 * Seq Scan: q-errors 1 (weight 3) and 10 (weight 1) → weighted median 1, p90 10;
 * Hash Join: 4 (est 40, actual 10) and 2 (est 5, actual 10 per loop over 2 loops), weights 1 → median 2, p90 4.
 */
function planNodeRows(): Row[] {
  const n = (nodeType: string, est: number, rows: bigint, loops: bigint, w: number) =>
    row(PLAN_NODES_TABLE, { node_type: nodeType, est_rows: est, rows, loops, sample_weight: w, statement_id: 1n, pid: 4242 });
  return [n('Seq Scan', 10, 10n, 1n, 3), n('Seq Scan', 100, 10n, 1n, 1), n('Hash Join', 40, 10n, 1n, 1), n('Hash Join', 5, 20n, 2n, 1),
    n('Index Scan', 1, 0n, 0n, 1)];
}

async function write(outDir: string, table: TableSpec, rows: Row[]): Promise<void> {
  const w = new ParquetTableWriter({ outDir, table, host: 'db1', maxFileRows: 40 }); // several files
  await w.append(rows);
  await w.close();
}

// ---- reading the rendered page -------------------------------------------

interface Tag { name: string; attrs: Record<string, string> }

const decode = (s: string) => s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&#39;/g, "'")
  .replace(/&nbsp;/g, '\u00a0').replace(/&amp;/g, '&');

function tags(html: string): Tag[] {
  const out: Tag[] = [];
  for (const m of html.matchAll(/<([a-zA-Z][\w:-]*)((?:\s+[^\s=>/]+(?:="[^"]*")?)*)\s*\/?>/g)) {
    const attrs: Record<string, string> = {};
    for (const a of m[2]!.matchAll(/([^\s=>/]+)(?:="([^"]*)")?/g)) attrs[a[1]!] = decode(a[2] ?? '');
    out.push({ name: m[1]!.toLowerCase(), attrs });
  }
  return out;
}

/** The <figure data-chart="name"> of the page: its own tag and its inner HTML. */
function chart(dom: string, name: string): { figure: Tag; html: string } {
  const start = dom.search(new RegExp(`<figure[^>]*data-chart="${name}"`));
  expect(start, `chart ${name} in the page`).toBeGreaterThanOrEqual(0);
  const end = dom.indexOf('</figure>', start);
  const html = dom.slice(start, end);
  return { figure: tags(html)[0]!, html };
}

const bars = (html: string) => tags(html).filter((t) => t.name === 'g' && t.attrs.class === 'bar');
const segments = (html: string) => tags(html).filter((t) => t.name === 'rect' && 'data-segment' in t.attrs);

function requireChromium(): void {
  const r = spawnSync(CHROMIUM, ['--version'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) {
    throw new Error(`chromium is not installed (${r.error?.message ?? r.stderr.trim()}): the report test needs Debian's ` +
      '`chromium` package; scripts/bootstrap.sh installs it (apt-get install chromium)');
  }
}

function runChromium(args: string[]): string {
  const r = spawnSync(CHROMIUM, [...CHROMIUM_FLAGS, `--user-data-dir=${path.join(tmp, 'chromium-profile')}`, ...args],
    { encoding: 'utf8', timeout: 90_000, maxBuffer: 64 << 20 });
  if (r.error || r.status !== 0) throw new Error(`chromium ${args.join(' ')} failed (${r.error?.message ?? `exit ${r.status}`}): ${r.stderr.slice(-2000)}`);
  return r.stdout;
}

// ---- the tests -----------------------------------------------------------

let tmp: string;
let full: string;
let stmtOnly: string;

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pgscout-report-'));
  full = path.join(tmp, 'full');
  stmtOnly = path.join(tmp, 'statements-only');
  await write(full, QUERIES_TABLE, queryRows());
  await write(full, OPERATORS_TABLE, operatorRows());
  await write(full, PLAN_NODE_STATS_TABLE, planNodeStatsRows());
  await write(full, PLAN_NODES_TABLE, planNodeRows());
  await write(stmtOnly, QUERIES_TABLE, queryRows());
});

afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

const sum = (xs: bigint[]) => xs.reduce((a, b) => a + b, 0n);

describe('pgscout report', () => {
  it('chromium is installed (scripts/bootstrap.sh installs it)', () => {
    requireChromium();
  });

  it('renders every chart with the dataset\'s numbers in headless Chromium', async () => {
    requireChromium();
    const out = path.join(tmp, 'full-report.html');
    const r = await runCli(['report', full, '--out', out]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(path.resolve(out));

    const source = fs.readFileSync(out, 'utf8');
    // self-contained: nothing is loaded from anywhere
    expect(source).not.toMatch(/<(script|link|img|iframe)[^>]*\s(src|href)=/i);
    expect(source).not.toMatch(/@import|url\(|https?:\/\/(?!www\.w3\.org\/2000\/svg)/);

    const dom = runChromium(['--dump-dom', pathToFileURL(out).href]);
    expect(dom).toMatch(/<body[^>]*data-rendered="true"/); // the page's measuring script ran after layout
    for (const name of ['plan-node-types', 'node-types', 'latency', 'cpu', 'top-fingerprints']) {
      const { figure } = chart(dom, name);
      expect(Number(figure.attrs['data-rendered-width']), name).toBeGreaterThan(500);
      expect(Number(figure.attrs['data-rendered-height']), name).toBeGreaterThan(100);
    }

    // (0) operator level: per node type, exact sums (ordered by buffers touched) and the weighted rows q-error
    const pn = chart(dom, 'plan-node-types');
    const pnRows = tags(pn.html).filter((t) => t.name === 'tr' && 'data-node-type' in t.attrs).map((t) => t.attrs);
    expect(pnRows.map((r) => [r['data-node-type'], r['data-calls'], r['data-shared-hit'], r['data-qerror-median']])).toEqual([
      ['Hash Join', '40', '9500', '2'], ['Seq Scan', '40', '9000', '1'], ['Index Scan', '300', '1200', ''],
    ]);
    expect(pn.figure.attrs['data-rendered-rows']).toBe('3');
    expect(pn.html).toMatch(/<td>Seq Scan<\/td>(<td class="num">[^<]*<\/td>\s*){9}<td class="num">10\.00<\/td>/);

    // (a) exclusive time by node type: one bar per type, largest first, exact sums, on/off-CPU split drawn
    const byType = new Map<string, { on: bigint; off: bigint; runq: bigint }>();
    for (const [t, on, off, runq] of NODES) {
      const s = byType.get(t) ?? { on: 0n, off: 0n, runq: 0n };
      byType.set(t, { on: s.on + on, off: s.off + off, runq: s.runq + runq });
    }
    const expectedTypes = [...byType.entries()].sort((a, b) => Number(b[1].on + b[1].off - a[1].on - a[1].off));
    const nt = chart(dom, 'node-types');
    const ntBars = bars(nt.html);
    expect(ntBars.map((b) => b.attrs['data-label'])).toEqual(expectedTypes.map(([t]) => t));
    ntBars.forEach((b, i) => {
      const e = expectedTypes[i]![1];
      expect(b.attrs).toMatchObject({ 'data-total': String(e.on + e.off), 'data-on-cpu': String(e.on), 'data-off-cpu': String(e.off), 'data-runq': String(e.runq) });
    });
    const ntPieces = expectedTypes.flatMap(([, e]) => [e.on, e.off - e.runq, e.runq]).filter((v) => v > 0n);
    expect(segments(nt.html).map((s) => BigInt(s.attrs['data-value']!))).toEqual(ntPieces);
    expect(nt.figure.attrs['data-rendered-segments']).toBe(String(ntPieces.length));

    // (b) latency histogram: contiguous log buckets from the smallest to the largest duration, exact counts
    const all = FPS.flatMap((f) => f.durations);
    const bucketOf = (d: bigint) => Math.floor(Math.log10(Number(d)) * BUCKETS_PER_DECADE);
    const lo = Math.min(...all.map(bucketOf));
    const hi = Math.max(...all.map(bucketOf));
    const lat = chart(dom, 'latency');
    const latBars = bars(lat.html);
    expect(latBars.map((b) => Number(b.attrs['data-bucket']))).toEqual(Array.from({ length: hi - lo + 1 }, (_, k) => lo + k));
    for (const b of latBars) {
      expect(b.attrs['data-total']).toBe(String(all.filter((d) => bucketOf(d) === Number(b.attrs['data-bucket'])).length));
      expect(Number(b.attrs['data-lo-ns'])).toBeLessThan(Number(b.attrs['data-hi-ns']));
    }
    const nonEmpty = latBars.filter((b) => b.attrs['data-total'] !== '0').length;
    expect(nonEmpty).toBeGreaterThan(4);
    expect(lat.figure.attrs['data-rendered-segments']).toBe(String(nonEmpty));
    expect(sum(segments(lat.html).map((s) => BigInt(s.attrs['data-value']!)))).toBe(BigInt(all.length));
    const sorted = [...all].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const markers = tags(lat.html).filter((t) => 'data-marker' in t.attrs);
    expect(markers.map((m) => m.attrs['data-marker'])).toEqual(['p50', 'p95', 'p99']);
    markers.forEach((m, k) => {
      const q = [0.5, 0.95, 0.99][k]!;
      const v = BigInt(m.attrs['data-ns']!);
      expect(sorted).toContain(v); // a discrete percentile: one of the durations written
      expect(sorted.filter((d) => d <= v).length / sorted.length).toBeGreaterThanOrEqual(q - 1 / sorted.length);
      expect(sorted.filter((d) => d < v).length / sorted.length).toBeLessThanOrEqual(q);
    });

    // (c) CPU vs off-CPU vs run-queue: all statements, then the top 10 fingerprints by total time
    const groups = FPS.map((f, i) => {
      const parts = f.durations.map((d) => split(i, d));
      return { f, total: sum(f.durations), on: sum(parts.map((p) => p.on)), off: sum(parts.map((p) => p.off)), runq: sum(parts.map((p) => p.runq)) };
    }).sort((a, b) => (a.total > b.total ? -1 : a.total < b.total ? 1 : 0));
    const overall = { total: sum(all), on: sum(groups.map((g) => g.on)), off: sum(groups.map((g) => g.off)), runq: sum(groups.map((g) => g.runq)) };
    const cpu = chart(dom, 'cpu');
    const cpuBars = bars(cpu.html);
    expect(cpuBars).toHaveLength(11);
    const expectedCpu = [overall, ...groups.slice(0, 10)];
    cpuBars.forEach((b, k) => {
      const e = expectedCpu[k]!;
      expect(b.attrs).toMatchObject({ 'data-total': String(e.total), 'data-on-cpu': String(e.on), 'data-off-cpu': String(e.off), 'data-runq': String(e.runq) });
    });
    expect(cpuBars[0]!.attrs['data-label']).toBe('all statements');
    expect(cpuBars.slice(1).map((b) => b.attrs['data-fingerprint'])).toEqual(groups.slice(0, 10).map((g) => g.f.fingerprint ?? undefined));
    const cpuPieces = expectedCpu.flatMap((e) => [e.on, e.off - e.runq, e.runq]).filter((v) => v > 0n);
    expect(segments(cpu.html).map((s) => BigInt(s.attrs['data-value']!))).toEqual(cpuPieces);
    expect(cpu.figure.attrs['data-rendered-segments']).toBe(String(cpuPieces.length));

    // (d) top fingerprints table: every fingerprint (12 ≤ 20), escaped text shown verbatim, no injected markup
    const top = chart(dom, 'top-fingerprints');
    expect(top.figure.attrs['data-rendered-rows']).toBe(String(FPS.length));
    const trs = tags(top.html).filter((t) => t.name === 'tr' && 'data-calls' in t.attrs);
    expect(trs.map((t) => t.attrs['data-fingerprint'])).toEqual(groups.map((g) => g.f.fingerprint ?? ''));
    trs.forEach((t, k) => {
      const g = groups[k]!;
      expect(t.attrs).toMatchObject({ 'data-calls': String(g.f.durations.length), 'data-total-ns': String(g.total), 'data-on-cpu-ns': String(g.on) });
      expect(t.attrs['data-rows']).toBe(g.f.text === null ? '' : String(sum(g.f.durations.map((_, j) => BigInt(j + 1)))));
    });
    const texts = [...top.html.matchAll(/<td class="query"><div>([\s\S]*?)<\/div><\/td>/g)].map((m) => m[1]!);
    expect(texts.map((t) => (t.startsWith('<em>') ? null : decode(t)))).toEqual(groups.map((g) => g.f.text));
    expect(tags(dom).filter((t) => t.name === 'script')).toHaveLength(1); // only the page's own
    expect(tags(dom).some((t) => t.name === 'b')).toBe(false);

    // and a person can look at it
    const png = path.join(tmp, 'report.png');
    runChromium([`--screenshot=${png}`, '--window-size=1280,2000', pathToFileURL(out).href]);
    const bytes = fs.readFileSync(png);
    expect(bytes.subarray(1, 4).toString('latin1')).toBe('PNG');
    expect(bytes.readUInt32BE(16)).toBe(1280); // IHDR width
    expect(bytes.length).toBeGreaterThan(60_000);
    if (process.env.PGSCOUT_REPORT_PNG) fs.copyFileSync(png, process.env.PGSCOUT_REPORT_PNG);
  });

  it('says how to get operator data when the dataset has none, and writes <dir>/report.html by default', async () => {
    const r = await runCli(['report', stmtOnly]);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(path.join(path.resolve(stmtOnly), 'report.html'));
    const html = fs.readFileSync(path.join(stmtOnly, 'report.html'), 'utf8');
    const nt = chart(html, 'node-types');
    expect(nt.figure.attrs).toMatchObject({ 'data-empty': 'true', 'data-bars': '0' });
    expect(nt.html).toContain('no per-call operator data: collect with --level operator --operator-probes');
    expect(chart(html, 'plan-node-types').html).toContain('no operator data: collect with --level operator');
    expect(bars(chart(html, 'cpu').html)).toHaveLength(11);
  });

  it('bad input: one line on stderr, exit ≠ 0', async () => {
    const cases: [string[], RegExp][] = [
      [['report'], /usage: pgscout report <dataset dir>/],
      [['report', path.join(tmp, 'nope')], /does not exist/],
      [['report', tmp], /holds no pgscout dataset/],
      [['report', full, '--out', path.join(tmp, 'missing-dir', 'r.html')], /cannot write .*ENOENT/],
      [['report', full, '--bogus'], /bogus/],
    ];
    for (const [args, message] of cases) {
      const r = await runCli(args);
      expect(r.code, args.join(' ')).not.toBe(0);
      const lines = r.stderr.trim().split('\n');
      expect(lines, args.join(' ')).toHaveLength(1);
      expect(lines[0]).toMatch(message);
    }
  });
});
