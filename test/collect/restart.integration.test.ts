/**
 * A PostgreSQL restart while collecting: the collector notices the
 * postmaster is gone, writes what it had, attaches again to the new one, and
 * the statements after the restart are in the dataset (counted against
 * pg_stat_statements, reset after the restart).
 */
import { expect, it } from 'vitest';
import { Collection, type CollectionSummary } from '../../src/collect/collection.js';
import { collectConfig } from '../../src/config.js';
import { queryParquet, tableSource } from '../../src/dataset/read-back.js';
import { pgbench, pgbenchInit } from '../../src/demo/workload.js';
import { describeBpf } from '../helpers/bpf-env.js';
import { useCluster } from '../helpers/cluster-fixture.js';

describeBpf('PostgreSQL restarts while collecting', () => {
  let summary: CollectionSummary;
  let oldPid = 0;
  let reattachMs = 0;
  let callsAfter = 0;
  const db = useCluster({
    outPrefix: 'pgscout-restart-',
    setup: async (cluster, out) => {
      await pgbenchInit(cluster, 1);
      const collection = await Collection.start(collectConfig({ pg: cluster.conninfo, out, interval: '300ms', 'statement-rows': 'all' }));
      try {
        oldPid = collection.target.postmasterPid;
        await pgbench(cluster, ['-S', '-c', '2', '-j', '2', '-t', '300']);
        await cluster.restart();
        const back = performance.now();
        while (collection.restarts === 0 && performance.now() - back < 20_000) await new Promise((r) => setTimeout(r, 20));
        reattachMs = performance.now() - back;
        await cluster.psql('SELECT pg_stat_statements_reset()');
        await pgbench(cluster, ['-S', '-c', '2', '-j', '2', '-t', '400']);
        callsAfter = Number(await cluster.psql("SELECT sum(calls) FROM pg_stat_statements WHERE query LIKE 'SELECT abalance%'"));
      } finally {
        summary = await collection.stop();
      }
    },
  });

  it('attaches again to the new postmaster and says so in the summary', () => {
    expect(db.cluster.postmasterPid).not.toBe(oldPid);
    expect(summary.target.postmasterPid).toBe(db.cluster.postmasterPid);
    expect(reattachMs).toBeLessThan(20_000);
    console.log(`re-attached ${reattachMs.toFixed(0)} ms after the new postmaster accepted connections`);
  });

  it('collects the statements run after the restart, and keeps those from before', async () => {
    const src = tableSource(db.out, 'query_stats');
    const [all] = await queryParquet(`SELECT sum(calls)::BIGINT AS calls FROM ${src} WHERE query_text LIKE 'SELECT abalance%'`);
    // 600 before the restart, callsAfter (800) after: both halves are in.
    expect(Number(all!.calls)).toBe(600 + callsAfter);
  });
});

describeBpf('--wait: started while PostgreSQL is down', () => {
  const db = useCluster({ outPrefix: 'pgscout-wait-', setup: (cluster) => pgbenchInit(cluster, 1) });

  it('waits instead of failing, and collects once the server is up', async () => {
    let started: Promise<{ code: number | null; stderr: string }> | null = null;
    await db.cluster.restart(async () => {
      const { runCli } = await import('../helpers/cli.js');
      started = runCli(['collect', '--pg', db.cluster.conninfo, '--out', db.out, '--wait', '--interval', '300ms', '--duration', '6s', '--statement-rows', 'all']);
      await new Promise((r) => setTimeout(r, 1500));   // still down: it must be waiting, not gone
    });
    await new Promise((r) => setTimeout(r, 2000));
    await pgbench(db.cluster, ['-S', '-c', '1', '-t', '200']);
    const r = await started!;
    expect(r.stderr).toMatch(/waiting for PostgreSQL \(--wait\)/);
    expect(r.code).toBe(0);
    const [n] = await queryParquet(`SELECT sum(calls)::BIGINT AS calls FROM ${tableSource(db.out, 'query_stats')} WHERE query_text LIKE 'SELECT abalance%'`);
    expect(Number(n!.calls)).toBe(200);
  });
});
