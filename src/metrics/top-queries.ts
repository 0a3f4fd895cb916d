/**
 * The query_ids worth a time series of their own (--top-queries N): totals
 * per query_id in bounded memory, the top N by total time since start.
 *
 * Metric SDKs keep exporting a cumulative series once it existed, so the
 * exported set is sticky: a query_id that entered the top N keeps being
 * reported (with correct, growing totals); new query_ids are admitted while
 * fewer than `maxSeries` (10·N) have ever been exported. Series per
 * instrument are therefore ≤ 10·N ≤ 1000, whatever the workload.
 */

export interface QueryTotals {
  queryId: string;
  fingerprint: string;
  command: string | null;
  seconds: number;
  calls: number;
}

export class TopQueries {
  private readonly totals = new Map<string, QueryTotals>();
  private readonly exported = new Set<string>();
  readonly maxSeries: number;

  constructor(readonly n: number, private readonly maxTracked = 10_000) {
    this.maxSeries = 10 * n;
  }

  add(queryId: string, fingerprint: string | null, command: string | null, seconds: number, calls = 1): void {
    let t = this.totals.get(queryId);
    if (!t) {
      if (this.totals.size >= this.maxTracked) this.prune();
      t = { queryId, fingerprint: fingerprint ?? '', command, seconds: 0, calls: 0 };
      this.totals.set(queryId, t);
    }
    if (!t.fingerprint && fingerprint) t.fingerprint = fingerprint;
    t.seconds += seconds;
    t.calls += calls;
  }

  /** Keeps exported query_ids and the larger half of the others. */
  private prune(): void {
    const others = [...this.totals.values()].filter((t) => !this.exported.has(t.queryId)).sort((a, b) => a.seconds - b.seconds);
    for (const t of others.slice(0, Math.ceil(others.length / 2))) this.totals.delete(t.queryId);
  }

  /** The series to report now: every query_id exported so far, after admitting the current top N. */
  current(): QueryTotals[] {
    if (this.n <= 0) return [];
    if (this.exported.size < this.maxSeries) {
      const top = [...this.totals.values()].sort((a, b) => b.seconds - a.seconds).slice(0, this.n);
      for (const t of top) if (this.exported.size < this.maxSeries) this.exported.add(t.queryId);
    }
    return [...this.exported].map((id) => this.totals.get(id)!).filter(Boolean);
  }
}
