import { realpathSync } from 'node:fs';
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { discoverTarget, listBackendPids, readPpid, redactConninfo, SUPPORTED_MAJORS, toClientConfig } from '../../src/pg/target.js';
import { TargetError } from '../../src/util/errors.js';
import { useCluster } from '../helpers/cluster-fixture.js';

/** A port nothing listens on: bind, remember, close. */
async function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

describe('discoverTarget', () => {
  const db = useCluster();

  it('identifies the local postmaster, binary and version', async () => {
    const t = await discoverTarget(db.cluster.conninfo);
    expect(t.postmasterPid).toBe(db.cluster.postmasterPid);
    expect(t.binaryPath).toBe(realpathSync(`${db.cluster.binDir}/postgres`));
    expect(t.major).toBe(15);
    expect(SUPPORTED_MAJORS).toContain(t.major);
    expect(t.versionNum).toBeGreaterThanOrEqual(150000);
    expect(t.version).toMatch(/^15\./);
    expect(t.port).toBe(db.cluster.port);
    expect(realpathSync(t.dataDir)).toBe(realpathSync(db.cluster.dataDir));
    expect(t.computeQueryId).toBe('on');
    expect(t.pgssInstalled).toBe(true);
    expect(t.backendPid).toBeGreaterThan(0);
    const setting = async (name: string) => Number((await db.cluster.psql(`SHOW ${name}`)).trim());
    expect(t.maxBackends).toBe((await setting('max_connections')) + (await setting('autovacuum_max_workers')) + 1
      + (await setting('max_worker_processes')) + (await setting('max_wal_senders')));
    expect(t.conninfo).toBe(db.cluster.conninfo);
  });

  it('works over TCP too', async () => {
    const t = await discoverTarget(`postgresql://postgres@127.0.0.1:${db.cluster.port}/postgres`);
    expect(t.postmasterPid).toBe(db.cluster.postmasterPid);
  });

  it('lists the postmaster children', async () => {
    const pids = listBackendPids(db.cluster.postmasterPid);
    expect(pids.length).toBeGreaterThanOrEqual(3); // checkpointer, bgwriter, walwriter, ...
    // A short-lived child (an autovacuum worker) may exit between the two reads: it has no ppid then.
    const parents = pids.map(readPpid).filter((p) => p !== undefined);
    expect(parents.length).toBeGreaterThanOrEqual(3);
    for (const ppid of parents) expect(ppid).toBe(db.cluster.postmasterPid);
  });

  it('fails with a one-line TargetError on a closed port', async () => {
    const port = await closedPort();
    const err = await discoverTarget(`postgresql://postgres@127.0.0.1:${port}/postgres`).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TargetError);
    const msg = (err as Error).message;
    expect(msg).not.toContain('\n');
    expect(msg).toContain(`127.0.0.1:${port}`);
    expect(msg).toMatch(/ECONNREFUSED|refused/);
    expect(msg.length).toBeLessThan(300);
  });

  it('fails with a TargetError for a user that does not exist', async () => {
    const err = await discoverTarget(`host=${db.cluster.host} port=${db.cluster.port} user=nobody_here dbname=postgres`).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TargetError);
    expect((err as Error).message).toMatch(/nobody_here/);
  });

  it('accepts a libpq key=value conninfo', async () => {
    const t = await discoverTarget(`host=${db.cluster.host} port=${db.cluster.port} user=postgres dbname=postgres`);
    expect(t.postmasterPid).toBe(db.cluster.postmasterPid);
  });

  it('translates key=value conninfo for node-pg', () => {
    expect(toClientConfig("host=h port=5433 user=u dbname='my db' password='a\\'b' sslmode=require")).toEqual({
      host: 'h', port: 5433, user: 'u', database: 'my db', password: "a'b", ssl: { rejectUnauthorized: false },
    });
    expect(toClientConfig('postgresql://u@h/db')).toEqual({ connectionString: 'postgresql://u@h/db' });
    // As libpq: no TLS over a Unix socket, whatever sslmode (or PGSSLMODE) says.
    expect(toClientConfig('host=/tmp/s sslmode=require')).toEqual({ host: '/tmp/s', ssl: false });
    expect(toClientConfig('postgresql://u@%2Ftmp%2Fs:5433/db')).toEqual({ connectionString: 'postgresql://u@%2Ftmp%2Fs:5433/db', ssl: false });
    expect(toClientConfig('postgresql:///db?host=/tmp/s')).toEqual({ connectionString: 'postgresql:///db?host=/tmp/s', ssl: false });
    expect(() => toClientConfig('host=h port')).toThrow(/cannot parse connection string/);
  });

  it('redacts passwords in messages', () => {
    expect(redactConninfo('postgresql://u:secret@h:5432/db')).toBe('postgresql://u:***@h:5432/db');
    expect(redactConninfo('host=h password=secret user=u')).toBe('host=h password=*** user=u');
  });
});
