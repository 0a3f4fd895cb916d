/**
 * One MeterProvider for a collection, with up to two readers: the Prometheus
 * scrape endpoint (--prometheus) and the OTLP/HTTP push (--otlp). Loaded
 * only when one of them is configured (collection.ts imports it lazily).
 */
import type { MetricReader } from '@opentelemetry/sdk-metrics';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import type { CollectConfig } from '../config.js';
import type { Target } from '../pg/target.js';
import { logger } from '../util/log.js';
import { collectorView, type ObservedCollection } from './collector-view.js';
import { otlpReader } from './otlp-push.js';
import { PrometheusEndpoint } from './prometheus-endpoint.js';
import { MetricsRecorder } from './recorder.js';
import { DurationHistogram } from './duration-histogram.js';
import { METRICS } from './registry.js';
import { pgscoutResource } from './resource.js';
import type { MetricsSink } from './sink.js';

const log = logger('metrics');

export type MetricsConfig = Pick<CollectConfig, 'host' | 'prometheus' | 'otlp' | 'otlpIntervalMs' | 'topQueries'>;

export function metricsWanted(cfg: MetricsConfig): boolean {
  return cfg.prometheus !== null || cfg.otlp !== null;
}

export class Metrics {
  private closing: Promise<void> | null = null;

  private constructor(
    private readonly provider: MeterProvider,
    private readonly recorder: MetricsRecorder,
    readonly prometheus: PrometheusEndpoint | null,
  ) {}

  static async start(cfg: MetricsConfig, target: Pick<Target, 'version' | 'dataDir' | 'port'>): Promise<Metrics> {
    const durations = new DurationHistogram(METRICS.statementDuration);
    const prometheus = cfg.prometheus ? await PrometheusEndpoint.start(cfg.prometheus, [durations]) : null;
    const readers: MetricReader[] = [];
    if (prometheus) readers.push(prometheus.reader);
    let recorder: MetricsRecorder | null = null;
    if (cfg.otlp) readers.push(otlpReader(cfg.otlp, cfg.otlpIntervalMs, () => recorder?.error('metrics_export'), [durations]));
    const provider = new MeterProvider({
      resource: pgscoutResource({ host: cfg.host, version: target.version, dataDir: target.dataDir, port: target.port }),
      readers,
    });
    recorder = new MetricsRecorder(provider.getMeter('pgscout'), { topQueries: cfg.topQueries, durations });
    return new Metrics(provider, recorder, prometheus);
  }

  get sink(): MetricsSink {
    return this.recorder;
  }

  /** Starts observing a running collection (its stats, writers, probes). */
  attach(collection: ObservedCollection): void {
    this.recorder.attach(collectorView(collection));
  }

  /**
   * Final OTLP export, then the endpoint closes. Bounded: a collector that
   * does not answer cannot hold up shutdown. Never throws.
   */
  shutdown(timeoutMs = 5000): Promise<void> {
    this.closing ??= (async () => {
      let timer: NodeJS.Timeout | undefined;
      let timedOut = false;
      const bound = new Promise<void>((resolve) => {
        timer = setTimeout(() => {
          timedOut = true;
          log.warn(`metrics shutdown did not finish within ${timeoutMs} ms (final OTLP export abandoned)`);
          resolve();
        }, timeoutMs);
        timer.unref();
      });
      try {
        await Promise.race([this.provider.shutdown({ timeoutMillis: timeoutMs }).catch((err: Error) => {
          if (!timedOut) log.warn(`metrics shutdown: ${err.message}`);
        }), bound]);
      } finally {
        clearTimeout(timer);
        await this.prometheus?.close().catch(() => undefined);
      }
    })();
    return this.closing;
  }
}
