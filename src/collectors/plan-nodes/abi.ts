/** TypeScript view of bpf/plan_nodes.h (checked against the object's BTF by test/collectors/abi.test.ts). */
import { layoutStruct, type FieldDef } from '../../bpf/struct-layout.js';

export const PN_PLAN_MAX = 64;
export const PN_INSTR_MAX = 512;

const u32 = (name: string): FieldDef => ({ name, type: 'u32' });
const u64 = (name: string): FieldDef => ({ name, type: 'u64' });
const bytes = (name: string, length: number): FieldDef => ({ name, type: { array: 'char', length } });

export const pnEventLayout = layoutStruct('pn_event', [
  u64('query_id'), u64('stmt_ns'), u32('pid'), u32('tag'), u32('plan_node_id'), u32('parent_id'), u32('depth'),
  u32('flags'), u32('workers'), u32('_pad'), bytes('plan', PN_PLAN_MAX), bytes('instr', PN_INSTR_MAX),
]);

/** enum pn_flag */
export const PN_FLAGS = { INSTRUMENTED: 1 << 0, SUBPLAN_ROOT: 1 << 1 } as const;

/** enum pn_stat, in slot order. */
export const PN_STATS = ['statements', 'ring_full', 'stack_full', 'children_cut', 'nodes_cut'] as const;
export type PnStatName = (typeof PN_STATS)[number];
