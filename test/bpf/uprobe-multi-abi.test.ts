/**
 * The bpf_attr offsets src/bpf/uprobe-multi.ts writes for BPF_LINK_CREATE,
 * checked against this kernel's BTF (union bpf_attr → link_create →
 * uprobe_multi), so the hand-written table cannot drift from the kernel's.
 */
import fs from 'node:fs';
import koffi from 'koffi';
import { afterAll, describe, expect, it } from 'vitest';
import { fn } from '../../src/bpf/libbpf.js';
import { UPROBE_MULTI_ATTR } from '../../src/bpf/uprobe-multi.js';

const BTF_KIND_STRUCT = 4;
const BTF_KIND_UNION = 5;
const VMLINUX = '/sys/kernel/btf/vmlinux';

interface Member { name: string; type: number; bitOffset: number }

function header(btf: bigint, id: number): { kind: number; vlen: number; kflag: boolean; ptr: bigint } {
  const ptr = fn.btf_type_by_id(btf, id) as bigint;
  const info = new Uint32Array(koffi.view(ptr, 12))[1]!;
  return { kind: (info >>> 24) & 0x1f, vlen: info & 0xffff, kflag: info >>> 31 === 1, ptr };
}

function members(btf: bigint, id: number): Member[] {
  const t = header(btf, id);
  const raw = new Uint32Array(koffi.view(t.ptr + 12n, t.vlen * 12));
  return Array.from({ length: t.vlen }, (_, i) => ({
    name: fn.btf_name_by_offset(btf, raw[i * 3]!) as string,
    type: raw[i * 3 + 1]!,
    bitOffset: t.kflag ? raw[i * 3 + 2]! & 0xffffff : raw[i * 3 + 2]!,
  }));
}

/** A named member's byte offset and type, looking through anonymous structs and unions. */
function member(btf: bigint, id: number, name: string, base = 0): { offset: number; type: number } | null {
  for (const m of members(btf, id)) {
    const offset = base + m.bitOffset / 8;
    if (m.name === name) return { offset, type: m.type };
    const kind = header(btf, m.type).kind;
    if (!m.name && (kind === BTF_KIND_STRUCT || kind === BTF_KIND_UNION)) {
      const found = member(btf, m.type, name, offset);
      if (found) return found;
    }
  }
  return null;
}

const hasBtf = fs.existsSync(VMLINUX);
if (!hasBtf) console.warn(`SKIP uprobe_multi bpf_attr layout: ${VMLINUX} is missing (kernel without BTF)`);

(hasBtf ? describe : describe.skip)('uprobe_multi bpf_attr layout', () => {
  const btf = hasBtf ? (fn.btf_load_vmlinux() as bigint) : 0n;
  afterAll(() => {
    if (btf) fn.btf_free(btf);
  });

  it('matches union bpf_attr of this kernel, field for field', () => {
    const attr = fn.btf_find_by_name_kind(btf, 'bpf_attr', BTF_KIND_UNION) as number;
    expect(attr).toBeGreaterThan(0);
    const linkCreate = member(btf, attr, 'link_create')!;
    expect(linkCreate).not.toBeNull();
    const uprobeMulti = member(btf, linkCreate.type, 'uprobe_multi', linkCreate.offset)!;
    expect(uprobeMulti).not.toBeNull();
    const found: Record<string, number> = {
      prog_fd: member(btf, linkCreate.type, 'prog_fd', linkCreate.offset)!.offset,
      attach_type: member(btf, linkCreate.type, 'attach_type', linkCreate.offset)!.offset,
    };
    for (const field of ['path', 'offsets', 'cnt', 'flags', 'pid']) {
      found[field] = member(btf, uprobeMulti.type, field, uprobeMulti.offset)!.offset;
    }
    expect(found).toEqual({ ...UPROBE_MULTI_ATTR });
  });
});
