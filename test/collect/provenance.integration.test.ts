/**
 * Provenance (issue 11): every Parquet file's key-value metadata, read back by
 * DuckDB; run_id on every row; `_runs/<run_id>.json` with the run's end; the
 * values checked against the server and this machine.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, it } from 'vitest';
import { Collection, type CollectionSummary } from '../../src/collect/collection.js';
import { DATASET_SCHEMA_VERSION, readRunRecords } from '../../src/collect/provenance.js';
import { collectConfig } from '../../src/config.js';
import { summarize } from '../../src/cli/summary.js';
import { queryParquet, sqlString } from '../../src/dataset/read-back.js';
import { describeBpf } from '../helpers/bpf-env.js';
import { useCluster } from '../helpers/cluster-fixture.js';
import { listFiles, readTable } from '../helpers/dataset.js';

describeBpf('provenance of a dataset', () => {
  let summary: CollectionSummary;
  let serverVersion = '';
  let workMem = '';

  const db = useCluster({
    outPrefix: 'pgscout-prov-',
    setup: async (cluster, out) => {
      const collection = await Collection.start(collectConfig({ pg: cluster.conninfo, out, interval: '200ms', exact: true, phases: true }));
      for (let i = 0; i < 20; i++) await cluster.psql(`SELECT count(*) FROM generate_series(1, ${1000 + i})`);
      serverVersion = (await cluster.psql('SHOW server_version')).trim();
      workMem = (await cluster.psql("SELECT setting || ' ' || unit FROM pg_settings WHERE name = 'work_mem'")).trim();
      summary = await collection.stop();
    },
  });

  const parquetFiles = () => listFiles(db.out).filter((f) => f.endsWith('.parquet')).map((f) => path.join(db.out, f));

  it('writes _runs/<run_id>.json with the run, its end, rows and drops', () => {
    const runs = readRunRecords(db.out);
    expect(runs).toHaveLength(1);
    const run = runs[0]!;
    expect(run.run_id).toMatch(/^\d{8}T\d{6}-[0-9a-f]{8}$/);
    expect(run.postgres_version).toBe(serverVersion);
    expect(run.postgres_settings.work_mem).toBe(workMem);
    expect(run.kernel_release).toBe(os.release());
    expect(run.dataset_schema_version).toBe(DATASET_SCHEMA_VERSION);
    expect(run.pgscout_version).toBe(JSON.parse(fs.readFileSync('package.json', 'utf8')).version);
    expect(run.ended_at! >= run.started_at).toBe(true);
    expect(run.rows!.queries).toBe(summary.rows.queries);
    expect(run.records_dropped).toBe(0);
    expect(run.counters_available.length + run.counters_unavailable.length).toBeGreaterThan(0);
    // The trap-based source (--phases) without --cpu-clock: the hardware counters the kernel has, never the software clock.
    expect(run.counters_collected).toEqual(run.counters_available.filter((c: string) => c !== 'cpu_clock_ns'));
    expect(run.sampling.statement_rows_per_s).toBe(500);
  });

  it('puts the same provenance in every Parquet file, readable by DuckDB', async () => {
    const [run] = readRunRecords(db.out);
    const files = parquetFiles();
    expect(files.length).toBeGreaterThanOrEqual(2);
    for (const f of files) {
      const kv = await queryParquet(`SELECT decode(key) AS k, decode(value) AS v FROM parquet_kv_metadata(${sqlString(f)})`);
      const get = (k: string) => kv.find((r) => r.k === k)?.v as string | undefined;
      const prov = JSON.parse(get('pgscout.provenance')!);
      expect(prov.run_id).toBe(run!.run_id);
      expect(get('pgscout.postgres_version')).toBe(serverVersion);
      expect(get('pgscout.kernel_release')).toBe(os.release());
      expect(JSON.parse(get('pgscout.postgres_settings')!).work_mem).toBe(workMem);
      expect(get('pgscout.records_dropped_in_span')).toBe('0');
    }
  });

  it('gives every row the run_id', async () => {
    const [run] = readRunRecords(db.out);
    for (const table of ['queries', 'query_stats']) {
      const rows = await readTable(db.out, table);
      expect(rows.length).toBeGreaterThan(0);
      expect(new Set(rows.map((r) => r.run_id))).toEqual(new Set([run!.run_id]));
    }
  });

  it('summary prints the provenance', async () => {
    const [run] = readRunRecords(db.out);
    const text = await summarize(db.out);
    expect(text).toContain(`run ${run!.run_id}`);
    expect(text).toContain(`PostgreSQL ${serverVersion}`);
    expect(text).toContain(`work_mem=${workMem}`);
  });
});
