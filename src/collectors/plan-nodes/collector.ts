/**
 * The plan_nodes collector (--plan-nodes): PostgreSQL's own per-node
 * instrumentation of every instrumented statement, read at executor end
 * (bpf/plan_nodes.bpf.c). Statements are instrumented by whoever asks for it
 * in the server: auto_explain with log_analyze (and log_buffers, log_timing,
 * sample_rate as configured), or EXPLAIN ANALYZE itself.
 */
import type { BpfObject } from '../../bpf/object.js';
import { sharedQueryTexts } from '../../query/text-cache.js';
import { packageRoot } from '../../util/package-root.js';
import type { Collector, CollectorContext, CollectorStats, TableRows } from '../collector.js';
import { planNodeRows, type PlanRowContext } from './rows.js';
import { PlanNodeSource } from './source.js';
import { PLAN_NODES_TABLE } from './table.js';

export class PlanNodesCollector implements Collector {
  readonly name = 'plan-nodes';
  readonly tables = [PLAN_NODES_TABLE];
  private source: PlanNodeSource | null = null;
  private ctx: PlanRowContext | null = null;
  private readonly nextSeq = new Map<number, number>();
  private drains = 0;
  private nodes = 0;

  async start(ctx: CollectorContext): Promise<void> {
    this.source = new PlanNodeSource(ctx.target, packageRoot());
    this.ctx = { clock: ctx.clock, texts: sharedQueryTexts };
  }

  private get running(): { source: PlanNodeSource; ctx: PlanRowContext } {
    if (!this.source || !this.ctx) throw new Error('plan-nodes collector not started');
    return { source: this.source, ctx: this.ctx };
  }

  async drain(): Promise<TableRows[]> {
    const { source, ctx } = this.running;
    const nodes = source.drain();
    this.drains++;
    this.nodes += nodes.length;
    return [{ table: PLAN_NODES_TABLE, rows: planNodeRows(nodes, ctx, this.nextSeq) }];
  }

  finish(): Promise<TableRows[]> {
    return this.drain();
  }

  stats(): CollectorStats {
    const k = this.source ? this.source.readStats() : ({} as Record<string, bigint>);
    return {
      drains: this.drains,
      maps: [],
      drops: [
        { map: 'plan_nodes', reason: 'ring_buffer_full', count: Number(k.ring_full ?? 0n) },
        { map: 'plan_nodes', reason: 'walk_stack_full', count: Number(k.stack_full ?? 0n) },
        { map: 'plan_nodes', reason: 'node_limit', count: Number(k.nodes_cut ?? 0n) },
        { map: 'plan_nodes', reason: 'children_limit', count: Number(k.children_cut ?? 0n) },
      ],
      probes: this.source?.attachStates ?? [],
      errors: {},
      kernel: { ...k },
      sampledBackends: null,
      probeSites: null,
    };
  }

  summarize(stats: CollectorStats, rows: Readonly<Record<string, number>>): string {
    const lost = stats.drops.reduce((a, d) => a + d.count, 0);
    return `plan_nodes: ${rows[PLAN_NODES_TABLE.name] ?? 0} node rows of ${stats.kernel.statements ?? 0n} instrumented statements` +
      (lost ? `; ${lost} nodes or subtrees not read (${stats.drops.filter((d) => d.count).map((d) => `${d.reason} ${d.count}`).join(', ')})` : '') +
      (stats.kernel.statements === 0n ? ' (no statement was instrumented: load auto_explain with log_analyze, see docs/dataset.md)' : '');
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
