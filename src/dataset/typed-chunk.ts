/**
 * One numeric column chunk (INT64, INT32, DOUBLE) written straight from the
 * typed array the column buffer kept: one data page v2, PLAIN values (the
 * array's own little-endian bytes), RLE definition levels, statistics found
 * in one pass without a JS value per entry. hyparquet-writer's general path
 * makes a bigint or number per value and passes over each column five times
 * (range check, statistics, dictionary trial, levels, values): row groups
 * were most of the daemon's CPU at the default row budget
 * (docs/benchmarks.md, run G).
 */
import os from 'node:os';
import { ByteWriter } from 'hyparquet-writer';
import { writePageHeader } from 'hyparquet-writer/src/datapage.js';
import { writeRleBitPackedHybrid } from 'hyparquet-writer/src/encoding.js';
import type { ColumnChunk, CompressionCodec, SchemaElement } from 'hyparquet';

export type TypedValues = BigInt64Array | Float64Array | Int32Array;
type Compressor = (input: Uint8Array) => Uint8Array;

/** What the chunk is appended to (hyparquet-writer's Writer, in part). */
export interface ChunkSink { offset: number; appendBytes(bytes: Uint8Array): void }

/** PLAIN is little-endian: the typed array's bytes are the page only on a little-endian CPU. */
export const TYPED_CHUNKS = os.endianness() === 'LE';

interface Statistics { min_value?: bigint | number; max_value?: bigint | number; null_count: bigint; nan_count?: bigint }

/** Min and max of signed 64-bit values compared as (high int32, low uint32) pairs: no bigint per value. */
function int64Bounds(values: BigInt64Array): { min: bigint; max: bigint } {
  const words = new Int32Array(values.buffer, values.byteOffset, values.length * 2);
  let minHi = words[1]!, minLo = words[0]! >>> 0, maxHi = minHi, maxLo = minLo;
  for (let i = 2; i < words.length; i += 2) {
    const hi = words[i + 1]!, lo = words[i]! >>> 0;
    if (hi < minHi || (hi === minHi && lo < minLo)) { minHi = hi; minLo = lo; }
    if (hi > maxHi || (hi === maxHi && lo > maxLo)) { maxHi = hi; maxLo = lo; }
  }
  const join = (hi: number, lo: number) => (BigInt(hi) << 32n) | BigInt(lo);
  return { min: join(minHi, minLo), max: join(maxHi, maxLo) };
}

/** Statistics as hyparquet-writer keeps them (NaN skipped and counted, ±0 normalized as the spec says). */
function statistics(values: TypedValues, nulls: number): Statistics {
  const out: Statistics = { null_count: BigInt(nulls) };
  if (values.length === 0) return out;
  if (values instanceof BigInt64Array) {
    const { min, max } = int64Bounds(values);
    return { ...out, min_value: min, max_value: max };
  }
  let min = Infinity, max = -Infinity, nan = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (v !== v) { nan++; continue; }
    if (v < min) min = v;
    if (v > max) max = v;
  }
  if (values instanceof Float64Array) out.nan_count = BigInt(nan);
  if (min > max) return out;   // only NaN
  return { ...out, min_value: min === 0 ? -0 : min, max_value: max === 0 ? 0 : max };
}

/** The non-null values, in order (`nulls[i]` = 1 marks a null). */
function dense(values: TypedValues, nulls: Uint8Array, count: number): TypedValues {
  const out = new (values.constructor as new (n: number) => TypedValues)(values.length - count);
  let j = 0;
  for (let i = 0; i < values.length; i++) if (nulls[i] === 0) (out as Float64Array)[j++] = (values as Float64Array)[i]!;
  return out;
}

/** RLE/bit-packed definition levels (1 present, 0 null) of an optional flat column. */
function definitionLevels(length: number, nulls: Uint8Array | null): Uint8Array {
  const levels = new Uint8Array(length).fill(1);
  if (nulls) for (let i = 0; i < length; i++) levels[i] = 1 - nulls[i]!;
  const w = new ByteWriter();
  writeRleBitPackedHybrid(w, levels, 1);
  return w.getBytes();
}

/** How the chunk is written: the file's codec (`compress` absent for UNCOMPRESSED), statistics or not. */
export interface ChunkOptions { codec: CompressionCodec; compress: Compressor | undefined; statistics: boolean }

/** A column's values, its null marks (nulls[i] = 1; null: none) and how many there are (src/dataset/column-buffer.ts LazyColumn). */
export interface TypedColumnData { values: TypedValues; nulls: Uint8Array | null; nullCount: number }

/** Appends the chunk of the flat column `element` to `sink`. */
export function writeTypedChunk(sink: ChunkSink, element: SchemaElement, { values, nulls, nullCount }: TypedColumnData,
  { codec, compress, statistics: withStatistics }: ChunkOptions): ColumnChunk {
  const offsetStart = sink.offset;
  const optional = element.repetition_type !== 'REQUIRED';
  if (!optional && nullCount > 0) throw new Error(`parquet column ${element.name} is required but has ${nullCount} nulls`);
  const levels = optional ? definitionLevels(values.length, nulls) : new Uint8Array(0);
  const present = nullCount > 0 ? dense(values, nulls!, nullCount) : values;
  const plain = new Uint8Array(present.buffer, present.byteOffset, present.byteLength);
  const page = compress ? compress(plain) : plain;
  writePageHeader(sink as Parameters<typeof writePageHeader>[0], {
    type: 'DATA_PAGE_V2',
    uncompressed_page_size: levels.length + plain.length,
    compressed_page_size: levels.length + page.length,
    data_page_header_v2: {
      num_values: values.length, num_nulls: nullCount, num_rows: values.length, encoding: 'PLAIN',
      definition_levels_byte_length: levels.length, repetition_levels_byte_length: 0, is_compressed: compress !== undefined,
    },
  });
  const headerSize = sink.offset - offsetStart;
  sink.appendBytes(levels);
  sink.appendBytes(page);
  return {
    meta_data: {
      type: element.type!,
      encodings: ['PLAIN'],
      path_in_schema: [element.name],
      codec,
      num_values: BigInt(values.length),
      total_compressed_size: BigInt(sink.offset - offsetStart),
      total_uncompressed_size: BigInt(headerSize + levels.length + plain.length),
      data_page_offset: BigInt(offsetStart),
      statistics: withStatistics ? statistics(present, nullCount) as NonNullable<ColumnChunk['meta_data']>['statistics'] : undefined,
      encoding_stats: withStatistics ? [{ page_type: 'DATA_PAGE_V2', encoding: 'PLAIN', count: 1 }] : undefined,
    },
    file_offset: BigInt(offsetStart),
  };
}
