/**
 * The operator collector: one row per plan node instance (`operators`), from
 * bpf/operators.bpf.c on the statement collector's per-backend state. Node
 * functions are discovered at run time (a warm-up first, then every 10 ms);
 * with --sample < 1 a rotating fraction of client backends is probed.
 */
import { closeAll, type Link } from '../../bpf/link.js';
import { logger } from '../../util/log.js';
import type { BpfObject } from '../../bpf/object.js';
import { packageRoot } from '../../util/package-root.js';
import { droppedCount, type Collector, type CollectorContext, type CollectorStats, type TableRows } from '../collector.js';
import { OperatorDrainer } from './drainer.js';
import { BackendSampler } from './sampler.js';
import { OperatorSource } from './source.js';
import { OPERATORS_TABLE } from './table.js';
import { warmupNodeFunctions } from './warmup.js';

const log = logger('operators');

/** How soon a node function seen for the first time gets its probes. */
const DISCOVERY_MS = 10;

type ErrorKind = 'node_function_discovery' | 'sample_rotation';

export class OperatorsCollector implements Collector {
  readonly name = 'operators';
  readonly tables = [OPERATORS_TABLE];
  private source: OperatorSource | null = null;
  private drainer: OperatorDrainer | null = null;
  private sampler: BackendSampler | null = null;
  private timers: NodeJS.Timeout[] = [];
  /** Sampled backends when the probes came off at stop (the summary reports them). */
  private probedAtStop: number | null = null;
  private rotating: Promise<void> = Promise.resolve();
  private readonly errors: Record<ErrorKind, number> = { node_function_discovery: 0, sample_rotation: 0 };

  async start(ctx: CollectorContext): Promise<void> {
    const statements = ctx.started.get('statements');
    if (!statements?.sharedMapFd) throw new Error('the operator collector needs the statement collector started first');
    const { config, target } = ctx;
    const fraction = config.operatorProbes ?? 1;
    this.sampler = fraction < 1 ? new BackendSampler(config.pg, fraction) : null;
    const initialTargets = this.sampler ? await this.sampler.choose() : [-1];
    const source = new OperatorSource((m) => statements.sharedMapFd!(m), target, packageRoot(), {
      initialTargets, counterMask: statements.sharedCounterMask?.() ?? 0,
    });
    this.source = source;
    if (!config.skipWarmup) await this.warmUp(config.pg);
    this.drainer = new OperatorDrainer(source, ctx.clock, ctx.catalog);
    this.schedule(config.sampleRotateMs);
  }

  /** In sampling mode pgscout's own warm-up backend is probed just for the warm-up. */
  private async warmUp(conninfo: string): Promise<void> {
    const source = this.source!;
    try {
      const discovery: Link[] = [];
      try {
        await warmupNodeFunctions(conninfo, (pid) => { if (this.sampler) discovery.push(...source.attachDiscovery(pid)); });
      } finally {
        await closeAll(discovery); // the warm-up backends have exited
      }
      source.discoverNow();
    } catch (err) {
      log.warn(`node function warm-up failed (first executions of some node types may be missed): ${(err as Error).message}`);
    }
  }

  private countError(kind: ErrorKind, what: string, err: unknown): void {
    log.error(`${what}: ${(err as Error).message}`);
    this.errors[kind]++;
  }

  private schedule(rotateMs: number): void {
    const source = this.source!;
    this.timers.push(setInterval(() => {
      try {
        source.discoverNow();
      } catch (err) {
        this.countError('node_function_discovery', 'node function discovery', err);
      }
    }, DISCOVERY_MS));
    const sampler = this.sampler;
    if (sampler) {
      // Rotation runs beside the drains (detaching waits on the kernel, off the event loop); one at a time.
      let busy = false;
      this.timers.push(setInterval(() => {
        if (busy) return;
        busy = true;
        this.rotating = (async () => source.setTargets(await sampler.choose()))()
          .catch((err) => this.countError('sample_rotation', 'sample rotation failed', err))
          .finally(() => { busy = false; });
      }, rotateMs));
    }
    for (const t of this.timers) t.unref();
  }

  private get running(): { source: OperatorSource; drainer: OperatorDrainer } {
    if (!this.source || !this.drainer) throw new Error('operators collector not started');
    return { source: this.source, drainer: this.drainer };
  }

  drain(): Promise<TableRows[]> {
    return this.running.drainer.drainOnce();
  }

  async finish(): Promise<TableRows[]> {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    await this.rotating;
    // Detached before the last drain, as the statement sources: a node that
    // ended after it would be lost uncounted (pgscout's own shutdown queries
    // showed it: nodes_done > drained).
    const { source, drainer } = this.running;
    this.probedAtStop = source.sampledBackends;
    await source.detach();
    const rows = await drainer.drainOnce();
    await this.sampler?.close();
    return rows;
  }

  stats(): CollectorStats {
    const { source, drainer } = this.running;
    const k = drainer.stats.kernel;
    const sites = [...source.sites.values()];
    const slow = sites.filter((s) => !s.fast).length;
    return {
      drains: drainer.stats.drains,
      maps: [{ map: 'finished_nodes', drained: drainer.stats.nodesDrained, capacity: source.finishedCapacity }],
      drops: [
        { map: 'finished_nodes', reason: 'map_full', count: Number(k.drop_full ?? 0n) },
        { map: 'finished_nodes', reason: 'duplicate_key', count: Number(k.drop_duplicate ?? 0n) },
      ],
      probes: [],
      errors: { ...this.errors, operator_stack_overflow: Number(k.stack_overflow ?? 0n), operator_return_missed: Number(k.stale_frame ?? 0n), node_function_not_probed: drainer.stats.unprobed },
      kernel: { ...k } as Record<string, bigint>,
      sampledBackends: this.sampler ? (this.probedAtStop ?? source.sampledBackends) : 'all',
      probeSites: { fast: sites.length - slow, slow },
    };
  }

  summarize(stats: CollectorStats, rows: Readonly<Record<string, number>>): string {
    const sites = stats.probeSites ?? { fast: 0, slow: 0 };
    return `operators: ${rows[OPERATORS_TABLE.name] ?? 0} plan-node rows (${stats.errors.node_function_not_probed ?? 0} without labels: ` +
      `their node function was not probed yet), ${sites.fast + sites.slow} node functions probed ` +
      `(${sites.slow} slow), dropped ${droppedCount(stats, 'finished_nodes')}`;
  }

  /** The live operator source (node functions, targets), for benches and tests that look inside. */
  get operatorSource(): OperatorSource {
    return this.running.source;
  }

  objects(): BpfObject[] {
    return this.source ? [this.source.object] : [];
  }

  async detach(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    await this.source?.detach();
  }

  close(): void {
    this.source?.close();
    this.source = null;
  }
}
