/**
 * --setup-instrumentation against a real server: auto_explain for new
 * sessions through ALTER SYSTEM, plan_nodes filled by plain statements, and
 * postgresql.auto.conf exactly as before at exit — also after a pgscout that
 * died without restoring (the next setup finds its state file and undoes it).
 */
import { expect, it } from 'vitest';
import { Collection } from '../../src/collect/collection.js';
import { collectConfig } from '../../src/config.js';
import { queryParquet, tableSource } from '../../src/dataset/read-back.js';
import { pgbenchInit } from '../../src/demo/workload.js';
import fs from 'node:fs';
import { setupInstrumentation, stateFile, wantedSettings } from '../../src/pg/instrumentation.js';
import { describeBpf } from '../helpers/bpf-env.js';
import { useCluster } from '../helpers/cluster-fixture.js';

const AUTO_CONF = "SELECT coalesce(string_agg(name || '=' || setting, ',' ORDER BY name), '') FROM pg_file_settings WHERE sourcefile LIKE '%postgresql.auto.conf'";

it('adds auto_explain to session_preload_libraries, keeping what is there, once', () => {
  expect(wantedSettings('', false).session_preload_libraries).toBe('auto_explain');
  expect(wantedSettings('pg_hint_plan', true).session_preload_libraries).toBe('pg_hint_plan, auto_explain');
  expect(wantedSettings('auto_explain, x', false).session_preload_libraries).toBe('auto_explain, x');
  expect(wantedSettings('', true)['auto_explain.log_timing']).toBe('on');
});

describeBpf('--setup-instrumentation', () => {
  let before = '';
  let during = '';
  let preloadAfter = '';
  const db = useCluster({
    outPrefix: 'pgscout-setup-instr-',
    setup: async (cluster, out) => {
      await pgbenchInit(cluster, 1);
      await cluster.psql("ALTER SYSTEM SET work_mem = '8MB'");   // an unrelated setting that must survive
      await cluster.psql('SELECT pg_reload_conf()');
      before = await cluster.psql(AUTO_CONF);
      const collection = await Collection.start(collectConfig({
        pg: cluster.conninfo, out, interval: '300ms', 'plan-nodes': true, 'setup-instrumentation': true,
      }));
      during = await cluster.psql(AUTO_CONF);
      for (let i = 0; i < 3; i++) await cluster.psql('SELECT bid, count(*) FROM pgbench_accounts GROUP BY bid ORDER BY 1');
      await new Promise((r) => setTimeout(r, 400));
      await collection.stop();
      preloadAfter = await cluster.psql('SHOW session_preload_libraries');
    },
  });

  it('instruments new sessions while collecting: their plan nodes are in the dataset', async () => {
    expect(during).toContain('session_preload_libraries=auto_explain');
    expect(during).toContain('auto_explain.log_analyze=on');
    const [r] = await queryParquet(`SELECT count(DISTINCT statement_id) AS n, max(rows) AS rows FROM ${tableSource(db.out, 'plan_nodes')}
        WHERE node_type = 'Seq Scan'`);
    expect(Number(r!.n)).toBeGreaterThanOrEqual(3);
    expect(Number(r!.rows)).toBe(100_000);
  });

  it('leaves postgresql.auto.conf as it was', () => {
    expect(before).toContain('work_mem=8MB');
    expect(before).not.toContain('auto_explain');
    expect(preloadAfter).toBe('');
  });

  it('undoes what a pgscout that died left behind, at the next setup', async () => {
    const first = await setupInstrumentation(db.cluster.conninfo);   // never restored: as if killed
    expect(first.changed.length).toBeGreaterThan(0);
    expect(await db.cluster.psql(AUTO_CONF)).toContain('auto_explain');
    const dir = await db.cluster.psql("SELECT current_setting('data_directory')");
    expect(fs.existsSync(stateFile(dir, db.cluster.port))).toBe(true);
    const second = await setupInstrumentation(db.cluster.conninfo);
    await second.restore();
    expect(await db.cluster.psql(AUTO_CONF)).toBe(before);
    expect(fs.existsSync(stateFile(dir, db.cluster.port))).toBe(false);
  });

  it('refuses a role that is not superuser, with one line saying what to do', async () => {
    await db.cluster.psql('CREATE ROLE plain LOGIN');
    const plain = db.cluster.conninfo.replace('postgres@', 'plain@');
    await expect(setupInstrumentation(plain)).rejects.toThrow(/needs a superuser connection/);
    expect(await db.cluster.psql(AUTO_CONF)).toBe(before);
  });
});
