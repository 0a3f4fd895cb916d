/**
 * The statement collector: per-query aggregates (`query_stats`), sampled
 * executions (`queries`) and, with --exact, failed ones (`query_errors`).
 *
 * Two sources: the scheduler-based one (bpf/stmt_sched.bpf.c) traps nothing
 * per statement by default, and one (the end of each top-level PortalRun)
 * with --exact; the trap-based one (bpf/statements.bpf.c: --phases,
 * --cpu-clock, and always with the operator probes) follows every statement
 * through the query lifecycle probes and shares its per-backend `threads`
 * map with the operator collector (sharedMapFd).
 */
import type { BpfObject } from '../../bpf/object.js';
import { usesTrapSource } from '../../config.js';
import { packageRoot } from '../../util/package-root.js';
import { droppedCount, type Collector, type CollectorContext, type CollectorStats, type TableRows } from '../collector.js';
import { StatementDrainer } from './drainer.js';
import { SchedDrainer } from './sched-drainer.js';
import { SchedStatementSource } from './sched-source.js';
import { StatementSource } from './source.js';
import { QUERY_STATS_TABLE } from './stats-table.js';
import { QUERIES_TABLE, QUERY_ERRORS_TABLE } from './tables.js';

interface Exact { kind: 'exact'; source: StatementSource; drainer: StatementDrainer }
interface Sched { kind: 'scheduler'; source: SchedStatementSource; drainer: SchedDrainer }

export class StatementsCollector implements Collector {
  readonly name = 'statements';
  readonly tables = [QUERY_STATS_TABLE, QUERIES_TABLE, QUERY_ERRORS_TABLE];
  private mode: Exact | Sched | null = null;

  async start(ctx: CollectorContext): Promise<void> {
    const { config, target } = ctx;
    const probes = config.operatorProbes !== null;
    if (usesTrapSource(config)) {
      // Operator rows take the statement's query id while it runs: only the full probe set has it then.
      // With operator probes every execution keeps its row: operator rows join to it by exec_id.
      const budget = { rowsPerSecond: probes ? null : config.statementRows, slowNs: config.slowMs * 1e6 };
      const source = new StatementSource(target, packageRoot(), { phases: config.phases || probes, budget, cpuClock: config.cpuClock });
      this.mode = { kind: 'exact', source, drainer: new StatementDrainer(source, ctx.clock, ctx.catalog) };
    } else {
      const source = new SchedStatementSource(target, packageRoot(), {
        slowNs: config.slowMs * 1e6, rowsPerSecond: config.statementRows, netRecv: config.netRecv, exact: config.exact,
      });
      this.mode = { kind: 'scheduler', source, drainer: new SchedDrainer(source, ctx.clock, ctx.catalog) };
    }
  }

  private get running(): Exact | Sched {
    if (!this.mode) throw new Error('statements collector not started');
    return this.mode;
  }

  /** 'exact' or 'scheduler'. */
  get source(): string {
    return this.running.kind;
  }

  ingestTexts(): void {
    this.running.drainer.ingestTexts();
  }

  drain(): Promise<TableRows[]> {
    return this.running.drainer.drainOnce();
  }

  async finish(): Promise<TableRows[]> {
    const m = this.running;
    if (m.kind === 'exact') return m.drainer.finish();
    // Detached first: a statement summed after the last flip would otherwise stay in the other map.
    await m.source.detach();
    return m.drainer.drainOnce(true);
  }

  stats(): CollectorStats {
    const m = this.running;
    const drop = (map: string, reason: string, n: bigint | undefined) => ({ map, reason, count: Number(n ?? 0n) });
    const common = {
      drains: m.drainer.stats.drains, probes: m.source.attachStates, errors: {}, sampledBackends: null, probeSites: null,
    };
    if (m.kind === 'exact') {
      const k = m.drainer.stats.kernel;
      return {
        ...common,
        maps: [
          { map: 'finished', drained: m.drainer.stats.recordsDrained, capacity: m.source.finishedCapacity },
          { map: 'stmt_agg', drained: m.drainer.stats.aggregatesDrained, capacity: m.source.aggregateCapacity },
        ],
        drops: [
          drop('finished', 'map_full', k.drop_full), drop('stmt_agg', 'map_full', k.agg_full),
          drop('texts', 'ring_buffer_full', k.text_drop), drop('threads', 'map_full', k.thread_full),
        ],
        kernel: { ...k } as Record<string, bigint>,
      };
    }
    const k = m.drainer.stats.kernel;
    return {
      ...common,
      maps: [{ map: 'stmt_agg', drained: m.drainer.stats.aggregatesDrained, capacity: m.source.aggregateCapacity }],
      drops: [
        drop('stmt_agg', 'map_full', k.agg_full), drop('samples', 'ring_buffer_full', k.sample_drop),
        drop('texts', 'ring_buffer_full', k.text_drop), drop('sched_threads', 'map_full', k.thread_full),
        // Not lost from the counts but not separable into calls: said where users look.
        drop('stmt_agg', 'coalesced', k.coalesced),
        // Round trips whose slot writes fit no single statement and whose reply was unreadable
        // (TLS, several sends): counted as one call, which may hide statements (docs/dataset.md).
        drop('stmt_agg', 'maybe_coalesced', k.unread_round_trips),
      ],
      kernel: { ...k } as Record<string, bigint>,
    };
  }

  summarize(stats: CollectorStats, rows: Readonly<Record<string, number>>): string {
    const n = (t: { name: string }) => rows[t.name] ?? 0;
    if ('statements' in stats.kernel) {
      return `collected ${stats.kernel.statements} statements (${n(QUERY_STATS_TABLE)} query_stats rows, ${n(QUERIES_TABLE)} sampled rows); ` +
        `${stats.drains} drains; dropped ${droppedCount(stats, 'stmt_agg')} (map full), ` +
        `${droppedCount(stats, 'samples', 'ring_buffer_full')} sampled rows (ring buffer full)`;
    }
    return `collected ${stats.kernel.calls ?? 0n} statements (${n(QUERY_STATS_TABLE)} query_stats rows, ${n(QUERIES_TABLE)} rows, ` +
      `+${n(QUERY_ERRORS_TABLE)} failed); ${stats.drains} drains; dropped ${droppedCount(stats, 'finished')} rows (map full), ` +
      `${droppedCount(stats, 'stmt_agg')} statements (aggregate map full)`;
  }

  /** A map of the running source, for a collector that reads it too (the operator probes, the plan-node reader). */
  sharedMapFd(name: string): number {
    return this.running.source.mapFd(name);
  }

  /** The perf counters open in the shared counter maps (none with the default source). */
  sharedCounterMask(): number {
    const mode = this.running;
    return mode.kind === 'exact' ? mode.source.counterMask : 0;
  }

  objects(): BpfObject[] {
    return this.mode ? [this.mode.source.object] : [];
  }

  detach(): Promise<void> {
    return this.mode?.source.detach() ?? Promise.resolve();
  }

  close(): void {
    this.mode?.source.close();
    this.mode = null;
  }
}
