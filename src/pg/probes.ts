/**
 * Which PostgreSQL USDT probes a binary carries. Debian/Ubuntu and PGDG
 * packages build with --enable-dtrace; many source builds and some
 * container images do not, and then pgscout must fall back to uprobes.
 */
import { openElf, type UsdtNote } from './elf.js';

export const USDT_PROVIDER = 'postgresql';

/** The probes the statement pipeline is built on (names as in the ELF notes). */
export const REQUIRED_USDT = [
  'query__start',
  'query__done',
  'query__parse__start',
  'query__parse__done',
  'query__plan__start',
  'query__plan__done',
  'query__execute__start',
  'query__execute__done',
  'transaction__commit',
  'transaction__abort',
] as const;

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
