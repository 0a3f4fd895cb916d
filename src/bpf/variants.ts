/**
 * Program variants chosen by kernel capability, before load: a probe may name a
 * fallback program for kernels that lack its primary attach point (e.g.
 * kretprobes on sock_*msg before the 6.3 sock tracepoints, raw_tp where
 * tp_btf is missing). Unchosen programs get autoload off, so an object still
 * loads on a kernel that could not load them.
 */
import fs from 'node:fs';
import type { BpfObject } from './object.js';
import type { ProbeSpec } from './collector-spec.js';
import { fn } from './libbpf.js';
import { NotSupportedError } from '../util/errors.js';
import { logger } from '../util/log.js';

const log = logger('capabilities');

export const TRACEFS_EVENTS = ['/sys/kernel/tracing/events', '/sys/kernel/debug/tracing/events'];
const BTF_KIND_STRUCT = 4;
const BTF_KIND_TYPEDEF = 8;

const vmlinuxTypes = new Map<string, boolean>();

/** Whether the kernel's BTF declares this type. */
function btfHasType(name: string, kind: number): boolean {
  const key = `${kind}:${name}`;
  const cached = vmlinuxTypes.get(key);
  if (cached !== undefined) return cached;
  let found = false;
  const btf = fs.existsSync('/sys/kernel/btf/vmlinux') ? fn.btf_load_vmlinux() : null;
  if (btf) {
    found = (fn.btf_find_by_name_kind(btf, name, kind) as number) > 0;
    fn.btf_free(btf);
  }
  vmlinuxTypes.set(key, found);
  return found;
}

/**
 * Whether the kernel's BTF declares this tracepoint (typedef btf_trace_<name>):
 * then tp_btf attaches through the bpf syscall, with tracefs mounted or not.
 */
function btfHasTracepoint(name: string): boolean {
  return btfHasType(`btf_trace_${name}`, BTF_KIND_TYPEDEF);
}

/**
 * Capability vocabulary used by collectors/*.json: tp_btf, tp_btf:<tracepoint>,
 * raw_tp, kprobes, uprobe_multi, tracepoint:<category>/<name> (the last needs tracefs mounted).
 */
export function kernelHas(capability: string): boolean {
  if (capability === 'uprobe_multi') return btfHasType('bpf_uprobe_multi_link', BTF_KIND_STRUCT);
  if (capability === 'tp_btf') return fs.existsSync('/sys/kernel/btf/vmlinux');
  const typed = /^tp_btf:(.+)$/.exec(capability);
  if (typed) return btfHasTracepoint(typed[1]!);
  if (capability === 'raw_tp') return true;
  if (capability === 'kprobes') return fs.existsSync('/sys/bus/event_source/devices/kprobe/type');
  const tp = /^tracepoint:(.+)$/.exec(capability);
  if (tp) return TRACEFS_EVENTS.some((dir) => fs.existsSync(`${dir}/${tp[1]}`));
  return true;
}

/** The probes to attach on this kernel; sets autoload of every variant program. */
export function chooseVariants(obj: BpfObject, probes: readonly ProbeSpec[]): ProbeSpec[] {
  const chosen: ProbeSpec[] = [];
  for (const probe of probes) {
    const fallback = 'fallback' in probe ? probe.fallback : undefined;
    const primaryOk = !('requires' in probe) || !probe.requires || kernelHas(probe.requires);
    if (primaryOk) {
      if (fallback && obj.hasProgram(fallback.program)) obj.setAutoload(fallback.program, false);
      chosen.push(probe);
      continue;
    }
    obj.setAutoload(probe.program, false);
    if (fallback && kernelHas(fallback.requires) && obj.hasProgram(fallback.program)) {
      log.info(`${probe.program}: kernel lacks ${probe.requires}, using ${fallback.program} (${fallback.requires})`);
      chosen.push(fallback);
    } else if (probe.optional) {
      log.warn(`${probe.program}: kernel lacks ${probe.requires}${fallback ? ` and ${fallback.requires}` : ''}; its columns stay 0`);
      if (fallback && obj.hasProgram(fallback.program)) obj.setAutoload(fallback.program, false);
    } else {
      throw new NotSupportedError(probe.requires!, `this kernel lacks ${probe.requires}, which pgscout needs for ${probe.program}`);
    }
  }
  return chosen;
}
