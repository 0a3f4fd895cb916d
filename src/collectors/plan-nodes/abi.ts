/** TypeScript view of bpf/plan_nodes.h (checked against the object's BTF by test/collectors/abi.test.ts). */
import { layoutStruct, type FieldDef } from '../../bpf/struct-layout.js';

export const PN_PLAN_MAX = 64;
export const PN_INSTR_MAX = 512;
export const PN_HDR_MAX = 128;
export const PN_QD_MAX = 128;
export const PN_NBUF = 10;
export const PN_NWAL = 3;

const u32 = (name: string): FieldDef => ({ name, type: 'u32' });
const u64 = (name: string): FieldDef => ({ name, type: 'u64' });
const u64s = (name: string, length: number): FieldDef => ({ name, type: { array: 'u64', length } });
const bytes = (name: string, length: number): FieldDef => ({ name, type: { array: 'char', length } });

export const pnEventLayout = layoutStruct('pn_event', [
  u64('query_id'), u64('stmt_ns'), u32('pid'), u32('tag'), u32('plan_node_id'), u32('parent_id'), u32('depth'),
  u32('flags'), u32('workers'), u32('sample_p32'), u32('exec_seq'), u32('worker'), bytes('plan', PN_PLAN_MAX), bytes('instr', PN_INSTR_MAX),
]);

export const pnAggKeyLayout = layoutStruct('pn_agg_key', [
  u64('query_id'), u32('plan_node_id'), u32('parent_id'), u32('tag'), u32('flags'),
]);

/** The order of pn_agg.buf and pn_agg.wal: BufferUsage / WalUsage field names. */
export const PN_BUF_FIELDS = [
  'shared_blks_hit', 'shared_blks_read', 'shared_blks_dirtied', 'shared_blks_written',
  'local_blks_hit', 'local_blks_read', 'local_blks_dirtied', 'local_blks_written',
  'temp_blks_read', 'temp_blks_written',
] as const;
export const PN_WAL_FIELDS = ['wal_records', 'wal_fpi', 'wal_bytes'] as const;

export const pnAggLayout = layoutStruct('pn_agg', [
  u64('calls'), u64('timed_calls'), u64('rows'), u64('loops'), u64('nfiltered1'), u64('nfiltered2'),
  u64('startup_ns'), u64('total_ns'), u64s('buf', PN_NBUF), u64s('wal', PN_NWAL), u64('est_rows'),
  u64('est_cost_milli'), u64('workers'),
]);

export const pnCtlLayout = layoutStruct('pn_ctl', [u32('gen'), u32('rows_per_s'), u64('slow_ns')]);

/** enum pn_flag */
export const PN_FLAGS = { INSTRUMENTED: 1 << 0, SUBPLAN_ROOT: 1 << 1, INITPLAN: 1 << 2, EXEC_SEQ: 1 << 3, WORKER: 1 << 4 } as const;

/** enum pn_stat, in slot order. */
export const PN_STATS = ['statements', 'ring_full', 'stack_full', 'children_cut', 'nodes_cut', 'agg_full', 'kept', 'workers_cut'] as const;
export type PnStatName = (typeof PN_STATS)[number];
