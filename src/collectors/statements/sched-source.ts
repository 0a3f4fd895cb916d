/**
 * The statement collector's default source (bpf/stmt_sched.bpf.c): no trap
 * per statement. Statements are counted where the kernel already is (a
 * backend's switch-out into its client wait, or its read of the next
 * message), summed per (query_id, database, user) in one of two kernel hash
 * maps, and a sampled few are handed over one by one through a ring buffer.
 *
 * Each drain flips which aggregation map the programs write, waits for the
 * programs still running on the old one (they run with preemption off, for
 * microseconds), then takes the old map whole with batch lookup-and-delete:
 * no update can be lost between the read and the delete.
 */
import { attachSpec, type AttachState } from '../../bpf/attacher.js';
import { enabledProbes, loadCollectorSpec, objectPath } from '../../bpf/collector-spec.js';
import { fn } from '../../bpf/libbpf.js';
import { NotSupportedError } from '../../util/errors.js';
import { closeAll } from '../../bpf/link.js';
import type { BpfMap } from '../../bpf/map.js';
import { BpfObject } from '../../bpf/object.js';
import { RingBuffer } from '../../bpf/ringbuf.js';
import { compileDecoder } from '../../bpf/struct-layout.js';
import { chooseVariants } from '../../bpf/variants.js';
import { globalAddress } from '../../elf/address.js';
import { loadLayout } from '../../pg/layouts.js';
import { onOwnBackend, ownBackends } from '../../pg/own-backends.js';
import type { Target } from '../../pg/target.js';
import { stmtTextEventLayout } from './abi.js';
import {
  SCHED_STATS, stmtAggKeyLayout, stmtAggLayout, stmtCtlLayout, stmtSampleLayout, type SchedStatName,
} from './sched-abi.js';
import { aggEntries, sumCopies } from './sched-agg.js';
import { decodeText, type StmtTextEvent } from './source.js';
import { usageSpan } from './usage-span.js';

const decodeSample = compileDecoder(stmtSampleLayout);

/** The programs copy PgBackendStatus whole into a 512-byte scratch (bpf/stmt_sched.bpf.c BE_SNAP). */
function backendStatusSize(size: number): number {
  if (size > 512) throw new NotSupportedError('PgBackendStatus copy', `PgBackendStatus is ${size} bytes in this PostgreSQL; the default statement source reads at most 512 (use --exact)`);
  return size;
}

export type StmtSample = Record<string, number | bigint | bigint[]>;
export interface StmtAggregate { queryId: bigint; dbid: number; userid: number; agg: Record<string, number | bigint | bigint[]> }

/** What one drain took out of the kernel. */
export interface SchedDrain {
  samples: StmtSample[];
  aggregates: StmtAggregate[];
  texts: StmtTextEvent[];
  /** CLOCK_MONOTONIC ns of the previous flip and of this one: the interval the aggregates cover. */
  intervalStartNs: bigint;
  intervalEndNs: bigint;
}

export interface SchedOptions {
  /** Executions at least this long are always kept as rows (0: none). */
  slowNs: number;
  /** Sampled rows per second for the whole collector; null: every execution. */
  rowsPerSecond: number | null;
  /**
   * Socket reads too (tp_btf/sock_recv_length, ~3 hits and ~0.4 µs per
   * statement): net_recv_bytes, and statements a client pipelines are told
   * apart instead of counted as coalesced.
   */
  netRecv: boolean;
}

/** Keep probabilities are carried as fractions of 2^32; this one means "keep all". */
const KEEP_ALL = 0xffffffff;

/** Row budget / statement rate as a fraction of 2^32 (KEEP_ALL at 1 or without a budget). */
function keepProbability(budget: number | null, statementsPerSecond: number): number {
  if (budget === null) return KEEP_ALL;
  const p = Math.min(1, budget / Math.max(statementsPerSecond, 1));
  return p >= 1 ? KEEP_ALL : Math.max(1, Math.floor(p * 2 ** 32));
}
/** How long programs may still write the map that was just switched away from. */
const FLIP_GRACE_MS = 2;
/**
 * The statement rate assumed until the first measurement (~200 ms): keeping
 * every execution until then handed a busy server's first ~6000 statements to
 * user space at once; this starts as if the server were busy, and opens up as
 * soon as it turns out not to be. Weights stay exact either way.
 */
const ASSUMED_START_RATE = 20_000;
/** How often the keep probability follows the statement rate. */
const RATE_MS = 200;

export class SchedStatementSource {
  private readonly obj: BpfObject;
  private readonly ctl: BpfMap;
  private readonly aggs: [BpfMap, BpfMap];
  private readonly statsMap: BpfMap;
  private readonly ownPids: BpfMap;
  private readonly samplesRing: RingBuffer;
  private readonly textsRing: RingBuffer;
  private readonly ncpus = fn.num_possible_cpus() as number;
  private readonly synced = new Set<number>();
  private pendingSamples: StmtSample[] = [];
  private pendingTexts: StmtTextEvent[] = [];
  private readonly unsubscribe: () => void;
  private gen = 0;
  private keepP32: number;
  private lastFlipNs = process.hrtime.bigint();
  private statementsPerSecond = 0;
  private rateTimer: NodeJS.Timeout | null = null;
  private lastRate = { at: process.hrtime.bigint(), statements: 0n };
  readonly attachStates: AttachState[];
  /** Ends are seen at the ReadyForQuery send (false: at switch-outs, which can miss one in a race). */
  readonly endAtSend: boolean;

  constructor(readonly target: Target, root: string, private readonly opts: SchedOptions) {
    this.keepP32 = keepProbability(opts.rowsPerSecond, ASSUMED_START_RATE);
    const spec = loadCollectorSpec(root, 'statements-sched');
    const layout = loadLayout(target.major);
    const addr = (symbol: string) => globalAddress(target.postmasterPid, target.binaryPath, symbol);
    const be = (field: string) => layout.offsetOf('PgBackendStatus', field);
    this.obj = BpfObject.open(objectPath(root, spec));
    try {
      this.obj.setRodata({
        target_postmaster: target.postmasterPid,
        mybeentry_addr: addr('MyBEEntry'),
        bufusage_addr: addr('pgBufferUsage'),
        walusage_addr: addr('pgWalUsage'),
        ...usageSpan(addr('pgBufferUsage'), addr('pgWalUsage')),
        myproc_addr: addr('MyProc'),
        off_be_type: be('st_backendType'),
        off_be_procpid: be('st_procpid'),
        off_be_act_start: be('st_activity_start_timestamp'),
        off_be_state_start: be('st_state_start_timestamp'),
        off_be_dbid: be('st_databaseid'),
        off_be_userid: be('st_userid'),
        off_be_state: be('st_state'),
        off_be_activity: be('st_activity_raw'),
        off_be_query_id: be('st_query_id'),
        off_proc_lxid: layout.hasField('PGPROC', 'lxid') ? layout.offsetOf('PGPROC', 'lxid') : 0,
        be_size: backendStatusSize(layout.sizeOf('PgBackendStatus')),
        be_type_client: layout.enumValue('BackendType', 'B_BACKEND'),
        state_idle: layout.enumValue('BackendState', 'STATE_IDLE'),
        state_idle_tx: layout.enumValue('BackendState', 'STATE_IDLEINTRANSACTION'),
        state_idle_tx_aborted: layout.enumValue('BackendState', 'STATE_IDLEINTRANSACTION_ABORTED'),
      });
      for (const map of ['stmt_agg0', 'stmt_agg1']) this.obj.setMaxEntries(map, aggEntries(this.ncpus));
      const groups = new Set(opts.netRecv ? ['net-recv'] : []);
      const probes = chooseVariants(this.obj, enabledProbes(spec, groups, (p, on) => this.obj.setAutoload(p, on)));
      // Statement ends at ReadyForQuery when the kernel has the send tracepoint, else at switch-outs.
      this.endAtSend = probes.some((p) => p.program === 'sock_send');
      this.obj.setRodata({ end_at_send: this.endAtSend ? 1 : 0 });
      this.obj.load();
      this.ctl = this.obj.map('stmt_ctl');
      this.aggs = [this.obj.map('stmt_agg0'), this.obj.map('stmt_agg1')];
      this.statsMap = this.obj.map('sched_stats');
      this.ownPids = this.obj.map('own_pids');
      this.samplesRing = new RingBuffer(this.obj.map('samples'), (d) => this.pendingSamples.push(decodeSample(d, 0) as StmtSample));
      this.textsRing = new RingBuffer(this.obj.map('texts'), (d) => this.pendingTexts.push(decodeText(d)));
      this.syncOwnPids();
      this.unsubscribe = onOwnBackend(() => this.syncOwnPids());
      this.writeCtl();
      this.attachStates = attachSpec(this.obj, { ...spec, probes }, target.binaryPath);
      if (opts.rowsPerSecond !== null) {
        // The keep probability follows the statement rate within ~¼ s, not only at drains:
        // a burst (or the first interval) cannot flood the ring buffer.
        this.rateTimer = setInterval(() => this.followRate(), RATE_MS);
        this.rateTimer.unref();
      }
    } catch (err) {
      this.close();
      throw err;
    }
  }

  /** Socket reads are traced (net_recv_bytes, pipelined statements told apart). */
  get netRecv(): boolean {
    return this.opts.netRecv;
  }

  get object(): BpfObject {
    return this.obj;
  }

  /** Capacity of each aggregation map: distinct (query_id, database, user) per interval. */
  get aggregateCapacity(): number {
    return this.aggs[0].maxEntries;
  }

  private writeCtl(): void {
    const v = Buffer.alloc(stmtCtlLayout.size);
    const f = stmtCtlLayout.byName;
    v.writeUInt32LE(this.gen, f.get('gen')!.offset);
    v.writeUInt32LE(this.keepP32, f.get('sample_p32')!.offset);
    v.writeBigUInt64LE(BigInt(this.opts.slowNs), f.get('slow_ns')!.offset);
    this.ctl.update(Buffer.alloc(4), v);
  }

  /** pgscout's own backends (catalog lookups, sampler) are left out in the kernel. */
  syncOwnPids(): void {
    for (const pid of ownBackends) {
      if (this.synced.has(pid)) continue;
      const key = Buffer.alloc(4);
      key.writeUInt32LE(pid);
      this.ownPids.update(key, Buffer.from([1]));
      this.synced.add(pid);
    }
  }

  /**
   * Sets the keep probability from the statement rate since the last call:
   * row budget / rate, at most 1. Each sample records the probability it was
   * kept with, so weights stay exact while the probability moves.
   */
  private followRate(): void {
    try {
      const budget = this.opts.rowsPerSecond;
      if (budget === null) return;
      const now = process.hrtime.bigint();
      const statements = this.statsMap.readPerCpuU64(SCHED_STATS.indexOf('statements'), this.ncpus);
      const seconds = Number(now - this.lastRate.at) / 1e9;
      const rate = Number(statements - this.lastRate.statements) / Math.max(seconds, 1e-3);
      this.lastRate = { at: now, statements };
      // Up at once, down gently: a burst is sampled at once, a lull does not open the gates.
      this.statementsPerSecond = rate > this.statementsPerSecond ? rate : 0.7 * this.statementsPerSecond + 0.3 * rate;
      const next = keepProbability(budget, this.statementsPerSecond);
      if (next !== this.keepP32) {
        this.keepP32 = next;
        this.writeCtl();
      }
    } catch {
      // Never throws from a timer: the next tick retries, the drain reports real failures.
    }
  }

  async drain(): Promise<SchedDrain> {
    this.syncOwnPids();
    this.textsRing.consume();
    const old = this.gen;
    this.gen ^= 1;
    const flipNs = process.hrtime.bigint();
    this.writeCtl();
    await new Promise((resolve) => setTimeout(resolve, FLIP_GRACE_MS));
    // Per-CPU map: each key carries one copy per possible CPU, summed here.
    const stride = stmtAggLayout.size * this.ncpus;
    const batch = this.aggs[old]!.drain(4096, stride);
    const aggregates: StmtAggregate[] = [];
    const k = stmtAggKeyLayout.byName;
    for (let i = 0; i < batch.count; i++) {
      const kb = i * stmtAggKeyLayout.size;
      const agg = sumCopies(batch.values, i * stride, this.ncpus);
      aggregates.push({
        queryId: batch.keys.readBigUInt64LE(kb + k.get('query_id')!.offset),
        dbid: batch.keys.readUInt32LE(kb + k.get('dbid')!.offset),
        userid: batch.keys.readUInt32LE(kb + k.get('userid')!.offset),
        agg,
      });
    }
    // Samples after the flip: every sample of the drained interval is in the ring by now.
    this.samplesRing.consume();
    this.textsRing.consume();
    this.followRate();
    const out: SchedDrain = {
      samples: this.pendingSamples, aggregates, texts: this.pendingTexts,
      intervalStartNs: this.lastFlipNs, intervalEndNs: flipNs,
    };
    this.pendingSamples = [];
    this.pendingTexts = [];
    this.lastFlipNs = flipNs;
    return out;
  }

  readStats(): Record<SchedStatName, bigint> {
    return this.statsMap.readPerCpuSlots(SCHED_STATS, this.ncpus);
  }

  detach(): Promise<void> {
    if (this.rateTimer) clearInterval(this.rateTimer);
    return closeAll(this.obj.links);
  }

  close(): void {
    if (this.rateTimer) clearInterval(this.rateTimer);
    this.unsubscribe?.();
    this.samplesRing?.close();
    this.textsRing?.close();
    this.obj.close();
  }
}
