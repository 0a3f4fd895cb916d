/**
 * OTLP/HTTP protobuf push from a real collection: a local receiver on
 * 127.0.0.1 decodes ExportMetricsServiceRequest; the same instruments the
 * Prometheus endpoint serves arrive under their OpenTelemetry names, with
 * the resource describing pgscout and the cluster; the shutdown export
 * accounts for every row written.
 */
import http from 'node:http';
import { gunzipSync } from 'node:zlib';
import { expect, it } from 'vitest';
import { Collection, type CollectionSummary } from '../../src/collect/collection.js';
import { collectConfig } from '../../src/config.js';
import { ALL_METRICS } from '../../src/metrics/registry.js';
import { prometheusSeriesNames, type MetricKind } from '../../src/metrics/prometheus-names.js';
import { describeBpf } from '../helpers/bpf-env.js';
import { useCluster } from '../helpers/cluster-fixture.js';
import { decodeExportMetricsServiceRequest, type OtlpMetric, type OtlpRequest } from './otlp-decode.js';
import { freePort } from './fake-collection.js';
import { prepareWorkload, runWorkload } from './workload.js';

const sumOf = (m: OtlpMetric | undefined, f: (p: OtlpMetric['points'][number]) => number) =>
  (m?.points ?? []).reduce((a, p) => a + f(p), 0);

describeBpf('OTLP push from a real collection', () => {
  let server: http.Server;
  let summary: CollectionSummary;
  let scrape: string;
  let config: ReturnType<typeof collectConfig>;
  const requests: { at: number; req: OtlpRequest }[] = [];
  const paths: string[] = [];

  const db = useCluster({
    outPrefix: 'pgscout-otlp-',
    setup: async (cluster, tmp) => {
      server = http.createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => {
          paths.push(`${req.method} ${req.url} ${req.headers['content-type']}`);
          let body = Buffer.concat(chunks);
          if (req.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
          for (const r of decodeExportMetricsServiceRequest(body)) requests.push({ at: Date.now(), req: r });
          res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
        });
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      const rxPort = (server.address() as { port: number }).port;

      await prepareWorkload(cluster);
      config = collectConfig({
        pg: cluster.conninfo, out: tmp, interval: '250ms', level: 'operator', 'operator-probes': '1',
        otlp: `http://127.0.0.1:${rxPort}/v1/metrics`, 'otlp-interval': '1s',
        prometheus: `127.0.0.1:${await freePort()}`, 'top-queries': '5',
      }, {});
      const collection = await Collection.start(config);
      await runWorkload(cluster, 4);
      const done = Date.now();
      // Two pushes after the workload: everything drained by then is in them.
      for (let i = 0; i < 100 && requests.filter((r) => r.at > done + 300).length < 2; i++) await new Promise((r) => setTimeout(r, 100));
      scrape = await (await fetch(collection.metrics!.prometheus!.url)).text();
      summary = await collection.stop();
    },
    teardown: async () => {
      await new Promise((r) => { server?.close(r); server?.closeAllConnections(); });
    },
  });

  it('POSTs protobuf to the configured path every interval', () => {
    expect(paths.length).toBeGreaterThanOrEqual(4);
    expect(new Set(paths)).toEqual(new Set(['POST /v1/metrics application/x-protobuf']));
  });

  it('carries every registered metric: the same set the Prometheus endpoint serves', () => {
    const last = requests.at(-2)!.req;
    const otelNames = new Set(last.metrics.map((m) => m.name));
    expect(otelNames).toEqual(new Set(ALL_METRICS.map((m) => m.name)));
    expect(new Set(last.metrics.map((m) => m.scope))).toEqual(new Set(['pgscout']));

    const kindOf = (m: OtlpMetric): MetricKind =>
      m.kind === 'histogram' ? 'histogram' : m.kind === 'gauge' ? 'gauge' : m.monotonic ? 'counter' : 'updowncounter';
    const fromOtlp = new Set(last.metrics.flatMap((m) => prometheusSeriesNames(m.name, m.unit, kindOf(m))));
    const scraped = new Set(scrape.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => /^[^{ ]+/.exec(l)![0]));
    scraped.delete('target_info');
    expect(fromOtlp).toEqual(scraped);
  });

  it('with the resource: service, instance, host, PostgreSQL version, cluster and port', () => {
    const r = requests[0]!.req.resource;
    expect(r).toMatchObject({
      'service.name': 'pgscout',
      'host.name': config.host,
      'db.system.name': 'postgresql',
      'db.system': 'postgresql',
      'postgresql.version': summary.target.version,
      'postgresql.data_directory': db.cluster.dataDir,
      'server.port': db.cluster.port,
      'process.pid': process.pid,
    });
    expect(r['service.instance.id']).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(new Set(requests.map((x) => x.req.resource['service.instance.id'])).size).toBe(1);
  });

  it('the shutdown export accounts for every row and record', () => {
    const final = requests.at(-1)!.req.metrics;
    const get = (name: string) => final.find((m) => m.name === name);
    expect(sumOf(get('pgscout.statement.duration'), (p) => p.count!)).toBe(summary.rows.queries);
    expect(sumOf(get('pgscout.statement.errors'), (p) => p.value!)).toBe(summary.rows.query_errors);
    expect(summary.rows.query_errors).toBeGreaterThan(0);
    const drained = get('pgscout.drain.records')!;
    expect(drained.points.find((p) => p.attributes['pgscout.map'] === 'finished')?.value).toBe(summary.collectors.statements!.maps[0]!.drained);
    expect(drained.points.find((p) => p.attributes['pgscout.map'] === 'finished_nodes')?.value).toBe(summary.collectors.operators!.maps[0]!.drained);
    const dataset = get('pgscout.dataset.rows')!;
    expect(dataset.points.find((p) => p.attributes['pgscout.table'] === 'queries')?.value).toBe(summary.rows.queries);
    expect(dataset.points.find((p) => p.attributes['pgscout.table'] === 'operators')?.value).toBe(summary.rows.operators);
    expect(sumOf(get('pgscout.operator.loops'), (p) => p.value!)).toBeGreaterThan(0);
  });

  it('statement metrics are labelled by database and kind, operator metrics by node type, top queries bounded', () => {
    const final = requests.at(-1)!.req.metrics;
    const duration = final.find((m) => m.name === 'pgscout.statement.duration')!;
    const dbs = new Set(duration.points.map((p) => p.attributes['db.namespace']));
    expect(dbs).toContain('postgres');
    expect(dbs).toContain('shop');
    const kinds = new Set(duration.points.map((p) => p.attributes['db.operation.name']));
    for (const k of ['SELECT', 'UPDATE', 'INSERT']) expect(kinds).toContain(k);
    const nodes = new Set(final.find((m) => m.name === 'pgscout.operator.tuples')!.points.map((p) => p.attributes['pgscout.node.type']));
    expect([...nodes].some((n) => /Join|Nested Loop/.test(String(n)))).toBe(true);
    const top = final.find((m) => m.name === 'pgscout.query.time')!;
    expect(top.points.length).toBeGreaterThanOrEqual(5);
    expect(top.points.length).toBeLessThanOrEqual(50);
    expect(top.points.every((p) => /^[0-9a-f]{16}$/.test(String(p.attributes['pgscout.query.fingerprint'])))).toBe(true);
  });
});
