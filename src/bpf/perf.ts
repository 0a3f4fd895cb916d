/**
 * Per-CPU perf counters placed into PERF_EVENT_ARRAY maps, which the BPF
 * programs read with bpf_perf_event_read_value and virtualize per task at
 * every context switch. A counter the kernel lacks (no PMU in this VM:
 * ENOENT) is reported unavailable, and its columns stay null.
 */
import os from 'node:os';
import { errno, fn } from './libbpf.js';
import { errnoName } from './errors.js';
import type { BpfMap } from './map.js';

const SYS_PERF_EVENT_OPEN = process.arch === 'arm64' ? 241 : 298;
const PERF_FLAG_FD_CLOEXEC = 8;

export interface CounterSpec {
  /** Map in the BPF object that receives this counter. */
  map: string;
  /** Column/metric name. */
  name: string;
  type: number;
  config: number;
}

/** Order matches enum pgs_counter in bpf/pgscout.h. */
export const COUNTERS: readonly CounterSpec[] = [
  { map: 'ctr_cpu_clock', name: 'cpu_clock_ns', type: 1, config: 0 },
  { map: 'ctr_cycles', name: 'cycles', type: 0, config: 0 },
  { map: 'ctr_instructions', name: 'instructions', type: 0, config: 1 },
  { map: 'ctr_cache_refs', name: 'cache_references', type: 0, config: 2 },
  { map: 'ctr_cache_misses', name: 'cache_misses', type: 0, config: 3 },
  { map: 'ctr_ref_cycles', name: 'ref_cycles', type: 0, config: 9 },
];

/** Whether `spec` is opened: the software cpu-clock only on request (--cpu-clock: on_cpu_ns is the same task CPU time), the hardware counters always. */
export function counterWanted(spec: CounterSpec, cpuClock: boolean): boolean {
  return spec.map !== 'ctr_cpu_clock' || cpuClock;
}

export interface CounterStatus { name: string; available: boolean; reason?: string }

function perfEventOpen(spec: CounterSpec, cpu: number): number {
  const attr = Buffer.alloc(128);
  attr.writeUInt32LE(spec.type, 0);
  attr.writeUInt32LE(attr.length, 4);
  attr.writeBigUInt64LE(BigInt(spec.config), 8);
  // flags (offset 40) all zero: enabled, counting, user+kernel.
  return Number(fn.syscall(SYS_PERF_EVENT_OPEN, 'void *', attr, 'int', -1, 'int', cpu, 'int', -1,
    'unsigned long', PERF_FLAG_FD_CLOEXEC));
}

/** Opens one counter on every online CPU; returns fds or the failure reason. */
export function openCounter(spec: CounterSpec, cpus = os.cpus().length): { fds: number[] } | { reason: string } {
  const fds: number[] = [];
  for (let cpu = 0; cpu < cpus; cpu++) {
    const fd = perfEventOpen(spec, cpu);
    if (fd < 0) {
      const code = errno();
      for (const f of fds) fn.close(f);
      return { reason: `perf_event_open(${spec.name}) on cpu ${cpu}: ${errnoName(code)}` };
    }
    fds.push(fd);
  }
  return { fds };
}

/**
 * Holds the counter fds for as long as the BPF programs use them. open()
 * before the object is loaded (its `mask` goes into the programs' rodata, so
 * they never call the helper for a counter that is not there), install()
 * after, when the maps exist.
 */
export class PerfCounters {
  private fds: number[] = [];
  private opened: { spec: CounterSpec; fds: number[] }[] | null = null;
  readonly status: CounterStatus[] = [];

  /** `cpuClock`: open the software cpu-clock too (the hardware counters are opened whenever the kernel has them). */
  constructor(private readonly cpuClock: boolean) {}

  /** Opens every counter wanted that this kernel has on every CPU; returns the mask of those opened (bit i = COUNTERS[i]). */
  open(cpus = os.cpus().length): number {
    if (this.opened) return this.mask;
    this.opened = [];
    for (const spec of COUNTERS) {
      if (!counterWanted(spec, this.cpuClock)) {
        this.status.push({ name: spec.name, available: false, reason: 'not requested (--cpu-clock): on_cpu_ns is the same task CPU time' });
        continue;
      }
      const result = openCounter(spec, cpus);
      if ('reason' in result) {
        this.status.push({ name: spec.name, available: false, reason: result.reason });
        continue;
      }
      this.opened.push({ spec, fds: result.fds });
      this.fds.push(...result.fds);
      this.status.push({ name: spec.name, available: true });
    }
    return this.mask;
  }

  /** Bit i set: COUNTERS[i] is open. */
  get mask(): number {
    return (this.opened ?? []).reduce((m, o) => m | (1 << COUNTERS.indexOf(o.spec)), 0);
  }

  /** Puts each open counter's per-CPU fds into its map (opening them first if open() was not called). */
  install(mapOf: (name: string) => BpfMap, cpus = os.cpus().length): void {
    this.open(cpus);
    for (const { spec, fds } of this.opened!) {
      const map = mapOf(spec.map);
      fds.forEach((fd, cpu) => {
        const key = Buffer.alloc(4);
        key.writeUInt32LE(cpu);
        const value = Buffer.alloc(4);
        value.writeInt32LE(fd);
        map.update(key, value);
      });
    }
  }

  close(): void {
    for (const fd of this.fds.splice(0)) fn.close(fd);
  }
}
