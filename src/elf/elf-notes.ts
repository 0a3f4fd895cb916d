/**
 * SystemTap SDT notes (`.note.stapsdt`, owner "stapsdt", type 3). Each
 * descriptor is pc, link-time base and semaphore (three native words),
 * followed by provider, name and argument spec as C strings.
 * See https://sourceware.org/systemtap/wiki/UserSpaceProbeImplementation
 */

export interface UsdtNote {
  provider: string;
  name: string;
  /** Virtual address of the probe's nop, adjusted for prelink (see below). */
  pc: number;
  /** The `.stapsdt.base` address recorded at link time. */
  base: number;
  /** Virtual address of the u16 semaphore, adjusted like pc; 0 when the probe has none. */
  semaphore: number;
  /** Argument spec, e.g. `8@%rbx 4@-60(%rbp)`; empty when the probe takes none. */
  args: string;
  /** File offsets of pc and semaphore (what uprobes want); filled in by ElfFile. */
  pcOffset?: number;
  semaphoreOffset?: number;
}

const NT_STAPSDT = 3;

function align4(n: number): number {
  return (n + 3) & ~3;
}

function cstrings(buf: Buffer, off: number, end: number, count: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    const nul = buf.indexOf(0, off);
    const stop = nul < 0 || nul > end ? end : nul;
    out.push(buf.toString('latin1', off, stop));
    off = stop + 1;
  }
  return out;
}

/**
 * Parse every stapsdt note of a note section. `baseAddr` is the current
 * address of `.stapsdt.base`: if prelink moved the binary, the recorded
 * pc/semaphore are off by (baseAddr - note.base) and get shifted back, as
 * systemtap, bcc and libbpf do. For an unprelinked binary the shift is 0.
 */
export function parseStapsdtNotes(section: Buffer, baseAddr?: number): UsdtNote[] {
  const notes: UsdtNote[] = [];
  let off = 0;
  while (off + 12 <= section.length) {
    const namesz = section.readUInt32LE(off);
    const descsz = section.readUInt32LE(off + 4);
    const type = section.readUInt32LE(off + 8);
    const nameOff = off + 12;
    const descOff = nameOff + align4(namesz);
    off = descOff + align4(descsz);
    const owner = section.toString('latin1', nameOff, nameOff + Math.max(0, namesz - 1));
    if (type !== NT_STAPSDT || owner !== 'stapsdt' || descsz < 24) continue;
    notes.push(parseDescriptor(section, descOff, descOff + descsz, baseAddr));
  }
  return notes;
}

function parseDescriptor(buf: Buffer, off: number, end: number, baseAddr?: number): UsdtNote {
  const pc = Number(buf.readBigUInt64LE(off));
  const base = Number(buf.readBigUInt64LE(off + 8));
  const semaphore = Number(buf.readBigUInt64LE(off + 16));
  const [provider, name, args] = cstrings(buf, off + 24, end, 3);
  const shift = baseAddr && base ? baseAddr - base : 0;
  return {
    provider,
    name,
    pc: pc + shift,
    base,
    semaphore: semaphore ? semaphore + shift : 0,
    args,
  };
}
