/**
 * Find out what we are attaching to: connect once with node-pg, read the
 * server's identity, then map it to a local postmaster process and binary.
 * eBPF can only see processes on this kernel, in our pid namespace.
 */
import { readdirSync, readFileSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { ConfigError, TargetError } from '../util/errors.js';
import { logger } from '../util/log.js';

const log = logger('target');

export const SUPPORTED_MAJORS: readonly number[] = [15];

export interface Target {
  conninfo: string;
  versionNum: number;
  version: string;
  major: number;
  postmasterPid: number;
  binaryPath: string;
  dataDir: string;
  port: number;
  computeQueryId: string;
  sharedPreloadLibraries: string;
  pgssInstalled: boolean;
  /** The backend that served discovery; it exits when discovery disconnects. */
  backendPid: number;
  /** PostgreSQL's MaxBackends: client backends, autovacuum, background workers and WAL senders at most alive at once. */
  maxBackends: number;
}

/** What the server reports about itself over SQL. */
type ServerFacts = Pick<Target, 'versionNum' | 'version' | 'dataDir' | 'port' | 'computeQueryId'
  | 'sharedPreloadLibraries' | 'pgssInstalled' | 'backendPid' | 'maxBackends'>;

const FACTS_SQL = `
  SELECT current_setting('server_version_num')::int AS version_num,
         current_setting('server_version') AS version,
         current_setting('data_directory') AS data_dir,
         current_setting('port')::int AS port,
         current_setting('compute_query_id') AS compute_query_id,
         current_setting('shared_preload_libraries') AS preload,
         EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_stat_statements') AS pgss,
         pg_backend_pid() AS backend_pid,
         current_setting('max_connections')::int + current_setting('autovacuum_max_workers')::int + 1
           + current_setting('max_worker_processes')::int + current_setting('max_wal_senders')::int AS max_backends`;

/** Hide the password when a DSN goes into an error message. */
export function redactConninfo(conninfo: string): string {
  return conninfo
    .replace(/(:\/\/[^:/@]*:)[^@]*@/, '$1***@')
    .replace(/(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)/i, '$1***');
}

const LIBPQ_KEYS: Record<string, keyof pg.ClientConfig> = {
  host: 'host', hostaddr: 'host', port: 'port', user: 'user', password: 'password',
  dbname: 'database', application_name: 'application_name',
};

/**
 * libpq accepts URIs and `key=value` strings; node-pg only URIs. Translate
 * the key=value form (values optionally single-quoted, \\ and \' escapes).
 */
export function toClientConfig(conninfo: string): pg.ClientConfig {
  if (/^postgres(ql)?:\/\//.test(conninfo)) return withSocketSsl({ connectionString: conninfo }, uriHost(conninfo));
  const config: Record<string, unknown> = {};
  const re = /\s*([A-Za-z_]+)\s*=\s*(?:'((?:[^'\\]|\\.)*)'|([^\s']+))\s*/y;
  let m: RegExpExecArray | null;
  let pos = 0;
  while (pos < conninfo.length && (m = re.exec(conninfo))) {
    pos = re.lastIndex;
    const [, key, quoted, bare] = m;
    const value = quoted !== undefined ? quoted.replace(/\\(.)/g, '$1') : bare;
    if (key in LIBPQ_KEYS) config[LIBPQ_KEYS[key]] = key === 'port' ? Number(value) : value;
    else if (key === 'sslmode') config.ssl = sslFor(value);
    else log.debug(`conninfo: ignoring ${key}`);
  }
  if (conninfo.slice(pos).trim()) {
    throw new ConfigError(`cannot parse connection string ${redactConninfo(conninfo)}; use key=value pairs or a postgresql:// URI`);
  }
  return withSocketSsl(config as pg.ClientConfig, typeof config.host === 'string' ? config.host : undefined);
}

/**
 * Over a Unix socket libpq ignores sslmode (PGSSLMODE=require included);
 * node-pg would ask the server for TLS there and fail. So no TLS on a socket.
 */
function withSocketSsl(config: pg.ClientConfig, host: string | undefined): pg.ClientConfig {
  return host?.startsWith('/') ? { ...config, ssl: false } : config;
}

/** The host of a postgresql:// URI, percent-decoded (a socket directory is written %2Ftmp…), or ?host=. */
function uriHost(uri: string): string | undefined {
  try {
    const url = new URL(uri);
    return url.searchParams.get('host') ?? (decodeURIComponent(url.hostname) || undefined);
  } catch {
    return undefined;
  }
}

function sslFor(mode: string): pg.ClientConfig['ssl'] {
  if (mode === 'disable' || mode === 'allow' || mode === 'prefer') return false;
  return mode === 'verify-full' || mode === 'verify-ca' ? true : { rejectUnauthorized: false };
}

/** Keep the session open while `fn` runs: the backend pid is only meaningful while it lives. */
async function withClient<T>(conninfo: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ ...toClientConfig(conninfo), connectionTimeoutMillis: 5000 });
  client.on('error', () => {}); // a late socket error must not crash the daemon
  try {
    await client.connect();
  } catch (err) {
    await client.end().catch(() => {});
    throw new TargetError(
      `cannot connect to PostgreSQL at ${redactConninfo(conninfo)}: ${oneLine(err)}; check that the server is running and the DSN (host, port, user, password) is right`,
      { cause: err },
    );
  }
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => {});
  }
}

async function readServerFacts(client: pg.Client, conninfo: string): Promise<ServerFacts> {
  try {
    const { rows } = await client.query(FACTS_SQL);
    const r = rows[0];
    return {
      versionNum: Number(r.version_num),
      version: String(r.version),
      dataDir: String(r.data_dir),
      port: Number(r.port),
      computeQueryId: String(r.compute_query_id),
      sharedPreloadLibraries: String(r.preload),
      pgssInstalled: Boolean(r.pgss),
      backendPid: Number(r.backend_pid),
      maxBackends: Number(r.max_backends),
    };
  } catch (err) {
    throw new TargetError(
      `connected to ${redactConninfo(conninfo)} but could not read server settings: ${oneLine(err)}; connect as a superuser or a member of pg_read_all_settings`,
      { cause: err },
    );
  }
}

function oneLine(err: unknown): string {
  const e = err as { message?: string; code?: string; errors?: Error[] };
  // node-pg surfaces a connection refused on several addresses as an AggregateError with an empty message.
  const msg = e.message || e.errors?.map((x) => x.message).join('; ') || e.code || String(err);
  return msg.split('\n')[0];
}

/** Field 4 of /proc/<pid>/stat; the comm field may contain spaces and parens. */
export function readPpid(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return undefined;
  }
}

/** Children of the postmaster: backends plus auxiliary processes (checkpointer, walwriter, ...). */
export function listBackendPids(postmasterPid: number): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (readPpid(pid) === postmasterPid) pids.push(pid);
  }
  return pids.sort((a, b) => a - b);
}

function notLocal(conninfo: string, why: string): TargetError {
  return new TargetError(
    `PostgreSQL at ${redactConninfo(conninfo)} is not on this machine (or in another pid namespace): ${why}; pgscout must run next to the server`,
  );
}

function findPostmaster(conninfo: string, facts: ServerFacts): { pid: number; binaryPath: string } {
  let pid: number;
  try {
    pid = Number(readFileSync(join(facts.dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  } catch {
    throw notLocal(conninfo, `cannot read ${facts.dataDir}/postmaster.pid`);
  }
  const ppid = readPpid(facts.backendPid);
  if (!Number.isInteger(pid) || pid <= 0 || readPpid(pid) === undefined) {
    throw notLocal(conninfo, `postmaster pid ${pid} from ${facts.dataDir}/postmaster.pid does not exist here`);
  }
  if (ppid !== pid) {
    // Same data dir path but a different server (e.g. a container with the same layout).
    throw notLocal(conninfo, `backend ${facts.backendPid} is not a child of postmaster ${pid}`);
  }
  try {
    return { pid, binaryPath: realpathSync(`/proc/${pid}/exe`) };
  } catch (err) {
    throw new TargetError(`cannot resolve /proc/${pid}/exe (${oneLine(err)}); run pgscout as root or with CAP_SYS_PTRACE`, { cause: err });
  }
}

export async function discoverTarget(conninfo: string): Promise<Target> {
  const { facts, postmaster } = await withClient(conninfo, async (client) => {
    const facts = await readServerFacts(client, conninfo);
    checkMajor(facts);
    return { facts, postmaster: findPostmaster(conninfo, facts) };
  });
  log.info(`target: PostgreSQL ${facts.version}, postmaster ${postmaster.pid}, binary ${postmaster.binaryPath}`);
  return {
    conninfo,
    versionNum: facts.versionNum,
    version: facts.version,
    major: majorOf(facts.versionNum),
    postmasterPid: postmaster.pid,
    binaryPath: postmaster.binaryPath,
    dataDir: facts.dataDir,
    port: facts.port,
    computeQueryId: facts.computeQueryId,
    sharedPreloadLibraries: facts.sharedPreloadLibraries,
    pgssInstalled: facts.pgssInstalled,
    backendPid: facts.backendPid,
    maxBackends: facts.maxBackends,
  };
}

function majorOf(versionNum: number): number {
  return Math.floor(versionNum / 10000);
}

function checkMajor(facts: ServerFacts): void {
  const major = majorOf(facts.versionNum);
  if (!SUPPORTED_MAJORS.includes(major)) {
    throw new TargetError(
      `PostgreSQL ${facts.version} (major ${major}) is not supported; supported major versions: ${SUPPORTED_MAJORS.join(', ')}`,
    );
  }
}
