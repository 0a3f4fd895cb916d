/**
 * Per-query_id counts equal pg_stat_statements.calls across the ways
 * statements reach PostgreSQL: simple, extended and prepared protocol
 * (pgbench), pipelines, SQL PREPARE/EXECUTE, cursors, DO, COPY,
 * multi-statement strings.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, it } from 'vitest';
import { Collection, type CollectionSummary } from '../../../src/collect/collection.js';
import { collectConfig } from '../../../src/config.js';
import { pgbench, pgbenchInit } from '../../../src/demo/workload.js';
import { compareWithPgss } from '../../../src/cli/demo.js';
import { describeBpf } from '../../helpers/bpf-env.js';
import { useCluster } from '../../helpers/cluster-fixture.js';
import { queryParquet, tableSource } from '../../../src/dataset/read-back.js';
import { readTable } from '../../helpers/dataset.js';
import { frontend, RawConnection } from '../../helpers/raw-protocol.js';

describeBpf('query_id counts equal pg_stat_statements for every protocol', () => {
  let summary: CollectionSummary;
  const db = useCluster({
    outPrefix: 'pgscout-proto-',
    setup: async (cluster, out) => {
      await pgbenchInit(cluster, 1);
      const collection = await Collection.start(collectConfig({ pg: cluster.conninfo, out, interval: '300ms', exact: true, 'statement-rows': 'all' }));
      await cluster.psql('SELECT pg_stat_statements_reset()');
      await pgbench(cluster, ['-M', 'prepared', '-c', '2', '-j', '2', '-t', '300']);
      await pgbench(cluster, ['-M', 'extended', '-S', '-c', '2', '-j', '2', '-t', '300']);
      await pgbench(cluster, ['-M', 'simple', '-c', '1', '-t', '100']);
      await cluster.psql('PREPARE p1(int) AS SELECT abalance FROM pgbench_accounts WHERE aid = $1; EXECUTE p1(1); EXECUTE p1(2)');
      await cluster.psql('BEGIN; DECLARE cur CURSOR FOR SELECT * FROM pgbench_branches; FETCH 1 FROM cur; FETCH 1 FROM cur; COMMIT');
      await cluster.psql('DO $$BEGIN PERFORM count(*) FROM pgbench_branches; END$$');
      await cluster.psql('COPY (SELECT 1) TO STDOUT');
      // Several executions in one round trip: a pipeline (one Sync for three Executes) and a multi-statement string.
      const script = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'pgscout-pipe-')), 'pipeline.sql');
      fs.writeFileSync(script, ['\\set id random(1, 10)', '\\startpipeline',
        'SELECT bbalance AS piped FROM pgbench_branches WHERE bid = 1;',
        'SELECT tbalance AS piped FROM pgbench_tellers WHERE tid = :id;',
        'SELECT count(*) AS piped FROM pgbench_history;', '\\endpipeline', ''].join('\n'));
      fs.chmodSync(path.dirname(script), 0o755);
      await pgbench(cluster, ['-M', 'extended', '-n', '-f', script, '-c', '2', '-j', '2', '-t', '50']);
      for (let i = 0; i < 4; i++) {
        await cluster.psql(`SELECT ${i} AS multi_a; SELECT count(*) AS multi_b FROM pgbench_branches WHERE bid > ${i}; SELECT ${i} AS multi_a`);
      }
      // A pipeline whose second statement fails: the first was a call, the third never runs.
      const raw = await RawConnection.open(cluster.host, cluster.port);
      const step = (sql: string) => [frontend.parse(sql), frontend.bind(''), frontend.execute('', 0)];
      for (let i = 0; i < 3; i++) {
        // (Column aliases are not part of a query id: the three are different queries.)
        await raw.roundTrip(...step('SELECT max(tid) AS pipe_ok FROM pgbench_tellers'),
          ...step('SELECT 2 / (bid - bid) AS pipe_boom FROM pgbench_branches WHERE bid = 1'),
          ...step('SELECT min(tid) AS pipe_skipped FROM pgbench_tellers'), frontend.sync());
      }
      raw.close();
      // Errors while executing: without transaction probes they are found when the backend goes idle.
      for (let i = 0; i < 3; i++) await cluster.psql('SELECT 1 / (aid - aid) AS boom FROM pgbench_accounts WHERE aid = 1').catch(() => undefined);
      await cluster.psql('SELECT sum(bid) + 7 AS after_boom FROM pgbench_branches');
      summary = await collection.stop();
    },
  });

  it('every query_id it wrote has exactly pg_stat_statements.calls rows', async () => {
    const cmp = await compareWithPgss(db.cluster, db.out);
    expect(cmp.mismatches).toEqual([]);
    expect(cmp.total).toBeGreaterThanOrEqual(12);
  });

  it('sums every execution in the kernel: query_stats equals the rows it kept, failures counted in errors', async () => {
    const src = (t: string) => tableSource(db.out, t);
    // (statements without a query id, e.g. utility ones, are one group on each side)
    const mismatch = await queryParquet(`WITH q AS (SELECT coalesce(query_id, 0) AS query_id, count(*) AS calls, sum(duration_ns) AS dur, sum(rows) AS rows,
          sum(shared_blks_hit) AS hit, min(duration_ns) AS lo, max(duration_ns) AS hi FROM ${src('queries')} GROUP BY 1),
        s AS (SELECT coalesce(query_id, 0) AS query_id, sum(calls) AS calls, sum(duration_ns) AS dur, sum(rows) AS rows, sum(shared_blks_hit) AS hit,
          min(min_duration_ns) AS lo, max(max_duration_ns) AS hi FROM ${src('query_stats')} WHERE calls > 0 GROUP BY 1)
      SELECT q.query_id::VARCHAR AS id FROM q FULL JOIN s USING (query_id)
      WHERE q.calls IS DISTINCT FROM s.calls OR q.dur IS DISTINCT FROM s.dur OR q.rows IS DISTINCT FROM s.rows
        OR q.hit IS DISTINCT FROM s.hit OR q.lo IS DISTINCT FROM s.lo OR q.hi IS DISTINCT FROM s.hi`);
    expect(mismatch).toEqual([]);
    const [boom] = await queryParquet(`SELECT sum(errors)::BIGINT AS errors, sum(calls)::BIGINT AS calls, any_value(source) AS source
        FROM ${src('query_stats')} WHERE query_text LIKE 'SELECT $1 / (aid - aid) AS boom%'`);
    expect(Number(boom!.errors)).toBe(3);
    expect(Number(boom!.calls)).toBe(0);
    expect(boom!.source).toBe('exact');
  });

  it('counts prepared-protocol executions of the tpcb statements once each', async () => {
    const rows = await readTable(db.out, 'queries', "query_text = 'UPDATE pgbench_tellers SET tbalance = tbalance + $1 WHERE tid = $2'");
    // 600 prepared + 100 simple transactions.
    expect(rows).toHaveLength(700);
    expect(new Set(rows.map((r) => r.exec_id)).size).toBe(700);
    expect(rows.every((r) => r.source === 'exact' && r.coalesced === null)).toBe(true);
  });

  it('tells apart the executions that share a round trip: each statement of a pipeline and of a multi-statement string is one row', async () => {
    const piped = await readTable(db.out, 'queries', "query_text LIKE '%AS piped%'");
    expect(piped).toHaveLength(300);
    const [a, b] = [await readTable(db.out, 'queries', "query_text LIKE '%AS multi_a%'"), await readTable(db.out, 'queries', "query_text LIKE '%AS multi_b%'")];
    expect([a.length, b.length]).toEqual([8, 4]);
    // Each ends where the next one starts: windows of one round trip do not overlap.
    const byPid = new Map<number, { start: bigint; end: bigint }[]>();
    for (const r of piped) byPid.set(r.pid as number, [...(byPid.get(r.pid as number) ?? []), { start: r.start_ns as bigint, end: r.end_ns as bigint }]);
    for (const windows of byPid.values()) {
      windows.sort((x, y) => (x.start < y.start ? -1 : 1));
      for (let i = 1; i < windows.length; i++) expect(windows[i]!.start >= windows[i - 1]!.end).toBe(true);
    }
  });

  it('in a pipeline an error ends, counts the executions before it and the failure in errors', async () => {
    const src = tableSource(db.out, 'query_stats');
    const rows = await queryParquet(`SELECT regexp_extract(query_text, 'AS (pipe_(ok|boom|skipped))', 1) AS name, sum(calls)::BIGINT AS calls,
        sum(errors)::BIGINT AS errors FROM ${src} WHERE regexp_matches(query_text, 'AS pipe_(ok|boom|skipped)') GROUP BY 1 ORDER BY 1`);
    expect(rows.map((r) => [r.name, Number(r.calls), Number(r.errors)])).toEqual([['pipe_boom', 0, 3], ['pipe_ok', 3, 0]]);
  });

  it('--exact traps once a statement: query__execute__done inside PortalRun; no other probe of PostgreSQL', () => {
    const probes = summary.collectors.statements!.probes.map((p) => p.probe);
    expect(probes.filter((p) => p.startsWith('usdt:'))).toEqual(['usdt:postgresql:query__execute__done']);
    expect(probes.filter((p) => p.startsWith('uprobe') || p.startsWith('uretprobe'))).toEqual([]);
  });

  it('counts executions an error unwound in errors, without a row, and counts the next statement normally', async () => {
    expect(await readTable(db.out, 'queries', "query_text LIKE '%AS boom%'")).toEqual([]);
    expect(await readTable(db.out, 'queries', "query_text LIKE 'SELECT sum(bid) + $1 AS after_boom%'")).toHaveLength(1);
  });
});

describeBpf('--exact samples its queries rows in the kernel; query_stats keeps every call', () => {
  let calls = 0;
  let seconds = 0;
  const db = useCluster({
    outPrefix: 'pgscout-exact-sample-',
    setup: async (cluster, out) => {
      await pgbenchInit(cluster, 1);
      const collection = await Collection.start(collectConfig({ pg: cluster.conninfo, out, interval: '300ms', exact: true, 'statement-rows': '400/s', slow: '20ms' }));
      await cluster.psql('SELECT pg_stat_statements_reset()');
      const t0 = performance.now();
      await pgbench(cluster, ['-M', 'extended', '-S', '-c', '2', '-j', '2', '-t', '3000']);
      seconds = (performance.now() - t0) / 1000;
      for (let i = 0; i < 3; i++) await cluster.psql('SELECT pg_sleep(0.03) AS slow_one');
      await collection.stop();
      calls = Number(await cluster.psql("SELECT sum(calls) FROM pg_stat_statements WHERE query LIKE 'SELECT abalance%'"));
    },
  });

  it('writes fewer rows, weighted to the calls, slow ones with weight 1', async () => {
    const where = "query_text LIKE 'SELECT abalance%'";
    const [stats] = await queryParquet(`SELECT sum(calls)::BIGINT AS calls FROM ${tableSource(db.out, 'query_stats')} WHERE ${where}`);
    expect(Number(stats!.calls)).toBe(calls);
    const [rows] = await queryParquet(`SELECT count(*)::BIGINT AS n, sum(sample_weight) AS w FROM ${tableSource(db.out, 'queries')} WHERE ${where}`);
    // ~400 rows/s of the executions, however fast this machine runs them (a busy one runs ~500/s,
    // an idle one ~5000/s); every execution is kept in the first ~20 ms, before the rate is known.
    // The weights' spread is ~1/sqrt(kept) (≈ 5 %).
    expect(Number(rows!.n)).toBeLessThan(calls);
    expect(Number(rows!.n)).toBeLessThan(400 * seconds * 1.3 + calls / seconds * 0.05);
    expect(Number(rows!.w)).toBeGreaterThan(calls * 0.75);
    expect(Number(rows!.w)).toBeLessThan(calls * 1.25);
    const slow = await readTable(db.out, 'queries', "query_text LIKE 'SELECT pg_sleep%'");
    expect(slow).toHaveLength(3);
    for (const r of slow) expect(r.sample_weight).toBe(1);
  });
});
