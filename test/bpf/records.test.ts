/** The TS decoders' struct layouts must equal the BTF of the compiled objects. */
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { stmtKeyLayout, stmtRecordLayout, textEventLayout, threadStateLayout } from '../../src/bpf/records.js';
import type { StructLayout } from '../../src/bpf/struct-layout.js';

const OBJECT = new URL('../../bpf/.output/statements.bpf.o', import.meta.url).pathname;

interface BtfType { id: number; kind: string; name?: string; size?: number; members?: { name: string; bits_offset: number; type_id: number }[] }

function btfStructs(): Map<string, BtfType> {
  const out = execFileSync('bpftool', ['btf', 'dump', 'file', OBJECT, '-j'], { encoding: 'utf8', maxBuffer: 64 << 20 });
  const types = (JSON.parse(out) as { types: BtfType[] }).types;
  return new Map(types.filter((t) => t.kind === 'STRUCT' && t.name).map((t) => [t.name!, t]));
}

function expectMatches(layout: StructLayout, btf: Map<string, BtfType>): void {
  const t = btf.get(layout.name);
  expect(t, `struct ${layout.name} in BTF`).toBeDefined();
  expect(layout.size).toBe(t!.size);
  expect(layout.fields.map((f) => [f.name, f.offset])).toEqual(t!.members!.map((m) => [m.name, m.bits_offset / 8]));
}

describe('struct layouts vs BTF of statements.bpf.o', () => {
  const btf = btfStructs();
  it('stmt_key', () => expectMatches(stmtKeyLayout, btf));
  it('stmt_record', () => expectMatches(stmtRecordLayout, btf));
  it('text_event', () => expectMatches(textEventLayout, btf));
  it('thread_state', () => expectMatches(threadStateLayout, btf));
});
