/**
 * Dependency-free reader for ELF64 little-endian files (the x86-64 and
 * arm64 PostgreSQL binaries we attach to). We only need what uprobe/USDT
 * attachment needs: section and program headers, symbols, stapsdt notes
 * and raw bytes at a virtual address.
 */
import { readFileSync, realpathSync, statSync } from 'node:fs';
import { NotSupportedError } from '../util/errors.js';
import { parseStapsdtNotes, type UsdtNote } from './elf-notes.js';

export type { UsdtNote } from './elf-notes.js';

export interface ElfSection {
  name: string;
  type: number;
  flags: number;
  addr: number;
  offset: number;
  size: number;
  link: number;
  entsize: number;
}

export interface ElfSegment {
  type: number;
  flags: number;
  offset: number;
  vaddr: number;
  filesz: number;
  memsz: number;
}

export type SymbolType = 'NOTYPE' | 'OBJECT' | 'FUNC' | 'SECTION' | 'FILE' | 'TLS' | 'IFUNC' | 'OTHER';

export interface ElfSymbol {
  name: string;
  value: number;
  size: number;
  type: SymbolType;
  /** 0 = LOCAL, 1 = GLOBAL, 2 = WEAK (raw STB_* value). */
  bind: number;
  /** Section index; 0 means undefined (an import). */
  shndx: number;
  /** Which table it came from; .symtab only exists in unstripped builds. */
  table: '.dynsym' | '.symtab';
}

export const PT_LOAD = 1;
const SHT_SYMTAB = 2;
const SHT_DYNSYM = 11;
const SHT_NOTE = 7;
const SYM_TYPES: Record<number, SymbolType> = {
  0: 'NOTYPE', 1: 'OBJECT', 2: 'FUNC', 3: 'SECTION', 4: 'FILE', 6: 'TLS', 10: 'IFUNC',
};

/** u64 → number; every address in a userspace binary fits in 53 bits. */
function u64(buf: Buffer, off: number): number {
  return Number(buf.readBigUInt64LE(off));
}

function cstring(buf: Buffer, off: number): string {
  const end = buf.indexOf(0, off);
  return buf.toString('latin1', off, end < 0 ? buf.length : end);
}

export class ElfFile {
  readonly sections: ElfSection[];
  readonly segments: ElfSegment[];
  readonly type: number;
  readonly machine: number;
  private symbolCache?: ElfSymbol[];
  private symbolIndex?: Map<string, ElfSymbol>;
  private noteCache?: UsdtNote[];

  constructor(readonly path: string, readonly data: Buffer) {
    checkIdent(path, data);
    this.type = data.readUInt16LE(0x10);
    this.machine = data.readUInt16LE(0x12);
    this.segments = readSegments(data);
    this.sections = readSections(data);
  }

  /** ET_DYN: addresses are relative to the load base (PIE or shared object). */
  get isPie(): boolean {
    return this.type === 3;
  }

  section(name: string): ElfSection | undefined {
    return this.sections.find((s) => s.name === name);
  }

  /** .dynsym first, then .symtab, so exported entries win on duplicates. */
  get symbols(): ElfSymbol[] {
    this.symbolCache ??= [
      ...this.readSymbolTable(SHT_DYNSYM, '.dynsym'),
      ...this.readSymbolTable(SHT_SYMTAB, '.symtab'),
    ];
    return this.symbolCache;
  }

  /** The first defined symbol with this exact name. */
  findSymbol(name: string): ElfSymbol | undefined {
    if (!this.symbolIndex) {
      this.symbolIndex = new Map();
      for (const sym of this.symbols) {
        if (sym.shndx !== 0 && sym.name && !this.symbolIndex.has(sym.name)) this.symbolIndex.set(sym.name, sym);
      }
    }
    return this.symbolIndex.get(name);
  }

  get usdtNotes(): UsdtNote[] {
    this.noteCache ??= this.readUsdtNotes();
    return this.noteCache;
  }

  /** File offset of a virtual address, via the PT_LOAD that maps it from the file. */
  vaddrToOffset(vaddr: number): number | undefined {
    for (const seg of this.segments) {
      if (seg.type === PT_LOAD && vaddr >= seg.vaddr && vaddr < seg.vaddr + seg.filesz) {
        return vaddr - seg.vaddr + seg.offset;
      }
    }
    return undefined;
  }

  /** Bytes of the file at a virtual address (e.g. a function's first instruction). */
  readAt(vaddr: number, len: number): Buffer {
    const off = this.vaddrToOffset(vaddr);
    if (off === undefined || off + len > this.data.length) {
      throw new RangeError(`${this.path}: 0x${vaddr.toString(16)}+${len} is not backed by the file`);
    }
    return this.data.subarray(off, off + len);
  }

  private readSymbolTable(type: number, table: ElfSymbol['table']): ElfSymbol[] {
    const sec = this.sections.find((s) => s.type === type);
    if (!sec) return [];
    const strtab = this.sections[sec.link];
    const entsize = sec.entsize || 24;
    const out: ElfSymbol[] = [];
    for (let off = sec.offset; off + entsize <= sec.offset + sec.size; off += entsize) {
      const info = this.data[off + 4];
      out.push({
        name: cstring(this.data, strtab.offset + this.data.readUInt32LE(off)),
        type: SYM_TYPES[info & 0xf] ?? 'OTHER',
        bind: info >> 4,
        shndx: this.data.readUInt16LE(off + 6),
        value: u64(this.data, off + 8),
        size: u64(this.data, off + 16),
        table,
      });
    }
    return out;
  }

  private readUsdtNotes(): UsdtNote[] {
    const base = this.section('.stapsdt.base');
    const notes = this.sections.filter((s) => s.type === SHT_NOTE && s.name === '.note.stapsdt');
    return notes.flatMap((sec) =>
      parseStapsdtNotes(this.data.subarray(sec.offset, sec.offset + sec.size), base?.addr).map((n) => ({
        ...n,
        pcOffset: this.vaddrToOffset(n.pc),
        semaphoreOffset: n.semaphore ? this.vaddrToOffset(n.semaphore) : undefined,
      })),
    );
  }
}

function checkIdent(path: string, data: Buffer): void {
  if (data.length < 64 || data.readUInt32BE(0) !== 0x7f454c46) {
    throw new NotSupportedError('elf', `${path} is not an ELF file`);
  }
  if (data[4] !== 2 || data[5] !== 1) {
    throw new NotSupportedError('elf64le', `${path} is not a 64-bit little-endian ELF file; pgscout supports x86-64 and arm64 only`);
  }
}

function readSegments(data: Buffer): ElfSegment[] {
  const phoff = u64(data, 0x20);
  const entsize = data.readUInt16LE(0x36);
  const count = data.readUInt16LE(0x38);
  const out: ElfSegment[] = [];
  for (let i = 0; i < count; i++) {
    const off = phoff + i * entsize;
    out.push({
      type: data.readUInt32LE(off),
      flags: data.readUInt32LE(off + 4),
      offset: u64(data, off + 8),
      vaddr: u64(data, off + 16),
      filesz: u64(data, off + 32),
      memsz: u64(data, off + 40),
    });
  }
  return out;
}

function readSections(data: Buffer): ElfSection[] {
  const shoff = u64(data, 0x28);
  const entsize = data.readUInt16LE(0x3a);
  const count = data.readUInt16LE(0x3c);
  const strndx = data.readUInt16LE(0x3e);
  if (shoff === 0 || count === 0) return [];
  const raw: Array<ElfSection & { nameOff: number }> = [];
  for (let i = 0; i < count; i++) {
    const off = shoff + i * entsize;
    const type = data.readUInt32LE(off + 4);
    raw.push({
      nameOff: data.readUInt32LE(off),
      name: '',
      type,
      flags: u64(data, off + 8),
      addr: u64(data, off + 16),
      offset: u64(data, off + 24),
      size: u64(data, off + 32),
      link: data.readUInt32LE(off + 40),
      entsize: u64(data, off + 56),
    });
  }
  const strtabOff = raw[strndx]?.offset ?? 0;
  return raw.map(({ nameOff, ...s }) => ({ ...s, name: cstring(data, strtabOff + nameOff) }));
}

const cache = new Map<string, { mtimeMs: number; size: number; elf: ElfFile }>();

/**
 * Forgets the parsed binaries: after attaching, a collector holds what it
 * needs (addresses, offsets), and the ~9 MB image with its symbol table would
 * stay resident for the daemon's whole life. A re-attach parses again.
 */
export function dropElfCache(): void {
  cache.clear();
}

/** Parse a binary once per (realpath, mtime, size); the PostgreSQL binary is ~9 MB. */
export function openElf(path: string): ElfFile {
  const real = realpathSync(path);
  const st = statSync(real);
  const hit = cache.get(real);
  if (hit && hit.mtimeMs === st.mtimeMs && hit.size === st.size) return hit.elf;
  const elf = new ElfFile(real, readFileSync(real));
  cache.set(real, { mtimeMs: st.mtimeMs, size: st.size, elf });
  return elf;
}
