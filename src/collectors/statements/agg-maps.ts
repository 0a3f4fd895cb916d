/**
 * The per-query aggregate maps both statement sources write (bpf/stmt_agg.h),
 * seen from user space: the control block (which map the programs write, the
 * keep probability of rows, the slow threshold), the flip-and-drain of one
 * interval.
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
  /** gen (u32), rows_per_s (u32), slow_ns (u64), as struct stmt_ctl. */
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
/** Control block budget meaning "every execution is a row" (bpf/keep_rate.h KEEP_NO_BUDGET). */
const NO_BUDGET = 0xffffffff;
/** How long programs may still write the map that was just switched away from. */
const FLIP_GRACE_MS = 2;

/** Probability × 2^32 → weight; 0 means kept because slow (or failed), weight 1. */
export function sampleWeight(p32: number): number {
  return p32 === 0 || p32 === KEEP_ALL ? 1 : 2 ** 32 / p32;
}

/**
 * Call before load: bounds both maps' kernel memory by the CPU count, and
 * tells the programs how many per-CPU copies of their execution count to sum
 * when they re-estimate the rate (bpf/keep_rate.h).
 */
export function sizeAggregateMaps(obj: BpfObject, ncpus: number, spec: AggregateMapSpec<unknown> = STMT_AGG_MAPS): void {
  for (const map of spec.maps) obj.setMaxEntries(map, aggEntries(ncpus, spec.valueSize));
  obj.setRodata({ keep_ncpus: ncpus });
}

/**
 * The keep probability of rows follows the execution rate inside the
 * programs (bpf/keep_rate.h): user space writes the budget once and flips
 * the maps at drains, with no timer in between.
 */
export class AggregateMaps<T = StmtAggregate> {
  private readonly ctl: BpfMap;
  private readonly maps: [BpfMap, BpfMap];
  private gen = 0;
  private lastFlipNs = process.hrtime.bigint();

  constructor(obj: BpfObject, private readonly ncpus: number, private readonly budget: RowBudget,
    private readonly spec: AggregateMapSpec<T> = STMT_AGG_MAPS as unknown as AggregateMapSpec<T>) {
    this.ctl = obj.map(spec.ctl);
    this.maps = [obj.map(spec.maps[0]), obj.map(spec.maps[1])];
    this.writeCtl();
  }

  /** Capacity of each map: distinct keys per interval. */
  get capacity(): number {
    return this.maps[0].maxEntries;
  }

  private writeCtl(): void {
    const v = Buffer.alloc(this.spec.ctlLayout.size);
    const f = this.spec.ctlLayout.byName;
    v.writeUInt32LE(this.gen, f.get('gen')!.offset);
    v.writeUInt32LE(this.budget.rowsPerSecond ?? NO_BUDGET, f.get('rows_per_s')!.offset);
    v.writeBigUInt64LE(BigInt(this.budget.slowNs), f.get('slow_ns')!.offset);
    this.ctl.update(Buffer.alloc(4), v);
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

}
