/** A collection-shaped object and rows for exercising the metrics without BPF. */
import net from 'node:net';
import type { Row } from '../../src/dataset/schema.js';
import type { ObservedCollection } from '../../src/metrics/collector-view.js';

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

const writer = (rows: number) => ({ stats: { rowsWritten: rows, filesWritten: rows ? 1 : 0, bytesWritten: rows * 100 } });

export function fakeCollection(): ObservedCollection & { drainer: { stats: { recordsDrained: number } } } {
  return {
    target: { postmasterPid: process.pid },
    source: {
      attachStates: [
        { probe: 'usdt:postgresql:query__start', program: 'query_start', attached: true },
        { probe: 'tracepoint:sock:sock_send_length', program: 'sock_send', attached: false, error: 'not supported' },
      ],
      finishedCapacity: 1000,
    },
    drainer: {
      stats: {
        drains: 1, lastDrainMs: 1, lastDrainSyscalls: 3, recordsDrained: 0, rowsWritten: 3, errorRowsWritten: 1, textsReceived: 2,
        kernel: { finished: 4n, drop_full: 2n, text_sent: 2n, text_drop: 1n, thread_full: 0n, discarded: 0n, errors: 1n },
      },
      queries: writer(3),
      errors: writer(1),
    },
    operators: {
      source: { targets: [-1] },
      drainer: {
        stats: {
          nodesDrained: 0, rowsWritten: 4, incomplete: 1, functionsProbed: 9, slowFunctions: 1, sampledBackends: 0,
          kernel: { nodes_done: 5n, drop_full: 0n, fn_events: 9n, stack_overflow: 0n, unprobed: 1n },
        },
        writer: writer(4),
      },
      sampler: null,
    },
  };
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
