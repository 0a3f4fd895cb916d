/**
 * Parquet compression codecs for hyparquet-writer. It bundles only a pure-JS
 * SNAPPY; GZIP and ZSTD come from native zlib, which is faster and, for GZIP
 * at level 1, ~30 % smaller than that SNAPPY on our rows (docs/parquet-writer.md).
 */
import zlib from 'node:zlib';
import { ConfigError } from '../util/errors.js';

export type Compression = 'ZSTD' | 'GZIP' | 'SNAPPY' | 'UNCOMPRESSED';

type Compressor = (input: Uint8Array) => Uint8Array;

// zlib.zstdCompressSync appeared in Node 22.15/23.8; @types/node 20 does not know it.
const zstd = (zlib as unknown as { zstdCompressSync?: Compressor }).zstdCompressSync;

/** ZSTD where this Node has it, else GZIP (Node 20). */
export function defaultCompression(): Compression {
  return zstd ? 'ZSTD' : 'GZIP';
}

/** The `compressors` option for ParquetWriter; throws ConfigError for ZSTD on a Node without it. */
export function compressorsFor(codec: Compression): { ZSTD?: Compressor; GZIP?: Compressor } {
  if (codec === 'GZIP') return { GZIP: (b) => zlib.gzipSync(b, { level: 1 }) };
  if (codec !== 'ZSTD') return {};
  if (!zstd) {
    throw new ConfigError(`ZSTD compression needs Node ≥ 22.15 (this is ${process.version}); use GZIP, SNAPPY or UNCOMPRESSED`);
  }
  return { ZSTD: (b) => zstd(b) };
}
