/**
 * Declarative collectors (collectors/<name>.json): which object, which
 * probes into which programs. One attacher turns a spec into Links.
 */
import fs from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../util/errors.js';

/** A program whose SEC() name says where it attaches (tp/, tp_btf/, raw_tp/, kretprobe/…). */
export interface AutoProbeSpec {
  kind: 'tracepoint';
  program: string;
  /** Human name of the attach point. */
  attachPoint: string;
  /** Kernel capability it needs (src/bpf/variants.ts vocabulary): tp_btf, tp_btf:<tracepoint>, raw_tp, kprobes, tracepoint:<cat>/<name> (tracefs). */
  requires?: string;
  /** Used instead when `requires` is missing. */
  fallback?: AutoProbeSpec & { requires: string };
  optional?: boolean;
  /** Attached only when the collector enables this group (e.g. 'net-recv' with --net-recv). */
  group?: string;
}

export type ProbeSpec =
  /**
   * group: attached only when the collector enables that group (e.g. 'phases' with --phases).
   * within: only the probe's sites inside this exported function (a probe compiled into several
   * functions, e.g. query__execute__start in PortalRun and in PortalRunMulti, which PortalRun calls:
   * the outer site brackets the inner one, and every hit is a trap).
   */
  | { kind: 'usdt'; provider: string; name: string; program: string; optional?: boolean; group?: string; within?: string }
  /** perBackend: attached per sampled backend pid (zero cost elsewhere) rather than binary-wide. */
  | { kind: 'uprobe' | 'uretprobe'; func: string; program: string; optional?: boolean; perBackend?: boolean; group?: string }
  | AutoProbeSpec;

/** [column, struct, field, decode]; decode: relation | oid | int | bool | enum:<EnumName>. */
export type FeatureSpec = [string, string, string, string];

export interface CollectorSpec {
  name: string;
  object: string;
  description: string;
  probes: ProbeSpec[];
  /** Operators: programs for the discovered per-node functions. */
  nodeFunction?: { entry: string; return: string };
  /**
   * Program → the same program built for uprobe_multi links: where the kernel
   * has them, all of a program's sites of one target go through one link.
   */
  uprobeMulti?: Record<string, string>;
  /** Operators: plan fields read at ExecInitNode, per plan NodeTag name. */
  features?: Record<string, FeatureSpec[]>;
}

/** collectors/<name>.json under `root` (the package root: the caller knows where it is installed). */
export function loadCollectorSpec(root: string, name: string): CollectorSpec {
  const file = path.join(root, 'collectors', `${name}.json`);
  if (!fs.existsSync(file)) throw new ConfigError(`unknown collector '${name}' (no ${file})`);
  return JSON.parse(fs.readFileSync(file, 'utf8')) as CollectorSpec;
}

export function objectPath(root: string, spec: CollectorSpec): string {
  return path.join(root, 'bpf', '.output', spec.object);
}

export function probeLabel(p: ProbeSpec): string {
  if (p.kind === 'usdt') return `usdt:${p.provider}:${p.name}`;
  if (p.kind === 'tracepoint') return p.attachPoint;
  return `${p.kind}:${p.func}`;
}

/**
 * The probes of the enabled groups (a probe without a group is always in);
 * the programs of the others get autoload off, so they are not even loaded.
 */
export function enabledProbes(spec: CollectorSpec, groups: ReadonlySet<string>, setAutoload: (program: string, on: boolean) => void): ProbeSpec[] {
  const kept: ProbeSpec[] = [];
  for (const p of spec.probes) {
    const group = 'group' in p ? p.group : undefined;
    if (group === undefined || groups.has(group)) kept.push(p);
    else setAutoload(p.program, false);
  }
  return kept;
}
