/**
 * A BPF object file through its lifecycle: open → configure (rodata,
 * autoload, map sizes) → load → attach. Programs attach into `Link`s; the
 * object owns them and closes them on close().
 */
import fs from 'node:fs';
import { errno, fn, installPrintHandler, UprobeOpts } from './libbpf.js';
import { bpfError, checkRet } from './errors.js';
import { Link } from './link.js';
import { createUprobeMultiLink, type UprobeMultiOptions } from './uprobe-multi.js';
import { BpfMap } from './map.js';
import { writeRodata, type RodataValue } from './rodata.js';
import { PgscoutError } from '../util/errors.js';

const BPF_F_TEST_RUN_ON_CPU = 1;

export class BpfObject {
  private handle: bigint | null;
  private loaded = false;
  readonly links: Link[] = [];

  private constructor(handle: bigint, readonly path: string) {
    this.handle = handle;
  }

  static open(path: string): BpfObject {
    installPrintHandler();
    if (!fs.existsSync(path)) {
      throw new PgscoutError(`BPF object ${path} not found: run \`npm run build:bpf\``);
    }
    const handle = fn.object_open_file(path, null) as bigint | null;
    if (!handle) throw bpfError(`open of ${path}`, errno());
    return new BpfObject(handle, path);
  }

  private get obj(): bigint {
    if (this.handle === null) throw new PgscoutError(`BPF object ${this.path} is closed`);
    return this.handle;
  }

  setRodata(values: Record<string, RodataValue>): void {
    if (this.loaded) throw new PgscoutError('read-only variables must be set before load');
    writeRodata(this.obj, values);
  }

  setAutoload(program: string, autoload: boolean): void {
    checkRet(fn.program_set_autoload(this.program(program), autoload) as number, `autoload of ${program}`);
  }

  /** Shares a map of another loaded object (same definition) instead of creating one. */
  reuseMap(map: string, fd: number): void {
    if (this.loaded) throw new PgscoutError('maps must be shared before load');
    checkRet(fn.map_reuse_fd(this.mapHandle(map), fd) as number, `sharing of map ${map}`);
  }

  setMaxEntries(map: string, entries: number): void {
    checkRet(fn.map_set_max_entries(this.mapHandle(map), entries) as number, `resize of map ${map}`);
  }

  load(): void {
    const ret = fn.object_load(this.obj) as number;
    if (ret < 0) throw bpfError(`load of ${this.path}`, -ret, 'a BPF feature this object uses (see the libbpf log with PGSCOUT_LOG=debug)');
    this.loaded = true;
  }

  hasProgram(name: string): boolean {
    return Boolean(fn.find_program(this.obj, name));
  }

  /**
   * Runs a loaded raw_tp program once (BPF_PROG_RUN) on `cpu` with `args` as
   * its u64 arguments and returns what it returned: how the programs' shared
   * logic is tested on this kernel with inputs the test chooses.
   */
  run(program: string, args: readonly bigint[], cpu = 0): number {
    const ctx = Buffer.alloc(8 * args.length);
    args.forEach((a, i) => ctx.writeBigUInt64LE(BigInt.asUintN(64, a), 8 * i));
    const opts = { sz: 80, data_in: null, data_out: null, data_size_in: 0, data_size_out: 0, ctx_in: ctx, ctx_out: null,
      ctx_size_in: ctx.length, ctx_size_out: 0, retval: 0, repeat: 0, duration: 0, flags: BPF_F_TEST_RUN_ON_CPU, cpu, batch_size: 0 };
    const fd = fn.program_fd(this.program(program)) as number;
    checkRet(fn.prog_test_run(fd, opts) as number, `test run of ${program}`);
    return opts.retval;
  }

  private program(name: string): bigint {
    const prog = fn.find_program(this.obj, name) as bigint | null;
    if (!prog) throw new PgscoutError(`BPF object ${this.path} has no program '${name}'`);
    return prog;
  }

  private mapHandle(name: string): bigint {
    const map = fn.find_map(this.obj, name) as bigint | null;
    if (!map) throw new PgscoutError(`BPF object ${this.path} has no map '${name}'`);
    return map;
  }

  map(name: string): BpfMap {
    const m = this.mapHandle(name);
    return new BpfMap(
      name,
      fn.map_fd(m) as number,
      fn.map_key_size(m) as number,
      fn.map_value_size(m) as number,
      fn.map_max_entries(m) as number,
    );
  }

  private track(handle: bigint | null, description: string, feature: string): Link {
    if (!handle) throw bpfError(`attach of ${description}`, errno(), feature);
    const link = new Link(handle, description);
    this.links.push(link);
    return link;
  }

  /** Tracepoints, tp_btf and other programs whose section says where they go. */
  attachAuto(program: string): Link {
    return this.track(fn.program_attach(this.program(program)) as bigint | null, program, `the attach point of ${program}`);
  }

  /** pid -1: every process running the binary, existing and future. */
  attachUsdt(program: string, binary: string, provider: string, name: string, pid = -1): Link {
    const handle = fn.program_attach_usdt(this.program(program), pid, binary, provider, name, null) as bigint | null;
    return this.track(handle, `usdt ${provider}:${name} → ${program}`, 'USDT (uprobe) support');
  }

  attachUprobe(program: string, binary: string, target: { func?: string; offset?: number },
    opts: { retprobe?: boolean; pid?: number; cookie?: bigint; refCtrOffset?: number } = {}): Link {
    const uopts = {
      sz: 40,
      ref_ctr_offset: opts.refCtrOffset ?? 0,
      bpf_cookie: opts.cookie ?? 0n,
      retprobe: opts.retprobe ?? false,
      func_name: target.func ?? null,
    };
    const handle = fn.program_attach_uprobe_opts(
      this.program(program), opts.pid ?? -1, binary, target.offset ?? 0, uopts,
    ) as bigint | null;
    const where = target.func ?? `0x${(target.offset ?? 0).toString(16)}`;
    return this.track(handle, `${opts.retprobe ? 'uretprobe' : 'uprobe'} ${where} → ${program}`, 'uprobe support');
  }

  /** One link for `program` at every offset (uprobe_multi; the program loaded with setExpectedAttachType(BPF_TRACE_UPROBE_MULTI)). */
  attachUprobeMulti(program: string, binary: string, offsets: readonly number[], opts: UprobeMultiOptions = {}): Link {
    const fd = createUprobeMultiLink(fn.program_fd(this.program(program)) as number, binary, offsets, opts);
    const link = Link.fromFd(fd, `${opts.retprobe ? 'uretprobe' : 'uprobe'} multi (${offsets.length} sites) → ${program}`);
    this.links.push(link);
    return link;
  }

  /** Before load: the program is loaded for this attach type (e.g. BPF_TRACE_UPROBE_MULTI). */
  setExpectedAttachType(program: string, type: number): void {
    checkRet(fn.program_set_expected_attach_type(this.program(program), type) as number, `attach type of ${program}`);
  }

  /** Detaches everything and frees the object (idempotent). */
  close(): void {
    for (const link of this.links.splice(0)) link.close();
    if (this.handle !== null) {
      fn.object_close(this.handle);
      this.handle = null;
    }
  }
}

