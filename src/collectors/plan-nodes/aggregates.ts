/**
 * Per-node aggregates summed in the kernel (bpf/plan_nodes.bpf.c, pn_agg0/1):
 * every instrumented execution of an interval, whether or not its nodes were
 * kept as rows. Decoded here, and turned into plan_node_stats rows with the
 * exclusive time computed from the children's sums (exclusive.ts).
 */
import type { Row } from '../../dataset/schema.js';
import type { Layout } from '../../pg/layouts.js';
import type { QueryTextCache } from '../../query/text-cache.js';
import type { MonotonicToWall } from '../../util/clock.js';
import type { AggregateDrain, AggregateMapSpec } from '../statements/agg-maps.js';
import { explainNodeTypeForTag } from '../operators/node-types.js';
import { innerTime } from './exclusive.js';
import { PN_BUF_FIELDS, PN_FLAGS, PN_NBUF, PN_NWAL, PN_WAL_FIELDS, pnAggKeyLayout, pnAggLayout, pnCtlLayout } from './abi.js';

export interface NodeAggregate {
  queryId: bigint;
  planNodeId: number;
  parentId: number | null;
  tag: number;
  subplanRoot: boolean;
  /** An InitPlan's root (CTEs too): timed inside the node that needed it first. */
  initPlanRoot: boolean;
  calls: bigint;
  timedCalls: bigint;
  rows: bigint;
  loops: bigint;
  nfiltered1: bigint;
  nfiltered2: bigint;
  startupNs: bigint;
  totalNs: bigint;
  buf: bigint[];
  wal: bigint[];
  estRows: bigint;
  estCostMilli: bigint;
  workers: bigint;
}

const at = (name: string) => pnAggLayout.byName.get(name)!.offset;
const SCALARS = ['calls', 'timed_calls', 'rows', 'loops', 'nfiltered1', 'nfiltered2', 'startup_ns', 'total_ns',
  'est_rows', 'est_cost_milli', 'workers'] as const;

/** Sums the per-CPU copies of one value (every field is a plain sum). */
function sumCopies(values: Buffer, base: number, ncpus: number): Record<string, bigint> & { buf: bigint[]; wal: bigint[] } {
  const out = { buf: Array<bigint>(PN_NBUF).fill(0n), wal: Array<bigint>(PN_NWAL).fill(0n) } as Record<string, bigint> & { buf: bigint[]; wal: bigint[] };
  for (const f of SCALARS) out[f] = 0n;
  for (let c = 0; c < ncpus; c++) {
    const b = base + c * pnAggLayout.size;
    for (const f of SCALARS) out[f] += values.readBigUInt64LE(b + at(f));
    for (let i = 0; i < PN_NBUF; i++) out.buf[i]! += values.readBigUInt64LE(b + at('buf') + i * 8);
    for (let i = 0; i < PN_NWAL; i++) out.wal[i]! += values.readBigUInt64LE(b + at('wal') + i * 8);
  }
  return out;
}

export const PN_AGG_MAPS: AggregateMapSpec<NodeAggregate> = {
  ctl: 'pn_ctl',
  maps: ['pn_agg0', 'pn_agg1'],
  ctlLayout: pnCtlLayout,
  keySize: pnAggKeyLayout.size,
  valueSize: pnAggLayout.size,
  decode(keys, kb, values, vb, ncpus) {
    const k = (name: string) => kb + pnAggKeyLayout.byName.get(name)!.offset;
    const parent = keys.readInt32LE(k('parent_id'));
    const v = sumCopies(values, vb, ncpus);
    return {
      queryId: keys.readBigUInt64LE(k('query_id')),
      planNodeId: keys.readInt32LE(k('plan_node_id')),
      parentId: parent < 0 ? null : parent,
      tag: keys.readUInt32LE(k('tag')),
      subplanRoot: (keys.readUInt32LE(k('flags')) & PN_FLAGS.SUBPLAN_ROOT) !== 0,
      initPlanRoot: (keys.readUInt32LE(k('flags')) & PN_FLAGS.INITPLAN) !== 0,
      calls: v.calls!, timedCalls: v.timed_calls!, rows: v.rows!, loops: v.loops!, nfiltered1: v.nfiltered1!,
      nfiltered2: v.nfiltered2!, startupNs: v.startup_ns!, totalNs: v.total_ns!, buf: v.buf, wal: v.wal,
      estRows: v.est_rows!, estCostMilli: v.est_cost_milli!, workers: v.workers!,
    };
  },
};

export interface StatsRowContext { clock: MonotonicToWall; texts: QueryTextCache; layout: Layout }

/**
 * One plan_node_stats row per aggregate. Exclusive time: the node's summed
 * total minus its children's (same query_id, parent = this node), over the
 * timed executions only; null when none was timed.
 */
export function nodeStatsRows(drain: AggregateDrain<NodeAggregate>, ctx: StatsRowContext): Row[] {
  // Per query: the same rule as for one statement, over the sums of its timed calls.
  const byQuery = new Map<bigint, NodeAggregate[]>();
  for (const a of drain.aggregates) {
    const list = byQuery.get(a.queryId);
    if (list) list.push(a);
    else byQuery.set(a.queryId, [a]);
  }
  const inner = new Map<NodeAggregate, number>();
  for (const list of byQuery.values()) {
    const times = innerTime(list.map((a) => ({
      id: a.planNodeId, parentId: a.parentId, initPlanRoot: a.initPlanRoot,
      total: a.timedCalls > 0n ? Number(a.totalNs) : null,
    })));
    for (const a of list) inner.set(a, times.get(a.planNodeId) ?? 0);
  }
  const start = ctx.clock.toWall(drain.intervalStartNs);
  const end = ctx.clock.toWall(drain.intervalEndNs);
  return drain.aggregates.map((a) => {
    const text = a.queryId ? ctx.texts.get(a.queryId) : null;
    const timed = a.timedCalls > 0n;
    const excl = Number(a.totalNs) - inner.get(a)!;
    const row: Row = {
      interval_start: start,
      interval_end: end,
      query_id: a.queryId ? BigInt.asIntN(64, a.queryId) : null,
      fingerprint: text?.fingerprint ?? null,
      query_text: text?.normalized ?? null,
      plan_node_id: a.planNodeId,
      parent_node_id: a.parentId,
      is_subplan: a.subplanRoot,
      node_type: explainNodeTypeForTag(a.tag, ctx.layout),
      calls: a.calls,
      timed_calls: a.timedCalls,
      rows: a.rows,
      loops: a.loops,
      rows_removed_by_filter: a.nfiltered1,
      rows_removed_by_join_filter: a.nfiltered2,
      startup_ns: timed ? a.startupNs : null,
      total_ns: timed ? a.totalNs : null,
      excl_ns: timed ? BigInt(Math.max(0, Math.round(excl))) : null,
      est_rows: a.estRows,
      est_total_cost: Number(a.estCostMilli) / 1000,
      workers: a.workers,
    };
    PN_BUF_FIELDS.forEach((f, i) => { row[f] = a.buf[i]!; });
    PN_WAL_FIELDS.forEach((f, i) => { row[f] = a.wal[i]!; });
    return row;
  });
}
