/**
 * SIGKILL of pgscout: every --sync-interval the rows drained so far are on
 * disk with a footer journal, so the next start on the same --out publishes
 * them — nothing synced before the kill is lost — and its stale locks and
 * kernel state do not stand in the way.
 */
import fs from 'node:fs';
import { expect, it } from 'vitest';
import { queryParquet, tableSource } from '../../src/dataset/read-back.js';
import { pgbench, pgbenchInit } from '../../src/demo/workload.js';
import { BIN, runCli, startCollect } from '../helpers/cli.js';
import { describeBpf } from '../helpers/bpf-env.js';
import { useCluster } from '../helpers/cluster-fixture.js';

describeBpf('pgscout killed with SIGKILL', () => {
  const db = useCluster({ outPrefix: 'pgscout-crash-', setup: (cluster) => pgbenchInit(cluster, 1) });

  it('loses nothing already synced: the next start publishes the killed one\'s rows', async () => {
    const run = await startCollect([BIN, 'collect', '--pg', db.cluster.conninfo, '--out', db.out, '--interval', '300ms', '--sync-interval', '300ms',
      '--statement-rows', 'all']);
    await db.cluster.psql('SELECT pg_stat_statements_reset()');
    await pgbench(db.cluster, ['-S', '-c', '2', '-j', '2', '-t', '500']);
    const calls = Number(await db.cluster.psql("SELECT sum(calls) FROM pg_stat_statements WHERE query LIKE 'SELECT abalance%'"));
    await new Promise((r) => setTimeout(r, 1500));   // a few drains and syncs: everything is drained and synced
    expect(await run.stop('SIGKILL')).toBeNull();
    const left = (fs.readdirSync(db.out, { recursive: true }) as string[]).filter((f) => f.endsWith('.parquet.tmp'));
    expect(left.length).toBeGreaterThan(0);   // the killed one's open files, not yet rotated

    const next = await runCli(['collect', '--pg', db.cluster.conninfo, '--out', db.out, '--duration', '1s']);
    expect(next.code).toBe(0);
    expect(next.stderr).toMatch(/a pgscout that did not stop left files .*: published \d+ rows in \d+ files/);
    expect((fs.readdirSync(db.out, { recursive: true }) as string[]).filter((f) => f.endsWith('.tmp') || f.endsWith('.footer'))).toEqual([]);

    const where = "query_text LIKE 'SELECT abalance%'";
    const [stats] = await queryParquet(`SELECT sum(calls)::BIGINT AS calls FROM ${tableSource(db.out, 'query_stats')} WHERE ${where}`);
    const [rows] = await queryParquet(`SELECT count(*)::BIGINT AS n FROM ${tableSource(db.out, 'queries')} WHERE ${where}`);
    expect(Number(stats!.calls)).toBe(calls);
    expect(Number(rows!.n)).toBe(calls);
  });
});
