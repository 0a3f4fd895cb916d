/**
 * The metrics SDK wiring without BPF: rows and stats in, Prometheus text and
 * OTLP protobuf out, names exactly as the registry says, bind address,
 * resource, failure handling and bounded shutdown.
 */
import http from 'node:http';
import { gunzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { Metrics, metricsWanted } from '../../src/metrics/metrics.js';
import { ALL_METRICS, exportedPrometheusNames } from '../../src/metrics/registry.js';
import { prometheusSeriesNames } from '../../src/metrics/prometheus-names.js';
import { collectConfig } from '../../src/config.js';
import { ConfigError } from '../../src/util/errors.js';
import { decodeExportMetricsServiceRequest, type OtlpRequest } from './otlp-decode.js';
import { QUERY_STATS_TABLE } from '../../src/collectors/statements/stats-table.js';
import { OPERATORS_TABLE } from '../../src/collectors/operators/table.js';
import { FAKE_TARGET, fakeCollection, queryStats, freePort, operatorRow, statementRow } from './fake-collection.js';

const open: Metrics[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((m) => m.shutdown(2000)));
});

async function start(opts: { prometheus?: { host: string; port: number } | null; otlp?: string | null; interval?: number; top?: number }) {
  const m = await Metrics.start({
    host: 'test-host', prometheus: opts.prometheus ?? null, otlp: opts.otlp ?? null,
    otlpIntervalMs: opts.interval ?? 10_000, topQueries: opts.top ?? 0,
  }, FAKE_TARGET);
  open.push(m);
  return m;
}

function feed(m: Metrics, c = fakeCollection()) {
  m.attach(c);
  m.sink.rows(QUERY_STATS_TABLE, queryStats(
    [statementRow(), statementRow({ command: 'INSERT', query_id: 42n, fingerprint: 'ffffffffffffffff', rows: 1n }), statementRow({ database: null, command: null, query_id: null })],
    [statementRow({ command: 'UPDATE', query_id: 7n })])); // one query_id is one command
  m.sink.rows(OPERATORS_TABLE, [operatorRow('Seq Scan'), operatorRow('Hash Join', { loops: 2n }), operatorRow('Hash', { loops: 0n, excl_ns: 0n })]);
  c.statements.maps[0]!.drained += 250;
  m.sink.drain({ seconds: 0.004, syscalls: 5 });
  m.sink.error('drain');
  return c;
}

/** name → [labels, value] lines of a Prometheus text exposition. */
function parseExposition(text: string): Map<string, { labels: string; value: number }[]> {
  const out = new Map<string, { labels: string; value: number }[]>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`bad exposition line: ${line}`);
    const list = out.get(m[1]!) ?? [];
    list.push({ labels: m[2] ?? '', value: Number(m[3]) });
    out.set(m[1]!, list);
  }
  return out;
}

const value = (series: Map<string, { labels: string; value: number }[]>, name: string, ...labels: string[]) =>
  (series.get(name) ?? []).filter((s) => labels.every((l) => s.labels.includes(l))).reduce((a, s) => a + s.value, 0);

describe('Prometheus endpoint', () => {
  it('is not started, and the SDK not loaded, without --prometheus/--otlp', () => {
    expect(metricsWanted(collectConfig({ pg: 'x', out: '/tmp/x' }, {}))).toBe(false);
  });

  it('serves every registered metric under its Prometheus name, on 127.0.0.1 by default', async () => {
    const port = await freePort();
    const cfg = collectConfig({ pg: 'x', out: '/tmp/x', prometheus: String(port), 'top-queries': '5' }, {});
    const m = await start({ prometheus: cfg.prometheus, top: cfg.topQueries });
    expect(m.prometheus!.url).toBe(`http://127.0.0.1:${port}/metrics`);
    feed(m);
    const res = await fetch(m.prometheus!.url);
    expect(res.status).toBe(200);
    const series = parseExposition(await res.text());
    expect(new Set(series.keys())).toEqual(exportedPrometheusNames());

    expect(value(series, 'pgscout_statement_duration_seconds_count')).toBe(3);
    expect(value(series, 'pgscout_statement_duration_seconds_count', 'db_namespace="shop"', 'db_operation_name="SELECT"')).toBe(1);
    expect(value(series, 'pgscout_statement_duration_seconds_sum')).toBeCloseTo(0.006, 9);
    expect(value(series, 'pgscout_statement_cpu_time_seconds_total')).toBeCloseTo(0.0045, 9);
    expect(value(series, 'pgscout_statement_errors_total', 'db_operation_name="UPDATE"')).toBe(1);
    expect(value(series, 'pgscout_statement_disk_io_bytes_total', 'disk_io_direction="read"')).toBe(3 * 8192);
    expect(value(series, 'pgscout_statement_network_io_bytes_total', 'network_io_direction="transmit"')).toBe(6000);
    expect(value(series, 'pgscout_backend_context_switches_total', 'process_context_switch_type="voluntary"')).toBe(6);
    expect(value(series, 'pgscout_operator_exclusive_duration_seconds_count')).toBe(2); // never-executed Hash: no histogram sample
    expect(value(series, 'pgscout_operator_loops_total', 'pgscout_node_type="Hash Join"')).toBe(2);
    expect(value(series, 'pgscout_operator_tuples_total')).toBe(300);
    expect(value(series, 'pgscout_query_calls_total', 'pgscout_query_id="42"', 'pgscout_query_fingerprint="ffffffffffffffff"')).toBe(1);
    expect(value(series, 'pgscout_map_fill_ratio', 'pgscout_map="finished"')).toBeCloseTo(0.25);
    expect(value(series, 'pgscout_records_dropped_total', 'pgscout_map="finished"', 'pgscout_drop_reason="map_full"')).toBe(2);
    expect(value(series, 'pgscout_errors_total', 'error_type="node_function_not_probed"')).toBe(1);
    expect(value(series, 'pgscout_probe_attached', 'pgscout_probe="tracepoint:sock:sock_send_length"')).toBe(0);
    expect(value(series, 'pgscout_probe_attached', 'pgscout_probe="usdt:postgresql:query__start"')).toBe(1);
    expect(value(series, 'pgscout_dataset_rows_total', 'pgscout_table="operators"')).toBe(4);
    expect(value(series, 'pgscout_errors_total', 'error_type="drain"')).toBe(1);
    expect(value(series, 'pgscout_operator_functions', 'pgscout_probe_site="slow"')).toBe(1);
    expect(value(series, 'pgscout_drain_syscalls_sum')).toBe(5);
    expect(value(series, 'process_memory_usage_bytes')).toBeGreaterThan(1e6);
    const [info] = series.get('target_info')!;
    for (const l of ['service_name="pgscout"', 'host_name="test-host"', 'db_system_name="postgresql"', 'db_system="postgresql"',
      'postgresql_version="15.99 (test)"', 'postgresql_data_directory="/var/lib/postgresql/15/main"', 'server_port="5433"']) {
      expect(info!.labels).toContain(l);
    }
    expect(info!.labels).toMatch(/service_instance_id="[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"/);
    expect((await fetch(`http://127.0.0.1:${port}/other`)).status).toBe(404);
  });

  it('without --top-queries there is no per-query_id series', async () => {
    const m = await start({ prometheus: { host: '127.0.0.1', port: await freePort() } });
    feed(m);
    const series = parseExposition(await (await fetch(m.prometheus!.url)).text());
    expect(series.has('pgscout_query_time_seconds_total')).toBe(false);
    expect([...series.values()].flat().some((s) => s.labels.includes('query_id'))).toBe(false);
  });

  it('top queries: at most N series now, bounded for ever', async () => {
    const m = await start({ prometheus: { host: '127.0.0.1', port: await freePort() }, top: 2 });
    m.attach(fakeCollection());
    const rows = Array.from({ length: 50 }, (_, i) => statementRow({ query_id: BigInt(i), duration_ns: BigInt((i + 1) * 1e6) }));
    m.sink.rows(QUERY_STATS_TABLE, queryStats(rows));
    let series = parseExposition(await (await fetch(m.prometheus!.url)).text());
    expect(series.get('pgscout_query_time_seconds_total')!.map((s) => /pgscout_query_id="(\d+)"/.exec(s.labels)![1]).sort()).toEqual(['48', '49']);
    for (let round = 0; round < 30; round++) {
      m.sink.rows(QUERY_STATS_TABLE, queryStats([statementRow({ query_id: BigInt(1000 + round), duration_ns: BigInt(1e12 + round * 1e9) })]));
      await fetch(m.prometheus!.url);
    }
    series = parseExposition(await (await fetch(m.prometheus!.url)).text());
    expect(series.get('pgscout_query_time_seconds_total')!.length).toBe(20);
  });

  it('a taken port is one clear ConfigError at startup', async () => {
    const first = await start({ prometheus: { host: '127.0.0.1', port: await freePort() } });
    const taken = first.prometheus!.address;
    const err = await start({ prometheus: taken }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toBe(`--prometheus 127.0.0.1:${taken.port}: cannot listen: the port is already in use`);
  });
});

interface Receiver { url: string; requests: OtlpRequest[]; contentTypes: string[]; close(): Promise<void> }

async function otlpReceiver(opts: { status?: number; hang?: boolean } = {}): Promise<Receiver> {
  const requests: OtlpRequest[] = [];
  const contentTypes: string[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (opts.hang) return;
      let body = Buffer.concat(chunks);
      if (req.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
      contentTypes.push(String(req.headers['content-type']));
      requests.push(...decodeExportMetricsServiceRequest(body));
      res.writeHead(opts.status ?? 200, { 'content-type': 'application/x-protobuf' }).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}/v1/metrics`, requests, contentTypes,
    close: () => new Promise((r) => { server.close(() => r()); server.closeAllConnections(); }),
  };
}

async function until(cond: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('OTLP push', () => {
  it('sends every registered metric with the resource, as protobuf, and a final export at shutdown', async () => {
    const rx = await otlpReceiver();
    try {
      const m = await start({ otlp: rx.url, interval: 200, top: 3 });
      const c = feed(m);
      await until(() => rx.requests.length > 0);
      const first = rx.requests[0]!;
      expect(rx.contentTypes[0]).toBe('application/x-protobuf');
      expect(new Set(first.metrics.map((x) => x.name))).toEqual(new Set(ALL_METRICS.map((x) => x.name)));
      for (const spec of ALL_METRICS) {
        const got = first.metrics.find((x) => x.name === spec.name)!;
        expect(got.unit, spec.name).toBe(spec.unit);
        const kind = got.kind === 'histogram' ? 'histogram' : got.kind === 'gauge' ? 'gauge' : got.monotonic ? 'counter' : 'updowncounter';
        expect(kind, spec.name).toBe(spec.kind);
        expect(got.temporality === 0 || got.temporality === 2, spec.name).toBe(true); // cumulative (gauges: unspecified)
        expect(prometheusSeriesNames(spec.name, spec.unit, spec.kind).every((n) => exportedPrometheusNames().has(n))).toBe(true);
      }
      expect(first.resource).toMatchObject({
        'service.name': 'pgscout', 'host.name': 'test-host', 'db.system.name': 'postgresql', 'db.system': 'postgresql',
        'postgresql.version': '15.99 (test)', 'postgresql.data_directory': '/var/lib/postgresql/15/main', 'server.port': 5433,
      });
      expect(first.resource['service.instance.id']).toMatch(/^[0-9a-f-]{36}$/);
      const duration = first.metrics.find((x) => x.name === 'pgscout.statement.duration')!;
      expect(duration.points.reduce((a, p) => a + p.count!, 0)).toBe(3);

      // Recorded after the last periodic export: must arrive with the shutdown flush.
      await until(() => rx.requests.length >= 2);
      m.sink.rows(QUERY_STATS_TABLE, queryStats([statementRow({ database: 'late' })]));
      c.statements.maps[0]!.drained += 1;
      const before = rx.requests.length;
      await m.shutdown(5000);
      expect(rx.requests.length).toBeGreaterThan(before);
      const last = rx.requests.at(-1)!.metrics.find((x) => x.name === 'pgscout.statement.duration')!;
      expect(last.points.find((p) => p.attributes['db.namespace'] === 'late')?.count).toBe(1);
    } finally {
      await rx.close();
    }
  });

  it('a failing receiver is counted as metrics_export errors, never thrown', async () => {
    const rx = await otlpReceiver({ status: 503 });
    try {
      const m = await start({ otlp: rx.url, interval: 150, prometheus: { host: '127.0.0.1', port: await freePort() } });
      feed(m);
      await until(() => rx.requests.length >= 2);
      await new Promise((r) => setTimeout(r, 300));
      const series = parseExposition(await (await fetch(m.prometheus!.url)).text());
      expect(value(series, 'pgscout_errors_total', 'error_type="metrics_export"')).toBeGreaterThanOrEqual(1);
    } finally {
      await rx.close();
    }
  });

  it('shutdown is bounded when the receiver never answers', async () => {
    const rx = await otlpReceiver({ hang: true });
    try {
      const m = await start({ otlp: rx.url, interval: 5000 });
      feed(m);
      const t0 = performance.now();
      await m.shutdown(1000);
      expect(performance.now() - t0).toBeLessThan(2500);
    } finally {
      await rx.close();
    }
  });
});
