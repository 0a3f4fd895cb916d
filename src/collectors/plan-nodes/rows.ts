/** Decoded plan nodes → rows of plan_nodes, one statement at a time (exclusive time needs the children). */
import type { Row } from '../../dataset/schema.js';
import type { QueryTextCache } from '../../query/text-cache.js';
import type { MonotonicToWall } from '../../util/clock.js';
import { PN_BUF_FIELDS, PN_WAL_FIELDS } from './abi.js';
import { innerTime } from './exclusive.js';
import { execId } from '../statements/rows.js';
import type { PlanNode } from './source.js';

const ns = (ms: number | null) => (ms === null ? null : BigInt(Math.round(ms * 1e6)));
const count = (x: number) => BigInt(Math.round(x));

export interface PlanRowContext { clock: MonotonicToWall; texts: QueryTextCache }

export interface PlanRows {
  /** plan_nodes */
  nodes: Row[];
  /** plan_node_workers: each parallel worker's share of a node */
  workers: Row[];
}

/**
 * Groups nodes by statement (pid, ExecutorEnd time) in arrival order and
 * numbers the statements per pid. `nextSeq` carries the numbering across drains.
 */
export function planNodeRows(nodes: readonly PlanNode[], ctx: PlanRowContext, nextSeq: Map<number, number>): PlanRows {
  const statements = new Map<string, PlanNode[]>();
  for (const n of nodes) {
    const key = `${n.pid}:${n.statementNs}`;
    const list = statements.get(key);
    if (list) list.push(n);
    else statements.set(key, [n]);
  }
  const out: PlanRows = { nodes: [], workers: [] };
  for (const list of statements.values()) {
    const pid = list[0]!.pid;
    const seq = nextSeq.get(pid) ?? 0;
    nextSeq.set(pid, seq + 1);
    const statementId = (BigInt(pid) << 32n) | BigInt(seq >>> 0);
    const own = list.filter((n) => n.worker === null);
    const childTotal = innerTime(own.map((n) => ({ id: n.planNodeId, parentId: n.parentId, initPlanRoot: n.initPlanRoot, total: n.totalMs })));
    for (const n of own) out.nodes.push(row(n, statementId, childTotal, ctx));
    // As EXPLAIN: a worker that never ran the node (not launched, or no loop) is not shown.
    for (const n of list) if (n.worker !== null && n.loops > 0) out.workers.push(workerRow(n, statementId, ctx));
  }
  return out;
}

function counts(n: PlanNode): Row {
  return {
    rows: count(n.rows),
    loops: count(n.loops),
    rows_removed_by_filter: count(n.nfiltered1),
    rows_removed_by_join_filter: count(n.nfiltered2),
    timed: n.totalMs !== null,
    startup_ns: ns(n.startupMs),
    total_ns: ns(n.totalMs),
  };
}

function usage(n: PlanNode): Row {
  return {
    ...Object.fromEntries(PN_BUF_FIELDS.map((f, i) => [f, n.buf[i]!])),
    ...Object.fromEntries(PN_WAL_FIELDS.map((f, i) => [f, n.wal[i]!])),
  };
}

function workerRow(n: PlanNode, statementId: bigint, ctx: PlanRowContext): Row {
  return {
    statement_id: statementId,
    exec_id: n.execSeq === null ? null : execId(n.pid, n.execSeq),
    end_ns: ctx.clock.toWall(n.statementNs),
    query_id: n.queryId ? BigInt.asIntN(64, n.queryId) : null,
    pid: n.pid,
    plan_node_id: n.planNodeId,
    node_type: n.nodeType,
    worker: n.worker,
    ...counts(n),
    ...usage(n),
    sample_weight: n.sampleWeight,
  };
}

function row(n: PlanNode, statementId: bigint, childTotal: Map<number, number>, ctx: PlanRowContext): Row {
  const text = n.queryId ? ctx.texts.get(n.queryId) : null;
  const timed = n.totalMs !== null;
  return {
    statement_id: statementId,
    exec_id: n.execSeq === null ? null : execId(n.pid, n.execSeq),
    end_ns: ctx.clock.toWall(n.statementNs),
    query_id: n.queryId ? BigInt.asIntN(64, n.queryId) : null,
    fingerprint: text?.fingerprint ?? null,
    query_text: text?.normalized ?? null,
    pid: n.pid,
    plan_node_id: n.planNodeId,
    parent_node_id: n.parentId,
    depth: n.depth,
    is_subplan: n.subplanRoot,
    node_type: n.nodeType,
    est_startup_cost: n.estStartupCost,
    est_total_cost: n.estTotalCost,
    est_rows: n.estRows,
    est_width: n.estWidth,
    ...counts(n),
    excl_ns: timed ? ns(Math.max(0, n.totalMs! - (childTotal.get(n.planNodeId) ?? 0))) : null,
    ...usage(n),
    workers: n.workers,
    sample_weight: n.sampleWeight,
  };
}
