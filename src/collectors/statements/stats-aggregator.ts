/**
 * query_stats for --exact: the exact source hands over every execution, so
 * its rows are summed here, per drain interval, with the same columns and
 * histogram buckets the kernel uses for the default source.
 */
import type { Row } from '../../dataset/schema.js';
import { STMT_NHIST } from './sched-abi.js';
import { HISTOGRAM_COLUMNS, QUERY_STATS_COLUMNS } from './stats-table.js';

/** Columns summed from `queries` rows of the same name (null stays null only if every value is null). */
const SUMMED = QUERY_STATS_COLUMNS.filter((c) => c.source.startsWith('sum of queries.') || c.source.startsWith('delta of'))
  .map((c) => c.name);

/** Histogram bucket of a duration, as bpf/stmt_sched.bpf.c computes it: floor(log2(µs)), 0 below 2 µs, capped. */
export function histogramBucket(durationNs: bigint): number {
  const us = Math.floor(Number(durationNs) / 1000);
  if (us < 2) return 0;
  const log2 = us < 2 ** 32 ? 31 - Math.clz32(us) : Math.floor(Math.log2(us));
  return Math.min(STMT_NHIST - 1, log2);
}

/*
 * Sums are kept as numbers (exact below 2^53: 104 days of nanoseconds per
 * interval) and become bigints once per interval: a bigint add allocates, and
 * --exact adds ~25 of them for every execution.
 */
interface Acc {
  row: Row;
  calls: number;
  errors: number;
  min: bigint;
  max: bigint;
  sums: Float64Array;
  summed: Uint8Array;
  hist: Float64Array;
  sumsq: number;
}

export class StatsAggregator {
  /** query_id → database → accumulator (no key string built per execution). */
  private readonly byKey = new Map<unknown, Map<unknown, Acc>>();

  private acc(row: Row): Acc {
    const queryId = row.query_id ?? null;
    const database = row.database ?? null;
    let byDb = this.byKey.get(queryId);
    if (!byDb) this.byKey.set(queryId, (byDb = new Map()));
    let a = byDb.get(database);
    if (!a) {
      const init: Row = {
        query_id: queryId, fingerprint: row.fingerprint ?? null, query_text: row.query_text ?? null,
        command: row.command ?? null, database, user: null, toplevel: true, source: 'exact', coalesced: null,
      };
      a = {
        row: init, calls: 0, errors: 0, min: 0n, max: 0n,
        sums: new Float64Array(SUMMED.length), summed: new Uint8Array(SUMMED.length), hist: new Float64Array(STMT_NHIST), sumsq: 0,
      };
      byDb.set(database, a);
    }
    return a;
  }

  /** One successful execution. */
  add(row: Row): void {
    const a = this.acc(row);
    const d = row.duration_ns as bigint;
    if (a.calls === 0 || d < a.min) a.min = d;
    if (d > a.max) a.max = d;
    a.calls++;
    const us = Math.floor(Number(d) / 1000);
    a.sumsq += us * us;
    a.hist[histogramBucket(d)]! += 1;
    for (let i = 0; i < SUMMED.length; i++) {
      const v = row[SUMMED[i]!];
      if (typeof v === 'bigint') {
        a.sums[i]! += Number(v);
        a.summed[i] = 1;
      }
    }
  }

  /** One execution that ended in an error (not a call, as pg_stat_statements counts). */
  addError(row: Row): void {
    this.acc(row).errors++;
  }

  /** The interval's rows; starts a new interval. */
  take(intervalStart: bigint, intervalEnd: bigint): Row[] {
    const out = [...this.byKey.values()].flatMap((byDb) => [...byDb.values()]).map((a) => {
      const row: Row = {
        interval_start: intervalStart, interval_end: intervalEnd, ...a.row,
        calls: BigInt(a.calls), errors: BigInt(a.errors), min_duration_ns: a.min, max_duration_ns: a.max, sumsq_duration_us2: a.sumsq,
      };
      SUMMED.forEach((name, i) => { row[name] = a.summed[i] ? BigInt(a.sums[i]!) : null; });
      for (const name of ['duration_ns', 'on_cpu_ns', 'off_cpu_ns', 'runq_wait_ns', 'voluntary_ctx_switches', 'involuntary_ctx_switches',
        'minor_faults', 'major_faults', 'disk_read_bytes', 'disk_write_bytes', 'read_syscall_bytes', 'write_syscall_bytes',
        'read_syscalls', 'write_syscalls', 'net_recv_bytes', 'net_send_bytes']) row[name] ??= 0n;
      HISTOGRAM_COLUMNS.forEach((c, i) => { row[c.name] = BigInt(a.hist[i]!); });
      return row;
    });
    this.byKey.clear();
    return out;
  }
}
