/**
 * The operator collector seen from user space. Loads operators.bpf.o on the
 * statement collector's shared maps, probes the exported executor entry
 * points, and probes each per-node function as ExecInitNode reveals it.
 * Attachment is per target: pid -1 (every backend, now and future) or one
 * sampled backend pid at a time, so unsampled backends run unpatched code.
 */
import { BpfObject } from '../../bpf/object.js';
import { BPF_TRACE_UPROBE_MULTI } from '../../bpf/uprobe-multi.js';
import { kernelHas } from '../../bpf/variants.js';
import { closeAll, type Link } from '../../bpf/link.js';
import { loadCollectorSpec, objectPath, type CollectorSpec } from '../../bpf/collector-spec.js';
import { RingBuffer } from '../../bpf/ringbuf.js';
import { fn } from '../../bpf/libbpf.js';
import { compileDecoder } from '../../bpf/struct-layout.js';
import { NODE_STATS, nodeFnEventLayout, nodeRecordLayout, type NodeStatName } from './abi.js';
import { COUNTER_MAPS } from '../abi.js';
import { globalAddress, loadBase } from '../../elf/address.js';
import { openElf, type ElfFile } from '../../elf/elf.js';
import { loadLayout, type Layout } from '../../pg/layouts.js';
import { functionSite, probeSite, type ProbeSite } from '../../elf/probe-site.js';
import type { Target } from '../../pg/target.js';
import { featureTable, structRodata, type FeatureTable } from './config.js';
import { logger } from '../../util/log.js';

const log = logger('operators');

export type NodeRecord = ReturnType<typeof decodeNode>;

const decodeNodeStruct = compileDecoder(nodeRecordLayout);

export function decodeNode(buf: Buffer, base: number) {
  const r = decodeNodeStruct(buf, base);
  const num = (k: string) => r[k] as number;
  const big = (k: string) => r[k] as bigint;
  return {
    query_id: big('query_id'), fn_addr: big('fn_addr'),
    startup_cost_bits: big('startup_cost_bits'), total_cost_bits: big('total_cost_bits'), plan_rows_bits: big('plan_rows_bits'),
    features: r.features as bigint[], calls: big('calls'), tuples: big('tuples'), loops: big('loops'),
    first_call_ns: big('first_call_ns'), first_tuple_ns: big('first_tuple_ns'), incl_ns: big('incl_ns'), excl_ns: big('excl_ns'),
    excl_off_cpu_ns: big('excl_off_cpu_ns'), excl_runq_ns: big('excl_runq_ns'),
    net_recv_bytes: big('net_recv_bytes'), net_send_bytes: big('net_send_bytes'),
    disk_read_bytes: big('disk_read_bytes'), disk_write_bytes: big('disk_write_bytes'),
    hash_buckets: big('hash_buckets'), hash_batches: big('hash_batches'), counters: r.counters as bigint[],
    counter_mask: num('counter_mask'), flags: num('flags'), pid: num('pid'), leader_pid: num('leader_pid'), seq: num('seq'),
    plan_seq: num('plan_seq'), plan_node_id: num('plan_node_id'), parent_node_id: num('parent_node_id') | 0, worker: num('worker') | 0,
    depth: num('depth'), tag: num('tag'), plan_tag: num('plan_tag'), plan_width: num('plan_width'),
    parallel_aware: num('parallel_aware'), subplan: num('subplan'),
    left_child_id: num('left_child_id') | 0, right_child_id: num('right_child_id') | 0,
  };
}

export interface OperatorSourceOptions {
  /** -1 = every backend; else explicit pids (sampling). */
  initialTargets: number[];
  /** Perf counters open in the shared counter maps (bit i = COUNTERS[i]): the programs call the helper for no other. */
  counterMask: number;
}

export class OperatorSource {
  private readonly obj: BpfObject;

  /** The loaded object (per-program stats for benchmarks). */
  get object(): BpfObject {
    return this.obj;
  }
  private readonly spec: CollectorSpec;
  private readonly elf: ElfFile;
  private readonly base: bigint;
  private readonly ring: RingBuffer;
  private pendingFns: { addr: bigint; tag: number }[] = [];
  /** Discovered node functions: address → where they are probed. */
  readonly sites = new Map<bigint, ProbeSite & { tag: string }>();
  private readonly targetLinks = new Map<number, Link[]>();
  /** Program → its uprobe_multi twin, where the kernel has such links (one link per program, target and discovery round). */
  private twins: Record<string, string> = {};
  readonly layout: Layout;
  readonly features: FeatureTable;

  constructor(sharedMapFd: (name: string) => number, readonly target: Target, root: string, opts: OperatorSourceOptions) {
    this.spec = loadCollectorSpec(root, 'operators');
    this.layout = loadLayout(target.major);
    this.elf = openElf(target.binaryPath);
    this.base = loadBase(target.postmasterPid, target.binaryPath);
    const feats = featureTable(this.spec, this.layout);
    this.features = feats.table;
    this.obj = BpfObject.open(objectPath(root, this.spec));
    try {
      this.obj.setRodata({
        ...structRodata(this.layout),
        ...feats.rodata,
        target_postmaster: target.postmasterPid,
        myproc_addr: globalAddress(target.postmasterPid, target.binaryPath, 'MyProc'),
        pwn_addr: globalAddress(target.postmasterPid, target.binaryPath, 'ParallelWorkerNumber'),
        ctr_mask: opts.counterMask,
      });
      for (const m of ['threads', ...COUNTER_MAPS]) this.obj.reuseMap(m, sharedMapFd(m));
      this.chooseLinkKinds();
      this.obj.load();
      this.ring = new RingBuffer(this.obj.map('node_fn_events'), (d) => this.pendingFns.push({
        addr: d.readBigUInt64LE(nodeFnEventLayout.byName.get('fn_addr')!.offset),
        tag: d.readUInt32LE(nodeFnEventLayout.byName.get('tag')!.offset),
      }));
      for (const p of this.spec.probes) if (p.kind === 'tracepoint') this.obj.attachAuto(p.program);
      this.retarget(opts.initialTargets);
    } catch (err) {
      this.close();
      throw err;
    }
  }

  /** Capacity of the finished-nodes map (for the map-fill metric). */
  get finishedCapacity(): number {
    return this.obj.map('finished_nodes').maxEntries;
  }

  get targets(): number[] {
    return [...this.targetLinks.keys()];
  }

  /** Backends probed by pid (sampling); 0 when every backend is (pid -1). */
  get sampledBackends(): number {
    return this.targets.filter((p) => p > 0).length;
  }

  /**
   * Before load: where the kernel has uprobe_multi links the twins get their
   * attach type and the programs they stand for are not loaded; elsewhere the
   * twins are not.
   */
  private chooseLinkKinds(): void {
    const twins = this.spec.uprobeMulti ?? {};
    const multi = kernelHas('uprobe_multi');
    for (const [program, twin] of Object.entries(twins)) {
      if (multi) this.obj.setExpectedAttachType(twin, BPF_TRACE_UPROBE_MULTI);
      this.obj.setAutoload(multi ? program : twin, false);
    }
    if (multi) this.twins = twins;
  }

  /** `program` at these offsets for one target: one uprobe_multi link (its twin), or a link per site. */
  private attachSites(program: string, offsets: readonly number[], pid: number, retprobe: boolean): Link[] {
    if (offsets.length === 0) return [];
    const binary = this.target.binaryPath;
    const twin = this.twins[program];
    if (twin) return [this.obj.attachUprobeMulti(twin, binary, offsets, { pid, retprobe })];
    const links: Link[] = [];
    try {
      for (const offset of offsets) links.push(this.obj.attachUprobe(program, binary, { offset }, { pid, retprobe }));
    } catch (err) {
      for (const l of links) l.close();   // the caller only sees what it gets back
      throw err;
    }
    return links;
  }

  /** Entry and return probes of these node functions for one target. */
  private attachNodeFns(sites: readonly ProbeSite[], pid: number): Link[] {
    const nf = this.spec.nodeFunction!;
    const offsets = sites.map((s) => s.offset);
    const entry = this.attachSites(nf.entry, offsets, pid, false);
    try {
      return [...entry, ...this.attachSites(nf.return, offsets, pid, true)];
    } catch (err) {
      for (const l of entry) l.close();
      throw err;
    }
  }

  /** The exported functions' probes of one target, a program's sites together. */
  private attachExported(pid: number, links: Link[]): void {
    const groups = new Map<string, { program: string; retprobe: boolean; offsets: number[] }>();
    for (const p of this.spec.probes) {
      if (p.kind !== 'uprobe' && p.kind !== 'uretprobe') continue;
      const key = `${p.program}/${p.kind}`;
      const group = groups.get(key) ?? { program: p.program, retprobe: p.kind === 'uretprobe', offsets: [] };
      group.offsets.push(functionSite(this.elf, this.target.binaryPath, p.func).offset);
      groups.set(key, group);
    }
    for (const g of groups.values()) links.push(...this.attachSites(g.program, g.offsets, pid, g.retprobe));
  }

  private attachTarget(pid: number): void {
    const links: Link[] = [];
    try {
      this.attachExported(pid, links);
      links.push(...this.attachNodeFns([...this.sites.values()], pid));
    } catch (err) {
      for (const l of links) l.close();
      if (pid === -1) throw err;
      log.debug(`backend ${pid} not sampled: ${(err as Error).message}`);
      return;
    }
    this.targetLinks.set(pid, links);
  }

  /** Attaches the targets not yet probed; returns the links of targets no longer wanted. */
  private retarget(pids: number[]): Link[] {
    const want = new Set(pids);
    const removed: Link[] = [];
    for (const [pid, links] of this.targetLinks) {
      if (want.has(pid)) continue;
      removed.push(...links);
      this.targetLinks.delete(pid);
    }
    for (const pid of want) if (!this.targetLinks.has(pid)) this.attachTarget(pid);
    return removed;
  }

  /** Probes exactly these targets (pids, or [-1]); detaches the others off the event loop. */
  setTargets(pids: number[]): Promise<void> {
    return closeAll(this.retarget(pids));
  }

  /**
   * Just enough for a backend to reveal node functions (ExecInitNode, and
   * ExecEndNode for the parallel hash join switch): used for pgscout's own
   * warm-up backend in sampling mode. The caller closes the links.
   */
  attachDiscovery(pid: number): Link[] {
    const wanted = new Set(['init_enter', 'init_exit', 'end_node']);
    return this.spec.probes.flatMap((p) => {
      if ((p.kind !== 'uprobe' && p.kind !== 'uretprobe') || !wanted.has(p.program)) return [];
      const site = functionSite(this.elf, this.target.binaryPath, p.func);
      return [this.obj.attachUprobe(p.program, this.target.binaryPath, { offset: site.offset }, { pid, retprobe: p.kind === 'uretprobe' })];
    });
  }

  /** A node function seen for the first time: where to probe it. */
  private siteOf(addr: bigint, tag: number): ProbeSite {
    const vaddr = Number(addr - this.base);
    const site = { ...probeSite(this.elf, vaddr), tag: this.layout.nodeTagName(tag) };
    this.sites.set(addr, site);
    if (!site.fast) log.warn(`node function of ${site.tag} at 0x${vaddr.toString(16)} starts with ${site.insn}: probing it costs ~11 µs a call`);
    return site;
  }

  /** Probes these newly revealed node functions on every target, then lets the programs follow them. */
  private discover(fns: readonly { addr: bigint; tag: number }[]): void {
    const fresh = new Map<bigint, ProbeSite>();
    for (const f of fns) if (!this.sites.has(f.addr)) fresh.set(f.addr, this.siteOf(f.addr, f.tag));   // siteOf records it in sites
    if (fresh.size === 0) return;
    for (const [pid, links] of this.targetLinks) {
      try {
        links.push(...this.attachNodeFns([...fresh.values()], pid));
      } catch (err) {
        log.debug(`node function probes for pid ${pid}: ${(err as Error).message}`);
      }
    }
    const key = Buffer.alloc(8);
    for (const addr of fresh.keys()) {
      key.writeBigUInt64LE(addr);
      this.obj.map('probed_fns').update(key, Buffer.from([1]));
    }
  }

  /** Probes newly revealed node functions (cheap: no syscall when nothing is new). */
  discoverNow(): void {
    this.ring.consume();
    const fns = this.pendingFns;
    this.pendingFns = [];
    this.discover(fns);
  }

  drain(): NodeRecord[] {
    this.discoverNow();
    const batch = this.obj.map('finished_nodes').drain();
    const out: NodeRecord[] = [];
    for (let i = 0; i < batch.count; i++) out.push(decodeNode(batch.values, i * nodeRecordLayout.size));
    return out;
  }

  readStats(): Record<NodeStatName, bigint> {
    return this.obj.map('node_stats').readPerCpuSlots(NODE_STATS, fn.num_possible_cpus() as number);
  }

  /** Detaches every probe (off the event loop); the maps stay readable. */
  async detach(): Promise<void> {
    const links = [...this.targetLinks.values()].flat();
    this.targetLinks.clear();
    await closeAll([...links, ...this.obj.links]);
  }

  close(): void {
    this.ring?.close();
    this.obj.close();
  }
}
