/** Turns decoded node records into rows of the operators table. */
import { COUNTERS } from '../../bpf/perf.js';
import { NODE_FLAGS } from './abi.js';
import { LABEL_COLUMNS } from './table.js';
import type { Row } from '../../dataset/schema.js';
import type { Layout } from '../../pg/layouts.js';
import type { NameCache } from '../../pg/catalog.js';
import { enumFeatureText, explainNodeTypeOrUndefined } from './node-types.js';
import type { MonotonicToWall } from '../../util/clock.js';
import type { FeatureSlot, FeatureTable } from './config.js';
import type { NodeRecord } from './source.js';
import { execId } from '../statements/rows.js';

const f64 = (bits: bigint) => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(bits);
  return b.readDoubleLE(0);
};

export interface OperatorRowContext { clock: MonotonicToWall; layout: Layout; features: FeatureTable; relations: NameCache }

function slotValue(raw: bigint, slot: FeatureSlot): bigint {
  const bits = BigInt(slot.size * 8);
  const v = bits >= 64n ? raw : raw & ((1n << bits) - 1n);
  return slot.kind === 'int' ? BigInt.asIntN(Number(bits), v) : v;
}

function featureColumns(rec: NodeRecord, ctx: OperatorRowContext): Row {
  const out: Row = {};
  (ctx.features.get(rec.plan_tag) ?? []).forEach((slot, i) => {
    const v = slotValue(rec.features[i]!, slot);
    if (slot.decode === 'relation') {
      out.relation_oid = v;
      out.relation = ctx.relations.get(Number(v));
    } else if (slot.decode === 'oid') {
      out.index_name = ctx.relations.get(Number(v));
    } else if (slot.decode === 'bool') {
      out[slot.column] = v !== 0n;
    } else if (slot.decode.startsWith('enum:')) {
      out[slot.column] = enumFeatureText(slot.decode.slice(5), Number(v), ctx.layout);
    } else {
      const type = ['key_cols', 'presorted_cols', 'window_part_cols', 'window_order_cols', 'frame_options', 'workers_planned', 'cte_plan_id'];
      out[slot.column] = type.includes(slot.column) ? Number(v) : v;
    }
  });
  return out;
}

/** oids a batch needs names for. */
export function relationOids(recs: NodeRecord[], features: FeatureTable): number[] {
  const out: number[] = [];
  for (const r of recs) {
    (features.get(r.plan_tag) ?? []).forEach((slot, i) => {
      if (slot.decode === 'relation' || slot.decode === 'oid') out.push(Number(r.features[i]! & 0xffffffffn));
    });
  }
  return out;
}

/** Whether the node's function was probed when it ran (false: first sight of a node type, no labels). */
export function isProbed(rec: NodeRecord): boolean {
  return (rec.flags & NODE_FLAGS.PROBED) !== 0;
}

export function operatorRow(rec: NodeRecord, ctx: OperatorRowContext): Row {
  const tagName = ctx.layout.nodeTagName(rec.tag);
  const executed = rec.calls > 0n;
  const excl = rec.excl_ns;
  const off = rec.excl_off_cpu_ns > excl ? excl : rec.excl_off_cpu_ns;
  const counters: Row = {};
  COUNTERS.forEach((k, i) => { counters[k.name] = executed && rec.counter_mask & (1 << i) ? BigInt.asIntN(64, rec.counters[i]!) : null; });
  const isHash = tagName === 'T_HashState';
  const row: Row = {
    exec_id: execId(rec.leader_pid, rec.seq),
    query_id: rec.query_id ? BigInt.asIntN(64, rec.query_id) : null,
    pid: rec.pid,
    leader_pid: rec.leader_pid,
    worker: rec.worker,
    plan_seq: BigInt(rec.plan_seq),
    plan_node_id: rec.plan_node_id,
    parent_node_id: rec.parent_node_id < 0 ? null : rec.parent_node_id,
    depth: rec.depth,
    left_child_id: rec.left_child_id < 0 ? null : rec.left_child_id,
    right_child_id: rec.right_child_id < 0 ? null : rec.right_child_id,
    is_subplan: rec.subplan !== 0,
    node_type: explainNodeTypeOrUndefined(tagName) ?? tagName,
    est_startup_cost: f64(rec.startup_cost_bits),
    est_total_cost: f64(rec.total_cost_bits),
    est_rows: f64(rec.plan_rows_bits),
    est_width: rec.plan_width,
    parallel_aware: rec.parallel_aware !== 0,
    relation: null, relation_oid: null, index_name: null, join_type: null, inner_unique: null, strategy: null,
    num_groups: null, key_cols: null, presorted_cols: null, limit_option: null, est_entries: null, setop_cmd: null,
    window_part_cols: null, window_order_cols: null, frame_options: null, workers_planned: null, operation: null,
    cte_plan_id: null, func_ordinality: null,
    ...featureColumns(rec, ctx),
    hash_buckets: isHash && executed ? rec.hash_buckets : null,
    hash_batches: isHash && executed ? rec.hash_batches : null,
    probed: true,
    calls: rec.calls,
    loops: rec.loops,
    tuples: rec.tuples,
    first_tuple_ns: rec.flags & NODE_FLAGS.FIRST_TUP ? rec.first_tuple_ns : null,
    start_ns: executed ? ctx.clock.toWall(rec.first_call_ns) : null,
    incl_ns: rec.incl_ns,
    excl_ns: excl,
    excl_on_cpu_ns: excl - off,
    excl_off_cpu_ns: off,
    excl_runq_wait_ns: rec.excl_runq_ns > off ? off : rec.excl_runq_ns,
    ...counters,
    disk_read_bytes: rec.disk_read_bytes,
    disk_write_bytes: rec.disk_write_bytes,
    net_recv_bytes: rec.net_recv_bytes,
    net_send_bytes: rec.net_send_bytes,
  };
  return isProbed(rec) ? row : withoutLabels(row);
}

const LABEL_NAMES = LABEL_COLUMNS.map((col) => col.name);

/**
 * A node that ran before its function was probed: the plan features are
 * exact, the labels were never measured (its work is in its parent's
 * exclusive figures) and are null rather than zero.
 */
function withoutLabels(row: Row): Row {
  for (const name of LABEL_NAMES) row[name] = null;
  row.probed = false;
  return row;
}
