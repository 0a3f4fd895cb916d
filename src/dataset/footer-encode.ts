/**
 * The footer of an open Parquet file, encoded for its crash journal after
 * every drain. Encoding it whole costs ~0.37 ms per row group (thrift of every
 * column chunk's statistics): 22 ms per table per drain by the end of a 60-group
 * file, most of a drain's CPU. Row groups never change once written, so each
 * is encoded once; the footer is the fresh head (version, schema, num_rows),
 * the row-group list header, the cached groups and the fresh tail — the same
 * bytes as encoding it whole (test/dataset/footer-encode.test.ts). The bytes
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

/** How footers were made: assembled from cached groups, or whole (no group yet, or an encoding this code does not recognize). */
export const footerEncodings = { assembled: 0, whole: 0 };

/** The footer, with each row group encoded once in its life. */
export function encodeFooter(w: FooterFields): Uint8Array {
  if (w.row_groups.length === 0) {
    footerEncodings.whole++;
    return encode(w, []);
  }
  const empty = encode(w, []);
  const one = encode(w, [w.row_groups[0]!]);
  // The list header is the first byte where "no group" and "one group" differ; before it,
  // everything is the same, and after the group's bytes the rest is the same again.
  let at = 0;
  while (at < empty.length && empty[at] === one[at]) at++;
  const groupLength = one.length - empty.length;
  if (at >= empty.length || groupLength <= 0 || !sameTail(empty, one, at + 1, at + 1 + groupLength)) {
    footerEncodings.whole++;
    return encodeFooterWhole(w);
  }
  footerEncodings.assembled++;
  const groups = w.row_groups.map((rg, i) => {
    let bytes = encodedGroups.get(rg);
    if (!bytes) {
      const single = i === 0 ? one : encode(w, [rg]);
      bytes = single.slice(at + 1, at + 1 + single.length - empty.length);
      encodedGroups.set(rg, bytes);
    }
    return bytes;
  });
  const header = listHeader(groups.length);
  const size = at + header.length + groups.reduce((a, g) => a + g.length, 0) + empty.length - at - 1;
  const footer = new Uint8Array(size);
  footer.set(empty.subarray(0, at), 0);
  let pos = at;
  footer.set(header, pos);
  pos += header.length;
  for (const g of groups) {
    footer.set(g, pos);
    pos += g.length;
  }
  footer.set(empty.subarray(at + 1), pos);
  return footer;
}

function sameTail(empty: Uint8Array, one: Uint8Array, emptyFrom: number, oneFrom: number): boolean {
  if (empty.length - emptyFrom !== one.length - oneFrom) return false;
  for (let i = 0; emptyFrom + i < empty.length; i++) if (empty[emptyFrom + i] !== one[oneFrom + i]) return false;
  return true;
}
