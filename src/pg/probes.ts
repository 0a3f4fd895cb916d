/**
 * Which PostgreSQL USDT probes a binary carries. Debian/Ubuntu and PGDG
 * packages build with --enable-dtrace; many source builds and some
 * container images do not: then `doctor` names the missing probes and
 * `collect` fails at attach with one line (there is no uprobe fallback).
 */
import fs from 'node:fs';
import path from 'node:path';
import { loadCollectorSpec } from '../bpf/collector-spec.js';
import { openElf, type UsdtNote } from '../elf/elf.js';
import { packageRoot } from '../util/package-root.js';

export const USDT_PROVIDER = 'postgresql';

/**
 * The USDT probes pgscout cannot run without (names as in the ELF notes):
 * the non-optional `usdt` probes of every collector spec, so the list lives
 * in collectors/*.json only.
 */
export function requiredUsdt(root = packageRoot()): string[] {
  const names = new Set<string>();
  for (const file of fs.readdirSync(path.join(root, 'collectors'))) {
    if (!file.endsWith('.json') || file.includes('-empty')) continue;
    const spec = loadCollectorSpec(root, file.replace(/\.json$/, ''));
    for (const p of spec.probes) if (p.kind === 'usdt' && p.provider === USDT_PROVIDER && !p.optional) names.add(p.name);
  }
  return [...names];
}

export interface UsdtCheck {
  present: string[];
  missing: string[];
}

/** All `postgresql` provider notes; one probe name may have several sites (inlined copies). */
export function listUsdtProbes(binaryPath: string): UsdtNote[] {
  return openElf(binaryPath).usdtNotes.filter((n) => n.provider === USDT_PROVIDER);
}

/** Sites of one probe, in note order. */
export function usdtSites(binaryPath: string, name: string): UsdtNote[] {
  return listUsdtProbes(binaryPath).filter((n) => n.name === name);
}

export function checkUsdtProbes(binaryPath: string, required: readonly string[]): UsdtCheck {
  const names = new Set(listUsdtProbes(binaryPath).map((n) => n.name));
  return {
    present: required.filter((r) => names.has(r)),
    missing: required.filter((r) => !names.has(r)),
  };
}
