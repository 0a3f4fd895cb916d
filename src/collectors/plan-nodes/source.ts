/**
 * The instrumented operator source seen from user space: loads
 * bpf/plan_nodes.bpf.o with the target's struct offsets, attaches it at
 * standard_ExecutorEnd, and decodes each node's Plan header and raw
 * Instrumentation with the target's layout.
 */
import { attachSpec, type AttachState } from '../../bpf/attacher.js';
import { loadCollectorSpec, objectPath } from '../../bpf/collector-spec.js';
import { fn } from '../../bpf/libbpf.js';
import { closeAll } from '../../bpf/link.js';
import type { BpfMap } from '../../bpf/map.js';
import { BpfObject } from '../../bpf/object.js';
import { RingBuffer } from '../../bpf/ringbuf.js';
import { globalAddress } from '../../elf/address.js';
import { loadLayout, type Layout } from '../../pg/layouts.js';
import type { Target } from '../../pg/target.js';
import { NotSupportedError } from '../../util/errors.js';
import { explainNodeTypeForTag } from '../operators/node-types.js';
import { AggregateMaps, sampleWeight, sizeAggregateMaps, type AggregateDrain, type RowBudget } from '../statements/agg-maps.js';
import { PN_BUF_FIELDS, PN_FLAGS, PN_HDR_MAX, PN_INSTR_MAX, PN_PLAN_MAX, PN_QD_MAX, PN_STATS, PN_WAL_FIELDS, pnEventLayout, type PnStatName } from './abi.js';
import { OwnPidsMap } from '../statements/own-pids-map.js';
import { PN_AGG_MAPS, type NodeAggregate } from './aggregates.js';

/** One node of one instrumented statement, as EXPLAIN ANALYZE would count it. */
export interface PlanNode {
  pid: number;
  queryId: bigint;
  /** Same value for every node of one statement (CLOCK_MONOTONIC ns at its ExecutorEnd). */
  statementNs: bigint;
  planNodeId: number;
  parentId: number | null;
  depth: number;
  nodeType: string;
  subplanRoot: boolean;
  /** Root of an InitPlan (CTEs too): its time is inside the node that needed it first. */
  initPlanRoot: boolean;
  instrumented: boolean;
  estStartupCost: number;
  estTotalCost: number;
  estRows: number;
  estWidth: number;
  /** rows over all loops: ntuples + tuplecount of a loop still running (what InstrEndLoop would add). */
  rows: number;
  /** loops: nloops + 1 while a loop still runs. */
  loops: number;
  /** Inclusive time in ms (null when the statement was not timed). */
  startupMs: number | null;
  totalMs: number | null;
  nfiltered1: number;
  nfiltered2: number;
  /** BufferUsage in PN_BUF_FIELDS order, WalUsage in PN_WAL_FIELDS order (children included). */
  buf: bigint[];
  wal: bigint[];
  workers: number;
  /** 1 / the probability the statement was kept with. */
  sampleWeight: number;
  /** The default statement source's number of this statement in its backend (queries.exec_id); null when not known. */
  execSeq: number | null;
  /** Set on a parallel worker's share of the node (its worker_instrument entry): that worker's number. */
  worker: number | null;
}

const f64 = (buf: Buffer, off: number) => buf.readDoubleLE(off);

/** An instr_time in seconds: struct timespec up to PostgreSQL 15, int64 nanoseconds from 16 on. */
function instrTimeSeconds(buf: Buffer, off: number, size: number): number {
  if (size === 16) return Number(buf.readBigInt64LE(off)) + Number(buf.readBigInt64LE(off + 8)) / 1e9;
  return Number(buf.readBigInt64LE(off)) / 1e9;
}
const i64 = (buf: Buffer, off: number) => buf.readBigInt64LE(off);

export class PlanNodeSource {
  private readonly obj: BpfObject;
  private readonly ring: RingBuffer;
  private readonly stats: BpfMap;
  private readonly ncpus = fn.num_possible_cpus() as number;
  private pending: PlanNode[] = [];
  private readonly aggs: AggregateMaps<NodeAggregate>;
  private readonly ownPids: OwnPidsMap;
  readonly attachStates: AttachState[];
  readonly layout: Layout;

  /** `budget`: instrumented statements per second whose nodes become rows, and the always-kept slow threshold. */
  /** `schedThreadsFd`: the default statement source's task storage (exec_id); without it exec_id stays null. */
  constructor(readonly target: Target, root: string, budget: RowBudget, schedThreadsFd: number | null = null) {
    const layout = loadLayout(target.major);
    this.layout = layout;
    const spec = loadCollectorSpec(root, 'plan-nodes');
    const off = (s: string, fld: string) => layout.offsetOf(s, fld);
    const instrSize = layout.sizeOf('Instrumentation');
    if (instrSize > PN_INSTR_MAX) throw new NotSupportedError('Instrumentation copy', `Instrumentation is ${instrSize} bytes here; the program copies at most ${PN_INSTR_MAX}`);
    const planHeader = off('Plan', 'plan_node_id') + 4;
    if (planHeader > PN_PLAN_MAX) throw new NotSupportedError('Plan header copy', `Plan header is ${planHeader} bytes here; the program copies at most ${PN_PLAN_MAX}`);
    this.obj = BpfObject.open(objectPath(root, spec));
    try {
      this.obj.setRodata({
        target_postmaster: target.postmasterPid,
        pwn_addr: globalAddress(target.postmasterPid, target.binaryPath, 'ParallelWorkerNumber'),
        off_qd_planstate: off('QueryDesc', 'planstate'), off_qd_plannedstmt: off('QueryDesc', 'plannedstmt'),
        off_pstmt_query_id: off('PlannedStmt', 'queryId'),
        off_ps_plan: off('PlanState', 'plan'), off_ps_instrument: off('PlanState', 'instrument'),
        off_ps_worker_instrument: off('PlanState', 'worker_instrument'),
        off_ps_lefttree: off('PlanState', 'lefttree'), off_ps_righttree: off('PlanState', 'righttree'),
        off_ps_initplan: off('PlanState', 'initPlan'), off_ps_subplan: off('PlanState', 'subPlan'),
        off_list_length: off('List', 'length'), off_list_elements: off('List', 'elements'),
        off_sps_planstate: off('SubPlanState', 'planstate'),
        off_plan_node_id: off('Plan', 'plan_node_id'),
        instr_size: instrSize, plan_size: planHeader,
        hdr_size: headerSize(layout, 'PlanState', ['plan', 'instrument', 'worker_instrument', 'lefttree', 'righttree', 'initPlan', 'subPlan'], PN_HDR_MAX),
        qd_size: headerSize(layout, 'QueryDesc', ['planstate', 'plannedstmt', 'totaltime'], PN_QD_MAX),
        tag_append: layout.nodeTag('AppendState'), off_append_plans: off('AppendState', 'appendplans'), off_append_n: off('AppendState', 'as_nplans'),
        tag_merge_append: layout.nodeTag('MergeAppendState'), off_merge_plans: off('MergeAppendState', 'mergeplans'),
        off_merge_n: off('MergeAppendState', 'ms_nplans'),
        tag_bitmap_and: layout.nodeTag('BitmapAndState'), tag_bitmap_or: layout.nodeTag('BitmapOrState'),
        off_bitmap_plans: off('BitmapAndState', 'bitmapplans'), off_bitmap_n: off('BitmapAndState', 'nplans'),
        tag_subquery_scan: layout.nodeTag('SubqueryScanState'), off_subquery_subplan: off('SubqueryScanState', 'subplan'),
        ...instrumentationOffsets(layout),
        off_plan_rows: off('Plan', 'plan_rows'), off_plan_total_cost: off('Plan', 'total_cost'),
        off_qd_totaltime: off('QueryDesc', 'totaltime'),
        off_wi_instrument: off('WorkerInstrumentation', 'instrument'),
      });
      if (off('BitmapOrState', 'bitmapplans') !== off('BitmapAndState', 'bitmapplans') || off('BitmapOrState', 'nplans') !== off('BitmapAndState', 'nplans')) {
        throw new NotSupportedError('BitmapOr layout', 'BitmapAndState and BitmapOrState differ in this PostgreSQL');
      }
      sizeAggregateMaps(this.obj, this.ncpus, PN_AGG_MAPS);
      if (schedThreadsFd !== null) this.obj.reuseMap('sched_threads', schedThreadsFd);
      this.obj.load();
      this.stats = this.obj.map('pn_stats');
      this.ownPids = new OwnPidsMap(this.obj.map('own_pids'));
      this.aggs = new AggregateMaps(this.obj, this.ncpus, budget, PN_AGG_MAPS);
      const decode = nodeDecoder(layout);
      this.ring = new RingBuffer(this.obj.map('plan_nodes'), (d) => this.pending.push(decode(d)));
      this.attachStates = attachSpec(this.obj, spec, target.binaryPath);
    } catch (err) {
      this.close();
      throw err;
    }
  }

  get object(): BpfObject {
    return this.obj;
  }

  /** The nodes read since the last call. */
  drain(): PlanNode[] {
    this.ring.consume();
    const out = this.pending;
    this.pending = [];
    return out;
  }

  /** Flips the aggregate maps and takes the interval's per-node sums (`final`: both maps, after detach). */
  async drainAggregates(final = false): Promise<AggregateDrain<NodeAggregate>> {
    return final ? this.aggs.drainAll() : this.aggs.flipAndDrain();
  }

  readStats(): Record<PnStatName, bigint> {
    return this.stats.readPerCpuSlots(PN_STATS, this.ncpus);
  }

  detach(): Promise<void> {
    return closeAll(this.obj.links);
  }

  close(): void {
    this.ownPids?.close();
    this.ring?.close();
    this.obj.close();
  }
}

const u32s = (values: number[]) => Buffer.from(new Uint32Array(values).buffer);

/** Bytes from the start of `struct` that hold every pointer field named (read in one go by the program). */
function headerSize(layout: Layout, struct: string, fields: string[], max: number): number {
  const size = Math.max(...fields.map((f) => layout.offsetOf(struct, f) + 8));
  if (size > max) throw new NotSupportedError(`${struct} header copy`, `${struct}'s fields reach ${size} bytes here; the program copies at most ${max}`);
  return size;
}

/** Where the program finds the Instrumentation fields it sums (bpf/plan_nodes.bpf.c rodata). */
function instrumentationOffsets(layout: Layout): Record<string, number | Buffer> {
  const ins = (fld: string) => layout.offsetOf('Instrumentation', fld);
  return {
    off_in_running: ins('running'), off_in_need_timer: ins('need_timer'), off_in_firsttuple: ins('firsttuple'),
    off_in_tuplecount: ins('tuplecount'), off_in_counter: ins('counter'), off_in_startup: ins('startup'),
    off_in_total: ins('total'), off_in_ntuples: ins('ntuples'), off_in_nloops: ins('nloops'),
    off_in_nfiltered1: ins('nfiltered1'), off_in_nfiltered2: ins('nfiltered2'),
    counter_is_timespec: layout.field('Instrumentation', 'counter').size === 16 ? 1 : 0,
    off_in_buf: u32s(PN_BUF_FIELDS.map((f) => ins('bufusage') + layout.offsetOf('BufferUsage', f))),
    off_in_wal: u32s(PN_WAL_FIELDS.map((f) => ins('walusage') + layout.offsetOf('WalUsage', f))),
  };
}

/**
 * Ring record → PlanNode, reading Plan and Instrumentation at the target's
 * offsets (resolved once here, not for every node).
 */
export function nodeDecoder(layout: Layout): (d: Buffer) => PlanNode {
  const at = (name: string) => pnEventLayout.byName.get(name)!.offset;
  const ev = {
    pid: at('pid'), queryId: at('query_id'), stmtNs: at('stmt_ns'), nodeId: at('plan_node_id'), parent: at('parent_id'),
    depth: at('depth'), tag: at('tag'), flags: at('flags'), workers: at('workers'), plan: at('plan'), instr: at('instr'),
    p32: at('sample_p32'), seq: at('exec_seq'), worker: at('worker'),
  };
  const p = (fld: string) => layout.offsetOf('Plan', fld);
  const plan = { startup: p('startup_cost'), total: p('total_cost'), rows: p('plan_rows'), width: p('plan_width') };
  const ins = (fld: string) => layout.offsetOf('Instrumentation', fld);
  const bufOffsets = PN_BUF_FIELDS.map((f) => ins('bufusage') + layout.offsetOf('BufferUsage', f));
  const walOffsets = PN_WAL_FIELDS.map((f) => ins('walusage') + layout.offsetOf('WalUsage', f));
  const instr = {
    running: ins('running'), needTimer: ins('need_timer'), startup: ins('startup'), firsttuple: ins('firsttuple'),
    total: ins('total'), counter: ins('counter'), counterSize: layout.field('Instrumentation', 'counter').size,
    ntuples: ins('ntuples'), tuplecount: ins('tuplecount'), nloops: ins('nloops'), nfiltered1: ins('nfiltered1'),
    nfiltered2: ins('nfiltered2'),
  };
  return (d) => {
    const pl = d.subarray(ev.plan, ev.plan + PN_PLAN_MAX);
    const is = d.subarray(ev.instr, ev.instr + PN_INSTR_MAX);
    const flags = d.readUInt32LE(ev.flags);
    const instrumented = (flags & PN_FLAGS.INSTRUMENTED) !== 0;
    const running = instrumented && is.readUInt8(instr.running) !== 0;
    const timed = instrumented && is.readUInt8(instr.needTimer) !== 0;
    const parent = d.readInt32LE(ev.parent);
    return {
      pid: d.readUInt32LE(ev.pid),
      queryId: d.readBigUInt64LE(ev.queryId),
      statementNs: d.readBigUInt64LE(ev.stmtNs),
      planNodeId: d.readInt32LE(ev.nodeId),
      parentId: parent < 0 ? null : parent,
      depth: d.readUInt32LE(ev.depth),
      nodeType: explainNodeTypeForTag(d.readUInt32LE(ev.tag), layout),
      subplanRoot: (flags & PN_FLAGS.SUBPLAN_ROOT) !== 0,
      initPlanRoot: (flags & PN_FLAGS.INITPLAN) !== 0,
      instrumented,
      estStartupCost: f64(pl, plan.startup),
      estTotalCost: f64(pl, plan.total),
      estRows: f64(pl, plan.rows),
      estWidth: pl.readInt32LE(plan.width),
      rows: instrumented ? f64(is, instr.ntuples) + (running ? f64(is, instr.tuplecount) : 0) : 0,
      loops: instrumented ? f64(is, instr.nloops) + (running ? 1 : 0) : 0,
      // A loop still running at executor end has its time in counter/firsttuple, not yet in total/startup
      // (EXPLAIN folds them in with InstrEndLoop when it prints; so do we).
      startupMs: timed ? (f64(is, instr.startup) + (running ? f64(is, instr.firsttuple) : 0)) * 1000 : null,
      totalMs: timed ? (f64(is, instr.total) + (running ? instrTimeSeconds(is, instr.counter, instr.counterSize) : 0)) * 1000 : null,
      nfiltered1: instrumented ? f64(is, instr.nfiltered1) : 0,
      nfiltered2: instrumented ? f64(is, instr.nfiltered2) : 0,
      buf: bufOffsets.map((o) => (instrumented ? i64(is, o) : 0n)),
      wal: walOffsets.map((o) => (instrumented ? i64(is, o) : 0n)),
      workers: d.readUInt32LE(ev.workers),
      sampleWeight: sampleWeight(d.readUInt32LE(ev.p32)),
      execSeq: (flags & PN_FLAGS.EXEC_SEQ) !== 0 ? d.readUInt32LE(ev.seq) : null,
      worker: (flags & PN_FLAGS.WORKER) !== 0 ? d.readUInt32LE(ev.worker) : null,
    };
  };
}
