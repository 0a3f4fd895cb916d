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

/** Histogram bucket of a duration, as bpf/stmt_sched.bpf.c computes it. */
export function histogramBucket(durationNs: bigint): number {
  const us = durationNs / 1000n;
  let b = 0;
  for (let i = 0; i < STMT_NHIST - 1; i++) if (us >= 2n << BigInt(i)) b = i + 1;
  return b;
}

interface Acc { row: Row; hist: bigint[]; sumsq: number }

export class StatsAggregator {
  private readonly byKey = new Map<string, Acc>();

  private acc(row: Row): Acc {
    const key = `${row.query_id ?? ''}\u0000${row.database ?? ''}`;
    let a = this.byKey.get(key);
    if (!a) {
      const init: Row = {
        query_id: row.query_id ?? null, fingerprint: row.fingerprint ?? null, query_text: row.query_text ?? null,
        command: row.command ?? null, database: row.database ?? null, user: null, toplevel: true, source: 'exact',
        calls: 0n, coalesced: null, errors: 0n, min_duration_ns: 0n, max_duration_ns: 0n,
      };
      for (const name of SUMMED) init[name] = null;
      a = { row: init, hist: new Array<bigint>(STMT_NHIST).fill(0n), sumsq: 0 };
      this.byKey.set(key, a);
    }
    return a;
  }

  /** One successful execution. */
  add(row: Row): void {
    const a = this.acc(row);
    const r = a.row;
    const d = row.duration_ns as bigint;
    const first = r.calls === 0n;
    r.calls = (r.calls as bigint) + 1n;
    r.min_duration_ns = first || d < (r.min_duration_ns as bigint) ? d : r.min_duration_ns;
    r.max_duration_ns = d > (r.max_duration_ns as bigint) ? d : r.max_duration_ns;
    const us = Number(d / 1000n);
    a.sumsq += us * us;
    a.hist[histogramBucket(d)]! += 1n;
    for (const name of SUMMED) {
      const v = row[name];
      if (typeof v === 'bigint') r[name] = ((r[name] as bigint | null) ?? 0n) + v;
    }
  }

  /** One execution that ended in an error (not a call, as pg_stat_statements counts). */
  addError(row: Row): void {
    const r = this.acc(row).row;
    r.errors = (r.errors as bigint) + 1n;
  }

  /** The interval's rows; starts a new interval. */
  take(intervalStart: bigint, intervalEnd: bigint): Row[] {
    const out = [...this.byKey.values()].map((a) => {
      const row: Row = { interval_start: intervalStart, interval_end: intervalEnd, ...a.row, sumsq_duration_us2: a.sumsq };
      for (const name of ['duration_ns', 'on_cpu_ns', 'off_cpu_ns', 'runq_wait_ns', 'voluntary_ctx_switches', 'involuntary_ctx_switches',
        'minor_faults', 'major_faults', 'disk_read_bytes', 'disk_write_bytes', 'read_syscall_bytes', 'write_syscall_bytes',
        'read_syscalls', 'write_syscalls', 'net_recv_bytes', 'net_send_bytes']) row[name] ??= 0n;
      HISTOGRAM_COLUMNS.forEach((c, i) => { row[c.name] = a.hist[i]!; });
      return row;
    });
    this.byKey.clear();
    return out;
  }
}
