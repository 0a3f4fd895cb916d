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
import { RecordBatch } from '../../bpf/record-batch.js';
import { RingBuffer } from '../../bpf/ringbuf.js';
import { chooseVariants } from '../../bpf/variants.js';
import { globalAddress } from '../../elf/address.js';
import { loadLayout } from '../../pg/layouts.js';
import type { Target } from '../../pg/target.js';
import { SCHED_STATS, stmtSampleLayout, type SchedStatName } from './sched-abi.js';
import { ringBytes } from '../../bpf/ring-size.js';
import { AggregateMaps, sizeAggregateMaps, type AggregateDrain, type RowBudget } from './agg-maps.js';
import { OwnPidsMap } from './own-pids-map.js';
import { decodeText, type StmtTextEvent } from './source.js';
import { usageSpan } from './usage-span.js';

/** The programs copy PgBackendStatus whole into a 512-byte scratch (bpf/stmt_sched.bpf.c BE_SNAP). */
function backendStatusSize(size: number): number {
  if (size > 512) throw new NotSupportedError('PgBackendStatus copy', `PgBackendStatus is ${size} bytes in this PostgreSQL; the default statement source reads at most 512 (use --exact)`);
  return size;
}

export type { StmtAggregate } from './agg-maps.js';

/** What one drain took out of the kernel. */
export interface SchedDrain extends AggregateDrain {
  /** The sampled executions (`stmt_sample` records), valid until the next drain. */
  samples: RecordBatch;
  texts: StmtTextEvent[];
}

export interface SchedOptions extends RowBudget {
  /**
   * Socket reads too (tp_btf/sock_recv_length, ~3 hits and ~0.4 µs per
   * statement): net_recv_bytes, and statements a client pipelines are told
   * apart instead of counted as coalesced.
   */
  netRecv: boolean;
  /**
   * --exact: a call is the end of a top-level PortalRun (USDT query__execute__done, one trap a
   * statement), so statements sharing a round trip are told apart. Needs the send tracepoint.
   */
  exact: boolean;
}

export class SchedStatementSource {
  private readonly obj: BpfObject;
  private readonly statsMap: BpfMap;
  private readonly ownPids: OwnPidsMap;
  private readonly aggs: AggregateMaps;
  private readonly samplesRing: RingBuffer;
  private readonly textsRing: RingBuffer;
  private readonly ncpus = fn.num_possible_cpus() as number;
  /** Records arrive in one batch while the last drain's batch is turned into rows. */
  private pendingSamples = new RecordBatch(stmtSampleLayout.size);
  private drainedSamples = new RecordBatch(stmtSampleLayout.size);
  private pendingTexts: StmtTextEvent[] = [];
  readonly attachStates: AttachState[];
  /** Statement ends are seen at ReadyForQuery (sock_send_length): failures and SQL PREPAREs are told apart. */
  readonly endAtSend: boolean;

  constructor(readonly target: Target, root: string, private readonly opts: SchedOptions) {
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
        off_be_changecount: be('st_changecount'),
        off_be_act_start: be('st_activity_start_timestamp'),
        off_be_state_start: be('st_state_start_timestamp'),
        off_be_dbid: be('st_databaseid'),
        off_be_userid: be('st_userid'),
        off_be_state: be('st_state'),
        off_be_activity: be('st_activity_raw'),
        off_be_ssl: be('st_ssl'),
        off_be_query_id: be('st_query_id'),
        off_proc_lxid: layout.hasField('PGPROC', 'lxid') ? layout.offsetOf('PGPROC', 'lxid') : 0,
        be_size: backendStatusSize(layout.sizeOf('PgBackendStatus')),
        be_type_client: layout.enumValue('BackendType', 'B_BACKEND'),
        state_idle: layout.enumValue('BackendState', 'STATE_IDLE'),
        state_idle_tx: layout.enumValue('BackendState', 'STATE_IDLEINTRANSACTION'),
        state_idle_tx_aborted: layout.enumValue('BackendState', 'STATE_IDLEINTRANSACTION_ABORTED'),
        ...(opts.exact ? { count_at_execute: 1, active_portal_addr: addr('ActivePortal'), dqs_addr: addr('debug_query_string') } : {}),
      });
      sizeAggregateMaps(this.obj, this.ncpus);
      // The row budget (plus slow ones) over a few intervals; 16 MiB for --statement-rows all.
      this.obj.setMaxEntries('samples', ringBytes(opts.rowsPerSecond === null ? null : opts.rowsPerSecond * 2, stmtSampleLayout.size, 16 << 20));
      const groups = new Set([...(opts.netRecv ? ['net-recv'] : []), ...(opts.exact ? ['exact'] : [])]);
      const probes = chooseVariants(this.obj, enabledProbes(spec, groups, (p, on) => this.obj.setAutoload(p, on)));
      // Statement ends at ReadyForQuery when the kernel has the send tracepoint, else at switch-outs.
      // (false: at switch-outs, which can miss a statement when the next request comes before a sleep)
      const endAtSend = probes.some((p) => p.program === 'sock_send');
      if (opts.exact && !endAtSend) {
        throw new NotSupportedError('tp_btf/sock_send_length', '--exact on the default source closes round trips at ReadyForQuery; this kernel has no sock_send_length tracepoint');
      }
      this.obj.setRodata({ end_at_send: endAtSend ? 1 : 0 });
      this.endAtSend = endAtSend;
      this.obj.load();
      this.statsMap = this.obj.map('sched_stats');
      this.samplesRing = new RingBuffer(this.obj.map('samples'), (d) => this.pendingSamples.append(d));
      this.textsRing = new RingBuffer(this.obj.map('texts'), (d) => this.pendingTexts.push(decodeText(d)));
      this.ownPids = new OwnPidsMap(this.obj.map('own_pids'));
      this.aggs = new AggregateMaps(this.obj, this.ncpus, opts);
      this.attachStates = attachSpec(this.obj, { ...spec, probes }, target.binaryPath);
    } catch (err) {
      this.close();
      throw err;
    }
  }

  /** Socket reads are traced (net_recv_bytes, pipelined statements told apart). */
  get netRecv(): boolean {
    return this.opts.netRecv;
  }

  /** --exact: calls counted at each top-level PortalRun's end. */
  get exact(): boolean {
    return this.opts.exact;
  }

  /** A map the plan-node reader shares (sched_threads: the statement numbers behind exec_id). */
  mapFd(name: string): number {
    return this.obj.map(name).fd;
  }

  get object(): BpfObject {
    return this.obj;
  }

  /** Capacity of each aggregation map: distinct (query_id, database, user) per interval. */
  get aggregateCapacity(): number {
    return this.aggs.capacity;
  }

  /** The first-seen texts that reached the ring so far (the next drain() returns none of them again). */
  takeTexts(): StmtTextEvent[] {
    this.textsRing.consume();
    const texts = this.pendingTexts;
    this.pendingTexts = [];
    return texts;
  }

  /** `final`: after detach, both aggregate maps (nothing writes them any more). */
  async drain(final = false): Promise<SchedDrain> {
    this.ownPids.sync();
    this.textsRing.consume();
    const aggregates = final ? this.aggs.drainAll() : await this.aggs.flipAndDrain();
    // Samples after the flip: every sample of the drained interval is in the ring by now.
    this.samplesRing.consume();
    const samples = this.pendingSamples;
    this.pendingSamples = this.drainedSamples;
    this.pendingSamples.clear();
    this.drainedSamples = samples;
    return { ...aggregates, samples, texts: this.takeTexts() };
  }

  readStats(): Record<SchedStatName, bigint> {
    return this.statsMap.readPerCpuSlots(SCHED_STATS, this.ncpus);
  }

  detach(): Promise<void> {
    return closeAll(this.obj.links);
  }

  close(): void {
    this.ownPids?.close();
    this.samplesRing?.close();
    this.textsRing?.close();
    this.obj.close();
  }
}
