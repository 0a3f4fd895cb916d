/**
 * The per-backend `threads` map (--phases, --operator-probes) is preallocated:
 * sized from the cluster's MaxBackends, not the 16384 entries the object
 * declares (~110 MB of kernel memory for any cluster). Ground truth: the
 * kernel's own view of the map (/proc/self/fdinfo) and the server's settings.
 */
import fs from 'node:fs';
import pg from 'pg';
import { expect, it } from 'vitest';
import { toClientConfig } from '../../../src/pg/target.js';
import { Collection } from '../../../src/collect/collection.js';
import { collectConfig } from '../../../src/config.js';
import { BpfObject } from '../../../src/bpf/object.js';
import { loadCollectorSpec, objectPath } from '../../../src/bpf/collector-spec.js';
import { packageRoot } from '../../../src/util/package-root.js';
import { threadsMapEntries } from '../../../src/collectors/threads-abi.js';
import { finishedMapEntries } from '../../../src/collectors/statements/abi.js';
import { describeBpf } from '../../helpers/bpf-env.js';
import { useCluster } from '../../helpers/cluster-fixture.js';
import { readTable } from '../../helpers/dataset.js';

/** The kernel's fdinfo of a BPF map fd: max_entries, memlock, … */
function mapFdInfo(fd: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of fs.readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8').split('\n')) {
    const m = /^(\w+):\s+(\d+)$/.exec(line);
    if (m) out[m[1]!] = Number(m[2]);
  }
  return out;
}

/** What statements.bpf.o declares for a map, before pgscout sizes it. */
function declaredEntries(map: string): number {
  const obj = BpfObject.open(objectPath(packageRoot(), loadCollectorSpec(packageRoot(), 'statements')));
  try {
    return obj.map(map).maxEntries;
  } finally {
    obj.close();
  }
}

describeBpf('the threads map is sized from the cluster', () => {
  let info: Record<string, number> = {};
  let finishedInfo: Record<string, number> = {};
  let maxBackends = 0;
  let sessionsCalls = 0;
  const SESSIONS = 30;

  const db = useCluster({
    outPrefix: 'pgscout-threads-',
    settings: { max_connections: '40' },
    setup: async (cluster, out) => {
      const setting = async (name: string) => Number((await cluster.psql(`SHOW ${name}`)).trim());
      maxBackends = (await setting('max_connections')) + (await setting('autovacuum_max_workers')) + 1
        + (await setting('max_worker_processes')) + (await setting('max_wal_senders'));
      const collection = await Collection.start(collectConfig({ pg: cluster.conninfo, out, interval: '200ms', exact: true, phases: true }));
      const [obj] = collection.collector('statements')!.objects();
      info = mapFdInfo(obj!.map('threads').fd);
      finishedInfo = mapFdInfo(obj!.map('finished').fd);
      // Every session the server allows at once (its superuser slots aside) is tracked.
      const clients = Array.from({ length: SESSIONS }, () => new pg.Client(toClientConfig(cluster.conninfo)));
      await Promise.all(clients.map((c) => c.connect()));
      await Promise.all(clients.map((c) => c.query("SELECT 'threads-map-probe' AS k")));
      await Promise.all(clients.map((c) => c.end()));
      const summary = await collection.stop();
      expect(summary.collectors.statements!.drops.filter((d) => d.map === 'threads').reduce((a, d) => a + d.count, 0)).toBe(0);
      const rows = await readTable(out, 'query_stats', "query_text LIKE 'SELECT $1 AS k%'");
      sessionsCalls = rows.reduce((a, r) => a + Number(r.calls), 0);
    },
  });

  it('holds twice MaxBackends plus a margin, far below the declared size', () => {
    expect(maxBackends).toBeGreaterThan(40);
    expect(declaredEntries('threads')).toBe(16384);
    expect(info.max_entries).toBe(threadsMapEntries(maxBackends, 16384));
    expect(info.max_entries).toBeLessThan(16384 / 10);
    expect(info.memlock).toBeLessThan(8 << 20);
  });

  it('holds the rows of 8 s of the row budget in `finished`, not the declared 65536', () => {
    expect(declaredEntries('finished')).toBe(65536);
    expect(finishedInfo.max_entries).toBe(finishedMapEntries(collectConfig({ pg: 'x', out: '/tmp/x' }).statementRows, 65536));
    expect(finishedInfo.max_entries).toBeLessThan(65536);
    expect(finishedInfo.memlock).toBeLessThan(10 << 20);
  });

  it('still tracks every session the cluster allows at once', () => {
    expect(db.out).toBeTruthy();
    expect(sessionsCalls).toBe(SESSIONS);
  });
});
