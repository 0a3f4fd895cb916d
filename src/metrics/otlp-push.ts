/**
 * OTLP/HTTP protobuf push every --otlp-interval. Failed exports are counted
 * (pgscout.errors{error.type="metrics_export"}) and logged at most once a
 * minute: a collector that is down must not flood the log or stop the
 * collection.
 */
import type { MetricProducer } from '@opentelemetry/sdk-metrics';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import { PeriodicExportingMetricReader, type PushMetricExporter, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { logger } from '../util/log.js';

const log = logger('metrics');

type ResultCallback = Parameters<PushMetricExporter['export']>[1];
type ExportResult = Parameters<ResultCallback>[0];

/** Wraps an exporter to observe each export's outcome. */
export class ObservedExporter implements PushMetricExporter {
  private lastWarn = -Infinity;
  readonly selectAggregationTemporality: PushMetricExporter['selectAggregationTemporality'];
  readonly selectAggregation: PushMetricExporter['selectAggregation'];

  constructor(private readonly inner: PushMetricExporter, private readonly url: string, private readonly onFailure: () => void) {
    this.selectAggregationTemporality = inner.selectAggregationTemporality?.bind(inner);
    this.selectAggregation = inner.selectAggregation?.bind(inner);
  }

  export(metrics: ResourceMetrics, done: ResultCallback): void {
    this.inner.export(metrics, (result: ExportResult) => {
      if (result.code !== 0) {
        this.onFailure();
        const now = performance.now();
        if (now - this.lastWarn > 60_000) {
          this.lastWarn = now;
          log.warn(`OTLP export to ${this.url} failed: ${result.error?.message ?? 'unknown error'} (repeats are not logged for a minute)`);
        }
      }
      done(result);
    });
  }

  forceFlush(): Promise<void> {
    return this.inner.forceFlush();
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }
}

export function otlpReader(url: string, intervalMs: number, onFailure: () => void, metricProducers: MetricProducer[] = []): PeriodicExportingMetricReader {
  const timeoutMs = Math.min(intervalMs, 10_000);
  const exporter = new OTLPMetricExporter({ url, timeoutMillis: timeoutMs });
  return new PeriodicExportingMetricReader({
    exporter: new ObservedExporter(exporter, url, onFailure),
    exportIntervalMillis: intervalMs,
    exportTimeoutMillis: timeoutMs,
    metricProducers,
  });
}
