/**
 * Declarative C struct layouts for decoding BPF map values and ring buffer
 * records. Offsets follow C alignment rules; test/collectors/abi.test.ts checks
 * every layout against the BTF in the compiled .bpf.o.
 */
export type FieldType = 'u32' | 'u64' | { array: 'u64' | 'u32' | 'char'; length: number };

export interface FieldDef { name: string; type: FieldType }

export interface LaidOutField extends FieldDef { offset: number; size: number }

export interface StructLayout {
  name: string;
  fields: LaidOutField[];
  size: number;
  byName: Map<string, LaidOutField>;
}

function sizeAlign(type: FieldType): { size: number; align: number } {
  if (type === 'u32') return { size: 4, align: 4 };
  if (type === 'u64') return { size: 8, align: 8 };
  const elem = type.array === 'u64' ? 8 : type.array === 'u32' ? 4 : 1;
  return { size: elem * type.length, align: elem };
}

export function layoutStruct(name: string, defs: readonly FieldDef[]): StructLayout {
  let offset = 0;
  let maxAlign = 1;
  const fields: LaidOutField[] = [];
  for (const def of defs) {
    const { size, align } = sizeAlign(def.type);
    offset = Math.ceil(offset / align) * align;
    fields.push({ ...def, offset, size });
    offset += size;
    maxAlign = Math.max(maxAlign, align);
  }
  const size = Math.ceil(offset / maxAlign) * maxAlign;
  return { name, fields, size, byName: new Map(fields.map((f) => [f.name, f])) };
}

/** Decodes scalar and u64-array fields; char arrays are left to the caller. */
export function decodeStruct(layout: StructLayout, buf: Buffer, base = 0): Record<string, bigint | number | bigint[]> {
  const out: Record<string, bigint | number | bigint[]> = {};
  for (const f of layout.fields) {
    const at = base + f.offset;
    if (f.type === 'u32') out[f.name] = buf.readUInt32LE(at);
    else if (f.type === 'u64') out[f.name] = buf.readBigUInt64LE(at);
    else if (f.type.array === 'u64') {
      const values: bigint[] = [];
      for (let i = 0; i < f.type.length; i++) values.push(buf.readBigUInt64LE(at + i * 8));
      out[f.name] = values;
    }
  }
  return out;
}

type Decoded = Record<string, bigint | number | bigint[]>;

const views = new WeakMap<ArrayBuffer, { u64: BigUint64Array; u32: Uint32Array }>();

/** Typed views of the whole ArrayBuffer under `buf` (cached: no allocation per record); null if unaligned. */
function viewsOf(buf: Buffer): { u64: BigUint64Array; u32: Uint32Array } | null {
  if (buf.byteOffset % 8 !== 0) return null;
  let v = views.get(buf.buffer as ArrayBuffer);
  if (!v) {
    const whole = buf.buffer as ArrayBuffer;
    v = { u64: new BigUint64Array(whole, 0, Math.floor(whole.byteLength / 8)), u32: new Uint32Array(whole, 0, Math.floor(whole.byteLength / 4)) };
    views.set(whole, v);
  }
  return v;
}

/**
 * A decoder specialised for one layout: typed-array reads at fixed indexes
 * instead of a loop over field descriptors (the drain decodes every record,
 * so this is on the hot path). Little-endian hosts only; falls back to
 * decodeStruct for unaligned buffers.
 */
export function compileDecoder(layout: StructLayout): (buf: Buffer, base: number) => Decoded {
  const parts: string[] = [];
  for (const f of layout.fields) {
    if (f.type === 'u64') parts.push(`${JSON.stringify(f.name)}: u64[(b + ${f.offset}) >> 3]`);
    else if (f.type === 'u32') parts.push(`${JSON.stringify(f.name)}: u32[(b + ${f.offset}) >> 2]`);
    else if (f.type.array === 'u64') {
      const items = Array.from({ length: f.type.length }, (_, i) => `u64[(b + ${f.offset + i * 8}) >> 3]`);
      parts.push(`${JSON.stringify(f.name)}: [${items.join(', ')}]`);
    }
  }
  // eslint-disable-next-line no-new-func
  const fast = new Function('u64', 'u32', 'b', `return { ${parts.join(', ')} };`) as
    (u64: BigUint64Array, u32: Uint32Array, b: number) => Decoded;
  return (buf, base) => {
    const v = viewsOf(buf);
    const at = buf.byteOffset + base;
    return v && at % 8 === 0 ? fast(v.u64, v.u32, at) : decodeStruct(layout, buf, base);
  };
}
