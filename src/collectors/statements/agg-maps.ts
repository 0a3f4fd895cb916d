/**
 * The per-query aggregate maps both statement sources write (bpf/stmt_agg.h),
 * seen from user space: the control block (which map the programs write, the
 * keep probability of rows, the slow threshold), the flip-and-drain of one
 * interval, and the keep probability following the statement rate.
 *
 * Each drain flips which map the programs write, waits for the programs
 * still running on the old one (they run with preemption off, for
 * microseconds), then takes the old map whole with batch lookup-and-delete:
 * no update can be lost between the read and the delete.
 */
import type { BpfMap } from '../../bpf/map.js';
import type { BpfObject } from '../../bpf/object.js';
import type { StructLayout } from '../../bpf/struct-layout.js';
import { stmtAggKeyLayout, stmtAggLayout, stmtCtlLayout } from './sched-abi.js';
import { aggEntries, sumCopies, type Agg } from './sched-agg.js';

export interface StmtAggregate { queryId: bigint; dbid: number; userid: number; agg: Agg }

/** Which maps make one flipped pair, and how one drained key and its per-CPU values decode. */
export interface AggregateMapSpec<T> {
  ctl: string;
  maps: readonly [string, string];
  /** gen (u32), sample_p32 (u32), slow_ns (u64), as struct stmt_ctl. */
  ctlLayout: StructLayout;
  keySize: number;
  valueSize: number;
  decode(keys: Buffer, keyOffset: number, values: Buffer, valuesOffset: number, ncpus: number): T;
}

/** The statement sources' pair (bpf/stmt_agg.h). */
export const STMT_AGG_MAPS: AggregateMapSpec<StmtAggregate> = {
  ctl: 'stmt_ctl',
  maps: ['stmt_agg0', 'stmt_agg1'],
  ctlLayout: stmtCtlLayout,
  keySize: stmtAggKeyLayout.size,
  valueSize: stmtAggLayout.size,
  decode(keys, kb, values, vb, ncpus) {
    const k = stmtAggKeyLayout.byName;
    return {
      queryId: keys.readBigUInt64LE(kb + k.get('query_id')!.offset),
      dbid: keys.readUInt32LE(kb + k.get('dbid')!.offset),
      userid: keys.readUInt32LE(kb + k.get('userid')!.offset),
      agg: sumCopies(values, vb, ncpus),
    };
  },
};

export interface AggregateDrain<T = StmtAggregate> {
  aggregates: T[];
  /** CLOCK_MONOTONIC ns of the previous flip and of this one: the interval the aggregates cover. */
  intervalStartNs: bigint;
  intervalEndNs: bigint;
}

export interface RowBudget {
  /** Executions at least this long are always kept as rows (0: none). */
  slowNs: number;
  /** Sampled rows per second for the whole collector; null: every execution. */
  rowsPerSecond: number | null;
}

/** Keep probabilities are carried as fractions of 2^32; this one means "keep all". */
export const KEEP_ALL = 0xffffffff;
/** How long programs may still write the map that was just switched away from. */
const FLIP_GRACE_MS = 2;
/**
 * The first measurement of the statement rate comes this soon after start:
 * until then every execution is kept, and keeping them all for a whole rate
 * period handed a busy server's first ~6000 statements to user space at once.
 */
const FIRST_RATE_MS = 20;
/**
 * How often the keep probability follows the statement rate: a burst after a
 * lull is kept whole until the next tick (at 5000 statements/s, 200 ms kept
 * 1000 rows of a 400/s budget; 25 ms keeps ~125). One map read a tick.
 */
const RATE_MS = 25;
/** How fast a falling rate is believed (time constant): a lull does not open the gates at once. */
const RATE_FALL_MS = 700;

/** Row budget / statement rate as a fraction of 2^32 (KEEP_ALL at 1 or without a budget). */
export function keepProbability(budget: number | null, statementsPerSecond: number): number {
  if (budget === null) return KEEP_ALL;
  const p = Math.min(1, budget / Math.max(statementsPerSecond, 1));
  return p >= 1 ? KEEP_ALL : Math.max(1, Math.floor(p * 2 ** 32));
}

/**
 * Whether a new keep probability is worth a map update: a change under 1/32
 * moves the row rate by under 3 % (each row records its own probability, so
 * weights stay exact either way); at a steady statement rate the estimate
 * jitters every tick, and each update is a syscall.
 */
export function keepProbabilityMoved(current: number, next: number): boolean {
  if (current === next) return false;
  if (current === KEEP_ALL || next === KEEP_ALL) return true;
  return Math.abs(next - current) * 32 > current;
}

/** Probability × 2^32 → weight; 0 means kept because slow (or failed), weight 1. */
export function sampleWeight(p32: number): number {
  return p32 === 0 || p32 === KEEP_ALL ? 1 : 2 ** 32 / p32;
}

/** Call before load: bounds both maps' kernel memory by the CPU count. */
export function sizeAggregateMaps(obj: BpfObject, ncpus: number, spec: AggregateMapSpec<unknown> = STMT_AGG_MAPS): void {
  for (const map of spec.maps) obj.setMaxEntries(map, aggEntries(ncpus, spec.valueSize));
}

export class AggregateMaps<T = StmtAggregate> {
  private readonly ctl: BpfMap;
  private readonly maps: [BpfMap, BpfMap];
  private gen = 0;
  private keepP32: number;
  private lastFlipNs = process.hrtime.bigint();
  private statementsPerSecond = 0;
  private lastRate = { at: process.hrtime.bigint(), statements: 0n };
  private rateTimer: NodeJS.Timeout | null = null;
  private firstRate: NodeJS.Timeout | null = null;

  /** `statements` reads the kernel's count of executions so far (the rate the budget is spread over). */
  constructor(obj: BpfObject, private readonly ncpus: number, private readonly budget: RowBudget,
    private readonly statements: () => bigint, private readonly spec: AggregateMapSpec<T> = STMT_AGG_MAPS as unknown as AggregateMapSpec<T>) {
    this.ctl = obj.map(spec.ctl);
    this.maps = [obj.map(spec.maps[0]), obj.map(spec.maps[1])];
    this.keepP32 = KEEP_ALL;
    this.writeCtl();
    if (budget.rowsPerSecond !== null) {
      // The keep probability follows the statement rate within ~25 ms, not only at drains:
      // a burst (or the first interval) cannot flood user space.
      this.firstRate = setTimeout(() => this.followRate(), FIRST_RATE_MS);
      this.firstRate.unref();
      this.rateTimer = setInterval(() => this.followRate(), RATE_MS);
      this.rateTimer.unref();
    }
  }

  /** Capacity of each map: distinct keys per interval. */
  get capacity(): number {
    return this.maps[0].maxEntries;
  }

  private writeCtl(): void {
    const v = Buffer.alloc(this.spec.ctlLayout.size);
    const f = this.spec.ctlLayout.byName;
    v.writeUInt32LE(this.gen, f.get('gen')!.offset);
    v.writeUInt32LE(this.keepP32, f.get('sample_p32')!.offset);
    v.writeBigUInt64LE(BigInt(this.budget.slowNs), f.get('slow_ns')!.offset);
    this.ctl.update(Buffer.alloc(4), v);
  }

  /**
   * Sets the keep probability from the statement rate since the last call:
   * row budget / rate, at most 1. Each row records the probability it was
   * kept with, so weights stay exact while the probability moves.
   */
  followRate(): void {
    try {
      const budget = this.budget.rowsPerSecond;
      if (budget === null) return;
      const now = process.hrtime.bigint();
      const statements = this.statements();
      const seconds = Number(now - this.lastRate.at) / 1e9;
      const rate = Number(statements - this.lastRate.statements) / Math.max(seconds, 1e-3);
      this.lastRate = { at: now, statements };
      // Up at once, down gently: a burst is sampled at once, a lull does not open the gates.
      const keep = Math.exp((-seconds * 1000) / RATE_FALL_MS);
      this.statementsPerSecond = rate > this.statementsPerSecond ? rate : keep * this.statementsPerSecond + (1 - keep) * rate;
      const next = keepProbability(budget, this.statementsPerSecond);
      if (keepProbabilityMoved(this.keepP32, next)) {
        this.keepP32 = next;
        this.writeCtl();
      }
    } catch {
      // Never throws from a timer: the next tick retries, the drain reports real failures.
    }
  }

  /** Flips the maps and takes the one the programs wrote until now. */
  async flipAndDrain(): Promise<AggregateDrain<T>> {
    const old = this.gen;
    this.gen ^= 1;
    const flipNs = process.hrtime.bigint();
    this.writeCtl();
    await new Promise((resolve) => setTimeout(resolve, FLIP_GRACE_MS));
    // Per-CPU map: each key carries one copy per possible CPU, summed here.
    const stride = this.spec.valueSize * this.ncpus;
    const batch = this.maps[old]!.drain(4096, stride);
    const aggregates: T[] = [];
    for (let i = 0; i < batch.count; i++) {
      aggregates.push(this.spec.decode(batch.keys, i * this.spec.keySize, batch.values, i * stride, this.ncpus));
    }
    const out = { aggregates, intervalStartNs: this.lastFlipNs, intervalEndNs: flipNs };
    this.lastFlipNs = flipNs;
    return out;
  }

  /**
   * At shutdown, once the programs are detached: both maps whole, one
   * aggregate per key. A program that read the old `gen` just before the last
   * flip may have written either map, and nothing writes them any more.
   */
  drainAll(): AggregateDrain<T> {
    this.close();
    const endNs = process.hrtime.bigint();
    const { keySize, valueSize } = this.spec;
    const stride = valueSize * this.ncpus;
    const byKey = new Map<string, { key: Buffer; copies: Buffer[] }>();
    for (const map of this.maps) {
      const batch = map.drain(4096, stride);
      for (let i = 0; i < batch.count; i++) {
        const key = Buffer.from(batch.keys.subarray(i * keySize, (i + 1) * keySize));
        const copies = Buffer.from(batch.values.subarray(i * stride, (i + 1) * stride));
        const seen = byKey.get(key.toString('hex'));
        if (seen) seen.copies.push(copies);
        else byKey.set(key.toString('hex'), { key, copies: [copies] });
      }
    }
    // A key in both maps: its copies side by side are summed like more CPUs' copies.
    const aggregates = [...byKey.values()].map(({ key, copies }) => this.spec.decode(key, 0, Buffer.concat(copies), 0, this.ncpus * copies.length));
    const out = { aggregates, intervalStartNs: this.lastFlipNs, intervalEndNs: endNs };
    this.lastFlipNs = endNs;
    return out;
  }

  close(): void {
    if (this.firstRate) clearTimeout(this.firstRate);
    if (this.rateTimer) clearInterval(this.rateTimer);
    this.rateTimer = this.firstRate = null;
  }
}
