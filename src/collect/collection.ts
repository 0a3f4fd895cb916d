/**
 * A running collection: target discovered, the wanted collectors started, a
 * drain every interval whose rows go to one Parquet writer per table.
 * stop() drains what is left and closes every file; it is bounded in time so
 * a wedged filesystem cannot hang shutdown forever.
 */
import { gatherProvenance, provenanceMetadata, RUN_ID_COLUMN, writeRunRecord, type Provenance } from './provenance.js';
import type { CollectConfig } from '../config.js';
import { discoverTarget, type Target } from '../pg/target.js';
import { Catalog } from '../pg/catalog.js';
import { requireServerInstrumentation, setupInstrumentation, type Instrumentation } from '../pg/instrumentation.js';
import { initParser } from '../query/normalize.js';
import { syscallCounter } from '../bpf/map.js';
import { ParquetTableWriter } from '../dataset/parquet-writer.js';
import { totalDropped, type Collector, type CollectorStats, type TableRows } from '../collectors/collector.js';
import { COLLECTORS } from '../collectors/registry.js';
import { MonotonicToWall } from '../util/clock.js';
import { requireBpfReady } from './preflight.js';
import type { FileLock } from './lock.js';
import { checkOutDir, lockCluster, lockOutDir } from './out-dir.js';
import { PostmasterWatch, TARGET_POLL_MS, waitForTarget } from './target-watch.js';
import { recoverLeftovers } from '../dataset/footer-journal.js';
import { logger } from '../util/log.js';
import { ConfigError, StoppedBeforeStartError } from '../util/errors.js';
import type { Metrics } from '../metrics/metrics.js';
import { dropElfCache } from '../elf/elf.js';
import { isColumnar } from '../dataset/column-buffer.js';

const log = logger('collect');

export interface CollectionSummary {
  target: Target;
  /** Each collector's final stats, by collector name. */
  collectors: Record<string, CollectorStats>;
  /** One line per collector, in start order. */
  lines: string[];
  /** Rows handed to each table's writer, by table name. */
  rows: Record<string, number>;
  files: string[];
  seconds: number;
}

/** --level operator on the server's own auto_explain: it decides what is instrumented and timed. */
async function useServerInstrumentation(config: CollectConfig): Promise<void> {
  let rate: number;
  try {
    rate = await requireServerInstrumentation(config.pg);
  } catch (err) {
    if (!(err instanceof ConfigError) || config.operatorProbes === null) throw err;
    // The per-call probes stand on their own; plan_nodes stays empty and its summary line says why.
    log.warn('the server does not instrument statements (no auto_explain with log_analyze in its sessions): plan_nodes stays empty, the --operator-probes rows are collected');
    return;
  }
  if (config.sample !== 1) {
    throw new ConfigError(`--sample sets auto_explain.sample_rate, which pgscout changes only with --setup-instrumentation; the server's own (${rate}) is in force: drop --sample or add --setup-instrumentation`);
  }
  log.info(`using the server's auto_explain (sample_rate ${rate}; its log_timing decides which statements are timed, --operator-timing applies with --setup-instrumentation only)`);
}

/** Waits for every promise; then throws the first failure, if any (Promise.all would stop waiting at it). */
async function settleAll(work: Promise<void>[]): Promise<void> {
  const failed = (await Promise.allSettled(work)).find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}

/** --wait: polls for the target; a SIGINT/SIGTERM meanwhile ends the wait (StoppedBeforeStartError), not the process. */
async function waitUntilSignal(conninfo: string): Promise<Target> {
  let signal: string | null = null;
  const onSignal = (name: string) => { signal = name; };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const target = await waitForTarget(conninfo, () => signal !== null, 'waiting for PostgreSQL (--wait)');
    if (!target) throw new StoppedBeforeStartError(signal ?? 'signal');
    return target;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

export class Collection {
  private timer: NodeJS.Timeout | null = null;
  private draining: Promise<void> = Promise.resolve();
  private stopped: Promise<CollectionSummary> | null = null;
  private readonly startedAt = performance.now();
  private lastDrain = { ms: 0, syscalls: 0 };
  /** performance.now() of the last sync of the writers (--sync-interval). */
  private lastSync = -Infinity;
  /** Rows appended per table (files become visible at rotation; this counts at once). */
  readonly rowsAppended = new Map<string, number>();
  lastError: Error | null = null;
  /** Times the target's postmaster went away and the collectors were attached again. */
  restarts = 0;
  private watchdog: NodeJS.Timeout | null = null;
  private readonly postmaster = new PostmasterWatch();
  /** Set while the collectors are down between a postmaster's end and the next one. */
  private following = false;
  private stopping = false;

  private constructor(
    readonly config: CollectConfig,
    private current: Target,
    /** In start order. */
    private running: Collector[],
    readonly writers: ReadonlyMap<string, ParquetTableWriter>,
    private readonly catalog: Catalog,
    /** --prometheus / --otlp; null: no metrics code runs at all. */
    readonly metrics: Metrics | null,
    /** --setup-instrumentation: what to put back at stop. */
    private readonly instrumentation: Instrumentation | null,
    /** The --out and cluster locks, released last at stop. */
    private readonly locks: readonly FileLock[],
    /** The collectors' one clock, handed to those started again after a restart. */
    private readonly clock: MonotonicToWall,
  ) {
    for (const name of writers.keys()) this.rowsAppended.set(name, 0);
  }

  /** What this run's files and `_runs/<run_id>.json` say it came from. */
  run: Provenance | null = null;

  /** Records lost so far: every collector's drops and every writer's. */
  recordsDroppedSoFar(): number {
    const kernel = this.collectors.reduce((a, c) => {
      try {
        return a + totalDropped(c.stats());
      } catch {
        return a; // a collector between a PostgreSQL restart and its new start has no stats yet
      }
    }, 0);
    return kernel + this.rowsNotKept();
  }

  private rowsNotKept(): number {
    return [...this.writers.values()].reduce((a, w) => a + w.stats.rowsDropped, 0);
  }

  static async start(config: CollectConfig): Promise<Collection> {
    requireBpfReady();
    const outDir = checkOutDir(config.out);
    const locks = [lockOutDir(outDir)];
    try {
      const left = recoverLeftovers(outDir);
      if (left.files || left.discarded) {
        log.warn(`a pgscout that did not stop left files in ${outDir}: published ${left.rows} rows in ${left.files} files from their journals` +
          (left.discarded ? `, removed ${left.discarded} that held no complete row group` : ''));
      }
      const target = config.wait ? await waitUntilSignal(config.pg) : await discoverTarget(config.pg);
      locks.push(lockCluster(target.dataDir, target.port));
      return await Collection.startLocked(config, target, locks);
    } catch (err) {
      for (const l of locks) l.release();
      throw err;
    }
  }

  private static async startLocked(config: CollectConfig, target: Target, locks: FileLock[]): Promise<Collection> {
    if (target.computeQueryId === 'off') {
      log.warn('compute_query_id is off: query_id will be null; set compute_query_id = on (or auto with pg_stat_statements loaded)');
    }
    await initParser();
    // Before any probe is attached: a taken port fails fast. The OpenTelemetry SDK is loaded only when asked for.
    const metrics = config.prometheus || config.otlp
      ? await (await import('../metrics/metrics.js')).Metrics.start(config, target) : null;
    const catalog = new Catalog(config.pg);
    let instrumentation: Instrumentation | null = null;
    const ctx = { config, target, clock: new MonotonicToWall(), catalog, started: new Map<string, Collector>() };
    try {
      if (config.setupInstrumentation) instrumentation = await setupInstrumentation(config.pg, config.sample, config.operatorTiming);
      else if (config.level === 'operator') await useServerInstrumentation(config);
      for (const reg of COLLECTORS) {
        if (!reg.wanted(config)) continue;
        const collector = reg.create();
        ctx.started.set(reg.name, collector);
        await collector.start(ctx);
      }
    } catch (err) {
      for (const c of [...ctx.started.values()].reverse()) c.close();
      await instrumentation?.restore().catch((e: Error) => log.error(`restoring the instrumentation settings failed: ${e.message}`));
      await catalog.close();
      await metrics?.shutdown();
      throw err;
    }
    const collectors = [...ctx.started.values()];
    dropElfCache();
    const run = await gatherProvenance(config, target);
    let dropsSoFar = () => 0;
    const provenance = { metadata: () => provenanceMetadata(run), dropsSoFar: () => dropsSoFar(), constants: { run_id: run.run_id } };
    const writers = new Map(collectors.flatMap((c) => c.tables).map((table) =>
      [table.name, new ParquetTableWriter({ outDir: config.out, table: { ...table, columns: [...table.columns, RUN_ID_COLUMN] }, host: config.host, provenance })]));
    const c = new Collection(config, target, collectors, writers, catalog, metrics, instrumentation, locks, ctx.clock);
    c.run = run;
    dropsSoFar = () => c.recordsDroppedSoFar();
    writeRunRecord(config.out, { ...run, ended_at: null, rows: null, records_dropped: null });
    metrics?.attach(c);
    c.timer = setInterval(() => c.tick(), config.intervalMs);
    c.timer.unref();
    c.watchdog = setInterval(() => c.watchTarget(), TARGET_POLL_MS);
    c.watchdog.unref();
    return c;
  }

  /** The PostgreSQL being collected from (a new postmaster after a restart). */
  get target(): Target {
    return this.current;
  }

  /** The running collectors, in start order (none while the target is down). */
  get collectors(): readonly Collector[] {
    return this.running;
  }

  /** Never throws: a gone postmaster starts the follow (serialized with the drains). */
  private watchTarget(): void {
    if (this.following || this.stopping || this.postmaster.alive(this.current.postmasterPid)) return;
    this.following = true;
    this.draining = this.draining.then(() => this.followRestart()).catch((err: Error) => {
      this.lastError = err;
      log.error(`following the PostgreSQL restart failed: ${err.message}; stop pgscout and start it again`);
    }).finally(() => { this.following = false; });
  }

  /**
   * The postmaster is gone (restart, crash, upgrade): what the kernel still
   * holds is drained and written, the probes come off, and once a postmaster
   * answers again the collectors are started on it, into the same files.
   */
  private async followRestart(): Promise<void> {
    const gone = this.current;
    const t0 = performance.now();
    log.warn(`PostgreSQL's postmaster ${gone.postmasterPid} is gone (restart or crash): writing what was collected, attaching again when it is back`);
    try {
      this.ingestTexts();
      for (const c of this.drainOrder) await this.write(await c.finish());
    } catch (err) {
      this.lastError = err as Error;
      log.error(`the last drain before the restart failed: ${(err as Error).message}`);
    }
    await Promise.all(this.running.map((c) => c.detach()));
    for (const c of this.drainOrder) c.close();
    this.running = [];
    const target = await waitForTarget(this.config.pg, () => this.stopping, 'waiting for PostgreSQL to come back');
    if (!target) return;
    if (target.dataDir !== gone.dataDir || target.port !== gone.port) {
      log.warn(`the server at ${this.config.pg} is now the cluster in ${target.dataDir} (port ${target.port}), not ${gone.dataDir} (port ${gone.port}): collecting from it`);
    }
    const started = new Map<string, Collector>();
    try {
      for (const reg of COLLECTORS) {
        if (!reg.wanted(this.config)) continue;
        const collector = reg.create();
        started.set(reg.name, collector);
        await collector.start({ config: this.config, target, clock: this.clock, catalog: this.catalog, started });
      }
    } catch (err) {
      for (const c of [...started.values()].reverse()) c.close();
      this.current = target;
      throw err;
    }
    this.running = [...started.values()];
    this.current = target;
    this.restarts++;
    dropElfCache();
    log.warn(`attached again to PostgreSQL ${target.version} (postmaster ${target.postmasterPid}), ` +
      `${((performance.now() - t0) / 1000).toFixed(1)} s after postmaster ${gone.postmasterPid} went away`);
  }

  /** The running collector of that name, or null when this configuration does not run it. */
  collector(name: string): Collector | null {
    return this.collectors.find((c) => c.name === name) ?? null;
  }

  private async write(batches: TableRows[]): Promise<void> {
    for (const { table, rows } of batches) {
      if (rows.length === 0) continue;
      await this.writers.get(table.name)!.append(rows);
      this.rowsAppended.set(table.name, (this.rowsAppended.get(table.name) ?? 0) + rows.length);
      if (this.metrics && table.metrics) this.metrics.sink.rows(table, isColumnar(rows) ? rows.toRows() : rows);
    }
  }

  /** Dependents first (operators before the statements they join). */
  private get drainOrder(): Collector[] {
    return [...this.collectors].reverse();
  }

  /** Every collector's new query texts, before any drains: dependents' rows join them. */
  private ingestTexts(): void {
    for (const c of this.collectors) c.ingestTexts?.();
  }

  /** Never throws: an error is logged, kept for the caller, and the next tick retries. */
  private tick(): void {
    if (this.following) return;   // the collectors are down; the follow drained what they had
    this.draining = this.draining.then(async () => {
      const t0 = performance.now();
      const syscalls0 = syscallCounter.total;
      try {
        this.ingestTexts();
        for (const c of this.drainOrder) await this.write(await c.drain());
        // Rows reach stable storage every --sync-interval: a crash of pgscout loses at most that
        // and the interval being drained. All tables at once: their fsyncs run side by side on
        // the pool threads, and on a busy machine every await is a wait for a CPU, so one
        // wake-up beats one per file.
        if (t0 - this.lastSync >= this.config.syncIntervalMs - this.config.intervalMs / 2) {
          this.lastSync = t0;
          await settleAll([...this.writers.values()].map((w) => w.sync()));
        }
      } catch (err) {
        this.lastError = err as Error;
        log.error(`drain failed: ${(err as Error).message}`);
        this.metrics?.sink.error('drain');
      }
      this.lastDrain = { ms: performance.now() - t0, syscalls: syscallCounter.total - syscalls0 };
      this.metrics?.sink.drain({ seconds: this.lastDrain.ms / 1000, syscalls: this.lastDrain.syscalls });
    });
  }

  /** The last drain tick: wall time and bpf() syscalls. */
  get lastDrainTick(): { ms: number; syscalls: number } {
    return this.lastDrain;
  }

  private recordRunEnd(stats: Record<string, CollectorStats>): void {
    if (!this.run) return;
    const dropped = Object.values(stats).reduce((a, s) => a + totalDropped(s), 0) + this.rowsNotKept();
    const rows = Object.fromEntries([...this.writers].map(([t, w]) => [t, w.stats.rowsWritten]));
    try {
      writeRunRecord(this.config.out, { ...this.run, ended_at: new Date().toISOString(), rows, records_dropped: dropped });
    } catch (err) {
      log.error(`writing the run record in ${this.config.out}/_runs failed: ${(err as Error).message}`);
    }
  }

  stop(timeoutMs = 30_000): Promise<CollectionSummary> {
    this.stopped ??= (async () => {
      this.stopping = true;
      if (this.timer) clearInterval(this.timer);
      if (this.watchdog) clearInterval(this.watchdog);
      this.postmaster.close();
      let guard: NodeJS.Timeout | undefined;
      const bounded = new Promise<never>((_, reject) => {
        guard = setTimeout(() => reject(new Error(`shutdown did not finish within ${timeoutMs} ms`)), timeoutMs);
        guard.unref();
      });
      let stats: Record<string, CollectorStats> = {};
      try {
        const finish = async () => {
          await this.draining;   // inside the bound: a wedged write must not hold shutdown
          this.ingestTexts();
          for (const c of this.drainOrder) await this.write(await c.finish());
          for (const w of this.writers.values()) await w.close();
        };
        await Promise.race([finish(), bounded]);
      } finally {
        clearTimeout(guard);
        // The shutdown drain's records reach the final OTLP export.
        this.metrics?.sink.drain({ seconds: null, syscalls: 0 });
        await this.metrics?.shutdown();
        await this.instrumentation?.restore()
          .catch((e: Error) => log.error(`restoring the instrumentation settings failed (the next --setup-instrumentation run restores them): ${e.message}`));
        await this.catalog.close();
        // Every file is closed by now: detaching (~0.1 s a uprobe in the kernel)
        // can take its time without risking data; a second signal exits at once.
        // (The statement and plan-node sources detached in finish(): their last
        // drain must see both aggregate maps with nothing writing them.)
        // Stats before detaching: sampled backends are the ones still probed.
        stats = Object.fromEntries(this.collectors.map((c) => [c.name, c.stats()]));
        await Promise.all(this.collectors.map((c) => c.detach()));
        for (const c of this.drainOrder) c.close();
        for (const l of this.locks) l.release();
      }
      const notKept = [...this.writers].filter(([, w]) => w.stats.rowsDropped > 0).map(([t, w]) => `${t} ${w.stats.rowsDropped}`);
      this.recordRunEnd(stats);
      return {
        target: this.target,
        collectors: stats,
        lines: [
          ...this.collectors.filter((c) => stats[c.name]).map((c) => c.summarize(stats[c.name]!, Object.fromEntries(this.rowsAppended))),
          ...(notKept.length ? [`dataset: rows not written because the disk was full or refused writes: ${notKept.join(', ')}`] : []),
          ...(this.restarts ? [`followed ${this.restarts} PostgreSQL restart${this.restarts > 1 ? 's' : ''}`] : []),
        ],
        rows: Object.fromEntries(this.rowsAppended),
        files: [...this.writers.values()].flatMap((w) => w.listFiles()),
        seconds: (performance.now() - this.startedAt) / 1000,
      };
    })();
    return this.stopped;
  }
}
