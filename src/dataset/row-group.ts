/**
 * One row group of a flat table appended to an open hyparquet-writer
 * ParquetWriter: numeric columns the buffer kept in typed arrays go through
 * writeTypedChunk(), the others (strings, booleans, all-null columns) through
 * hyparquet-writer's own column writer, with its dictionary and statistics.
 * The group is then recorded in the writer exactly as its write() would
 * (row_groups, num_rows, pendingIndexes), so finish() and the crash journal
 * see one kind of file.
 */
import type { ColumnChunk, CompressionCodec, SchemaElement } from 'hyparquet';
import type { ParquetWriter } from 'hyparquet-writer';
import { writeColumn } from 'hyparquet-writer/src/column.js';
import { LazyColumn, type EncodableColumn } from './column-buffer.js';
import { TYPED_CHUNKS, writeTypedChunk, type ChunkSink } from './typed-chunk.js';

type Compressor = (input: Uint8Array) => Uint8Array;
type ColumnWriterArgs = Parameters<typeof writeColumn>[0];

/**
 * The fields of ParquetWriter a row group touches, and a rollback after a
 * full disk (public in hyparquet-writer 0.17, undeclared in its types).
 */
export interface WriterInternals {
  writer: ChunkSink & { flush?: () => Promise<void> | void };
  schema: SchemaElement[];
  codec: CompressionCodec;
  compressors: Record<string, Compressor | undefined>;
  statistics: boolean;
  statisticsTruncateLength?: number;
  row_groups: { columns: ColumnChunk[]; total_byte_size: bigint; num_rows: bigint; total_compressed_size: bigint }[];
  num_rows: bigint;
  pendingIndexes: { chunk: ColumnChunk }[];
}

const PAGE_SIZE = 1 << 20;   // hyparquet-writer's default: the general path splits pages there

function compressorOf(pq: WriterInternals): Compressor | undefined {
  if (pq.codec === 'UNCOMPRESSED') return undefined;
  const compress = pq.compressors[pq.codec];
  if (!compress) throw new Error(`parquet no compressor for codec ${pq.codec}`);
  return compress;
}

/** Page data of a flat column for hyparquet-writer's column writer. */
function flatPage(element: SchemaElement, values: unknown[]): ColumnWriterArgs['pageData'] {
  const optional = element.repetition_type !== 'REQUIRED';
  const definitionLevels = optional ? values.map((v) => (v === null || v === undefined ? 0 : 1)) : [];
  return { values: values as ColumnWriterArgs['pageData']['values'], definitionLevels, repetitionLevels: [], maxDefinitionLevel: optional ? 1 : 0 };
}

function generalChunk(pq: WriterInternals, element: SchemaElement, data: EncodableColumn, rows: number): { chunk: ColumnChunk } {
  const values = data instanceof LazyColumn ? data.slice(0, rows) : data;
  const column = {
    columnName: element.name, element, schemaPath: [pq.schema[0]!, element], codec: pq.codec, compressors: pq.compressors,
    stats: pq.statistics, statisticsTruncateLength: pq.statisticsTruncateLength, pageSize: PAGE_SIZE,
    columnIndex: false, offsetIndex: true,
  } as unknown as ColumnWriterArgs['column'];
  return writeColumn({ writer: pq.writer as unknown as ColumnWriterArgs['writer'], column, pageData: flatPage(element, values as unknown[]) });
}

/**
 * Appends `rows` rows (`columns` in schema order, one per leaf of a flat
 * schema) as one row group; resolves when the writer has flushed them.
 */
export function writeRowGroup(writer: ParquetWriter, columns: readonly EncodableColumn[], rows: number): Promise<void> | void {
  const pq = writer as unknown as WriterInternals;
  const leaves = pq.schema.slice(1);
  if (leaves.length !== columns.length) throw new Error(`parquet row group has ${columns.length} columns, the schema ${leaves.length}`);
  const groupStart = pq.writer.offset;
  const chunks: ColumnChunk[] = [];
  columns.forEach((data, k) => {
    if (data.length !== rows) throw new Error('parquet columns must have the same length');
    const element = leaves[k]!;
    const result = TYPED_CHUNKS && data instanceof LazyColumn
      ? { chunk: writeTypedChunk(pq.writer, element, data, { codec: pq.codec, compress: compressorOf(pq), statistics: pq.statistics }) }
      : generalChunk(pq, element, data, rows);
    chunks.push(result.chunk);
    pq.pendingIndexes.push(result);
  });
  let totalBytes = 0n;
  for (const c of chunks) totalBytes += c.meta_data?.total_uncompressed_size ?? 0n;
  pq.num_rows += BigInt(rows);
  pq.row_groups.push({ columns: chunks, total_byte_size: totalBytes, num_rows: BigInt(rows), total_compressed_size: BigInt(pq.writer.offset - groupStart) });
  return pq.writer.flush?.();
}
