/**
 * Deterministic synthetic rows shaped like pgscout's per-statement table.
 * row(i) is a pure function of i, so the verifier can regenerate any row (or
 * all of them) without the writer process sending data back.
 *
 * Values are chosen to catch lossy writers: ns timestamps near 1.8e18 with odd
 * low bits (beyond 2^53), queryids spread over the full signed 64-bit range
 * including -2^63 and 2^63-1, nulls in most optional columns, unicode text.
 */

export const COLUMNS = [
  { name: 'seq', type: 'INT64', nullable: false },
  { name: 'start_ns', type: 'INT64', nullable: false },
  { name: 'end_ns', type: 'INT64', nullable: false },
  { name: 'duration_ns', type: 'INT64', nullable: false },
  { name: 'pid', type: 'INT32', nullable: false },
  { name: 'backend_xid', type: 'INT64', nullable: true },
  { name: 'queryid', type: 'INT64', nullable: false },
  { name: 'fingerprint', type: 'STRING', nullable: false },
  { name: 'normalized_query', type: 'STRING', nullable: false },
  { name: 'datname', type: 'STRING', nullable: false },
  { name: 'usename', type: 'STRING', nullable: false },
  { name: 'application_name', type: 'STRING', nullable: true },
  { name: 'command_tag', type: 'STRING', nullable: false },
  { name: 'rows', type: 'INT64', nullable: false },
  { name: 'shared_blks_hit', type: 'INT64', nullable: false },
  { name: 'shared_blks_read', type: 'INT64', nullable: false },
  { name: 'shared_blks_written', type: 'INT64', nullable: true },
  { name: 'temp_bytes', type: 'INT64', nullable: true },
  { name: 'cpu_user_ns', type: 'INT64', nullable: false },
  { name: 'cpu_sys_ns', type: 'INT64', nullable: false },
  { name: 'io_wait_ns', type: 'INT64', nullable: true },
  { name: 'lock_wait_ns', type: 'INT64', nullable: true },
  { name: 'plan_total_cost', type: 'DOUBLE', nullable: false },
  { name: 'plan_rows', type: 'DOUBLE', nullable: true },
  { name: 'cache_hit_ratio', type: 'DOUBLE', nullable: true },
  { name: 'is_prepared', type: 'BOOLEAN', nullable: false },
  { name: 'jit_used', type: 'BOOLEAN', nullable: true },
  { name: 'parallel_workers', type: 'INT32', nullable: true },
  { name: 'sqlstate', type: 'STRING', nullable: true },
];

const BASE_NS = 1_800_000_000_123_456_789n; // > 2^60, odd
const INT64_MAX = (1n << 63n) - 1n;
const INT64_MIN = -(1n << 63n);
const FINGERPRINTS = 600;

/** 32-bit integer hash (murmur3 finalizer); cheap, deterministic. */
export function mix(i, salt) {
  let h = Math.imul(i ^ Math.imul(salt, 0x27d4eb2d), 0x9e3779b1);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

const TABLES = ['orders', 'customers', 'line_items', 'pgbench_accounts', 'événements', 'stock'];
const COMMANDS = ['SELECT', 'SELECT', 'SELECT', 'INSERT', 'UPDATE', 'DELETE'];
const APPS = ['psql', 'pgbench', 'api-server', 'worker-日本', 'grafana 📈', 'pg_dump'];
const DBS = ['app', 'analytics', 'postgres'];
const USERS = ['app_rw', 'report_ro', 'postgres', 'batch'];
const SQLSTATES = ['40P01', '57014', '23505', '22012'];

/** Per-fingerprint constants, computed once: the strings repeat like real workloads. */
const templates = Array.from({ length: FINGERPRINTS }, (_, f) => {
  let queryid = BigInt.asIntN(64, (BigInt(mix(f, 11)) << 32n) | BigInt(mix(f, 12)));
  if (f === 0) queryid = INT64_MIN;
  if (f === 1) queryid = INT64_MAX;
  const table = TABLES[f % TABLES.length];
  const command = COMMANDS[f % COMMANDS.length];
  const cols = Array.from({ length: 2 + (f % 9) }, (_, k) => `c${(f + k) % 23}`).join(', ');
  const text =
    command === 'SELECT' ? `SELECT ${cols} FROM ${table} WHERE id = $1 AND status = $2 ORDER BY ${cols} LIMIT $3`
    : command === 'INSERT' ? `INSERT INTO ${table} (${cols}) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`
    : command === 'UPDATE' ? `UPDATE ${table} SET ${cols.split(', ')[0]} = $1 WHERE id = $2 /* naïve ✓ */`
    : `DELETE FROM ${table} WHERE created_at < $1`;
  return { queryid, fingerprint: BigInt.asUintN(64, queryid).toString(16).padStart(16, '0'), text, command };
});

export function row(i) {
  // skewed fingerprint choice: a few hot statements, a long tail
  const u = mix(i, 1) / 4294967296;
  const t = templates[i < 2 ? i : Math.floor(FINGERPRINTS * u * u * u)];
  const start = BASE_NS + BigInt(i) * 1237n + BigInt(mix(i, 2) & 1023);
  const duration = BigInt((mix(i, 3) % 50_000_000) + 1);
  const m4 = mix(i, 4);
  const m5 = mix(i, 5);
  const failed = m5 % 97 === 0;
  return {
    seq: BigInt(i),
    start_ns: start,
    end_ns: start + duration,
    duration_ns: duration,
    pid: 1000 + (m4 % 200),
    backend_xid: m4 % 3 === 0 ? null : BigInt(700_000 + i),
    queryid: t.queryid,
    fingerprint: t.fingerprint,
    normalized_query: t.text,
    datname: DBS[m4 % DBS.length],
    usename: USERS[m5 % USERS.length],
    application_name: m5 % 5 === 0 ? null : APPS[m4 % APPS.length],
    command_tag: t.command,
    rows: BigInt(m4 % 1000),
    shared_blks_hit: BigInt(m5 % 100_000),
    shared_blks_read: BigInt(m4 % 5_000),
    shared_blks_written: m4 % 10 === 0 ? null : BigInt(m5 % 50),
    temp_bytes: i === 7 ? INT64_MAX : m5 % 10 === 0 ? BigInt(m4) * 8192n : null,
    cpu_user_ns: BigInt(m4 % 30_000_000),
    cpu_sys_ns: BigInt(m5 % 5_000_000),
    io_wait_ns: m5 % 4 === 0 ? null : BigInt(m4 % 9_000_000),
    lock_wait_ns: m4 % 20 === 0 ? BigInt(m5) : null,
    plan_total_cost: m4 / 7.3,
    plan_rows: m5 % 6 === 0 ? null : Math.floor(m5 / 1000),
    cache_hit_ratio: m4 % 8 === 0 ? null : (m5 % 10_000) / 10_000,
    is_prepared: (m4 & 1) === 1,
    jit_used: m5 % 3 === 0 ? null : (m5 & 2) === 2,
    parallel_workers: m4 % 4 === 0 ? null : m5 % 5,
    sqlstate: failed ? SQLSTATES[m4 % SQLSTATES.length] : null,
  };
}

/** Rows [start, start+count) as an array (one batch; never the whole dataset). */
export function batch(start, count) {
  const out = new Array(count);
  for (let k = 0; k < count; k++) out[k] = row(start + k);
  return out;
}
