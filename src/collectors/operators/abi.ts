/**
 * The TypeScript view of bpf/operators.h, in declaration order. Checked
 * against the BTF of operators.bpf.o by test/collectors/abi.test.ts (enums
 * included).
 */
import { layoutStruct } from '../../bpf/struct-layout.js';
import { PGS_NCOUNTERS } from '../abi.js';

export const PGS_NFEATURES = 4;
/** Plan node tags index the feature table: tags ≥ this are refused. */
export const PGS_MAX_TAG = 64;
/** Feature slot flag (rodata feat_flags): the value is a range-table index to resolve to a relid. */
export const PGS_FEAT_RELATION = 1;

/** enum pgs_node_flag (node_record.flags). */
export const NODE_FLAGS = { RAN: 1 << 0, PROBED: 1 << 2, FIRST_TUP: 1 << 3, IDENTIFIED: 1 << 4 } as const;

const u64 = (name: string) => ({ name, type: 'u64' as const });
const u32 = (name: string) => ({ name, type: 'u32' as const });

export const nodeKeyLayout = layoutStruct('node_key', [u32('pid'), u32('_pad'), u64('planstate')]);

export const nodeDoneKeyLayout = layoutStruct('node_done_key', [
  u32('leader_pid'), u32('seq'), u32('plan_seq'), u32('plan_node_id'), u32('pid'),
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
  u32('parallel_aware'), u32('subplan'), u32('left_child_id'), u32('right_child_id'), u32('plan_seq'), u32('_pad'),
]);

export const nodeFnEventLayout = layoutStruct('node_fn_event', [u64('fn_addr'), u32('tag'), u32('plan_tag')]);

/** enum pgs_node_stat: slots of the per-CPU `node_stats` array, in order. */
export const NODE_STATS = ['nodes_done', 'drop_full', 'fn_events', 'stack_overflow', 'unprobed', 'stale_frame', 'drop_duplicate'] as const;
export type NodeStatName = (typeof NODE_STATS)[number];
