/**
 * Per-query_id counts equal pg_stat_statements.calls across the ways
 * statements reach PostgreSQL: simple, extended and prepared protocol
 * (pgbench), SQL PREPARE/EXECUTE, cursors, DO, COPY, multi-statement strings.
 */
import { expect, it } from 'vitest';
import { Collection } from '../../../src/collect/collection.js';
import { collectConfig } from '../../../src/config.js';
import { pgbench, pgbenchInit } from '../../../src/demo/workload.js';
import { compareWithPgss } from '../../../src/cli/demo.js';
import { describeBpf } from '../../helpers/bpf-env.js';
import { useCluster } from '../../helpers/cluster-fixture.js';
import { readTable } from '../../helpers/dataset.js';

describeBpf('query_id counts equal pg_stat_statements for every protocol', () => {
  const db = useCluster({
    outPrefix: 'pgscout-proto-',
    setup: async (cluster, out) => {
      await pgbenchInit(cluster, 1);
      const collection = await Collection.start(collectConfig({ pg: cluster.conninfo, out, interval: '300ms', exact: true }));
      await cluster.psql('SELECT pg_stat_statements_reset()');
      await pgbench(cluster, ['-M', 'prepared', '-c', '2', '-j', '2', '-t', '300']);
      await pgbench(cluster, ['-M', 'extended', '-S', '-c', '2', '-j', '2', '-t', '300']);
      await pgbench(cluster, ['-M', 'simple', '-c', '1', '-t', '100']);
      await cluster.psql('PREPARE p1(int) AS SELECT abalance FROM pgbench_accounts WHERE aid = $1; EXECUTE p1(1); EXECUTE p1(2)');
      await cluster.psql('BEGIN; DECLARE cur CURSOR FOR SELECT * FROM pgbench_branches; FETCH 1 FROM cur; FETCH 1 FROM cur; COMMIT');
      await cluster.psql('DO $$BEGIN PERFORM count(*) FROM pgbench_branches; END$$');
      await cluster.psql('COPY (SELECT 1) TO STDOUT');
      await collection.stop();
    },
  });

  it('every query_id it wrote has exactly pg_stat_statements.calls rows', async () => {
    const cmp = await compareWithPgss(db.cluster, db.out);
    expect(cmp.mismatches).toEqual([]);
    expect(cmp.total).toBeGreaterThanOrEqual(12);
  });

  it('counts prepared-protocol executions of the tpcb statements once each', async () => {
    const rows = await readTable(db.out, 'queries', "query_text = 'UPDATE pgbench_tellers SET tbalance = tbalance + $1 WHERE tid = $2'");
    // 600 prepared + 100 simple transactions.
    expect(rows).toHaveLength(700);
    expect(rows.filter((r) => r.protocol === 'extended')).toHaveLength(600);
  });
});
