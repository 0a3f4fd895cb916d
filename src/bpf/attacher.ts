/**
 * Attaches every probe of a collector spec to a loaded object. A probe that
 * fails with a missing kernel feature is recorded (and fatal unless marked
 * optional); the result lists the attach state of each probe for doctor and
 * the metrics.
 */
import type { BpfObject } from './object.js';
import type { Link } from './link.js';
import { openElf } from '../elf/elf.js';
import { functionSite } from '../elf/probe-site.js';
import { usdtSitesWithin } from '../elf/usdt-sites.js';
import { probeLabel, type CollectorSpec, type ProbeSpec } from './collector-spec.js';
import { NotSupportedError, PermissionError } from '../util/errors.js';
import { logger } from '../util/log.js';

const log = logger('attach');

export interface AttachState { probe: string; program: string; attached: boolean; error?: string }

/**
 * A USDT probe restricted to the sites inside one function, each attached as a
 * uprobe on its nop with the probe's semaphore as reference counter (what
 * libbpf's USDT attach does for every site). The programs take no USDT
 * arguments there: a plain uprobe carries no argument spec.
 */
function attachUsdtWithin(obj: BpfObject, probe: Extract<ProbeSpec, { kind: 'usdt' }>, within: string,
  binary: string, pid: number): Link[] {
  const sites = usdtSitesWithin(openElf(binary), probe.provider, probe.name, within);
  if (!sites) {
    log.warn(`${binary}: no ${probe.provider}:${probe.name} site inside ${within}; attaching every site ` +
      '(nested hits are counted once, each costs a trap)');
    return [obj.attachUsdt(probe.program, binary, probe.provider, probe.name, pid)];
  }
  return sites.map((s) => obj.attachUprobe(probe.program, binary, { offset: s.offset }, { pid, refCtrOffset: s.refCtrOffset }));
}

function attachOne(obj: BpfObject, probe: ProbeSpec, binary: string, pid: number): Link | Link[] {
  switch (probe.kind) {
    case 'usdt':
      if (probe.within) return attachUsdtWithin(obj, probe, probe.within, binary, pid);
      return obj.attachUsdt(probe.program, binary, probe.provider, probe.name, pid);
    case 'uprobe':
    case 'uretprobe': {
      // At an instruction the kernel emulates, not always the first one (see probe-site.ts).
      const site = functionSite(openElf(binary), binary, probe.func);
      return obj.attachUprobe(probe.program, binary, { offset: site.offset }, { retprobe: probe.kind === 'uretprobe', pid });
    }
    case 'tracepoint':
      return obj.attachAuto(probe.program);
  }
}

/** pid -1 attaches to every process of `binary`, now and future. */
export function attachSpec(obj: BpfObject, spec: CollectorSpec, binary: string, pid = -1): AttachState[] {
  const states: AttachState[] = [];
  for (const probe of spec.probes) {
    const label = probeLabel(probe);
    try {
      attachOne(obj, probe, binary, pid);
      states.push({ probe: label, program: probe.program, attached: true });
    } catch (err) {
      if (err instanceof PermissionError || !probe.optional) throw err;
      const message = err instanceof Error ? err.message : String(err);
      log.warn(`optional probe ${label} not attached: ${message}`);
      states.push({ probe: label, program: probe.program, attached: false, error: message });
      if (!(err instanceof NotSupportedError)) throw err;
    }
  }
  return states;
}
