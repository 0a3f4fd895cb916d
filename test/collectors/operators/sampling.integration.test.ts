/**
 * --level operator --sample: operator probes live only in the sampled
 * backends. Checked on the machine code itself: the first byte of every
 * probed function is int3 (0xcc) in a sampled backend's memory and the
 * original byte in an unsampled one. Statement rows stay complete.
 */
import fs from 'node:fs';
import pg from 'pg';
import { expect, it } from 'vitest';
import { toClientConfig } from '../../../src/pg/target.js';
import { OperatorsCollector } from '../../../src/collectors/operators/collector.js';
import { Collection, type CollectionSummary } from '../../../src/collect/collection.js';
import { collectConfig } from '../../../src/config.js';
import { loadBase } from '../../../src/elf/address.js';
import { openElf } from '../../../src/elf/elf.js';
import { describeBpf } from '../../helpers/bpf-env.js';
import { useCluster } from '../../helpers/cluster-fixture.js';
import { readTable } from '../../helpers/dataset.js';

const QUERY = 'SELECT s.a % 7, count(*) FROM sampled s JOIN sampled t USING (a) GROUP BY 1 ORDER BY 1';

function byteAt(pid: number, address: bigint): number {
  const fd = fs.openSync(`/proc/${pid}/mem`, 'r');
  try {
    const buf = Buffer.alloc(1);
    fs.readSync(fd, buf, 0, 1, address);
    return buf[0]!;
  } finally {
    fs.closeSync(fd);
  }
}

describeBpf('operator sampling: zero cost on unsampled backends', () => {
  let clients: pg.Client[];
  let pids: number[];
  let collection: Collection;
  let summary: CollectionSummary;
  let probedBytes: { pid: number; func: string; byte: number; original: number }[] = [];

  const db = useCluster({
    outPrefix: 'pgscout-sample-',
    setup: async (cluster, out) => {
      await cluster.psql('CREATE TABLE sampled(a int); INSERT INTO sampled SELECT generate_series(1, 20000); ANALYZE sampled');
      clients = [new pg.Client(toClientConfig(cluster.conninfo)), new pg.Client(toClientConfig(cluster.conninfo))];
      for (const c of clients) await c.connect();
      pids = await Promise.all(clients.map(async (c) => (await c.query('SELECT pg_backend_pid() AS p')).rows[0].p as number));
      collection = await Collection.start(collectConfig({
        pg: cluster.conninfo, out, interval: '200ms', level: 'operator', 'operator-probes': '0.5', 'sample-rotate': '1h',
      }));
      for (let i = 0; i < 5; i++) for (const c of clients) await c.query(QUERY);
      await new Promise((r) => setTimeout(r, 300));
      const ops = (collection.collector('operators') as OperatorsCollector).operatorSource;
      const elf = openElf(collection.target.binaryPath);
      const base = loadBase(collection.target.postmasterPid, collection.target.binaryPath);
      const funcs = [
        { func: 'ExecInitNode', vaddr: elf.findSymbol('ExecInitNode')!.value },
        ...[...ops.sites.values()].map((s) => ({ func: s.tag, vaddr: s.vaddr })),
      ];
      probedBytes = pids.flatMap((pid) => funcs.map(({ func, vaddr }) => ({
        pid, func, byte: byteAt(pid, base + BigInt(vaddr)), original: elf.readAt(vaddr, 1)[0]!,
      })));
      summary = await collection.stop();
    },
    teardown: async () => {
      for (const c of clients ?? []) await c.end().catch(() => undefined);
    },
  });

  it('samples exactly one of the two client backends', () => {
    expect(summary.collectors.operators!.sampledBackends).toBe(1);
  });

  it('patches the probed functions only in the sampled backend', () => {
    const sampled = new Set(probedBytes.filter((b) => b.byte === 0xcc).map((b) => b.pid));
    expect(sampled.size).toBe(1);
    const [sampledPid] = [...sampled];
    const unsampledPid = pids.find((p) => p !== sampledPid)!;
    expect(probedBytes.filter((b) => b.pid === sampledPid).every((b) => b.byte === 0xcc)).toBe(true);
    const untouched = probedBytes.filter((b) => b.pid === unsampledPid);
    expect(untouched.length).toBeGreaterThanOrEqual(4);
    for (const b of untouched) expect([b.func, b.byte]).toEqual([b.func, b.original]);
  });

  it('writes operator rows for the sampled backend only, statements for both', async () => {
    const ops = await readTable(db.out, 'operators');
    expect(ops.length).toBeGreaterThan(0);
    expect(new Set(ops.map((r) => r.leader_pid)).size).toBe(1);
    const stmts = await readTable(db.out, 'queries', "query_text LIKE 'SELECT s.a % $1, count(*)%'");
    expect(stmts).toHaveLength(10);
    expect(new Set(stmts.map((r) => r.pid))).toEqual(new Set(pids));
  });
});
