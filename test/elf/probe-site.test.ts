/** Probe sites: an instruction the kernel emulates, with argument registers intact. */
import { describe, expect, it } from 'vitest';
import { openElf, type ElfFile } from '../../src/elf/elf.js';
import { functionSite, probeSite } from '../../src/elf/probe-site.js';

const BINARY = '/usr/lib/postgresql/15/bin/postgres';

/** A tiny stand-in exposing just what probeSite reads. */
function fakeElf(bytes: number[]): ElfFile {
  const buf = Buffer.alloc(64, 0x90);
  Buffer.from(bytes).copy(buf);
  return { machine: 62, readAt: (v: number, n: number) => buf.subarray(v - 0x1000, v - 0x1000 + n), vaddrToOffset: (v: number) => v } as unknown as ElfFile;
}

describe('probeSite', () => {
  it('keeps a push %rbp entry', () => {
    expect(probeSite(fakeElf([0x55, 0x48, 0x89, 0xe5]), 0x1000)).toMatchObject({ vaddr: 0x1000, fast: true });
  });

  it('skips the two rip-relative leas of a scan wrapper and probes its jmp', () => {
    const wrapper = [0x48, 0x8d, 0x15, 1, 2, 3, 4, 0x48, 0x8d, 0x35, 5, 6, 7, 8, 0xe9, 0, 0, 0, 0];
    expect(probeSite(fakeElf(wrapper), 0x1000)).toMatchObject({ vaddr: 0x100e, insn: 'jmp rel32', fast: true });
  });

  it('skips a rip-relative load and a test to reach a conditional branch', () => {
    const code = [0x48, 0x8b, 0x05, 1, 2, 3, 4, 0x48, 0x85, 0xc0, 0x74, 0x4d];
    expect(probeSite(fakeElf(code), 0x1000)).toMatchObject({ vaddr: 0x100a, insn: 'jcc rel8', fast: true });
  });

  it('never skips a write to an argument register', () => {
    const loadsRdi = [0x48, 0x8b, 0x3d, 1, 2, 3, 4, 0x74, 0x00];
    expect(probeSite(fakeElf(loadsRdi), 0x1000)).toMatchObject({ vaddr: 0x1000, fast: false });
  });

  it('on the real PostgreSQL 15 binary', () => {
    const elf = openElf(BINARY);
    const at = (f: string) => { const s = functionSite(elf, BINARY, f); return [s.vaddr - s.funcVaddr, s.fast]; };
    expect(at('pgstat_report_query_id')).toEqual([0xa, true]);
    expect(at('ExecEndNode')).toEqual([3, true]);
    expect(at('ExecInitNode')).toEqual([0, true]);
    expect(at('standard_ExecutorRun')).toEqual([0, true]);
  });
});
