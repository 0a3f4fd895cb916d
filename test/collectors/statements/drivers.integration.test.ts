/**
 * Held-out request/response traffic from Python applications (bench/drivers/mix.py: psycopg2
 * with client-side parameters and named cursors, psycopg 3 with server-side parameters,
 * statements it prepares by name after 5 executions, server-side cursors, COPY, errors in and
 * out of transactions), both statement sources: per query id, query_stats.calls equals
 * pg_stat_statements.calls, and nothing is coalesced (no round trip holds two statements).
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { expect, it } from 'vitest';
import { Collection } from '../../../src/collect/collection.js';
import { collectConfig } from '../../../src/config.js';
import { queryParquet, tableSource } from '../../../src/dataset/read-back.js';
import { describeBpf } from '../../helpers/bpf-env.js';
import { useCluster } from '../../helpers/cluster-fixture.js';

const LOOPS = 6;
const MIX = path.resolve(__dirname, '../../../bench/drivers/mix.py');

for (const [source, options] of [['default', {}], ['--exact', { exact: true }]] as const) describeBpf(`${source} source on psycopg2 and psycopg 3 traffic`, () => {
  let pgss: { id: string; calls: number; query: string }[] = [];
  const db = useCluster({
    outPrefix: 'pgscout-drivers-',
    setup: async (cluster, out) => {
      const collection = await Collection.start(collectConfig({ pg: cluster.conninfo, out, interval: '300ms', ...options }));
      try {
        await cluster.psql('SELECT pg_stat_statements_reset()');
        // (Debian's python3 and its python3-psycopg2 / python3-psycopg, which scripts/bootstrap.sh installs)
        execFileSync('/usr/bin/python3', [MIX, `host=${cluster.host} port=${cluster.port} user=postgres dbname=postgres`, String(LOOPS)], { stdio: 'pipe' });
        await new Promise((r) => setTimeout(r, 400));
      } finally {
        await collection.stop();
      }
      pgss = (await cluster.psql("SELECT queryid, calls, query FROM pg_stat_statements WHERE toplevel AND query ~ 'drv'"))
        .split('\n').filter(Boolean).map((l) => {
          const [id, calls, ...q] = l.split('|');
          return { id: id!, calls: Number(calls), query: q.join('|') };
        });
    },
  });

  it('query_stats.calls equals pg_stat_statements.calls for every query id the drivers sent', async () => {
    const ours = new Map((await queryParquet(`SELECT query_id::VARCHAR AS id, sum(calls)::BIGINT AS calls, sum(coalesced)::BIGINT AS coalesced
        FROM ${tableSource(db.out, 'query_stats')} GROUP BY 1`)).map((r) => [String(r.id), r]));
    // DECLARE, FETCH and CLOSE of both drivers' named cursors, prepared and unprepared statements, COPY …
    expect(pgss.length).toBeGreaterThanOrEqual(15);
    const diff = pgss.filter((p) => Number(ours.get(p.id)?.calls ?? 0) !== p.calls)
      .map((p) => `${p.query.slice(0, 80)}: pgss ${p.calls}, ours ${ours.get(p.id)?.calls ?? 0}`);
    expect(diff).toEqual([]);
    const coalesced = [...ours.values()].reduce((a, r) => a + Number(r.coalesced ?? 0), 0);
    expect(coalesced).toBe(0);
  });
});
