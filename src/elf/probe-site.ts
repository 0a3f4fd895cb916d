/**
 * Where to put a uprobe in a function so the kernel can emulate the probed
 * instruction (~0.6 µs a hit) instead of single-stepping it out of line
 * (~11 µs: measured for the rip-relative `lea`s that open PostgreSQL's scan
 * wrappers, `lea; lea; jmp ExecScan`). x86-64 only; elsewhere the entry is used.
 */
import type { ElfFile } from './elf.js';
import { TargetError } from '../util/errors.js';

export interface ProbeSite {
  /** Virtual address of the function. */
  funcVaddr: number;
  /** Virtual address probed (function start or past skipped instructions). */
  vaddr: number;
  /** File offset of `vaddr`, for attach. */
  offset: number;
  /** The instruction at the probed address. */
  insn: string;
  /** Expected to be emulated (fast) by the kernel. */
  fast: boolean;
}

const HEX = (b: Buffer) => [...b].map((x) => x.toString(16).padStart(2, '0')).join(' ');

/** REX.W lea reg, [rip + disp32]: 48|4c 8d modrm(mod=00, rm=101) disp32. */
function isRipLea(b: Buffer, i: number): boolean {
  return (b[i] === 0x48 || b[i] === 0x4c) && b[i + 1] === 0x8d && (b[i + 2]! & 0xc7) === 0x05;
}

// Registers our programs read as arguments (rdi = arg0, rsi = arg1): never skip a write to them.
const ARG_REGS = new Set([7, 6]);

/**
 * Length of an instruction that is safe to step over before probing: it
 * writes no argument register and no memory. `mov reg, [rip+disp32]`
 * (48|4c 8b, mod=00 rm=101) into a non-argument register, or
 * `test reg, reg` (48 85, mod=11). 0 when neither.
 */
function skippable(b: Buffer, i: number): number {
  const rex = b[i]!;
  if ((rex & 0xf0) !== 0x40) return 0;
  const op = b[i + 1];
  const modrm = b[i + 2]!;
  if (op === 0x8b && (modrm & 0xc7) === 0x05) {
    const dest = ((modrm >> 3) & 7) + (rex & 4 ? 8 : 0);
    return ARG_REGS.has(dest) ? 0 : 7;
  }
  if (op === 0x85 && (modrm & 0xc0) === 0xc0) return 3;
  return 0;
}

function classify(b: Buffer, i: number): { insn: string; fast: boolean } {
  const op = b[i]!;
  if (op === 0x55) return { insn: 'push %rbp', fast: true };
  if (op >= 0x50 && op <= 0x57) return { insn: `push (${HEX(b.subarray(i, i + 1))})`, fast: true };
  if (op === 0x41 && b[i + 1]! >= 0x50 && b[i + 1]! <= 0x57) return { insn: `push %r${8 + b[i + 1]! - 0x50}`, fast: true };
  if (op === 0xe9) return { insn: 'jmp rel32', fast: true };
  if (op === 0xeb) return { insn: 'jmp rel8', fast: true };
  if (op === 0xe8) return { insn: 'call rel32', fast: true };
  if (op >= 0x70 && op <= 0x7f) return { insn: 'jcc rel8', fast: true };
  if (op === 0x0f && b[i + 1]! >= 0x80 && b[i + 1]! <= 0x8f) return { insn: 'jcc rel32', fast: true };
  return { insn: `bytes ${HEX(b.subarray(i, i + 4))}`, fast: false };
}

export function probeSite(elf: ElfFile, funcVaddr: number): ProbeSite {
  const at = (vaddr: number) => ({ vaddr, offset: elf.vaddrToOffset(vaddr) ?? vaddr });
  if (elf.machine !== 62 /* EM_X86_64 */) return { funcVaddr, ...at(funcVaddr), insn: 'unchecked', fast: true };
  const bytes = elf.readAt(funcVaddr, 32);
  let i = 0;
  while (i + 7 <= bytes.length && isRipLea(bytes, i)) i += 7;
  const first = classify(bytes, 0);
  if (i > 0) {
    const next = classify(bytes, i);
    // Skipping the leas is only right when what follows is a jump: the
    // registers they set are arguments of the jump target, not ours.
    if (next.fast && next.insn.startsWith('jmp')) return { funcVaddr, ...at(funcVaddr + i), insn: next.insn, fast: true };
    return { funcVaddr, ...at(funcVaddr), insn: 'lea rip-relative', fast: false };
  }
  if (!first.fast) {
    // e.g. pgstat_report_query_id: mov MyBEEntry(%rip),%rax; test; je — probe the je.
    let j = 0;
    for (let n = skippable(bytes, j); n > 0 && j + n < bytes.length; n = skippable(bytes, j)) j += n;
    const next = j > 0 ? classify(bytes, j) : null;
    if (next?.fast) return { funcVaddr, ...at(funcVaddr + j), insn: next.insn, fast: true };
  }
  return { funcVaddr, ...at(funcVaddr), ...first };
}

const cache = new Map<string, ProbeSite>();

/** The probe site of an exported function of the binary. */
export function functionSite(elf: ElfFile, path: string, func: string): ProbeSite {
  const key = `${path}:${func}`;
  let site = cache.get(key);
  if (!site) {
    const sym = elf.findSymbol(func);
    if (!sym) throw new TargetError(`${path} does not export ${func}; this PostgreSQL build is not supported`);
    site = probeSite(elf, sym.value);
    cache.set(key, site);
  }
  return site;
}
