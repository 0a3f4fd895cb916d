/** Layouts of the structs in bpf/pgscout.h, in declaration order. */
import { layoutStruct } from './struct-layout.js';

export const PGS_NCOUNTERS = 6;
export const PGS_TEXT_MAX = 4096;

export const STMT_FLAGS = {
  ERROR: 1 << 0,
  EXTENDED: 1 << 1,
  COMMIT: 1 << 2,
  ABORT: 1 << 3,
  HAS_ROWS: 1 << 4,
  TRUNCATED: 1 << 5,
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
  u32('counter_mask'), u32('flags'), u32('pid'), u32('stmt_index'), u32('lxid'), u32('cpu_migrations'),
  u32('dbid'), u32('_pad'),
]);

export const textEventLayout = layoutStruct('text_event', [
  u64('query_id'), u32('pid'), u32('stmt_index'), u32('len'), u32('_pad'),
  { name: 'text', type: { array: 'char', length: PGS_TEXT_MAX } },
]);

export const STATS = [
  'finished', 'drop_full', 'text_sent', 'text_drop', 'thread_full', 'discarded', 'errors',
] as const;
export type StatName = (typeof STATS)[number];

/** Per-backend state (map `threads`); read at shutdown to keep finished-but-unflushed records. */
export const threadStateLayout = layoutStruct('thread_state', [
  { name: 'rec', type: { array: 'char', length: stmtRecordLayout.size } },
  u64('cur_qid'), u64('phase_start'), u64('exec_start'), u64('run_start'), u64('oncpu_since'), u64('offcpu_since'),
  { name: 'ctr_base', type: { array: 'u64', length: PGS_NCOUNTERS } },
  { name: 'ctr_acc', type: { array: 'u64', length: PGS_NCOUNTERS } },
  { name: 'io_start', type: { array: 'u64', length: 6 } },
  { name: 'flt_start', type: { array: 'u64', length: 2 } },
  { name: 'run_qd', type: { array: 'u64', length: 8 } },
  u32('seq'), u32('state'), u32('in_query'), u32('exec_depth'), u32('run_depth'), u32('has_exec'),
  u32('next_stmt_index'), u32('last_cpu'),
  u32('op_depth'), u32('init_depth'), u32('worker'), u32('leader_pid'), u32('op_overflow'), u32('explain_only'),
  u64('init_estate'),
  { name: 'init_ids', type: { array: 'u32', length: 32 } },
  { name: 'frames', type: { array: 'char', length: 32 * 168 } },
]);

export const opFrameLayout = layoutStruct('op_frame', [
  u64('ps'), u64('start'), u64('child_ns'), u64('off_ns'), u64('runq_ns'),
  { name: 'io_start', type: { array: 'u64', length: 2 } },
  { name: 'child_io', type: { array: 'u64', length: 2 } },
  { name: 'ctr_start', type: { array: 'u64', length: PGS_NCOUNTERS } },
  { name: 'child_ctr', type: { array: 'u64', length: PGS_NCOUNTERS } },
]);

export const PGS_NFEATURES = 4;
export const PGS_MAX_TAG = 64;

export const NODE_FLAGS = { RAN: 1 << 0, PROBED: 1 << 2, FIRST_TUP: 1 << 3, IDENTIFIED: 1 << 4 } as const;

export const nodeKeyLayout = layoutStruct('node_key', [u32('pid'), u32('_pad'), u64('planstate')]);

export const nodeDoneKeyLayout = layoutStruct('node_done_key', [
  u32('leader_pid'), u32('seq'), u32('plan_node_id'), u32('pid'),
]);

export const nodeRecordLayout = layoutStruct('node_record', [
  u64('query_id'), u64('fn_addr'), u64('startup_cost_bits'), u64('total_cost_bits'), u64('plan_rows_bits'),
  { name: 'features', type: { array: 'u64', length: PGS_NFEATURES } },
  u64('calls'), u64('tuples'), u64('loops'), u64('first_call_ns'), u64('first_tuple_ns'),
  u64('incl_ns'), u64('excl_ns'), u64('excl_off_cpu_ns'), u64('excl_runq_ns'),
  u64('net_recv_bytes'), u64('net_send_bytes'), u64('disk_read_bytes'), u64('disk_write_bytes'),
  u64('hash_buckets'), u64('hash_batches'),
  { name: 'counters', type: { array: 'u64', length: PGS_NCOUNTERS } },
  u32('counter_mask'), u32('flags'), u32('pid'), u32('leader_pid'), u32('seq'), u32('plan_node_id'),
  u32('parent_node_id'), u32('worker'), u32('depth'), u32('tag'), u32('plan_tag'), u32('plan_width'),
  u32('parallel_aware'), u32('subplan'), u32('left_child_id'), u32('right_child_id'),
]);

export const fnEventLayout = layoutStruct('fn_event', [u64('fn_addr'), u32('tag'), u32('plan_tag')]);

export const OP_STATS = ['nodes_done', 'drop_full', 'fn_events', 'stack_overflow', 'unprobed'] as const;
export type OpStatName = (typeof OP_STATS)[number];

export const THREAD_STATE = { NONE: 0, OPEN: 1, CLOSING: 2 } as const;
