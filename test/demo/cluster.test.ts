import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import pg from 'pg';
import { startCluster } from '../../src/demo/cluster.js';
import { useCluster } from '../helpers/cluster-fixture.js';

/** Gone, or a zombie: this VM's pid 1 reaps orphans lazily, so the daemonized postmaster can linger as Z. */
function processGone(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true;
  }
}

describe('throwaway cluster', () => {
  const db = useCluster({ settings: { work_mem: '8MB' } });

  it('runs SQL through psql with the requested settings', async () => {
    expect(await db.cluster.psql('SELECT 1 + 1')).toBe('2');
    expect(await db.cluster.psql('SHOW work_mem')).toBe('8MB');
    expect(await db.cluster.psql('SHOW compute_query_id')).toBe('on');
    expect(await db.cluster.psql('SHOW listen_addresses')).toBe('127.0.0.1');
    expect(await db.cluster.psql('SHOW unix_socket_directories')).toBe(db.cluster.host);
    expect(Number(await db.cluster.psql('SHOW port'))).toBe(db.cluster.port);
  });

  it('exposes a conninfo node-pg can use and a live postmaster pid', async () => {
    expect(existsSync(`/proc/${db.cluster.postmasterPid}`)).toBe(true);
    const client = new pg.Client({ connectionString: db.cluster.conninfo });
    await client.connect();
    const { rows } = await client.query('SELECT current_user AS u');
    await client.end();
    expect(rows[0].u).toBe('postgres');
  });

  it('has pg_stat_statements with query ids', async () => {
    await db.cluster.psql('CREATE TABLE t (a int); INSERT INTO t SELECT generate_series(1, 100)');
    await db.cluster.psql('SELECT count(*) FROM t WHERE a > 50');
    const out = await db.cluster.psql(
      "SELECT queryid, calls FROM pg_stat_statements WHERE query LIKE 'SELECT count(*) FROM t WHERE a > $1%'",
    );
    const [queryid, calls] = out.split('|');
    expect(BigInt(queryid)).not.toBe(0n);
    expect(Number(calls)).toBe(1);
  });

  it('turns psql errors into one-line TargetErrors', async () => {
    await expect(db.cluster.psql('SELECT * FROM no_such_table')).rejects.toThrow(/psql failed: .*no_such_table/);
  });

  it('stop() shuts the server down, removes the dir and is idempotent', async () => {
    const other = await startCluster({ preload: [] });
    expect(await other.psql("SELECT count(*) FROM pg_extension WHERE extname = 'pg_stat_statements'")).toBe('0');
    const pid = other.postmasterPid;
    const root = other.dataDir.replace(/\/data$/, '');
    await Promise.all([other.stop(), other.stop()]);
    await other.stop();
    expect(existsSync(root)).toBe(false);
    expect(processGone(pid)).toBe(true);
  });

  it('reports a failed start with the server log', async () => {
    await expect(startCluster({ preload: [], settings: { shared_buffers: 'nonsense' } })).rejects.toThrow(
      /failed to start.*shared_buffers/,
    );
  });
});
