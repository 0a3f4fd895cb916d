/**
 * The TypeScript view of bpf/threads.h: the per-backend state both
 * collectors share (map `threads`, created by statements.bpf.o and reused by
 * operators.bpf.o). Checked against BTF by test/collectors/abi.test.ts.
 */
import { layoutStruct } from '../bpf/struct-layout.js';
import { PGS_NCOUNTERS, STMT_NBUF, STMT_NWAL } from './abi.js';
import { stmtRecordLayout } from './statements/abi.js';

/** #define RUN_STACK, OP_DEPTH, INIT_DEPTH in bpf/threads.h. */
export const RUN_STACK = 8;
export const OP_DEPTH = 32;
export const INIT_DEPTH = 32;

/** enum rec_state: where a backend's statement record is in its lifecycle. */
export const REC_STATE = { NONE: 0, OPEN: 1, CLOSING: 2 } as const;

const u64 = (name: string) => ({ name, type: 'u64' as const });
const u32 = (name: string) => ({ name, type: 'u32' as const });

/** One active plan-node call on a backend's stack. */
export const nodeFrameLayout = layoutStruct('node_frame', [
  u64('ps'), u64('sp'), u64('start'), u64('child_ns'), u64('off_ns'), u64('runq_ns'),
  { name: 'io_start', type: { array: 'u64', length: 2 } },
  { name: 'child_io', type: { array: 'u64', length: 2 } },
  { name: 'ctr_start', type: { array: 'u64', length: PGS_NCOUNTERS } },
  { name: 'child_ctr', type: { array: 'u64', length: PGS_NCOUNTERS } },
]);

/** Per-backend state; read at shutdown to keep finished-but-unflushed records. */
export const threadStateLayout = layoutStruct('thread_state', [
  { name: 'rec', type: { array: 'char', length: stmtRecordLayout.size } },
  u64('cur_qid'), u64('phase_start'), u64('exec_start'), u64('run_start'), u64('oncpu_since'), u64('offcpu_since'),
  { name: 'ctr_base', type: { array: 'u64', length: PGS_NCOUNTERS } },
  { name: 'ctr_acc', type: { array: 'u64', length: PGS_NCOUNTERS } },
  { name: 'io_start', type: { array: 'u64', length: 6 } },
  { name: 'flt_start', type: { array: 'u64', length: 2 } },
  { name: 'buf_start', type: { array: 'u64', length: STMT_NBUF } },
  { name: 'wal_start', type: { array: 'u64', length: STMT_NWAL } },
  { name: 'run_qd', type: { array: 'u64', length: RUN_STACK } },
  u32('seq'), u32('state'), u32('in_query'), u32('exec_depth'), u32('run_depth'), u32('has_exec'),
  u32('next_stmt_index'), u32('last_cpu'),
  u32('op_depth'), u32('init_depth'), u32('worker'), u32('leader_pid'), u32('explain_only'),
  u32('plan_count'), u32('init_plan'), u32('ran_since_init'),
  u64('init_estate'), u64('be'), u32('dbid'), u32('own_checked'),
  { name: 'init_ids', type: { array: 'u32', length: INIT_DEPTH } },
  { name: 'frames', type: { array: 'char', length: OP_DEPTH * nodeFrameLayout.size } },
]);

/**
 * Entries of the preallocated `threads` map (one per live backend that ran a
 * statement or a plan, deleted at its exit): twice PostgreSQL's MaxBackends
 * plus a margin, so backends exiting while their successors start still fit —
 * not the map's declared size (`declared`, 16384 × ~6.9 kB: ~110 MB of kernel
 * memory) for every cluster, and never more than it.
 * A backend that finds it full is counted (threads/map_full), not tracked.
 */
export function threadsMapEntries(maxBackends: number, declared: number): number {
  if (!Number.isFinite(maxBackends) || maxBackends <= 0) return declared;
  return Math.min(declared, Math.max(256, 2 * maxBackends + 64));
}
