/** Turns decoded kernel records into rows of the statement tables. */
import { COUNTERS } from '../../bpf/perf.js';
import { STMT_FLAGS } from './abi.js';
import { BUFFER_FIELDS, WAL_FIELDS } from './sched-abi.js';
import type { Row } from '../../dataset/schema.js';
import type { QueryTextCache } from '../../query/text-cache.js';
import type { NameCache } from '../../pg/catalog.js';
import type { MonotonicToWall } from '../../util/clock.js';
import type { StmtRecord } from './source.js';
import { sampleWeight } from './agg-maps.js';

export function execId(pid: number, seq: number): bigint {
  return (BigInt(pid) << 32n) | BigInt(seq);
}

/** Adds the perf counter columns (null where the counter is not open) to `row`. */
function addCounterColumns(row: Row, rec: StmtRecord): void {
  for (let i = 0; i < COUNTERS.length; i++) {
    row[COUNTERS[i]!.name] = rec.counter_mask & (1 << i) ? BigInt.asIntN(64, rec.counters[i]!) : null;
  }
}

/** Adds the named columns of a u64 array (task counters, buffer / WAL usage) to `row`, as int64. */
export function addArrayColumns(row: Row, names: readonly string[], values: readonly bigint[]): void {
  for (let i = 0; i < names.length; i++) row[names[i]!] = BigInt.asIntN(64, values[i]!);
}

const i64 = (v: bigint) => BigInt.asIntN(64, v);

function outcome(flags: number): string | null {
  if (flags & STMT_FLAGS.ABORT) return 'abort';
  if (flags & STMT_FLAGS.COMMIT) return 'commit';
  return null;
}

export interface RowContext { clock: MonotonicToWall; texts: QueryTextCache; databases: NameCache }

export function isError(rec: StmtRecord): boolean {
  return (rec.flags & STMT_FLAGS.ERROR) !== 0;
}

export function statementRow(rec: StmtRecord, ctx: RowContext): Row {
  const text = rec.query_id ? ctx.texts.get(rec.query_id) : null;
  // One literal, then plain stores: every row gets the same hidden class and no temporaries.
  const row: Row = {
    exec_id: execId(rec.pid, rec.seq),
    query_id: rec.query_id ? i64(rec.query_id) : null,
    fingerprint: text?.fingerprint ?? null,
    query_text: text?.normalized ?? null,
    command: text?.command ?? null,
    database: ctx.databases.get(rec.dbid),
    pid: rec.pid,
    protocol: rec.flags & STMT_FLAGS.EXTENDED ? 'extended' : 'simple',
    stmt_index: rec.stmt_index,
    start_ns: ctx.clock.toWall(rec.start_ns),
    end_ns: ctx.clock.toWall(rec.end_ns),
    duration_ns: i64(rec.end_ns - rec.start_ns),
    parse_ns: rec.parse_ns,
    plan_ns: rec.plan_ns,
    execute_ns: rec.execute_ns,
    executor_ns: rec.executor_ns,
    on_cpu_ns: rec.on_cpu_ns,
    off_cpu_ns: rec.off_cpu_ns,
    runq_wait_ns: rec.runq_ns,
    cpu_clock_ns: rec.counter_mask & 1 ? rec.counters[0]! : null,
    voluntary_ctx_switches: rec.nvcsw,
    involuntary_ctx_switches: rec.nivcsw,
    cpu_migrations: BigInt(rec.cpu_migrations),
    rows: rec.flags & STMT_FLAGS.HAS_ROWS ? rec.rows : null,
    disk_read_bytes: rec.io_read_bytes,
    disk_write_bytes: rec.io_write_bytes,
    read_syscall_bytes: rec.rchar,
    write_syscall_bytes: rec.wchar,
    read_syscalls: rec.syscr,
    write_syscalls: rec.syscw,
    net_recv_bytes: rec.net_recv_bytes,
    net_send_bytes: rec.net_send_bytes,
    minor_faults: rec.minflt,
    major_faults: rec.majflt,
    xact_lxid: outcome(rec.flags) ? BigInt(rec.lxid) : null,
    xact_outcome: outcome(rec.flags),
    truncated: (rec.flags & STMT_FLAGS.TRUNCATED) !== 0,
    aborted: (rec.flags & STMT_FLAGS.ABORTED) !== 0,
    source: 'exact',
    sample_weight: sampleWeight(rec.sample_p32),
    user: null,
    coalesced: null,
  };
  addCounterColumns(row, rec);   // cpu_clock_ns among them (counter 0)
  addArrayColumns(row, BUFFER_FIELDS, rec.buf);
  addArrayColumns(row, WAL_FIELDS, rec.wal);
  return row;
}
