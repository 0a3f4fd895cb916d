import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { openElf } from '../../src/elf/elf.js';
import { checkUsdtProbes, listUsdtProbes, requiredUsdt } from '../../src/pg/probes.js';

const BIN = '/usr/lib/postgresql/15/bin/postgres';

interface ReadelfNote {
  provider: string;
  name: string;
  pc: number;
  base: number;
  semaphore: number;
  args: string;
}

/** Parse `readelf -n` stapsdt blocks as the independent ground truth. */
function readelfNotes(): ReadelfNote[] {
  const out = execFileSync('readelf', ['-n', '--wide', BIN], { encoding: 'utf8', maxBuffer: 64 << 20 });
  const notes: ReadelfNote[] = [];
  const re = /Provider: (\S+)\s+Name: (\S+)\s+Location: (0x[0-9a-f]+), Base: (0x[0-9a-f]+), Semaphore: (0x[0-9a-f]+)\s+Arguments: ?([^\n]*)/g;
  for (const m of out.matchAll(re)) {
    notes.push({
      provider: m[1], name: m[2], pc: Number(m[3]), base: Number(m[4]), semaphore: Number(m[5]), args: m[6].trim(),
    });
  }
  return notes;
}

function nmSymbols(): Map<string, { value: number; size: number; kind: string }> {
  const out = execFileSync('nm', ['-D', '--defined-only', '-S', BIN], { encoding: 'utf8', maxBuffer: 64 << 20 });
  const map = new Map<string, { value: number; size: number; kind: string }>();
  for (const line of out.split('\n')) {
    // nm appends symbol versions (`__environ@GLIBC_2.2.5`); .dynsym names carry none.
    const parts = line.trim().split(/\s+/).map((p, i, all) => (i === all.length - 1 ? p.split('@')[0] : p));
    if (parts.length === 4) map.set(parts[3], { value: parseInt(parts[0], 16), size: parseInt(parts[1], 16), kind: parts[2] });
    else if (parts.length === 3) map.set(parts[2], { value: parseInt(parts[0], 16), size: 0, kind: parts[1] });
  }
  return map;
}

describe('ElfFile on the Debian PostgreSQL 15 binary', () => {
  const elf = openElf(BIN);

  it('is a PIE with PT_LOAD segments and a .dynsym', () => {
    expect(elf.isPie).toBe(true);
    expect(elf.segments.filter((s) => s.type === 1).length).toBeGreaterThanOrEqual(2);
    expect(elf.section('.dynsym')).toBeDefined();
    expect(elf.section('.stapsdt.base')).toBeDefined();
  });

  it('caches per path', () => {
    expect(openElf(BIN)).toBe(elf);
  });

  it('finds exported symbols with the same values and sizes as nm -D', () => {
    const nm = nmSymbols();
    const names = ['pgstat_report_query_id', 'standard_ExecutorRun', 'ExecInitNode', 'MyProcPid', 'debug_query_string', 'MyBEEntry', 'MyProc'];
    for (const name of names) {
      const sym = elf.findSymbol(name);
      const ref = nm.get(name);
      expect(sym, name).toBeDefined();
      expect(ref, name).toBeDefined();
      expect(sym!.value, name).toBe(ref!.value);
      expect(sym!.size, name).toBe(ref!.size);
    }
    expect(elf.findSymbol('standard_ExecutorRun')!.type).toBe('FUNC');
    expect(elf.findSymbol('MyProcPid')!.type).toBe('OBJECT');
    expect(elf.findSymbol('no_such_symbol_xyz')).toBeUndefined();
  });

  it('has exactly the defined dynamic symbols nm -D lists', () => {
    const nm = nmSymbols();
    const defined = new Set(elf.symbols.filter((s) => s.shndx !== 0 && s.table === '.dynsym').map((s) => s.name));
    expect(defined.size).toBe(nm.size);
    for (const name of nm.keys()) expect(defined.has(name), name).toBe(true);
  });

  it('reads the same bytes at a function address as objdump', () => {
    const sym = elf.findSymbol('standard_ExecutorRun')!;
    const bytes = elf.readAt(sym.value, 8);
    const objdump = execFileSync('objdump', ['-d', `--start-address=${sym.value}`, `--stop-address=${sym.value + 8}`, BIN], { encoding: 'utf8' });
    const dumped = [...objdump.matchAll(/^\s*[0-9a-f]+:\t([0-9a-f ]+)\t/gm)].map((m) => m[1].trim()).join(' ');
    expect(dumped.split(' ').slice(0, 8).join(' ')).toBe([...bytes].map((b) => b.toString(16).padStart(2, '0')).join(' '));
    expect(() => elf.readAt(0x7fffffff0000, 4)).toThrow(RangeError);
  });

  it('parses the same stapsdt notes as readelf -n', () => {
    const ref = readelfNotes();
    const notes = elf.usdtNotes;
    expect(ref.length).toBeGreaterThan(60);
    expect(notes.length).toBe(ref.length);
    notes.forEach((n, i) => {
      expect({ provider: n.provider, name: n.name, pc: n.pc, base: n.base, semaphore: n.semaphore, args: n.args }).toEqual(ref[i]);
    });
  });

  it('gives every probe a semaphore inside .probes and file offsets', () => {
    const probes = elf.section('.probes')!;
    for (const n of elf.usdtNotes) {
      expect(n.semaphore, n.name).toBeGreaterThan(0);
      expect(n.semaphore).toBeGreaterThanOrEqual(probes.addr);
      expect(n.semaphore).toBeLessThan(probes.addr + probes.size);
      expect(n.pcOffset).toBeDefined();
      expect(n.semaphoreOffset).toBeDefined();
    }
  });
});

describe('USDT probe check', () => {
  it('finds all required probes in the Debian build', () => {
    const { present, missing } = checkUsdtProbes(BIN, requiredUsdt());
    expect(missing).toEqual([]);
    expect(present).toEqual(requiredUsdt());
    expect(present).toContain('query__start');
  });

  it('reports missing probes', () => {
    expect(checkUsdtProbes(BIN, ['query__start', 'no__such__probe'])).toEqual({
      present: ['query__start'],
      missing: ['no__such__probe'],
    });
  });

  it('only lists the postgresql provider', () => {
    expect(listUsdtProbes(BIN).every((n) => n.provider === 'postgresql')).toBe(true);
  });
});
