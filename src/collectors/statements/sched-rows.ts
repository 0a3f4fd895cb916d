/** Per-query aggregates → rows of `query_stats` (both sources); sampled executions: sample-rows.ts. */
import type { Row } from '../../dataset/schema.js';
import type { NameCache } from '../../pg/catalog.js';
import type { QueryTextCache } from '../../query/text-cache.js';
import type { MonotonicToWall } from '../../util/clock.js';
import { BUFFER_FIELDS, STMT_NHIST, TASK_FIELDS, WAL_FIELDS } from './sched-abi.js';
import { addArrayColumns } from './rows.js';
import type { StmtAggregate } from './agg-maps.js';
import { HISTOGRAM_COLUMNS } from './stats-table.js';

export interface SchedRowContext {
  clock: MonotonicToWall;
  texts: QueryTextCache;
  databases: NameCache;
  users: NameCache;
  /** Socket reads traced (--net-recv, or --exact): otherwise net_recv_bytes is null, not 0. */
  netRecv: boolean;
  /** Which source the aggregates come from: the default ('scheduler') or --exact. */
  source: 'scheduler' | 'exact';
  /** The role is known (not by the trap-based source, which reads the database only). */
  userKnown: boolean;
  /** Failed executions are told apart (--exact; the default source where ends are seen at ReadyForQuery). */
  errors: boolean;
}

const i64 = (v: bigint) => BigInt.asIntN(64, v);
const big = (v: unknown) => v as bigint;

const arr = (v: unknown) => v as bigint[];

/** Adds the query's identity columns (id, text, database, user) to `row`. */
function addIdentity(row: Row, queryId: bigint, dbid: number, userid: number, ctx: SchedRowContext): void {
  const text = queryId ? ctx.texts.get(queryId) : null;
  row.query_id = queryId ? i64(queryId) : null;
  row.fingerprint = text?.fingerprint ?? null;
  row.query_text = text?.normalized ?? null;
  row.command = text?.command ?? null;
  row.database = ctx.databases.get(dbid);
  row.user = ctx.users.get(userid);
}

/** Adds the task counter, buffer and WAL usage columns of a sample or aggregate to `row`. */
function addUsage(row: Row, g: Record<string, unknown>): void {
  addArrayColumns(row, TASK_FIELDS, arr(g.task));
  addArrayColumns(row, BUFFER_FIELDS, arr(g.buf));
  addArrayColumns(row, WAL_FIELDS, arr(g.wal));
}


export interface Interval { startNs: bigint; endNs: bigint }

export function aggregateRow(a: StmtAggregate, interval: Interval, ctx: SchedRowContext): Row {
  const g = a.agg;
  const hist = g.hist as bigint[];
  const calls = big(g.calls);
  const exact = ctx.source === 'exact';
  const row: Row = {
    interval_start: ctx.clock.toWall(interval.startNs),
    interval_end: ctx.clock.toWall(interval.endNs),
    toplevel: true,
    source: ctx.source,
    calls,
    // --exact sees every execution (nothing coalesced); the default source tells failures apart from
    // the reply at ReadyForQuery, not where ends are seen at switch-outs.
    coalesced: exact ? null : big(g.coalesced),
    errors: ctx.errors ? big(g.errors) : null,
    duration_ns: big(g.total_ns),
    min_duration_ns: calls ? big(g.min_ns) : 0n,
    max_duration_ns: big(g.max_ns),
    sumsq_duration_us2: Number(big(g.sumsq_us)),
    on_cpu_ns: big(g.on_cpu_ns),
    off_cpu_ns: big(g.off_cpu_ns),
    runq_wait_ns: big(g.runq_ns),
    rows: exact && big(g.rows_calls) > 0n ? big(g.rows) : null,
    net_recv_bytes: ctx.netRecv ? big(g.net_recv_bytes) : null,
    net_send_bytes: big(g.net_send_bytes),
    ...Object.fromEntries(HISTOGRAM_COLUMNS.map((col, i) => [col.name, i < STMT_NHIST ? hist[i]! : 0n])),
  };
  addIdentity(row, a.queryId, a.dbid, a.userid, ctx);
  if (!ctx.userKnown) row.user = null;
  addUsage(row, g);
  return row;
}
