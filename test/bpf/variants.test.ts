/** Program variants chosen by kernel feature before load. */
import fs from 'node:fs';
import { afterEach, expect, it } from 'vitest';
import { BpfObject } from '../../src/bpf/object.js';
import { loadCollectorSpec, objectPath, type AutoProbeSpec } from '../../src/bpf/collector-spec.js';
import { chooseVariants, kernelHas } from '../../src/bpf/variants.js';
import { describeBpf } from '../helpers/bpf-env.js';
import { packageRoot } from '../../src/util/package-root.js';

const spec = loadCollectorSpec(packageRoot(), 'statements');
const sched = spec.probes.find((p) => p.program === 'sched_switch') as AutoProbeSpec;
const send = spec.probes.find((p) => p.program === 'sock_send') as AutoProbeSpec;

describeBpf('variants by kernel feature', () => {
  let obj: BpfObject | null = null;
  afterEach(() => { obj?.close(); obj = null; });

  /** Loads the statements object with only these probes' programs, then attaches them. */
  function loadOnly(probes: AutoProbeSpec[]): string[] {
    obj = BpfObject.open(objectPath(packageRoot(), spec));
    const all = new Set(spec.probes.flatMap((p) => [p.program, ...('fallback' in p && p.fallback ? [p.fallback.program] : [])]));
    const chosen = chooseVariants(obj, probes);
    const used = new Set(chosen.map((p) => p.program));
    for (const p of all) if (!used.has(p) && !probes.some((q) => q.program === p || q.fallback?.program === p)) obj.setAutoload(p, false);
    obj.load();
    for (const p of chosen) obj.attachAuto(p.program);
    return chosen.map((p) => p.program);
  }

  it('reads the features of this kernel', () => {
    expect(kernelHas('kprobes')).toBe(fs.existsSync('/sys/bus/event_source/devices/kprobe/type'));
    const tracefs = fs.existsSync('/sys/kernel/tracing/events/sock/sock_send_length') || fs.existsSync('/sys/kernel/debug/tracing/events/sock/sock_send_length');
    expect(kernelHas('tracepoint:sock/sock_send_length')).toBe(tracefs);
    expect(kernelHas('tracepoint:nosuch/event')).toBe(false);
    // BTF-typed tracepoints need no tracefs: answered from the kernel's BTF.
    expect(kernelHas('tp_btf:sock_send_length')).toBe(true);
    expect(kernelHas('tp_btf:sched_process_exit')).toBe(true);
    expect(kernelHas('tp_btf:nosuch_event')).toBe(false);
    expect(kernelHas('tp_btf')).toBe(true);
  });

  it('uses the primary programs where the kernel has them', () => {
    expect(loadOnly([sched, send])).toEqual(['sched_switch', 'sock_send']);
  });

  it('falls back to raw_tp/sched_switch when tp_btf is missing, and it loads and attaches', () => {
    expect(loadOnly([{ ...sched, requires: 'tracepoint:nosuch/event' }])).toEqual(['sched_switch_raw']);
  });

  it('drops an optional probe whose attach points are all missing, and the object still loads', () => {
    const chosen = loadOnly([sched, { ...send, requires: 'tracepoint:nosuch/event', fallback: { ...send.fallback!, requires: 'tracepoint:nosuch/kprobes' } }]);
    expect(chosen).toEqual(['sched_switch']);
  });
});
