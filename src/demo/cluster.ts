/**
 * Throwaway PostgreSQL clusters for tests and `pgscout demo`: initdb into
 * a temp dir, start on a free port with a private socket dir, tear down
 * on stop() or, as a safety net, when the process exits.
 */
import { execFile, execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, appendFileSync, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, TargetError } from '../util/errors.js';
import { logger } from '../util/log.js';

const log = logger('cluster');

export interface ClusterOptions {
  binDir?: string;
  settings?: Record<string, string>;
  /** shared_preload_libraries; default ['pg_stat_statements']. */
  preload?: string[];
  /** Parent of the temp dir; keep it short, socket paths are limited to 107 bytes. */
  baseDir?: string;
}

export interface Cluster {
  port: number;
  /** The unix socket directory (what libpq calls host). */
  host: string;
  dataDir: string;
  binDir: string;
  /** postgresql:// URI (socket dir percent-encoded as host) usable by node-pg, libpq and psql. */
  conninfo: string;
  /** The postmaster started last (a new one after restart()). */
  postmasterPid: number;
  stop(): Promise<void>;
  /**
   * pg_ctl restart -m fast: every backend ends, a new postmaster starts;
   * resolves once it accepts connections. `whileDown` runs between the stop
   * and the start (the server is down while it runs).
   */
  restart(whileDown?: () => Promise<void>): Promise<void>;
  /** Run SQL with psql; returns unaligned, tuples-only output without the final newline. */
  psql(sql: string, db?: string): Promise<string>;
}

const OS_USER = 'postgres';
const live = new Map<string, { dataDir: string; binDir: string; root: string; owner?: Owner }>();

interface Owner {
  uid: number;
  gid: number;
}

/** opts → $PGSCOUT_PG_BINDIR → newest /usr/lib/postgresql/<major>/bin. */
export function findBinDir(explicit?: string): string {
  const dir = explicit ?? process.env.PGSCOUT_PG_BINDIR ?? newestDebianBinDir();
  if (!dir || !existsSync(join(dir, 'initdb')) || !existsSync(join(dir, 'pg_ctl'))) {
    throw new ConfigError(
      `PostgreSQL server binaries not found${dir ? ` in ${dir}` : ''}; install postgresql or set PGSCOUT_PG_BINDIR`,
    );
  }
  return dir;
}

function newestDebianBinDir(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const majors = readdirSync(root)
    .filter((d) => /^\d+$/.test(d) && existsSync(join(root, d, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a));
  return majors.length ? join(root, majors[0], 'bin') : undefined;
}

/** PostgreSQL refuses to run as root, so as root we drop to the postgres OS user. */
function osOwner(): Owner | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const line = readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith(`${OS_USER}:`));
  if (!line) throw new ConfigError(`running as root but there is no '${OS_USER}' OS user to run PostgreSQL as; create it or run as a normal user`);
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

function command(owner: Owner | undefined, file: string, args: string[]): [string, string[]] {
  return owner ? ['runuser', ['-u', OS_USER, '--', file, ...args]] : [file, args];
}

function run(owner: Owner | undefined, cwd: string, file: string, args: string[]): Promise<string> {
  const [cmd, argv] = command(owner, file, args);
  return new Promise((resolve, reject) => {
    execFile(cmd, argv, { cwd, encoding: 'utf8', maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      if (err) reject(Object.assign(err, { stderr: String(stderr).trim() }));
      else resolve(stdout);
    });
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

function quote(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;
}

function confLines(port: number, sockDir: string, preload: string[], extra: Record<string, string>): string {
  const settings: Record<string, string> = {
    port: String(port),
    listen_addresses: '127.0.0.1',
    unix_socket_directories: sockDir,
    shared_preload_libraries: preload.join(','),
    compute_query_id: 'on',
    fsync: 'off',
    synchronous_commit: 'off',
    full_page_writes: 'off',
    ...(preload.includes('pg_stat_statements') ? { 'pg_stat_statements.track': 'top' } : {}),
    ...extra,
  };
  const body = Object.entries(settings).map(([k, v]) => `${k} = ${quote(v)}`);
  return `\n# pgscout throwaway cluster\n${body.join('\n')}\n`;
}

function logTail(logFile: string, lines = 15): string {
  try {
    return readFileSync(logFile, 'utf8').trim().split('\n').slice(-lines).join(' | ');
  } catch {
    return '(no server log)';
  }
}

export async function startCluster(opts: ClusterOptions = {}): Promise<Cluster> {
  const binDir = findBinDir(opts.binDir);
  const owner = osOwner();
  const preload = opts.preload ?? ['pg_stat_statements'];
  const root = mkdtempSync(join(opts.baseDir ?? tmpdir(), 'pgscout-pg-'));
  const dataDir = join(root, 'data');
  const sockDir = join(root, 'sock');
  const logFile = join(root, 'server.log');
  mkdirSync(sockDir);
  if (owner) for (const p of [root, sockDir]) chownSync(p, owner.uid, owner.gid);
  live.set(root, { dataDir, binDir, root, owner });
  try {
    await run(owner, root, join(binDir, 'initdb'), [
      '-D', dataDir, '-U', OS_USER, '-A', 'trust', '--no-sync', '-E', 'UTF8', '--locale=C',
    ]);
    const port = await startOnFreePort(owner, root, binDir, dataDir, logFile, (p) =>
      confLines(p, sockDir, preload, opts.settings ?? {}),
    );
    const cluster = makeCluster(root, dataDir, sockDir, binDir, port, owner);
    if (preload.includes('pg_stat_statements')) await cluster.psql('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
    log.info(`cluster up: pid ${cluster.postmasterPid} port ${port} data ${dataDir}`);
    return cluster;
  } catch (err) {
    stopSync(root);
    if (err instanceof TargetError || err instanceof ConfigError) throw err;
    const stderr = (err as { stderr?: string }).stderr;
    throw new TargetError(`could not set up a PostgreSQL cluster in ${root}: ${stderr || (err as Error).message}`, { cause: err });
  }
}

/** The probed port can be taken before the server binds it, so retry a few times. */
async function startOnFreePort(
  owner: Owner | undefined, root: string, binDir: string, dataDir: string, logFile: string,
  conf: (port: number) => string,
): Promise<number> {
  const confPath = join(dataDir, 'postgresql.conf');
  const original = readFileSync(confPath, 'utf8');
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    writeFileSync(confPath, original + conf(port));
    try {
      await run(owner, root, join(binDir, 'pg_ctl'), ['-D', dataDir, '-w', '-t', '60', '-l', logFile, 'start']);
      return port;
    } catch (err) {
      const tail = logTail(logFile);
      if (attempt < 3 && /could not bind|already in use/i.test(tail)) {
        appendFileSync(logFile, `\n# pgscout: port ${port} was taken, retrying\n`);
        continue;
      }
      throw new TargetError(`PostgreSQL failed to start (${binDir}/pg_ctl): ${tail}`, { cause: err });
    }
  }
}

function makeCluster(root: string, dataDir: string, sockDir: string, binDir: string, port: number, owner?: Owner): Cluster {
  const readPid = () => Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  let stopping: Promise<void> | undefined;
  const cluster: Cluster = {
    port,
    host: sockDir,
    dataDir,
    binDir,
    // A URI rather than key=value: node-pg's connectionString only understands URIs.
    conninfo: `postgresql://${OS_USER}@${encodeURIComponent(sockDir)}:${port}/postgres`,
    postmasterPid: readPid(),
    stop: () => (stopping ??= stopCluster(root)),
    restart: async (whileDown) => {
      const pgCtl = (...args: string[]) => run(owner, root, join(binDir, 'pg_ctl'), ['-D', dataDir, '-w', '-t', '60', ...args]);
      if (whileDown) {
        await pgCtl('-m', 'fast', 'stop');
        await whileDown();
        await pgCtl('-l', join(root, 'server.log'), 'start');
      } else {
        await pgCtl('-m', 'fast', '-l', join(root, 'server.log'), 'restart');
      }
      cluster.postmasterPid = readPid();
    },
    psql: async (sql, db = 'postgres') => {
      const out = await run(undefined, root, join(binDir, 'psql'), [
        '-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-h', sockDir, '-p', String(port), '-U', OS_USER, '-d', db, '-c', sql,
      ]).catch((err) => {
        throw new TargetError(`psql failed: ${(err as { stderr?: string }).stderr || (err as Error).message}`, { cause: err });
      });
      return out.replace(/\n$/, '');
    },
  };
  return cluster;
}

async function stopCluster(root: string): Promise<void> {
  const entry = live.get(root);
  if (!entry) return;
  try {
    await run(entry.owner, root, join(entry.binDir, 'pg_ctl'), ['-D', entry.dataDir, '-m', 'fast', '-w', 'stop']);
  } catch (err) {
    // Already down (crashed or killed by a test) is fine; the dir still goes.
    log.debug(`pg_ctl stop in ${entry.dataDir}: ${(err as { stderr?: string }).stderr ?? err}`);
  }
  rmSync(root, { recursive: true, force: true });
  live.delete(root);
}

function stopSync(root: string): void {
  const entry = live.get(root);
  if (!entry) return;
  if (existsSync(join(entry.dataDir, 'postmaster.pid'))) {
    const [cmd, argv] = command(entry.owner, join(entry.binDir, 'pg_ctl'), ['-D', entry.dataDir, '-m', 'immediate', '-w', 'stop']);
    try {
      execFileSync(cmd, argv, { cwd: root, stdio: 'ignore' });
    } catch {
      // Nothing more we can do at exit time.
    }
  }
  rmSync(root, { recursive: true, force: true });
  live.delete(root);
}

/** Synchronously stop every cluster this process started (for signal handlers). */
export function stopAllClustersSync(): void {
  for (const root of [...live.keys()]) stopSync(root);
}

// 'exit' handlers must be synchronous; this keeps tests and demos from leaking servers.
process.once('exit', stopAllClustersSync);
