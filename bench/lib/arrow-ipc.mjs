/**
 * Minimal Arrow IPC *stream* encoder for flat columns (Int32, Int64, Float64,
 * Bool, Utf8), so the benchmark can feed parquet-wasm without installing
 * apache-arrow. Only what the benchmark needs: no dictionaries, no nesting.
 *
 * Flatbuffers are laid out front-to-back (vtable, table, then children at
 * higher addresses) which keeps every uoffset positive, as the format requires.
 */

const TYPE_ID = { INT32: 2, INT64: 2, DOUBLE: 3, BOOLEAN: 6, STRING: 5 };
const MSG_SCHEMA = 1;
const MSG_RECORD_BATCH = 3;
const V5 = 4;

class Builder {
  constructor() {
    this.buf = new Uint8Array(4096);
    this.dv = new DataView(this.buf.buffer);
    this.pos = 0;
  }
  reserve(n) {
    if (this.pos + n > this.buf.length) {
      const next = new Uint8Array(Math.max(this.buf.length * 2, this.pos + n));
      next.set(this.buf);
      this.buf = next;
      this.dv = new DataView(next.buffer);
    }
    const at = this.pos;
    this.pos += n;
    return at;
  }
  align(n) {
    while (this.pos % n) this.buf[this.reserve(1)] = 0;
  }
  /** Align so that `pos + lead` is a multiple of `n` (vector bodies after a length prefix). */
  alignAfter(lead, n) {
    while ((this.pos + lead) % n) this.buf[this.reserve(1)] = 0;
  }
  patchOffset(slot, target) {
    this.dv.setUint32(slot, target - slot, true);
  }
  /**
   * fields: [{ id, kind: 'u8'|'bool'|'i16'|'i32'|'i64'|'off', value }] where
   * value for 'off' is a function writing the child and returning its position.
   */
  table(fields) {
    const size = { u8: 1, bool: 1, i16: 2, i32: 4, off: 4, i64: 8 };
    const ordered = [...fields].sort((a, b) => size[b.kind] - size[a.kind]);
    const layout = new Map();
    let cursor = 4; // soffset to vtable
    for (const f of ordered) {
      const s = size[f.kind];
      cursor = Math.ceil(cursor / s) * s;
      layout.set(f.id, cursor);
      cursor += s;
    }
    const tableSize = Math.ceil(cursor / 4) * 4;
    const slots = fields.reduce((m, f) => Math.max(m, f.id + 1), 0);
    const vtableSize = 4 + 2 * slots;
    // vtable directly before the table; table start 8-aligned for i64 fields
    this.align(2);
    this.alignAfter(vtableSize, 8);
    const vt = this.reserve(vtableSize);
    const tpos = this.reserve(tableSize);
    this.buf.fill(0, vt, tpos + tableSize);
    this.dv.setUint16(vt, vtableSize, true);
    this.dv.setUint16(vt + 2, tableSize, true);
    for (const [id, off] of layout) this.dv.setUint16(vt + 4 + 2 * id, off, true);
    this.dv.setInt32(tpos, tpos - vt, true);
    const children = [];
    for (const f of fields) {
      const at = tpos + layout.get(f.id);
      switch (f.kind) {
        case 'u8': case 'bool': this.dv.setUint8(at, Number(f.value)); break;
        case 'i16': this.dv.setInt16(at, f.value, true); break;
        case 'i32': this.dv.setInt32(at, f.value, true); break;
        case 'i64': this.dv.setBigInt64(at, BigInt(f.value), true); break;
        case 'off': children.push([at, f.value]); break;
      }
    }
    for (const [slot, write] of children) this.patchOffset(slot, write());
    return tpos;
  }
  string(s) {
    const bytes = new TextEncoder().encode(s);
    this.align(4);
    const at = this.reserve(4 + bytes.length + 1);
    this.dv.setUint32(at, bytes.length, true);
    this.buf.set(bytes, at + 4);
    this.buf[at + 4 + bytes.length] = 0;
    return at;
  }
  tableVector(writers) {
    this.align(4);
    const at = this.reserve(4 + 4 * writers.length);
    this.dv.setUint32(at, writers.length, true);
    writers.forEach((write, i) => this.patchOffset(at + 4 + 4 * i, write()));
    return at;
  }
  /** Vector of structs made of two int64 each (FieldNode, Buffer). */
  pairVector(pairs) {
    this.alignAfter(4, 8);
    const at = this.reserve(4 + 16 * pairs.length);
    this.dv.setUint32(at, pairs.length, true);
    pairs.forEach(([a, b], i) => {
      this.dv.setBigInt64(at + 4 + 16 * i, BigInt(a), true);
      this.dv.setBigInt64(at + 12 + 16 * i, BigInt(b), true);
    });
    return at;
  }
  finish(rootWriter) {
    const root = this.reserve(4);
    this.patchOffset(root, rootWriter());
    this.align(8);
    return this.buf.subarray(0, this.pos);
  }
}

function typeTable(b, type) {
  if (type === 'INT32' || type === 'INT64') {
    return b.table([{ id: 0, kind: 'i32', value: type === 'INT32' ? 32 : 64 }, { id: 1, kind: 'bool', value: true }]);
  }
  if (type === 'DOUBLE') return b.table([{ id: 0, kind: 'i16', value: 2 }]);
  return b.table([]); // Bool, Utf8 have no fields
}

function message(headerType, header, bodyLength) {
  const b = new Builder();
  return b.finish(() => b.table([
    { id: 0, kind: 'i16', value: V5 },
    { id: 1, kind: 'u8', value: headerType },
    { id: 2, kind: 'off', value: () => header(b) },
    { id: 3, kind: 'i64', value: bodyLength },
  ]));
}

function frame(meta, body) {
  const out = new Uint8Array(8 + meta.length + body.length);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, 0xffffffff, true);
  dv.setInt32(4, meta.length, true); // meta is already padded to 8
  out.set(meta, 8);
  out.set(body, 8 + meta.length);
  return out;
}

/** columns: [{ name, type, nullable }] */
export function schemaMessage(columns) {
  const meta = message(MSG_SCHEMA, (b) => b.table([
    { id: 1, kind: 'off', value: () => b.tableVector(columns.map((c) => () => b.table([
      { id: 0, kind: 'off', value: () => b.string(c.name) },
      { id: 1, kind: 'bool', value: c.nullable },
      { id: 2, kind: 'u8', value: TYPE_ID[c.type] },
      { id: 3, kind: 'off', value: () => typeTable(b, c.type) },
      { id: 5, kind: 'off', value: () => b.tableVector([]) },
    ]))) },
  ]), 0);
  return frame(meta, new Uint8Array(0));
}

const pad8 = (n) => Math.ceil(n / 8) * 8;

/** Encode one column's buffers: returns { nullCount, buffers: Uint8Array[] }. */
function encodeColumn(type, values) {
  const n = values.length;
  const validity = new Uint8Array(pad8(Math.ceil(n / 8)));
  let nullCount = 0;
  for (let i = 0; i < n; i++) {
    if (values[i] === null) nullCount++;
    else validity[i >> 3] |= 1 << (i & 7);
  }
  const bitmap = nullCount ? validity : new Uint8Array(0);
  if (type === 'INT64') {
    const a = new BigInt64Array(n);
    for (let i = 0; i < n; i++) if (values[i] !== null) a[i] = values[i];
    return { nullCount, buffers: [bitmap, new Uint8Array(a.buffer)] };
  }
  if (type === 'INT32' || type === 'DOUBLE') {
    const a = type === 'INT32' ? new Int32Array(n) : new Float64Array(n);
    for (let i = 0; i < n; i++) if (values[i] !== null) a[i] = values[i];
    return { nullCount, buffers: [bitmap, new Uint8Array(a.buffer)] };
  }
  if (type === 'BOOLEAN') {
    const bits = new Uint8Array(Math.ceil(n / 8));
    for (let i = 0; i < n; i++) if (values[i] === true) bits[i >> 3] |= 1 << (i & 7);
    return { nullCount, buffers: [bitmap, bits] };
  }
  // Utf8: int32 offsets + bytes
  const enc = new TextEncoder();
  const offsets = new Int32Array(n + 1);
  let data = new Uint8Array(n * 64);
  let len = 0;
  for (let i = 0; i < n; i++) {
    const s = values[i];
    if (s !== null) {
      if (data.length - len < s.length * 3) {
        const next = new Uint8Array(Math.max(data.length * 2, len + s.length * 3));
        next.set(data.subarray(0, len));
        data = next;
      }
      len += enc.encodeInto(s, data.subarray(len)).written;
    }
    offsets[i + 1] = len;
  }
  return { nullCount, buffers: [bitmap, new Uint8Array(offsets.buffer), data.subarray(0, len)] };
}

/** columnData: [{ type, values }] with equal lengths; returns one framed RecordBatch message. */
export function recordBatchMessage(columnData) {
  const length = columnData[0].values.length;
  const nodes = [];
  const specs = [];
  const parts = [];
  let offset = 0;
  for (const { type, values } of columnData) {
    const { nullCount, buffers } = encodeColumn(type, values);
    nodes.push([length, nullCount]);
    for (const buf of buffers) {
      specs.push([offset, buf.length]);
      parts.push([offset, buf]);
      offset += pad8(buf.length);
    }
  }
  const body = new Uint8Array(offset);
  for (const [at, buf] of parts) body.set(buf, at);
  const meta = message(MSG_RECORD_BATCH, (b) => b.table([
    { id: 0, kind: 'i64', value: length },
    { id: 1, kind: 'off', value: () => b.pairVector(nodes) },
    { id: 2, kind: 'off', value: () => b.pairVector(specs) },
  ]), offset);
  return frame(meta, body);
}

export const END_OF_STREAM = new Uint8Array([0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]);
