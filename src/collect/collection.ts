/**
 * A running collection: target discovered, programs attached, a drain every
 * interval. stop() drains what is left and closes every file; it is bounded
 * in time so a wedged filesystem cannot hang shutdown forever.
 */
import type { CollectConfig } from '../config.js';
import { discoverTarget, type Target } from '../pg/target.js';
import { initParser } from '../query/normalize.js';
import { StatementSource } from '../drain/statement-source.js';
import { StatementDrainer, type DrainStats } from '../drain/statement-drainer.js';
import { OperatorSource } from '../drain/operator-source.js';
import { OperatorDrainer, type OperatorStats } from '../drain/operator-drainer.js';
import { BackendSampler } from './sampler.js';
import { warmupNodeFunctions } from './warmup.js';
import { closeAll, type Link } from '../bpf/link.js';
import { requireBpfReady } from './preflight.js';
import { logger } from '../util/log.js';
import { syscallCounter } from '../bpf/map.js';
import type { Metrics } from '../metrics/metrics.js';

const log = logger('collect');

export interface OperatorLevel { source: OperatorSource; drainer: OperatorDrainer; sampler: BackendSampler | null }

export interface CollectionSummary {
  target: Target;
  stats: DrainStats;
  operators: OperatorStats | null;
  files: string[];
  seconds: number;
}

export class Collection {
  private timer: NodeJS.Timeout | null = null;
  private rotateTimer: NodeJS.Timeout | null = null;
  private discoverTimer: NodeJS.Timeout | null = null;
  private rotating: Promise<void> = Promise.resolve();
  private draining: Promise<void> = Promise.resolve();
  private stopped: Promise<CollectionSummary> | null = null;
  private readonly startedAt = performance.now();
  lastError: Error | null = null;

  private constructor(
    readonly config: CollectConfig,
    readonly target: Target,
    readonly source: StatementSource,
    readonly drainer: StatementDrainer,
    readonly operators: OperatorLevel | null,
    /** --prometheus / --otlp; null: no metrics code runs at all. */
    readonly metrics: Metrics | null,
  ) {}

  static async start(config: CollectConfig): Promise<Collection> {
    requireBpfReady();
    const target = await discoverTarget(config.pg);
    if (target.computeQueryId === 'off') {
      log.warn('compute_query_id is off: query_id will be null; set compute_query_id = on (or auto with pg_stat_statements loaded)');
    }
    await initParser();
    // Before any probe is attached: a taken port fails fast. The OpenTelemetry SDK is loaded only when asked for.
    const metrics = config.prometheus || config.otlp
      ? await (await import('../metrics/metrics.js')).Metrics.start(config, target) : null;
    let source: StatementSource | null = null;
    let drainer: StatementDrainer;
    let operators: OperatorLevel | null = null;
    try {
      source = new StatementSource(target);
      drainer = new StatementDrainer(source, { outDir: config.out, host: config.host, conninfo: config.pg });
      if (config.level === 'operator') operators = await Collection.startOperators(config, target, source, drainer);
    } catch (err) {
      source?.close();
      await metrics?.shutdown();
      throw err;
    }
    const c = new Collection(config, target, source, drainer, operators, metrics);
    if (metrics) {
      metrics.attach(c);
      drainer.sink = metrics.sink;
      if (operators) operators.drainer.sink = metrics.sink;
    }
    c.schedule();
    return c;
  }

  private static async startOperators(config: CollectConfig, target: Target, source: StatementSource,
    drainer: StatementDrainer): Promise<OperatorLevel> {
    const sampler = config.sample < 1 ? new BackendSampler(config.pg, config.sample) : null;
    const initialTargets = sampler ? await sampler.choose() : [-1];
    const opSource = new OperatorSource(source, target, { initialTargets });
    try {
      // In sampling mode our own warm-up backend is probed just for the warm-up.
      const discovery: Link[] = [];
      try {
        await warmupNodeFunctions(config.pg, (pid) => { if (sampler) discovery.push(...opSource.attachDiscovery(pid)); });
      } finally {
        await closeAll(discovery); // the warm-up backends have exited
      }
      opSource.discoverNow();
    } catch (err) {
      log.warn(`node function warm-up failed (first executions of some node types may be missed): ${(err as Error).message}`);
    }
    const opDrainer = new OperatorDrainer(opSource, { outDir: config.out, host: config.host, conninfo: config.pg, clock: drainer.clock });
    return { source: opSource, drainer: opDrainer, sampler };
  }

  private schedule(): void {
    this.timer = setInterval(() => this.tick(), this.config.intervalMs);
    this.timer.unref();
    const ops = this.operators;
    if (ops) {
      // Node functions seen for the first time are probed within ~10 ms, not at the next drain.
      this.discoverTimer = setInterval(() => {
        try {
          ops.source.discoverNow();
        } catch (err) {
          log.error(`node function discovery: ${(err as Error).message}`);
          this.metrics?.sink.error('node_function_discovery');
        }
      }, 10);
      this.discoverTimer.unref();
    }
    if (ops?.sampler) {
      // Rotation runs beside the drains (detaching waits on the kernel, off the
      // event loop); one rotation at a time.
      let busy = false;
      this.rotateTimer = setInterval(() => {
        if (busy) return;
        busy = true;
        this.rotating = this.rotate(ops).finally(() => { busy = false; });
      }, this.config.sampleRotateMs);
      this.rotateTimer.unref();
    }
  }

  private async rotate(ops: OperatorLevel): Promise<void> {
    try {
      await ops.source.setTargets(await ops.sampler!.choose());
    } catch (err) {
      log.error(`sample rotation failed: ${(err as Error).message}`);
      this.metrics?.sink.error('sample_rotation');
    }
  }

  /** Never throws: an error is logged, kept for the caller, and the next tick retries. */
  private tick(): void {
    this.draining = this.draining.then(async () => {
      const t0 = this.metrics ? performance.now() : 0;
      const syscalls0 = syscallCounter.total;
      try {
        await this.operators?.drainer.drainOnce();
        await this.drainer.drainOnce();
      } catch (err) {
        this.lastError = err as Error;
        log.error(`drain failed: ${(err as Error).message}`);
        this.metrics?.sink.error('drain');
      }
      this.metrics?.sink.drain({ seconds: (performance.now() - t0) / 1000, syscalls: syscallCounter.total - syscalls0 });
    });
  }

  get stats(): DrainStats {
    return this.drainer.stats;
  }

  stop(timeoutMs = 30_000): Promise<CollectionSummary> {
    this.stopped ??= (async () => {
      if (this.timer) clearInterval(this.timer);
      if (this.rotateTimer) clearInterval(this.rotateTimer);
      if (this.discoverTimer) clearInterval(this.discoverTimer);
      await this.rotating;
      await this.draining;
      let guard: NodeJS.Timeout | undefined;
      const bounded = new Promise<never>((_, reject) => {
        guard = setTimeout(() => reject(new Error(`shutdown did not finish within ${timeoutMs} ms`)), timeoutMs);
        guard.unref();
      });
      try {
        const finish = async () => {
          await this.operators?.drainer.finish();
          await this.operators?.sampler?.close();
          await this.drainer.finish();
        };
        await Promise.race([finish(), bounded]);
      } finally {
        clearTimeout(guard);
        // The shutdown drain's records reach the final OTLP export.
        this.metrics?.sink.drain({ seconds: null, syscalls: 0 });
        await this.metrics?.shutdown();
        // Every file is closed by now: detaching (~0.1 s a uprobe in the kernel)
        // can take its time without risking data; a second signal exits at once.
        await Promise.all([this.operators?.source.detach(), this.source.detach()]);
        this.operators?.source.close();
        this.source.close();
      }
      return {
        target: this.target,
        stats: this.drainer.stats,
        operators: this.operators?.drainer.stats ?? null,
        files: [...this.drainer.queries.listFiles(), ...this.drainer.errors.listFiles(),
          ...(this.operators?.drainer.writer.listFiles() ?? [])],
        seconds: (performance.now() - this.startedAt) / 1000,
      };
    })();
    return this.stopped;
  }
}
