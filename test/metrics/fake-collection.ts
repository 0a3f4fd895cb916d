/** A collection-shaped object and rows for exercising the metrics without BPF. */
import net from 'node:net';
import type { Row } from '../../src/dataset/schema.js';
import type { ObservedCollection } from '../../src/metrics/collector-view.js';
import type { CollectorStats } from '../../src/collectors/collector.js';
import { StatsAggregator } from '../../src/collectors/statements/stats-aggregator.js';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

export const FAKE_TARGET = { version: '15.99 (test)', dataDir: '/var/lib/postgresql/15/main', port: 5433 };

const writer = (rows: number) => ({ stats: { rowsWritten: rows, filesWritten: rows ? 1 : 0, bytesWritten: rows * 100, rowsDropped: 0 } });

/** Stats of the two collectors, mutable so a test can move them between scrapes. */
export interface FakeCollection extends ObservedCollection {
  statements: CollectorStats;
  operators: CollectorStats;
}

export function fakeCollection(): FakeCollection {
  const statements: CollectorStats = {
    drains: 1,
    maps: [{ map: 'finished', drained: 0, capacity: 1000 }],
    drops: [
      { map: 'finished', reason: 'map_full', count: 2 },
      { map: 'texts', reason: 'ring_buffer_full', count: 1 },
      { map: 'threads', reason: 'map_full', count: 0 },
    ],
    probes: [
      { probe: 'usdt:postgresql:query__start', program: 'query_start', attached: true },
      { probe: 'tracepoint:sock:sock_send_length', program: 'sock_send', attached: false, error: 'not supported' },
    ],
    errors: {},
    kernel: { finished: 4n, drop_full: 2n, text_sent: 2n, text_drop: 1n, thread_full: 0n, discarded: 0n, errors: 1n },
    sampledBackends: null,
    probeSites: null,
  };
  const operators: CollectorStats = {
    drains: 1,
    maps: [{ map: 'finished_nodes', drained: 0, capacity: 1000 }],
    drops: [
      { map: 'finished_nodes', reason: 'map_full', count: 0 },
    ],
    probes: [],
    errors: { node_function_discovery: 0, sample_rotation: 0, operator_stack_overflow: 0, node_function_not_probed: 1 },
    kernel: { nodes_done: 5n, drop_full: 0n, fn_events: 9n, stack_overflow: 0n, unprobed: 1n },
    sampledBackends: 'all',
    probeSites: { fast: 8, slow: 1 },
    instrumentedBackends: { instrumented: 3, clients: 4 },
  };
  return {
    target: { postmasterPid: process.pid },
    restarts: 0,
    collectors: [{ stats: () => statements }, { stats: () => operators }],
    writers: new Map([['queries', writer(3)], ['query_errors', writer(1)], ['operators', writer(4)]]),
    statements,
    operators,
  };
}

/** query_stats rows for these executions, summed by the same code --exact uses. */
export function queryStats(ok: readonly Row[], failed: readonly Row[] = []): Row[] {
  const agg = new StatsAggregator();
  for (const row of ok) agg.add(row);
  for (const row of failed) agg.addError(row);
  return agg.take(0n, 1n);
}

export function statementRow(over: Partial<Row> = {}): Row {
  return {
    query_id: 1234567890123n, fingerprint: '0123456789abcdef', command: 'SELECT', database: 'shop',
    duration_ns: 2_000_000n, on_cpu_ns: 1_500_000n, off_cpu_ns: 500_000n, runq_wait_ns: 100_000n,
    rows: 10n, disk_read_bytes: 8192n, disk_write_bytes: 0n, net_recv_bytes: 100n, net_send_bytes: 2000n,
    voluntary_ctx_switches: 2n, involuntary_ctx_switches: 1n,
    ...over,
  };
}

export function operatorRow(nodeType: string, over: Partial<Row> = {}): Row {
  return { node_type: nodeType, excl_ns: 50_000n, tuples: 100n, loops: 1n, calls: 101n, ...over };
}
