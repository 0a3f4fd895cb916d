/**
 * The whole path against real servers: PostgreSQL under pgbench and a join
 * workload, pgscout at operator level serving --prometheus, a real
 * Prometheus (Debian package) scraping it every second; then every PromQL
 * expression of every dashboard panel and variable is evaluated through
 * Prometheus's HTTP API and must return data.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import { Collection } from '../../src/collect/collection.js';
import { collectConfig } from '../../src/config.js';
import { exportedPrometheusNames } from '../../src/metrics/registry.js';
import { describeBpf } from '../helpers/bpf-env.js';
import { useCluster } from '../helpers/cluster-fixture.js';
import { dashboardQueries, parseLabelValues, substituteVariables, variableQueries } from './dashboard-queries.js';
import { freePort } from './fake-collection.js';
import { prepareWorkload, runWorkload } from './workload.js';

const PROMETHEUS = '/usr/bin/prometheus';

interface PromResult { metric: Record<string, string>; value?: [number, string] }

describeBpf('Prometheus scraping pgscout: every dashboard query returns data', () => {
  let collection: Collection | null = null;
  let prom: ChildProcess | null = null;
  let promUrl: string;
  let pgscoutPort: number;
  let promLog = '';

  const query = async (q: string): Promise<PromResult[]> => {
    const res = await fetch(`${promUrl}/api/v1/query?${new URLSearchParams({ query: q })}`);
    const body = await res.json() as { status: string; error?: string; data?: { resultType: string; result: PromResult[] } };
    if (body.status !== 'success') throw new Error(`${q}: ${body.error}`);
    return body.data!.resultType === 'scalar' ? [{ metric: {} }] : body.data!.result;
  };

  const waitFor = async (what: string, cond: () => Promise<boolean>, ms = 30_000) => {
    const end = Date.now() + ms;
    for (;;) {
      if (await cond().catch(() => false)) return;
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}; prometheus log: ${promLog.slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  };

  useCluster({
    outPrefix: 'pgscout-prom-',
    setup: async (cluster, tmp) => {
      if (!fs.existsSync(PROMETHEUS)) throw new Error(`${PROMETHEUS} is missing: install the Debian package prometheus (scripts/bootstrap.sh does)`);
      await prepareWorkload(cluster);
      pgscoutPort = await freePort();
      collection = await Collection.start(collectConfig({
        pg: cluster.conninfo, out: path.join(tmp, 'out'), interval: '250ms', level: 'operator', 'operator-probes': '1',
        prometheus: `127.0.0.1:${pgscoutPort}`, // top-queries: the default (20), so every panel has data with default flags
      }, {}));

      const promPort = await freePort();
      promUrl = `http://127.0.0.1:${promPort}`;
      fs.writeFileSync(path.join(tmp, 'prom.yml'), [
        'global:', '  scrape_interval: 1s', '  scrape_timeout: 1s', '  evaluation_interval: 1s',
        'scrape_configs:', '  - job_name: pgscout', '    static_configs:', `      - targets: ['127.0.0.1:${pgscoutPort}']`, '',
      ].join('\n'));
      prom = spawn(PROMETHEUS, [
        `--config.file=${path.join(tmp, 'prom.yml')}`, `--storage.tsdb.path=${path.join(tmp, 'data')}`,
        `--web.listen-address=127.0.0.1:${promPort}`,
      ], { stdio: ['ignore', 'pipe', 'pipe'] });
      prom.stdout!.on('data', (d) => { promLog += d; });
      prom.stderr!.on('data', (d) => { promLog += d; });
      await waitFor('Prometheus to scrape pgscout', async () => {
        const up = await query('up{job="pgscout"}');
        return up.length === 1 && up[0]!.value![1] === '1';
      });

      await runWorkload(cluster, 6);
      // Several more scrapes after the workload, so rates over 1m see the whole of it.
      await new Promise((r) => setTimeout(r, 3000));
    },
    teardown: async () => {
      if (prom && prom.exitCode === null) {
        const exited = new Promise((r) => prom!.once('exit', r));
        prom.kill('SIGTERM');
        await exited;
      }
      await collection?.stop();
    },
  });

  it('Prometheus holds every metric pgscout exports, under the names the registry derives', async () => {
    const res = await fetch(`${promUrl}/api/v1/label/__name__/values?${new URLSearchParams({ 'match[]': '{job="pgscout"}' })}`);
    const names = new Set(((await res.json()) as { data: string[] }).data);
    const scrapeMeta = new Set(['up', 'scrape_duration_seconds', 'scrape_samples_scraped', 'scrape_samples_post_metric_relabeling', 'scrape_series_added']);
    expect(new Set([...names].filter((n) => !scrapeMeta.has(n)))).toEqual(exportedPrometheusNames());
  });

  it('every PromQL expression of every dashboard panel returns data', async () => {
    const queries = dashboardQueries();
    expect(queries.length).toBeGreaterThan(40);
    const empty: string[] = [];
    for (const q of queries) {
      const expr = substituteVariables(q.expr);
      const result = await query(expr);
      if (result.length === 0) empty.push(`${q.dashboard} / ${q.panel} [${q.refId}]: ${expr}`);
    }
    expect(empty).toEqual([]);
  });

  it('every dashboard variable offers values', async () => {
    for (const v of variableQueries()) {
      const lv = parseLabelValues(v.query)!;
      const result = await query(substituteVariables(lv.selector));
      const values = new Set(result.map((r) => r.metric[lv.label]).filter(Boolean));
      expect(values.size, `${v.dashboard} $${v.variable}: ${v.query}`).toBeGreaterThan(0);
    }
  });

  it('statement kinds, databases and node types from the workload are there', async () => {
    const kinds = new Set((await query('sum by (db_operation_name) (pgscout_statement_duration_seconds_count)')).map((r) => r.metric.db_operation_name));
    for (const k of ['SELECT', 'INSERT', 'UPDATE', 'UTILITY']) expect(kinds).toContain(k);
    const dbs = new Set((await query('sum by (db_namespace) (pgscout_statement_duration_seconds_count)')).map((r) => r.metric.db_namespace));
    expect(dbs).toContain('postgres');
    expect(dbs).toContain('shop');
    const nodes = new Set((await query('sum by (pgscout_node_type) (pgscout_operator_tuples_total)')).map((r) => r.metric.pgscout_node_type));
    for (const n of ['Seq Scan', 'Index Scan', 'Aggregate', 'Sort']) expect(nodes).toContain(n);
    expect([...nodes].some((n) => /Join|Nested Loop/.test(n!))).toBe(true);
    const errors = await query('sum(pgscout_statement_errors_total)');
    expect(Number(errors[0]!.value![1])).toBeGreaterThan(0);
    const maps = new Set((await query('max by (pgscout_map) (pgscout_map_fill_ratio)')).map((r) => r.metric.pgscout_map));
    expect(maps).toEqual(new Set(['finished', 'stmt_agg', 'finished_nodes']));
    const attached = await query('min(pgscout_probe_attached)');
    expect(attached[0]!.value![1]).toBe('1');
    const top = await query('count(pgscout_query_time_seconds_total)');
    expect(Number(top[0]!.value![1])).toBeGreaterThanOrEqual(10);
    expect(Number(top[0]!.value![1])).toBeLessThanOrEqual(100);
  });
});
