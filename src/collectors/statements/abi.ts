/**
 * The TypeScript view of bpf/statements.h, in declaration order: record
 * layouts, flags and the kernel-side stat slots. Checked against the BTF of
 * statements.bpf.o by test/collectors/abi.test.ts (enums included).
 */
import { powerOfTwoFor } from '../../bpf/ring-size.js';
import { layoutStruct } from '../../bpf/struct-layout.js';
import { PGS_NCOUNTERS, STMT_NBUF, STMT_NWAL } from '../abi.js';

export const PGS_TEXT_MAX = 4096;

/** enum pgs_stmt_flag (stmt_record.flags). */
export const STMT_FLAGS = {
  ERROR: 1 << 0,
  EXTENDED: 1 << 1,
  COMMIT: 1 << 2,
  ABORT: 1 << 3,
  HAS_ROWS: 1 << 4,
  TRUNCATED: 1 << 5,
  NOT_A_CALL: 1 << 6,
  ABORTED: 1 << 7,
} as const;

export const stmtKeyLayout = layoutStruct('stmt_key', [
  { name: 'pid', type: 'u32' },
  { name: 'seq', type: 'u32' },
]);

const u64 = (name: string) => ({ name, type: 'u64' as const });
const u32 = (name: string) => ({ name, type: 'u32' as const });

export const stmtRecordLayout = layoutStruct('stmt_record', [
  u64('query_id'), u64('start_ns'), u64('end_ns'), u64('parse_ns'), u64('plan_ns'),
  u64('execute_ns'), u64('executor_ns'), u64('on_cpu_ns'), u64('off_cpu_ns'), u64('runq_ns'),
  u64('nvcsw'), u64('nivcsw'), u64('rows'), u64('io_read_bytes'), u64('io_write_bytes'),
  u64('rchar'), u64('wchar'), u64('syscr'), u64('syscw'), u64('net_recv_bytes'),
  u64('net_send_bytes'), u64('minflt'), u64('majflt'),
  { name: 'counters', type: { array: 'u64', length: PGS_NCOUNTERS } },
  { name: 'buf', type: { array: 'u64', length: STMT_NBUF } },
  { name: 'wal', type: { array: 'u64', length: STMT_NWAL } },
  u32('counter_mask'), u32('flags'), u32('pid'), u32('stmt_index'), u32('lxid'), u32('cpu_migrations'),
  u32('dbid'), u32('sample_p32'),
]);

export const stmtTextEventLayout = layoutStruct('stmt_text_event', [
  u64('query_id'), u32('pid'), u32('stmt_index'), u32('len'), u32('_pad'),
  { name: 'text', type: { array: 'char', length: PGS_TEXT_MAX } },
]);

/** enum pgs_stmt_stat: slots of the per-CPU `stmt_stats` array, in order. */
export const STMT_STATS = [
  'finished', 'drop_full', 'text_sent', 'text_drop', 'thread_full', 'discarded', 'errors', 'calls', 'agg_full',
] as const;
export type StmtStatName = (typeof STMT_STATS)[number];

/**
 * Entries of the preallocated `finished` map (executions kept as rows, waiting
 * for the next drain): 8 s of the row budget, at least 16384 (slow and failed
 * executions are kept beyond the budget: 16k a drain interval before
 * finished/map_full counts drops), the map's declared size (`declared`,
 * 65536: ~27 MB) with every execution a row (`--statement-rows all`,
 * `--operator-probes`).
 */
export function finishedMapEntries(rowsPerSecond: number | null, declared: number): number {
  if (rowsPerSecond === null || !Number.isFinite(rowsPerSecond)) return declared;
  return powerOfTwoFor(8 * rowsPerSecond, Math.min(16384, declared), declared);
}
