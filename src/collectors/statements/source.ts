/**
 * The statement collector in the kernel, seen from user space: loads and
 * attaches collectors/statements.json against the target's binary, and
 * hands out finished records and first-seen query texts on drain().
 */
import { BpfObject } from '../../bpf/object.js';
import { attachSpec, type AttachState } from '../../bpf/attacher.js';
import { chooseVariants } from '../../bpf/variants.js';
import { enabledProbes, loadCollectorSpec, objectPath } from '../../bpf/collector-spec.js';
import { PerfCounters, type CounterStatus } from '../../bpf/perf.js';
import { RingBuffer } from '../../bpf/ringbuf.js';
import { closeAll } from '../../bpf/link.js';
import type { BpfMap } from '../../bpf/map.js';
import { fn } from '../../bpf/libbpf.js';
import { compileDecoder } from '../../bpf/struct-layout.js';
import { finishedMapEntries, STMT_STATS, stmtKeyLayout, stmtRecordLayout, stmtTextEventLayout, type StmtStatName } from './abi.js';
import { REC_STATE, threadStateLayout, threadsMapEntries } from '../threads-abi.js';
import { globalAddress } from '../../elf/address.js';
import { loadLayout } from '../../pg/layouts.js';
import type { Target } from '../../pg/target.js';
import { AggregateMaps, sizeAggregateMaps, type AggregateDrain, type RowBudget } from './agg-maps.js';
import { OwnPidsMap } from './own-pids-map.js';
import { usageSpan } from './usage-span.js';

type U64Field =
  | 'query_id' | 'start_ns' | 'end_ns' | 'parse_ns' | 'plan_ns' | 'execute_ns' | 'executor_ns'
  | 'on_cpu_ns' | 'off_cpu_ns' | 'runq_ns' | 'nvcsw' | 'nivcsw' | 'rows' | 'io_read_bytes'
  | 'io_write_bytes' | 'rchar' | 'wchar' | 'syscr' | 'syscw' | 'net_recv_bytes' | 'net_send_bytes'
  | 'minflt' | 'majflt';


/** A decoded struct stmt_record plus the sequence number from its key. */
export type StmtRecord = Record<U64Field, bigint> & {
  seq: number; counters: bigint[]; buf: bigint[]; wal: bigint[]; counter_mask: number; flags: number; pid: number;
  stmt_index: number; lxid: number; cpu_migrations: number; dbid: number; sample_p32: number;
};

export interface StmtTextEvent { queryId: bigint; pid: number; stmtIndex: number; text: string }

/** What one drain took out of the kernel: sampled, slow and failed executions; every execution summed. */
export interface ExactDrain extends AggregateDrain {
  records: StmtRecord[];
  texts: StmtTextEvent[];
}

export interface ExactOptions {
  /** parse/plan/transaction/executor probes too (--phases, operator level). */
  phases: boolean;
  /** Which executions become `queries` rows (null rows per second: all, as the operator level needs). */
  budget: RowBudget;
  /** --cpu-clock: read the software cpu-clock counter (cpu_clock_ns) as well. */
  cpuClock?: boolean;
}

const decodeStmt = compileDecoder(stmtRecordLayout);

export function decodeRecord(buf: Buffer, base: number, seq: number): StmtRecord {
  const r = decodeStmt(buf, base) as unknown as StmtRecord;
  r.seq = seq;
  return r;
}

export function decodeText(buf: Buffer): StmtTextEvent {
  const f = stmtTextEventLayout.byName;
  const len = buf.readUInt32LE(f.get('len')!.offset);
  const at = f.get('text')!.offset;
  return {
    queryId: buf.readBigUInt64LE(f.get('query_id')!.offset),
    pid: buf.readUInt32LE(f.get('pid')!.offset),
    stmtIndex: buf.readUInt32LE(f.get('stmt_index')!.offset),
    text: buf.subarray(at, at + Math.min(len, buf.length - at)).toString('utf8'),
  };
}

export class StatementSource {
  private readonly obj: BpfObject;

  /** The loaded object (per-program stats for benchmarks). */
  get object(): BpfObject {
    return this.obj;
  }
  private readonly counters: PerfCounters;
  private readonly finished: BpfMap;
  private readonly statsMap: BpfMap;
  private readonly ring: RingBuffer;
  private readonly ncpus = fn.num_possible_cpus() as number;
  private pendingTexts: StmtTextEvent[] = [];
  private readonly aggs: AggregateMaps;
  private readonly ownPids: OwnPidsMap;
  readonly attachStates: AttachState[];

  constructor(readonly target: Target, root: string,
    opts: ExactOptions = { phases: true, budget: { rowsPerSecond: null, slowNs: 0 } }) {
    const spec = loadCollectorSpec(root, 'statements');
    const layout = loadLayout(target.major);
    this.counters = new PerfCounters(opts.cpuClock ?? false);
    this.obj = BpfObject.open(objectPath(root, spec));
    try {
      const bufAddr = globalAddress(target.postmasterPid, target.binaryPath, 'pgBufferUsage');
      const walAddr = globalAddress(target.postmasterPid, target.binaryPath, 'pgWalUsage');
      this.obj.setRodata({
        dqs_addr: globalAddress(target.postmasterPid, target.binaryPath, 'debug_query_string'),
        dbid_addr: globalAddress(target.postmasterPid, target.binaryPath, 'MyDatabaseId'),
        target_postmaster: target.postmasterPid,
        mybeentry_addr: globalAddress(target.postmasterPid, target.binaryPath, 'MyBEEntry'),
        off_st_query_id: layout.offsetOf('PgBackendStatus', 'st_query_id'),
        off_qd_estate: layout.offsetOf('QueryDesc', 'estate'),
        off_estate_processed: layout.offsetOf('EState', 'es_processed'),
        off_qd_plannedstmt: layout.offsetOf('QueryDesc', 'plannedstmt'),
        off_pstmt_query_id: layout.offsetOf('PlannedStmt', 'queryId'),
        bufusage_addr: bufAddr,
        lean: opts.phases ? 0 : 1,
        off_st_state: layout.offsetOf('PgBackendStatus', 'st_state'),
        off_st_activity_raw: layout.offsetOf('PgBackendStatus', 'st_activity_raw'),
        state_running: layout.enumValue('BackendState', 'STATE_RUNNING'),
        walusage_addr: walAddr,
        ...usageSpan(bufAddr, walAddr),
        ctr_mask: this.counters.open(),
      });
      const wanted = enabledProbes(spec, new Set(opts.phases ? ['phases'] : []), (p, on) => this.obj.setAutoload(p, on));
      const probes = chooseVariants(this.obj, wanted);
      sizeAggregateMaps(this.obj, this.ncpus);
      // Sized down from what the object declares (the maps are preallocated).
      const declared = (map: string) => this.obj.map(map).maxEntries;
      this.obj.setMaxEntries('threads', threadsMapEntries(target.maxBackends, declared('threads')));
      this.obj.setMaxEntries('finished', finishedMapEntries(opts.budget.rowsPerSecond, declared('finished')));
      this.obj.load();
      this.counters.install((name) => this.obj.map(name));
      this.finished = this.obj.map('finished');
      this.statsMap = this.obj.map('stmt_stats');
      this.ring = new RingBuffer(this.obj.map('texts'), (data) => this.pendingTexts.push(decodeText(data)));
      this.ownPids = new OwnPidsMap(this.obj.map('own_pids'));
      this.aggs = new AggregateMaps(this.obj, this.ncpus, opts.budget);
      this.attachStates = attachSpec(this.obj, { ...spec, probes }, target.binaryPath);
    } catch (err) {
      this.close();
      throw err;
    }
  }

  /** Maps the operator collector shares (threads, perf counters). */
  mapFd(name: string): number {
    return this.obj.map(name).fd;
  }

  /** Bit i: COUNTERS[i] is open and in the shared counter maps (the operator programs read only those). */
  get counterMask(): number {
    return this.counters.mask;
  }

  get counterStatus(): CounterStatus[] {
    return this.counters.status;
  }

  get finishedCapacity(): number {
    return this.finished.maxEntries;
  }

  /** Capacity of each aggregate map: distinct (query_id, database) per interval. */
  get aggregateCapacity(): number {
    return this.aggs.capacity;
  }

  /** The first-seen texts that reached the ring so far (the next drain() returns none of them again). */
  takeTexts(): StmtTextEvent[] {
    this.ring.consume();
    const texts = this.pendingTexts;
    this.pendingTexts = [];
    return texts;
  }

  /**
   * Texts first: a record's text is always sent before the record finishes.
   * `final`: after detach, both aggregate maps (nothing writes them any more).
   */
  async drain(final = false): Promise<ExactDrain> {
    this.ownPids.sync();
    this.ring.consume();
    const aggregates = final ? this.aggs.drainAll() : await this.aggs.flipAndDrain();
    const texts = this.takeTexts();
    const batch = this.finished.drain();
    const records: StmtRecord[] = [];
    for (let i = 0; i < batch.count; i++) {
      const seq = batch.keys.readUInt32LE(i * stmtKeyLayout.size + stmtKeyLayout.byName.get('seq')!.offset);
      records.push(decodeRecord(batch.values, i * stmtRecordLayout.size, seq));
    }
    return { ...aggregates, records, texts };
  }

  /** Statements that ended but were not yet handed over (read at shutdown, after detach). */
  takeClosing(): StmtRecord[] {
    const threads = this.obj.map('threads');
    const batch = threads.drain();
    const state = threadStateLayout.byName.get('state')!.offset;
    const hasExec = threadStateLayout.byName.get('has_exec')!.offset;
    const seq = threadStateLayout.byName.get('seq')!.offset;
    const out: StmtRecord[] = [];
    for (let i = 0; i < batch.count; i++) {
      const base = i * threads.valueSize;
      if (batch.values.readUInt32LE(base + state) === REC_STATE.CLOSING && batch.values.readUInt32LE(base + hasExec)) {
        out.push(decodeRecord(batch.values, base, batch.values.readUInt32LE(base + seq)));
      }
    }
    return out;
  }

  readStats(): Record<StmtStatName, bigint> {
    return this.statsMap.readPerCpuSlots(STMT_STATS, this.ncpus);
  }

  /** Stops new events (detach, off the event loop) without freeing the maps. */
  detach(): Promise<void> {
    return closeAll(this.obj.links);
  }

  close(): void {
    this.ownPids?.close();
    this.ring?.close();
    this.obj.close();
    this.counters.close();
  }
}
