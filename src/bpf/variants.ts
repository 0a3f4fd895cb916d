/**
 * Program variants chosen by kernel feature, before load: a probe may name a
 * fallback program for kernels that lack its primary attach point (e.g.
 * kretprobes on sock_*msg before the 6.3 sock tracepoints, raw_tp where
 * tp_btf is missing). Unchosen programs get autoload off, so an object still
 * loads on a kernel that could not load them.
 */
import fs from 'node:fs';
import type { BpfObject } from './object.js';
import type { ProbeSpec } from './collector-spec.js';
import { NotSupportedError } from '../util/errors.js';
import { logger } from '../util/log.js';

const log = logger('features');

const TRACEFS = ['/sys/kernel/tracing/events', '/sys/kernel/debug/tracing/events'];

/** Feature vocabulary used by collectors/*.json. */
export function hasFeature(feature: string): boolean {
  if (feature === 'tp_btf') return fs.existsSync('/sys/kernel/btf/vmlinux');
  if (feature === 'raw_tp') return true;
  if (feature === 'kprobes') return fs.existsSync('/sys/bus/event_source/devices/kprobe/type');
  const tp = /^tracepoint:(.+)$/.exec(feature);
  if (tp) return TRACEFS.some((dir) => fs.existsSync(`${dir}/${tp[1]}`));
  return true;
}

export interface Variant { probe: ProbeSpec; feature: string }

/** The probes to attach on this kernel; sets autoload of every variant program. */
export function chooseVariants(obj: BpfObject, probes: readonly ProbeSpec[]): ProbeSpec[] {
  const chosen: ProbeSpec[] = [];
  for (const probe of probes) {
    const fallback = 'fallback' in probe ? probe.fallback : undefined;
    const primaryOk = !('requires' in probe) || !probe.requires || hasFeature(probe.requires);
    if (primaryOk) {
      if (fallback && obj.hasProgram(fallback.program)) obj.setAutoload(fallback.program, false);
      chosen.push(probe);
      continue;
    }
    obj.setAutoload(probe.program, false);
    if (fallback && hasFeature(fallback.requires) && obj.hasProgram(fallback.program)) {
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
