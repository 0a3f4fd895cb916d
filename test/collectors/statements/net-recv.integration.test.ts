/**
 * --net-recv: the default source also traces socket reads. Calls still equal
 * pg_stat_statements, and every query_stats and queries row has the bytes the
 * backend received (at least the protocol message of each call).
 */
import { expect, it } from 'vitest';
import { Collection, type CollectionSummary } from '../../../src/collect/collection.js';
import { collectConfig } from '../../../src/config.js';
import { queryParquet, tableSource } from '../../../src/dataset/read-back.js';
import { pgbench, pgbenchInit } from '../../../src/demo/workload.js';
import { describeBpf } from '../../helpers/bpf-env.js';
import { useCluster } from '../../helpers/cluster-fixture.js';

describeBpf('default statement source with --net-recv', () => {
  let summary: CollectionSummary;
  let pgss = new Map<string, number>();
  const db = useCluster({
    outPrefix: 'pgscout-netrecv-',
    setup: async (cluster, out) => {
      await pgbenchInit(cluster, 1);
      const collection = await Collection.start(collectConfig({ pg: cluster.conninfo, out, interval: '300ms', 'net-recv': true }));
      await cluster.psql('SELECT pg_stat_statements_reset()');
      await pgbench(cluster, ['-M', 'extended', '-S', '-c', '2', '-j', '2', '-t', '1000']);
      await new Promise((r) => setTimeout(r, 400));
      summary = await collection.stop();
      const lines = (await cluster.psql(`SELECT queryid, calls FROM pg_stat_statements WHERE toplevel AND query ~* 'pgbench_'`))
        .split('\n').filter(Boolean);
      pgss = new Map(lines.map((l) => { const [id, calls] = l.split('|'); return [id!, Number(calls)]; }));
    },
  });

  it('attaches the socket-read tracepoint', () => {
    expect(summary.collectors.statements!.probes.map((p) => p.probe)).toContain('tp_btf/sock_recv_length');
  });

  it('keeps calls equal to pg_stat_statements and fills net_recv_bytes', async () => {
    const rows = await queryParquet(`SELECT query_id::VARCHAR AS id, sum(calls)::BIGINT AS calls, sum(net_recv_bytes)::BIGINT AS recv
        FROM ${tableSource(db.out, 'query_stats')} GROUP BY 1`);
    const mine = new Map(rows.map((r) => [String(r.id), r]));
    expect(pgss.size).toBeGreaterThan(0);
    for (const [id, calls] of pgss) {
      const m = mine.get(id);
      expect(Number(m?.calls ?? 0), id).toBe(calls);
      // Bind + Execute + Sync of one pgbench -S call are well over 20 bytes.
      expect(Number(m!.recv), id).toBeGreaterThan(20 * calls);
    }
    const [q] = await queryParquet(`SELECT count(*) AS n, count(net_recv_bytes) AS recv FROM ${tableSource(db.out, 'queries')}`);
    expect(Number(q!.n)).toBeGreaterThan(0);
    expect(Number(q!.recv)).toBe(Number(q!.n));
  });
});
