/**
 * uprobe_multi links through the raw bpf syscall (src/bpf/uprobe-multi.ts):
 * one link per program puts it on several functions of a real binary, entry
 * and return; every call is seen once, and closing the link removes all its
 * sites. The binary is a private copy of postgres (its own inode, so the
 * clusters other test files start do not hit these probes); `--version`
 * calls each of the three functions once.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { BpfObject } from '../../src/bpf/object.js';
import { BPF_TRACE_UPROBE_MULTI } from '../../src/bpf/uprobe-multi.js';
import { kernelHas } from '../../src/bpf/variants.js';
import { findBinDir } from '../../src/demo/cluster.js';
import { openElf } from '../../src/elf/elf.js';
import { functionSite } from '../../src/elf/probe-site.js';
import { describeBpf } from '../helpers/bpf-env.js';

const OBJECT = new URL('../../bpf/.output/test_uprobe_multi.bpf.o', import.meta.url).pathname;
const FUNCTIONS = ['get_progname', 'MemoryContextInit', 'set_pglocale_pgservice'];

describeBpf('uprobe_multi links', () => {
  let dir = '';
  let binary = '';
  let obj: BpfObject;

  const hits = (slot: number): bigint => {
    const key = Buffer.alloc(4);
    key.writeUInt32LE(slot);
    return obj.map('hits').lookup(key).readBigUInt64LE(0);
  };
  const runVersion = (times: number): void => {
    for (let i = 0; i < times; i++) execFileSync(binary, ['--version'], { stdio: 'ignore' });
  };

  beforeAll(() => {
    // The kernel declares the link type in its BTF: then the links must work (no skip).
    expect(kernelHas('uprobe_multi')).toBe(true);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgscout-uprobe-multi-'));
    binary = path.join(dir, 'postgres');
    fs.copyFileSync(path.join(findBinDir(), 'postgres'), binary);
    fs.chmodSync(binary, 0o755);
    obj = BpfObject.open(OBJECT);
    obj.setExpectedAttachType('entry_hit', BPF_TRACE_UPROBE_MULTI);
    obj.setExpectedAttachType('return_hit', BPF_TRACE_UPROBE_MULTI);
    obj.load();
  });

  afterAll(() => {
    obj?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('sees every call at entry and return through one link each, and nothing once closed', () => {
    const elf = openElf(binary);
    const offsets = FUNCTIONS.map((f) => functionSite(elf, binary, f).offset);
    expect(new Set(offsets).size).toBe(FUNCTIONS.length);
    const entry = obj.attachUprobeMulti('entry_hit', binary, offsets);
    const ret = obj.attachUprobeMulti('return_hit', binary, offsets, { retprobe: true });
    expect(obj.links).toHaveLength(2);

    runVersion(3);
    expect(hits(0)).toBe(BigInt(3 * FUNCTIONS.length));
    expect(hits(1)).toBe(BigInt(3 * FUNCTIONS.length));

    entry.close();
    ret.close();
    runVersion(2);
    expect(hits(0)).toBe(BigInt(3 * FUNCTIONS.length));
    expect(hits(1)).toBe(BigInt(3 * FUNCTIONS.length));
  });

  it('follows only the process it is given (pid filter)', () => {
    const before = hits(0);
    const elf = openElf(binary);
    const link = obj.attachUprobeMulti('entry_hit', binary, [functionSite(elf, binary, 'MemoryContextInit').offset], { pid: process.pid });
    runVersion(2);   // other processes: not followed
    expect(hits(0)).toBe(before);
    link.close();
  });

  it('fails with what is wrong: a missing binary, an offset outside it', () => {
    const tracked = obj.links.length;
    expect(() => obj.attachUprobeMulti('entry_hit', path.join(dir, 'missing'), [0x1000])).toThrow(/missing does not exist/);
    expect(() => obj.attachUprobeMulti('entry_hit', binary, [fs.statSync(binary).size + 0x1000])).toThrow(/uprobe_multi attach of 1 site/);
    expect(obj.links).toHaveLength(tracked);   // a failed attach leaves no link behind
  });
});
