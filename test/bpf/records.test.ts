/** The TS decoders' struct layouts must equal the BTF of the compiled objects. */
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import {
  fnEventLayout, nodeDoneKeyLayout, nodeKeyLayout, nodeRecordLayout, opFrameLayout,
  stmtKeyLayout, stmtRecordLayout, textEventLayout, threadStateLayout,
} from '../../src/bpf/records.js';
import type { StructLayout } from '../../src/bpf/struct-layout.js';

const object = (name: string) => new URL(`../../bpf/.output/${name}.bpf.o`, import.meta.url).pathname;

interface BtfType { id: number; kind: string; name?: string; size?: number; members?: { name: string; bits_offset: number; type_id: number }[] }

function btfStructs(name: string): Map<string, BtfType> {
  const out = execFileSync('bpftool', ['btf', 'dump', 'file', object(name), '-j'], { encoding: 'utf8', maxBuffer: 64 << 20 });
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
  const btf = btfStructs('statements');
  it('stmt_key', () => expectMatches(stmtKeyLayout, btf));
  it('stmt_record', () => expectMatches(stmtRecordLayout, btf));
  it('text_event', () => expectMatches(textEventLayout, btf));
  it('thread_state', () => expectMatches(threadStateLayout, btf));
});

describe('struct layouts vs BTF of operators.bpf.o', () => {
  const btf = btfStructs('operators');
  it('thread_state (shared)', () => expectMatches(threadStateLayout, btf));
  it('op_frame', () => expectMatches(opFrameLayout, btf));
  it('node_key', () => expectMatches(nodeKeyLayout, btf));
  it('node_done_key', () => expectMatches(nodeDoneKeyLayout, btf));
  it('node_record', () => expectMatches(nodeRecordLayout, btf));
  it('fn_event', () => expectMatches(fnEventLayout, btf));
  it('frames hold OP_DEPTH op_frames', () => {
    expect(threadStateLayout.byName.get('frames')!.size).toBe(32 * opFrameLayout.size);
  });
});
