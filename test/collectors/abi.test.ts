/**
 * The TypeScript views of bpf/*.h (src/collectors/**\/abi.ts) must equal the
 * BTF of the compiled objects: struct layouts (offsets, sizes, so array
 * lengths too) and the values of every flag and stat enum.
 */
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { COUNTER_MAPS } from '../../src/collectors/abi.js';
import { nodeFrameLayout, REC_STATE, threadStateLayout, OP_DEPTH } from '../../src/collectors/threads-abi.js';
import {
  STMT_FLAGS, STMT_STATS, stmtKeyLayout, stmtRecordLayout, stmtTextEventLayout,
} from '../../src/collectors/statements/abi.js';
import {
  NODE_FLAGS, NODE_STATS, nodeDoneKeyLayout, nodeFnEventLayout, nodeKeyLayout, nodeRecordLayout,
} from '../../src/collectors/operators/abi.js';
import {
  SCHED_FLAGS, SCHED_STATS, stmtAggKeyLayout, stmtAggLayout, stmtCtlLayout, stmtSampleLayout,
} from '../../src/collectors/statements/sched-abi.js';
import { USAGE_SPAN_MAX } from '../../src/collectors/statements/usage-span.js';
import { PN_FLAGS, PN_STATS, pnAggKeyLayout, pnAggLayout, pnCtlLayout, pnEventLayout } from '../../src/collectors/plan-nodes/abi.js';
import type { StructLayout } from '../../src/bpf/struct-layout.js';

const object = (name: string) => new URL(`../../bpf/.output/${name}.bpf.o`, import.meta.url).pathname;

interface BtfType {
  id: number; kind: string; name?: string; size?: number;
  members?: { name: string; bits_offset: number; type_id: number }[];
  values?: { name: string; val: number }[];
}

function btfTypes(name: string): { structs: Map<string, BtfType>; enums: Map<string, BtfType> } {
  const out = execFileSync('bpftool', ['btf', 'dump', 'file', object(name), '-j'], { encoding: 'utf8', maxBuffer: 64 << 20 });
  const types = (JSON.parse(out) as { types: BtfType[] }).types;
  const named = (kind: string) => new Map(types.filter((t) => t.kind === kind && t.name).map((t) => [t.name!, t]));
  return { structs: named('STRUCT'), enums: named('ENUM') };
}

function expectMatches(layout: StructLayout, btf: Map<string, BtfType>): void {
  const t = btf.get(layout.name);
  expect(t, `struct ${layout.name} in BTF`).toBeDefined();
  expect(layout.size).toBe(t!.size);
  expect(layout.fields.map((f) => [f.name, f.offset])).toEqual(t!.members!.map((m) => [m.name, m.bits_offset / 8]));
}

/** enum values in BTF, as { SUFFIX: value } with the C prefix removed; `_MAX` sentinels dropped. */
function enumValues(enums: Map<string, BtfType>, name: string, prefix: string): Record<string, number> {
  const t = enums.get(name);
  expect(t, `enum ${name} in BTF`).toBeDefined();
  return Object.fromEntries(t!.values!.filter((v) => !v.name.endsWith('_MAX')).map((v) => [v.name.slice(prefix.length), v.val]));
}

/** A stat list (slot order) as the enum it mirrors: 'drop_full' at index 1 → { DROP_FULL: 1 }. */
const slots = (names: readonly string[]) => Object.fromEntries(names.map((n, i) => [n.toUpperCase(), i]));

describe('ABI of statements.bpf.o', () => {
  const { structs, enums } = btfTypes('statements');
  it('stmt_key', () => expectMatches(stmtKeyLayout, structs));
  it('stmt_record', () => expectMatches(stmtRecordLayout, structs));
  it('stmt_text_event', () => expectMatches(stmtTextEventLayout, structs));
  it('thread_state', () => expectMatches(threadStateLayout, structs));
  it('node_frame (in thread_state)', () => expectMatches(nodeFrameLayout, structs));
  it('enum pgs_stmt_flag', () => expect(enumValues(enums, 'pgs_stmt_flag', 'PGS_F_')).toEqual(STMT_FLAGS));
  it('stmt_agg, stmt_agg_key, stmt_ctl (shared with stmt_sched.bpf.o, bpf/stmt_agg.h)', () => {
    expectMatches(stmtAggLayout, structs);
    expectMatches(stmtAggKeyLayout, structs);
    expectMatches(stmtCtlLayout, structs);
  });
  it('enum pgs_stmt_stat', () => expect(enumValues(enums, 'pgs_stmt_stat', 'PGS_STAT_')).toEqual(slots(STMT_STATS)));
  it('enum rec_state', () => expect(enumValues(enums, 'rec_state', 'ST_')).toEqual(REC_STATE));
  it('enum pgs_counter: one slot per counter map, in order', () => {
    expect(enumValues(enums, 'pgs_counter', 'PGS_CTR_')).toEqual(slots(COUNTER_MAPS.map((m) => m.replace(/^ctr_/, ''))));
  });
});

describe('ABI of operators.bpf.o', () => {
  const { structs, enums } = btfTypes('operators');
  it('thread_state (shared)', () => expectMatches(threadStateLayout, structs));
  it('node_frame', () => expectMatches(nodeFrameLayout, structs));
  it('node_key', () => expectMatches(nodeKeyLayout, structs));
  it('node_done_key', () => expectMatches(nodeDoneKeyLayout, structs));
  it('node_record', () => expectMatches(nodeRecordLayout, structs));
  it('node_fn_event', () => expectMatches(nodeFnEventLayout, structs));
  it('frames hold OP_DEPTH node_frames', () => {
    expect(threadStateLayout.byName.get('frames')!.size).toBe(OP_DEPTH * nodeFrameLayout.size);
  });
  it('enum pgs_node_flag', () => expect(enumValues(enums, 'pgs_node_flag', 'PGS_N_')).toEqual(NODE_FLAGS));
  it('enum pgs_node_stat', () => expect(enumValues(enums, 'pgs_node_stat', 'PGS_NSTAT_')).toEqual(slots(NODE_STATS)));
});

describe('ABI of stmt_sched.bpf.o (default statement source)', () => {
  const { structs, enums } = btfTypes('stmt_sched');
  it('stmt_agg_key', () => expectMatches(stmtAggKeyLayout, structs));
  it('stmt_agg', () => expectMatches(stmtAggLayout, structs));
  it('stmt_sample', () => expectMatches(stmtSampleLayout, structs));
  it('stmt_ctl', () => expectMatches(stmtCtlLayout, structs));
  it('stmt_text_event (shared with statements.bpf.o)', () => expectMatches(stmtTextEventLayout, structs));
  it('enum pgs_sched_flag', () => expect(enumValues(enums, 'pgs_sched_flag', 'PGS_S_')).toEqual(SCHED_FLAGS));
  it('enum pgs_sched_stat', () => expect(enumValues(enums, 'pgs_sched_stat', 'PGS_SSTAT_')).toEqual(slots(SCHED_STATS)));
  it('usage_span scratch is the size usageSpan() plans for', () => expect(structs.get('usage_span')?.size).toBe(USAGE_SPAN_MAX));
});

describe('ABI of plan_nodes.bpf.o (instrumented operator source)', () => {
  const { structs, enums } = btfTypes('plan_nodes');
  it('pn_event', () => expectMatches(pnEventLayout, structs));
  it('pn_agg_key', () => expectMatches(pnAggKeyLayout, structs));
  it('pn_agg', () => expectMatches(pnAggLayout, structs));
  it('pn_ctl has the layout of stmt_ctl (one control-block writer)', () => expectMatches(pnCtlLayout, structs));
  it('enum pn_flag', () => expect(enumValues(enums, 'pn_flag', 'PN_F_')).toEqual(PN_FLAGS));
  it('enum pn_stat', () => expect(enumValues(enums, 'pn_stat', 'PN_STAT_')).toEqual(slots(PN_STATS)));
});
