/**
 * Candidate Parquet writers (libraries are imported lazily so each child's
 * peak RSS only includes the library it measures), each fed the same rows in batches of BATCH rows
 * (as the sidecar would: rows arrive continuously, never all at once).
 * Each function writes `rows` rows to `file` and resolves when the file is closed.
 */
import { open } from 'node:fs/promises';
import zlib from 'node:zlib';
import { createRequire } from 'node:module';
import { COLUMNS, batch } from './statement-rows.mjs';
import { END_OF_STREAM, recordBatchMessage, schemaMessage } from './arrow-ipc.mjs';

export const BATCH = 65_536;

async function writeAll(fh, bytes) {
  let done = 0;
  while (done < bytes.length) {
    const { bytesWritten } = await fh.write(bytes, done, bytes.length - done);
    done += bytesWritten;
  }
}

function toColumns(rows) {
  return COLUMNS.map((c) => rows.map((r) => r[c.name]));
}

// ---- hyparquet-writer: one ParquetWriter per file, one write() per row group

// native zlib codecs (Node 20 has no zstd): Parquet's GZIP codec is a gzip stream
const NATIVE = {
  GZIP: (level) => (b) => zlib.gzipSync(b, { level }),
  BROTLI: (quality) => (b) => zlib.brotliCompressSync(b, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: quality } }),
};

async function hyparquet(file, rows, codec, level) {
  const { ByteWriter, ParquetWriter } = await import('hyparquet-writer');
  // ByteWriter whose buffer is drained to the file after every row group
  class FileSink extends ByteWriter {
    constructor(fh) {
      super(1 << 20);
      this.fh = fh;
    }
    async flush() {
      await writeAll(this.fh, this.getBytes());
      this.index = 0;
    }
    finish() {
      return this.flush();
    }
  }
  const fh = await open(file, 'w');
  const sink = new FileSink(fh);
  const schema = [
    { name: 'root', num_children: COLUMNS.length },
    ...COLUMNS.map((c) => ({
      name: c.name,
      type: c.type === 'STRING' ? 'BYTE_ARRAY' : c.type,
      ...(c.type === 'STRING' ? { converted_type: 'UTF8', logical_type: { type: 'STRING' } } : {}),
      repetition_type: c.nullable ? 'OPTIONAL' : 'REQUIRED',
    })),
  ];
  const compressors = NATIVE[codec] ? { [codec]: NATIVE[codec](level) } : {};
  const pq = new ParquetWriter({ writer: sink, schema, codec, compressors });
  for (let start = 0; start < rows; start += BATCH) {
    const n = Math.min(BATCH, rows - start);
    const cols = toColumns(batch(start, n));
    await pq.write({ columnData: COLUMNS.map((c, k) => ({ name: c.name, data: cols[k] })), rowGroupSize: n });
  }
  await pq.finish();
  await fh.close();
}

// ---- parquet-wasm: Arrow IPC per batch → RecordBatch stream → transformParquetStream

async function parquetWasm(file, rows, codec) {
  const pw = createRequire(import.meta.url)('parquet-wasm');
  const props = new pw.WriterPropertiesBuilder()
    .setCompression(pw.Compression[codec])
    .setMaxRowGroupSize(BATCH)
    .build();
  const schemaIpc = schemaMessage(COLUMNS);
  let start = 0;
  const source = new ReadableStream({
    pull(controller) {
      if (start >= rows) return controller.close();
      const n = Math.min(BATCH, rows - start);
      const cols = toColumns(batch(start, n));
      const msg = recordBatchMessage(COLUMNS.map((c, k) => ({ type: c.type, values: cols[k] })));
      const ipc = new Uint8Array(schemaIpc.length + msg.length + END_OF_STREAM.length);
      ipc.set(schemaIpc, 0);
      ipc.set(msg, schemaIpc.length);
      ipc.set(END_OF_STREAM, schemaIpc.length + msg.length);
      const table = pw.Table.fromIPCStream(ipc);
      controller.enqueue(table.recordBatch(0));
      table.free();
      start += n;
    },
  }, { highWaterMark: 1 });
  const out = await pw.transformParquetStream(source, props);
  const fh = await open(file, 'w');
  for await (const chunk of out) await writeAll(fh, chunk);
  await fh.close();
}

// ---- DuckDB: appender into an in-memory table, then COPY … TO parquet

const DUCK_TYPE = { INT64: 'BIGINT', INT32: 'INTEGER', DOUBLE: 'DOUBLE', BOOLEAN: 'BOOLEAN', STRING: 'VARCHAR' };

async function duckdb(file, rows, codec, roundTimestamps = false) {
  const { DuckDBInstance } = await import('@duckdb/node-api');
  const db = await DuckDBInstance.create(':memory:');
  const con = await db.connect();
  await con.run(`CREATE TABLE t (${COLUMNS.map((c) => `"${c.name}" ${DUCK_TYPE[c.type]}`).join(', ')})`);
  const app = await con.createAppender('t');
  const appendFns = COLUMNS.map((c) => ({
    INT64: (v) => app.appendBigInt(v),
    INT32: (v) => app.appendInteger(v),
    DOUBLE: (v) => app.appendDouble(v),
    BOOLEAN: (v) => app.appendBoolean(v),
    STRING: (v) => app.appendVarchar(v),
  })[c.type]);
  const names = COLUMNS.map((c) => c.name);
  for (let start = 0; start < rows; start += BATCH) {
    for (const r of batch(start, Math.min(BATCH, rows - start))) {
      for (let k = 0; k < names.length; k++) {
        const v = r[names[k]];
        if (v === null) app.appendNull();
        else appendFns[k](v);
      }
      app.endRow();
    }
  }
  app.closeSync();
  // control for the verifier: what a writer that goes through float64 does to ns timestamps
  if (roundTimestamps) await con.run('UPDATE t SET start_ns = start_ns::DOUBLE::BIGINT');
  await con.run(`COPY t TO '${file}' (FORMAT parquet, COMPRESSION ${codec}, ROW_GROUP_SIZE ${BATCH})`);
  con.closeSync();
  db.closeSync();
}

// ---- pgscout's own ParquetTableWriter (hyparquet-writer underneath), from the
// compiled tree: `npm run build:ts` first, or PGSCOUT_DIST=<dir> for another build

async function pgscout(file, rows, compression) {
  const dist = process.env.PGSCOUT_DIST ?? new URL('../../dist', import.meta.url).pathname;
  const { ParquetTableWriter } = await import(`${dist}/dataset/parquet-writer.js`);
  const { mkdtemp, rename, rm } = await import('node:fs/promises');
  const outDir = await mkdtemp(`${file}.d-`);
  const table = { name: 'queries', columns: COLUMNS.map((c) => ({ ...c, unit: '', source: 'bench', description: '' })) };
  const w = new ParquetTableWriter({ outDir, table, host: 'bench', compression, rowGroupRows: BATCH, maxFileRows: rows });
  for (let start = 0; start < rows; start += BATCH) await w.append(batch(start, Math.min(BATCH, rows - start)));
  await w.close();
  const [only] = w.listFiles();
  await rename(only, file);
  await rm(outDir, { recursive: true });
}

export const WRITERS = {
  'hyparquet-writer/snappy': (f, n) => hyparquet(f, n, 'SNAPPY'),
  'hyparquet-writer/none': (f, n) => hyparquet(f, n, 'UNCOMPRESSED'),
  'hyparquet-writer/gzip-1': (f, n) => hyparquet(f, n, 'GZIP', 1),
  'hyparquet-writer/gzip-6': (f, n) => hyparquet(f, n, 'GZIP', 6),
  'hyparquet-writer/brotli-3': (f, n) => hyparquet(f, n, 'BROTLI', 3),
  'parquet-wasm/zstd': (f, n) => parquetWasm(f, n, 'ZSTD'),
  'parquet-wasm/snappy': (f, n) => parquetWasm(f, n, 'SNAPPY'),
  'duckdb/zstd': (f, n) => duckdb(f, n, 'zstd'),
  'duckdb/snappy': (f, n) => duckdb(f, n, 'snappy'),
  'pgscout/GZIP': (f, n) => pgscout(f, n, 'GZIP'),
  'pgscout/SNAPPY': (f, n) => pgscout(f, n, 'SNAPPY'),
  'control/float64-rounding': (f, n) => duckdb(f, n, 'zstd', true),
};
