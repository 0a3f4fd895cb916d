/**
 * Kernel capability probes that try the real thing: load one program of our own
 * object with every other program's autoload off, attach it, detach.
 * (libbpf_probe_bpf_prog_type(TRACING) answers for fentry, which this class
 * of kernel refuses, not for tp_btf.)
 */
import { BpfObject } from './object.js';
import { loadCollectorSpec, objectPath } from './collector-spec.js';

export interface CapabilityResult { ok: boolean; detail: string }

export function probeProgram(root: string, collector: string, program: string): CapabilityResult {
  const spec = loadCollectorSpec(root, collector);
  let obj: BpfObject | null = null;
  try {
    obj = BpfObject.open(objectPath(root, spec));
    for (const p of new Set(spec.probes.map((x) => x.program))) obj.setAutoload(p, p === program);
    obj.load();
    obj.attachAuto(program);
    return { ok: true, detail: `${program} loads and attaches` };
  } catch (err) {
    return { ok: false, detail: (err as Error).message };
  } finally {
    obj?.close();
  }
}
