/**
 * The checks behind `pgscout doctor`: each says pass/fail/warn and, when not
 * passing, what to do. Kernel checks try the real thing where cheap.
 */
import fs from 'node:fs';
import { packageRoot } from '../util/package-root.js';
import { fn } from '../bpf/libbpf.js';
import { COUNTERS, openCounter } from '../bpf/perf.js';
import { BTF_PATH, hasBpfPrivileges } from '../collect/preflight.js';
import { loadCollectorSpec, objectPath } from '../bpf/collector-spec.js';
import { probeProgram } from '../bpf/capabilities.js';
import { kernelHas, TRACEFS_EVENTS } from '../bpf/variants.js';

export type CheckStatus = 'pass' | 'fail' | 'warn' | 'info';

export interface Check { name: string; status: CheckStatus; detail: string; fix?: string }

const BPF_MAP_TYPE_RINGBUF = 27;

function check(name: string, ok: boolean, detail: string, fix: string, failStatus: CheckStatus = 'fail'): Check {
  return ok ? { name, status: 'pass', detail } : { name, status: failStatus, detail, fix };
}

export function kernelChecks(): Check[] {
  const checks: Check[] = [];
  const root = hasBpfPrivileges();
  checks.push(check('privileges', root, root ? 'root or CAP_BPF+CAP_PERFMON' : `uid ${process.getuid?.()} without CAP_BPF/CAP_PERFMON`,
    'run pgscout as root (sudo) or grant CAP_BPF, CAP_PERFMON, CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH'));
  checks.push(check('kernel BTF', fs.existsSync(BTF_PATH), BTF_PATH,
    'use a kernel built with CONFIG_DEBUG_INFO_BTF=y (all major distros since 2020)'));
  const uprobe = fs.existsSync('/sys/bus/event_source/devices/uprobe/type');
  checks.push(check('uprobes / USDT', uprobe, 'uprobe PMU present', 'kernel needs CONFIG_UPROBE_EVENTS=y'));
  checks.push({ name: 'uprobe_multi links', status: 'info', detail: kernelHas('uprobe_multi')
    ? 'available: --operator-probes puts each node-function program on all its functions with one link (fast detach)'
    : 'not available (kernel < 6.6): --operator-probes uses a link per function, ~0.1 s each to detach at stop' });
  const kprobe = fs.existsSync('/sys/bus/event_source/devices/kprobe/type');
  checks.push({ name: 'kprobes', status: 'info', detail: kprobe ? 'available (not required)' : 'not available (not required: pgscout uses tracepoints)' });
  if (root) {
    const tpBtf = probeProgram(packageRoot(), 'statements', 'sched_switch');
    checks.push(check('tp_btf/sched_switch', tpBtf.ok, tpBtf.detail, 'kernel ≥ 5.5 with BTF needed for on/off-CPU accounting'));
    const ringbuf = fn.probe_bpf_map_type(BPF_MAP_TYPE_RINGBUF, null) as number;
    checks.push(check('BPF ring buffer', ringbuf === 1, ringbuf === 1 ? 'supported' : `probe returned ${ringbuf}`, 'kernel ≥ 5.8 needed'));
    for (const spec of COUNTERS) {
      const opened = openCounter(spec);
      if ('fds' in opened) opened.fds.forEach((f) => fn.close(f));
      const ok = 'fds' in opened;
      const isHw = spec.type === 0;
      checks.push(check(`perf counter ${spec.name}`, ok, ok ? 'per-CPU counter opens' : (opened as { reason: string }).reason,
        isHw ? 'no hardware PMU (typical in VMs): these columns are null' : 'kernel needs CONFIG_PERF_EVENTS', isHw ? 'warn' : 'fail'));
    }
  }
  const sockTp = kernelHas('tp_btf:sock_send_length') && kernelHas('tp_btf:sock_recv_length');
  checks.push(check('sock tracepoints', sockTp, 'tp_btf/sock_send_length, tp_btf/sock_recv_length',
    'kernel ≥ 6.3 has them (older kernels: kretprobes where kprobes exist); without either net_*_bytes stay 0', 'warn'));
  const tracefs = TRACEFS_EVENTS.some((p) => fs.existsSync(p));
  checks.push({ name: 'tracefs', status: 'info',
    detail: tracefs ? 'mounted (not required)' : 'not mounted (not required: tracepoints attach as tp_btf/raw_tp through the bpf syscall)' });
  const obj = objectPath(packageRoot(), loadCollectorSpec(packageRoot(), 'statements'));
  checks.push(check('BPF objects built', fs.existsSync(obj), obj, 'run `npm run build:bpf` (needs clang, libbpf-dev, bpftool)'));
  return checks;
}
