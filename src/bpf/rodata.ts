/**
 * Writes `const volatile` globals of a BPF object before load. Variable
 * offsets come from the object's own BTF (the .rodata DATASEC), so nothing
 * is hand-copied from the C source.
 */
import koffi from 'koffi';
import { fn } from './libbpf.js';
import { PgscoutError } from '../util/errors.js';

const BTF_KIND_DATASEC = 15;

export interface RodataVar { offset: number; size: number }

function u32s(ptr: bigint, count: number): Uint32Array {
  return new Uint32Array(koffi.view(ptr, count * 4));
}

/** Map of variable name → offset/size inside the .rodata section. */
export function rodataLayout(obj: bigint): Map<string, RodataVar> {
  const btf = fn.object_btf(obj) as bigint | null;
  const vars = new Map<string, RodataVar>();
  if (!btf) return vars;
  const id = fn.btf_find_by_name_kind(btf, '.rodata', BTF_KIND_DATASEC) as number;
  if (id < 0) return vars;
  const header = u32s(fn.btf_type_by_id(btf, id) as bigint, 3);
  const vlen = header[1]! & 0xffff;
  const base = (fn.btf_type_by_id(btf, id) as bigint) + 12n;
  const secinfo = u32s(base, vlen * 3);
  for (let i = 0; i < vlen; i++) {
    const varType = u32s(fn.btf_type_by_id(btf, secinfo[i * 3]!) as bigint, 1);
    const name = fn.btf_name_by_offset(btf, varType[0]!) as string;
    vars.set(name, { offset: secinfo[i * 3 + 1]!, size: secinfo[i * 3 + 2]! });
  }
  return vars;
}

/** Scalars by size; a Buffer fills an array variable byte for byte. */
export type RodataValue = number | bigint | Buffer;

export function writeRodata(obj: bigint, values: Record<string, RodataValue>): void {
  const layout = rodataLayout(obj);
  const map = fn.find_map(obj, '.rodata') as bigint | null;
  if (!map) throw new PgscoutError('BPF object has no .rodata section to configure');
  const size = [0];
  const ptr = fn.map_initial_value(map, size) as bigint | null;
  if (!ptr) throw new PgscoutError('cannot access the .rodata of the BPF object');
  const view = new DataView(koffi.view(ptr, size[0]!));
  for (const [name, value] of Object.entries(values)) {
    const v = layout.get(name);
    if (!v) throw new PgscoutError(`BPF object has no read-only variable '${name}'`);
    if (Buffer.isBuffer(value)) {
      if (value.length !== v.size) throw new PgscoutError(`read-only variable '${name}' has ${v.size} bytes, got ${value.length}`);
      new Uint8Array(view.buffer, view.byteOffset + v.offset, v.size).set(value);
    } else if (v.size === 8) view.setBigUint64(v.offset, BigInt(value), true);
    else if (v.size === 4) view.setUint32(v.offset, Number(value), true);
    else if (v.size === 1) view.setUint8(v.offset, Number(value));
    else throw new PgscoutError(`read-only variable '${name}' has unsupported size ${v.size}`);
  }
}
