/**
 * The TypeScript view of bpf/stmt_sched.h (the default, zero-trap statement
 * source), in declaration order. Checked against the BTF of stmt_sched.bpf.o
 * by test/collectors/abi.test.ts (enums included).
 */
import { layoutStruct } from '../../bpf/struct-layout.js';

import { STMT_NBUF, STMT_NWAL } from '../abi.js';

export { STMT_NBUF, STMT_NWAL };
export const STMT_NTASK = 10;
/** Duration histogram: bucket i counts [2^i, 2^(i+1)) µs; bucket 0 starts at 0, the last is open-ended. */
export const STMT_NHIST = 24;

/** BufferUsage fields, in struct order (the `buf[]` arrays). */
export const BUFFER_FIELDS = [
  'shared_blks_hit', 'shared_blks_read', 'shared_blks_dirtied', 'shared_blks_written',
  'local_blks_hit', 'local_blks_read', 'local_blks_dirtied', 'local_blks_written',
  'temp_blks_read', 'temp_blks_written',
] as const;

/** WalUsage fields, in struct order (the `wal[]` arrays). */
export const WAL_FIELDS = ['wal_records', 'wal_fpi', 'wal_bytes'] as const;

/** Task counters, in the order read_task() fills the `task[]` arrays. */
export const TASK_FIELDS = [
  'voluntary_ctx_switches', 'involuntary_ctx_switches', 'minor_faults', 'major_faults',
  'disk_read_bytes', 'disk_write_bytes', 'read_syscall_bytes', 'write_syscall_bytes', 'read_syscalls', 'write_syscalls',
] as const;

/** enum pgs_sched_flag (stmt_sample.flags). */
export const SCHED_FLAGS = { SLOW: 1 << 0, PARTIAL: 1 << 1, AT_SWITCH: 1 << 2 } as const;

const u64 = (name: string) => ({ name, type: 'u64' as const });
const u32 = (name: string) => ({ name, type: 'u32' as const });
const arr = (name: string, length: number) => ({ name, type: { array: 'u64' as const, length } });

export const stmtAggKeyLayout = layoutStruct('stmt_agg_key', [u64('query_id'), u32('dbid'), u32('userid')]);

export const stmtAggLayout = layoutStruct('stmt_agg', [
  u64('calls'), u64('coalesced'), u64('total_ns'), u64('min_ns'), u64('max_ns'), u64('sumsq_us'),
  u64('on_cpu_ns'), u64('off_cpu_ns'), u64('runq_ns'), u64('net_recv_bytes'), u64('net_send_bytes'),
  arr('task', STMT_NTASK), arr('buf', STMT_NBUF), arr('wal', STMT_NWAL), arr('hist', STMT_NHIST),
  u64('errors'), u64('rows'), u64('rows_calls'),
]);

export const stmtSampleLayout = layoutStruct('stmt_sample', [
  u64('query_id'), u64('start_ns'), u64('end_ns'), u64('on_cpu_ns'), u64('off_cpu_ns'), u64('runq_ns'),
  u64('net_recv_bytes'), u64('net_send_bytes'), u64('pg_start_us'), u64('pg_end_us'),
  arr('task', STMT_NTASK), arr('buf', STMT_NBUF), arr('wal', STMT_NWAL),
  u32('pid'), u32('seq'), u32('dbid'), u32('userid'), u32('flags'), u32('sample_p32'), u32('coalesced'), u32('state'),
]);

export const stmtCtlLayout = layoutStruct('stmt_ctl', [u32('gen'), u32('rows_per_s'), u64('slow_ns')]);

/** enum pgs_sched_stat: slots of the per-CPU `sched_stats` array, in order. */
export const SCHED_STATS = [
  'statements', 'sampled', 'sample_drop', 'agg_full', 'text_sent', 'text_drop', 'thread_full', 'coalesced', 'no_execution', 'slot_reused',
  'failed', 'prepare', 'suspended', 'unread_round_trips',
] as const;
export type SchedStatName = (typeof SCHED_STATS)[number];
