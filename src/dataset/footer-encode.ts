/**
 * The footer of an open Parquet file, encoded for its crash journal after
 * every drain. Encoding it whole costs ~0.37 ms per row group (thrift of every
 * column chunk's statistics): 22 ms per table per drain by the end of a 60-group
 * file, most of a drain's CPU. Row groups never change once written, so each
 * is encoded once, and so is the schema (per file); the footer is the cached
 * head (version, schema), num_rows, the row-group list header, the cached
 * groups and the cached tail — the same bytes as encoding it whole
 * (test/dataset/footer-encode.test.ts). The bytes
 * are the FileMetaData thrift alone, without the length and magic that follow it.
 */
import { ByteWriter } from 'hyparquet-writer';
import { writeMetadata } from 'hyparquet-writer/src/metadata.js';

/** The parts of a ParquetWriter its footer is made of (its public fields). */
export interface FooterFields {
  schema: unknown[];
  row_groups: object[];
  num_rows: bigint;
  kvMetadata?: unknown[];
  createdBy: string;
  statisticsTruncateLength?: number;
}

const STRUCT = 12;   // TCompactProtocol element type of the row-group list

function encode(w: FooterFields, rowGroups: object[]): Uint8Array {
  const out = new ByteWriter();
  writeMetadata(out, {
    version: 2, created_by: w.createdBy, schema: w.schema, num_rows: w.num_rows, row_groups: rowGroups,
    key_value_metadata: w.kvMetadata,
  } as never, w.statisticsTruncateLength);
  // writeMetadata appends the footer's length: the journal holds the thrift only (publish adds
  // the length and the magic), and the assembly below needs both encodings to end alike.
  const bytes = new Uint8Array(out.getBuffer());
  return bytes.subarray(0, bytes.length - 4);
}

/** The whole footer, encoded from scratch. */
export function encodeFooterWhole(w: FooterFields): Uint8Array {
  return encode(w, w.row_groups);
}

function listHeader(n: number): number[] {
  if (n <= 14) return [(n << 4) | STRUCT];
  const bytes = [0xf0 | STRUCT];
  for (let v = n; ; v >>>= 7) {
    if (v < 0x80) { bytes.push(v); break; }
    bytes.push((v & 0x7f) | 0x80);
  }
  return bytes;
}

const encodedGroups = new WeakMap<object, Uint8Array>();

/**
 * Where a file's footer changes, found once per writer: the bytes before the
 * num_rows varint (version, schema: most of an empty footer), those between it
 * and the row-group list header, and the tail after that header. Encoding the
 * schema at every drain cost more than the row groups themselves.
 */
interface Layout {
  head: Uint8Array;      // up to the num_rows value
  middle: Uint8Array;    // after it, up to the list header
  tail: Uint8Array;      // after the list header
  kvMetadata: unknown;   // the footer is only reused while these stay the same
  createdBy: string;
  schema: unknown[];
}
const layouts = new WeakMap<object, Layout>();

/** How footers were made: assembled from cached groups, or whole (no group yet, or an encoding this code does not recognize). */
export const footerEncodings = { assembled: 0, whole: 0 };

/** The footer, with each row group encoded once in its life and the schema once per file. */
export function encodeFooter(w: FooterFields): Uint8Array {
  if (w.row_groups.length === 0) {
    footerEncodings.whole++;
    return encode(w, []);
  }
  const layout = layoutOf(w);
  if (!layout) {
    footerEncodings.whole++;
    return encodeFooterWhole(w);
  }
  footerEncodings.assembled++;
  const groups = w.row_groups.map((rg) => groupBytes(w, rg, layout));
  const rows = varint(zigzag(BigInt(w.num_rows)));
  const header = listHeader(groups.length);
  const size = layout.head.length + rows.length + layout.middle.length + header.length +
    groups.reduce((a, g) => a + g.length, 0) + layout.tail.length;
  const footer = new Uint8Array(size);
  let pos = 0;
  for (const part of [layout.head, rows, layout.middle, header, ...groups, layout.tail]) {
    footer.set(part, pos);
    pos += part.length;
  }
  return footer;
}

/** The cached layout of w's footer, found (and checked) on first use; null when the encoding is not the one expected. */
function layoutOf(w: FooterFields): Layout | null {
  const cached = layouts.get(w);
  if (cached && cached.kvMetadata === w.kvMetadata && cached.createdBy === w.createdBy && cached.schema === w.schema) return cached;
  const at = { ...w, num_rows: 0n };
  const zero = encode(at, []);
  const one = encode({ ...w, num_rows: 1n }, []);
  // num_rows 0 and 1 are the one-byte varints 0x00 and 0x02: the first byte that differs is the value.
  let v = 0;
  while (v < zero.length && zero[v] === one[v]) v++;
  if (v >= zero.length || zero.length !== one.length || zero[v] !== 0 || one[v] !== 2 || !sameTail(zero, one, v + 1, v + 1)) return null;
  const withGroup = encode(at, [w.row_groups[0]!]);
  // The list header is the first byte where "no group" and "one group" differ.
  let h = v + 1;
  while (h < zero.length && zero[h] === withGroup[h]) h++;
  const groupLength = withGroup.length - zero.length;
  if (h >= zero.length || groupLength <= 0 || !sameTail(zero, withGroup, h + 1, h + 1 + groupLength)) return null;
  const layout: Layout = {
    head: zero.slice(0, v), middle: zero.slice(v + 1, h), tail: zero.slice(h + 1),
    kvMetadata: w.kvMetadata, createdBy: w.createdBy, schema: w.schema,
  };
  encodedGroups.set(w.row_groups[0]!, withGroup.slice(h + 1, h + 1 + groupLength));
  layouts.set(w, layout);
  return layout;
}

/** One row group's bytes in the list, encoded once. */
function groupBytes(w: FooterFields, rg: object, layout: Layout): Uint8Array {
  let bytes = encodedGroups.get(rg);
  if (!bytes) {
    const single = encode({ ...w, num_rows: 0n }, [rg]);
    const start = layout.head.length + 1 + layout.middle.length + 1;
    bytes = single.slice(start, single.length - layout.tail.length);
    encodedGroups.set(rg, bytes);
  }
  return bytes;
}

function zigzag(n: bigint): bigint {
  return n >= 0n ? n << 1n : ((-n) << 1n) - 1n;
}

function varint(n: bigint): number[] {
  const bytes: number[] = [];
  for (let v = n; ; v >>= 7n) {
    if (v < 0x80n) { bytes.push(Number(v)); break; }
    bytes.push(Number(v & 0x7fn) | 0x80);
  }
  return bytes;
}

function sameTail(empty: Uint8Array, one: Uint8Array, emptyFrom: number, oneFrom: number): boolean {
  if (empty.length - emptyFrom !== one.length - oneFrom) return false;
  for (let i = 0; emptyFrom + i < empty.length; i++) if (empty[emptyFrom + i] !== one[oneFrom + i]) return false;
  return true;
}
