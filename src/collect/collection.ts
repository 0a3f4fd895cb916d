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
import { requireBpfReady } from './preflight.js';
import { logger } from '../util/log.js';

const log = logger('collect');

export interface CollectionSummary {
  target: Target;
  stats: DrainStats;
  files: string[];
  seconds: number;
}

export class Collection {
  private timer: NodeJS.Timeout | null = null;
  private draining: Promise<void> = Promise.resolve();
  private stopped: Promise<CollectionSummary> | null = null;
  private readonly startedAt = performance.now();
  lastError: Error | null = null;

  private constructor(
    readonly config: CollectConfig,
    readonly target: Target,
    readonly source: StatementSource,
    readonly drainer: StatementDrainer,
  ) {}

  static async start(config: CollectConfig): Promise<Collection> {
    requireBpfReady();
    const target = await discoverTarget(config.pg);
    if (target.computeQueryId === 'off') {
      log.warn('compute_query_id is off: query_id will be null; set compute_query_id = on (or auto with pg_stat_statements loaded)');
    }
    await initParser();
    const source = new StatementSource(target);
    const drainer = new StatementDrainer(source, { outDir: config.out, host: config.host, conninfo: config.pg });
    const c = new Collection(config, target, source, drainer);
    c.schedule();
    return c;
  }

  private schedule(): void {
    this.timer = setInterval(() => this.tick(), this.config.intervalMs);
    this.timer.unref();
  }

  /** Never throws: an error is logged, kept for the caller, and the next tick retries. */
  private tick(): void {
    this.draining = this.draining.then(async () => {
      try {
        await this.drainer.drainOnce();
      } catch (err) {
        this.lastError = err as Error;
        log.error(`drain failed: ${(err as Error).message}`);
      }
    });
  }

  get stats(): DrainStats {
    return this.drainer.stats;
  }

  stop(timeoutMs = 30_000): Promise<CollectionSummary> {
    this.stopped ??= (async () => {
      if (this.timer) clearInterval(this.timer);
      await this.draining;
      let guard: NodeJS.Timeout | undefined;
      const bounded = new Promise<never>((_, reject) => {
        guard = setTimeout(() => reject(new Error(`shutdown did not finish within ${timeoutMs} ms`)), timeoutMs);
        guard.unref();
      });
      try {
        await Promise.race([this.drainer.finish(), bounded]);
      } finally {
        clearTimeout(guard);
        this.source.close();
      }
      return {
        target: this.target,
        stats: this.drainer.stats,
        files: [...this.drainer.queries.listFiles(), ...this.drainer.errors.listFiles()],
        seconds: (performance.now() - this.startedAt) / 1000,
      };
    })();
    return this.stopped;
  }
}
