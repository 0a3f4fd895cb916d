/**
 * Run-time addresses of the server binary's globals. Backends fork from the
 * postmaster without exec, so the postmaster's load base holds for all.
 */
import fs from 'node:fs';
import { openElf, PT_LOAD } from './elf.js';
import { TargetError } from '../util/errors.js';

/** Start address of the binary's first mapping (file offset 0) in `pid`. */
export function loadBase(pid: number, binaryPath: string): bigint {
  const real = fs.realpathSync(binaryPath);
  const maps = fs.readFileSync(`/proc/${pid}/maps`, 'utf8').split('\n');
  for (const line of maps) {
    const parts = line.trim().split(/\s+/);
    if (parts.length < 6 || parts[2] !== '00000000') continue;
    if (parts[5] !== real && parts[5] !== binaryPath) continue;
    const start = BigInt(`0x${parts[0]!.split('-')[0]}`);
    const elf = openElf(real);
    const first = elf.segments.filter((s) => s.type === PT_LOAD).sort((a, b) => a.vaddr - b.vaddr)[0];
    // Non-PIE binaries are mapped at their link address: base 0.
    return elf.isPie ? start - BigInt(first ? first.vaddr & ~0xfff : 0) : 0n;
  }
  throw new TargetError(`cannot find ${binaryPath} in /proc/${pid}/maps; is pid ${pid} the PostgreSQL server?`);
}

/** Address of an exported global (e.g. debug_query_string) in the server's processes. */
export function globalAddress(pid: number, binaryPath: string, symbol: string): bigint {
  const sym = openElf(binaryPath).findSymbol(symbol);
  if (!sym) throw new TargetError(`${binaryPath} does not export ${symbol}; this PostgreSQL build is not supported`);
  return loadBase(pid, binaryPath) + BigInt(sym.value);
}
