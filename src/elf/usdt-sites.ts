/**
 * Where a USDT probe sits in a binary, as uprobe sites. A probe macro used in
 * several functions has a site in each; a collector that needs only the one
 * inside a given function (the outer of two nested sites) attaches there, and
 * the other sites cost nothing.
 */
import type { ElfFile, UsdtNote } from './elf.js';

export interface UsdtSite {
  /** File offset of the probe's nop: the uprobe offset. */
  offset: number;
  /** File offset of the probe's semaphore (the uprobe's reference counter); 0 when it has none. */
  refCtrOffset: number;
}

function site(note: UsdtNote): UsdtSite | null {
  if (note.pcOffset === undefined) return null;
  return { offset: note.pcOffset, refCtrOffset: note.semaphore ? note.semaphoreOffset ?? 0 : 0 };
}

/** Every site of provider:name. */
export function usdtSites(elf: ElfFile, provider: string, name: string): UsdtSite[] {
  return elf.usdtNotes.filter((n) => n.provider === provider && n.name === name)
    .map(site).filter((s): s is UsdtSite => s !== null);
}

/**
 * The sites of provider:name inside the function `func` (a defined symbol with
 * a size), or null when the binary does not say where `func` ends or no site
 * lies inside it: then the caller decides what to do with all the sites.
 */
export function usdtSitesWithin(elf: ElfFile, provider: string, name: string, func: string): UsdtSite[] | null {
  const sym = elf.findSymbol(func);
  if (!sym || sym.type !== 'FUNC' || sym.size <= 0) return null;
  const inside = elf.usdtNotes.filter((n) => n.provider === provider && n.name === name &&
    n.pc >= sym.value && n.pc < sym.value + sym.size);
  const sites = inside.map(site).filter((s): s is UsdtSite => s !== null);
  return sites.length ? sites : null;
}
