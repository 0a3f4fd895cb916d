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
import pg from 'pg';
import { countInstrumentedBackends } from '../../src/pg/instrumented-backends.js';
import { discoverTarget, toClientConfig } from '../../src/pg/target.js';
import { describeBpf } from '../helpers/bpf-env.js';
import { useCluster } from '../helpers/cluster-fixture.js';

const AUTO_CONF = "SELECT coalesce(string_agg(name || '=' || setting, ',' ORDER BY name), '') FROM pg_file_settings WHERE sourcefile LIKE '%postgresql.auto.conf'";

it('adds auto_explain to session_preload_libraries, keeping what is there, once', () => {
  const opts = (timing: boolean, sampleRate = 1) => ({ timing, sampleRate });
  expect(wantedSettings('', opts(false)).session_preload_libraries).toBe('auto_explain');
  expect(wantedSettings('pg_hint_plan', opts(true)).session_preload_libraries).toBe('pg_hint_plan, auto_explain');
  expect(wantedSettings('auto_explain, x', opts(false)).session_preload_libraries).toBe('auto_explain, x');
  expect(wantedSettings('', opts(true))['auto_explain.log_timing']).toBe('on');
  expect(wantedSettings('', opts(false, 0.25))['auto_explain.sample_rate']).toBe('0.25');
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
        pg: cluster.conninfo, out, interval: '300ms', level: 'operator', 'setup-instrumentation': true, 'operator-timing': '1',
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
    const [t] = await queryParquet(`SELECT sum(calls) AS calls, sum(timed_calls) AS timed, sum(rows) AS rows
        FROM ${tableSource(db.out, 'plan_node_stats')} WHERE node_type = 'Seq Scan'`);
    expect(Number(t!.calls)).toBe(Number(r!.n));
    expect(Number(t!.timed)).toBe(Number(r!.n));
    expect(Number(t!.rows)).toBe(100_000 * Number(r!.n));
  });

  it('leaves postgresql.auto.conf as it was', () => {
    expect(before).toContain('work_mem=8MB');
    expect(before).not.toContain('auto_explain');
    expect(preloadAfter).toBe('');
  });

  it('undoes what a pgscout that died left behind, at the next setup', async () => {
    const first = await setupInstrumentation(db.cluster.conninfo, 1, 1);   // never restored: as if killed
    expect(first.changed.length).toBeGreaterThan(0);
    expect(await db.cluster.psql(AUTO_CONF)).toContain('auto_explain');
    const dir = await db.cluster.psql("SELECT current_setting('data_directory')");
    expect(fs.existsSync(stateFile(dir, db.cluster.port))).toBe(true);
    const second = await setupInstrumentation(db.cluster.conninfo, 1, 1);
    await second.restore();
    expect(await db.cluster.psql(AUTO_CONF)).toBe(before);
    expect(fs.existsSync(stateFile(dir, db.cluster.port))).toBe(false);
  });

  it('refuses a role that is not superuser, with one line saying what to do', async () => {
    await db.cluster.psql('CREATE ROLE plain LOGIN');
    const plain = db.cluster.conninfo.replace('postgres@', 'plain@');
    await expect(setupInstrumentation(plain, 1, 1)).rejects.toThrow(/needs a superuser connection/);
    expect(await db.cluster.psql(AUTO_CONF)).toBe(before);
  });

  it('counts the client backends that load auto_explain: sessions from after the setup only', async () => {
    const connect = async () => {
      const c = new pg.Client(toClientConfig(db.cluster.conninfo));
      await c.connect();
      return c;
    };
    const target = await discoverTarget(db.cluster.conninfo);
    const before = await connect();
    const inst = await setupInstrumentation(db.cluster.conninfo, 1, 1);
    const after = await connect();
    try {
      await before.query('SELECT 1');
      await after.query('SELECT 1');
      const n = countInstrumentedBackends(target.postmasterPid);
      expect(n.instrumented).toBe(1);
      expect(n.clients).toBeGreaterThanOrEqual(2);
    } finally {
      await before.end();
      await after.end();
      await inst.restore();
    }
  });

  it('--level operator on a server that does not instrument: one line saying how, nothing changed', async () => {
    const cfg = collectConfig({ pg: db.cluster.conninfo, out: `${db.out}-refused`, level: 'operator' });
    await expect(Collection.start(cfg)).rejects.toThrow(/^--level operator reads PostgreSQL's own per-node instrumentation.*--setup-instrumentation/);
    expect(await db.cluster.psql(AUTO_CONF)).toBe(before);
  });

  it('--sample sets auto_explain.sample_rate; --operator-timing switches log_timing in slices and leaves it as it was', async () => {
    const setting = async () => db.cluster.psql(
      "SELECT coalesce(string_agg(name || '=' || setting, ',' ORDER BY name), '') FROM pg_file_settings WHERE sourcefile LIKE '%postgresql.auto.conf' AND name IN ('auto_explain.log_timing', 'auto_explain.sample_rate')");
    const inst = await setupInstrumentation(db.cluster.conninfo, 0.25, 0.5);
    const seen = new Set<string>();
    // Slices of a 10 s period: 5 s on, 5 s off.
    const deadline = Date.now() + 12_000;
    while (Date.now() < deadline && seen.size < 2) {
      seen.add(await setting());
      await new Promise((r) => setTimeout(r, 250));
    }
    await inst.restore();
    expect([...seen].sort()).toEqual(['auto_explain.log_timing=off,auto_explain.sample_rate=0.25', 'auto_explain.log_timing=on,auto_explain.sample_rate=0.25']);
    expect(inst.timing!.switches).toBeGreaterThanOrEqual(1);
    expect(inst.timing!.failures).toBe(0);
    expect(await db.cluster.psql(AUTO_CONF)).toBe(before);
  }, 30_000);
});
