/**
 * The instrumented operator source (--level operator): PostgreSQL's own
 * per-node instrumentation of every instrumented statement, read at executor
 * end (bpf/plan_nodes.bpf.c). Every execution is summed per node in the
 * kernel (plan_node_stats); the nodes of a sampled share of statements come
 * up as rows (plan_nodes), slow ones always. Statements are instrumented by
 * auto_explain with log_analyze (--setup-instrumentation, or the server's
 * own), or by EXPLAIN ANALYZE itself.
 */
import type { BpfObject } from '../../bpf/object.js';
import { InstrumentedBackendCount } from '../../pg/instrumented-backends.js';
import { sharedQueryTexts } from '../../query/text-cache.js';
import { usesTrapSource } from '../../config.js';
import { packageRoot } from '../../util/package-root.js';
import type { Collector, CollectorContext, CollectorStats, TableRows } from '../collector.js';
import { nodeStatsRows, type StatsRowContext } from './aggregates.js';
import { planNodeRows } from './rows.js';
import { PlanNodeSource } from './source.js';
import { PLAN_NODES_TABLE, PLAN_NODE_STATS_TABLE, PLAN_NODE_WORKERS_TABLE } from './table.js';

export class PlanNodesCollector implements Collector {
  readonly name = 'plan-nodes';
  readonly tables = [PLAN_NODE_STATS_TABLE, PLAN_NODES_TABLE, PLAN_NODE_WORKERS_TABLE];
  private source: PlanNodeSource | null = null;
  private ctx: StatsRowContext | null = null;
  private instrumented: InstrumentedBackendCount | null = null;
  private readonly nextSeq = new Map<number, number>();
  private drains = 0;
  private nodes = 0;
  private aggregates = 0;

  async start(ctx: CollectorContext): Promise<void> {
    const { config, target } = ctx;
    const statements = ctx.started.get('statements');
    const schedThreads = statements?.sharedMapFd && !usesTrapSource(config) ? statements.sharedMapFd('sched_threads') : null;
    this.source = new PlanNodeSource(target, packageRoot(), { rowsPerSecond: config.operatorRows, slowNs: config.slowMs * 1e6 }, schedThreads);
    this.ctx = { clock: ctx.clock, texts: sharedQueryTexts, layout: this.source.layout };
    this.instrumented = new InstrumentedBackendCount(target.postmasterPid);
  }

  private get running(): { source: PlanNodeSource; ctx: StatsRowContext } {
    if (!this.source || !this.ctx) throw new Error('plan-nodes collector not started');
    return { source: this.source, ctx: this.ctx };
  }

  async drain(final = false): Promise<TableRows[]> {
    const { source, ctx } = this.running;
    const nodes = source.drain();
    const aggregates = await source.drainAggregates(final);
    this.instrumented?.get();   // refreshed at most every 5 s: the summary reports the peak
    this.drains++;
    this.nodes += nodes.length;
    this.aggregates += aggregates.aggregates.length;
    const rows = planNodeRows(nodes, ctx, this.nextSeq);
    return [
      { table: PLAN_NODE_STATS_TABLE, rows: nodeStatsRows(aggregates, ctx) },
      { table: PLAN_NODES_TABLE, rows: rows.nodes },
      { table: PLAN_NODE_WORKERS_TABLE, rows: rows.workers },
    ];
  }

  /** Detached first: a node summed after the last flip would otherwise be left in the other map. */
  async finish(): Promise<TableRows[]> {
    await this.running.source.detach();
    return this.drain(true);
  }

  stats(): CollectorStats {
    const k = this.source ? this.source.readStats() : ({} as Record<string, bigint>);
    const drop = (reason: string, count: bigint | undefined, map = 'plan_nodes') => ({ map, reason, count: Number(count ?? 0n) });
    return {
      drains: this.drains,
      maps: [],
      drops: [
        drop('ring_buffer_full', k.ring_full),
        drop('walk_stack_full', k.stack_full),
        drop('node_limit', k.nodes_cut),
        drop('children_limit', k.children_cut),
        drop('workers_limit', k.workers_cut),
        drop('aggregate_map_full', k.agg_full, 'pn_agg'),
      ],
      probes: this.source?.attachStates ?? [],
      errors: {},
      kernel: { ...k },
      sampledBackends: null,
      probeSites: null,
      instrumentedBackends: this.instrumented?.get(),
      instrumentedPeak: this.instrumented?.peak,
    };
  }

  summarize(stats: CollectorStats, rows: Readonly<Record<string, number>>): string {
    const lost = stats.drops.reduce((a, d) => a + d.count, 0);
    const ib = stats.instrumentedPeak;
    return `plan nodes: ${stats.kernel.statements ?? 0n} instrumented statements summed per node ` +
      `(${rows[PLAN_NODE_STATS_TABLE.name] ?? 0} plan_node_stats rows), ${stats.kernel.kept ?? 0n} kept as ` +
      `${rows[PLAN_NODES_TABLE.name] ?? 0} plan_nodes rows` +
      (rows[PLAN_NODE_WORKERS_TABLE.name] ? ` (+${rows[PLAN_NODE_WORKERS_TABLE.name]} plan_node_workers rows)` : '') +
      (ib ? `; up to ${ib.instrumented} client backends instrumented at once (of ${ib.clients})` : '') +
      (lost ? `; ${lost} nodes or subtrees not read (${stats.drops.filter((d) => d.count).map((d) => `${d.reason} ${d.count}`).join(', ')})` : '') +
      (stats.kernel.statements === 0n ? ' (no statement was instrumented: --setup-instrumentation, or load auto_explain with log_analyze; docs/dataset.md)' : '');
  }

  objects(): BpfObject[] {
    return this.source ? [this.source.object] : [];
  }

  async detach(): Promise<void> {
    await this.source?.detach();
  }

  close(): void {
    this.source?.close();
    this.source = null;
  }
}
