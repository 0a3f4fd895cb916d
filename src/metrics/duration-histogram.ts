/**
 * The statement duration histogram, fed with pre-aggregated bucket counts
 * (query_stats rows) instead of one record() per execution: a MetricProducer
 * the readers collect beside the SDK's own instruments. Counts, sum, min and
 * max are exact; the buckets are the kernel's powers of two
 * (src/dataset/histogram.ts), so no execution changes bucket on the way.
 */
import type { Attributes, HrTime } from '@opentelemetry/api';
import { ValueType } from '@opentelemetry/api';
import {
  AggregationTemporality, DataPointType, type CollectionResult, type MetricProducer,
} from '@opentelemetry/sdk-metrics';
import { HISTOGRAM_BOUNDARIES_S, HISTOGRAM_BUCKETS } from '../dataset/histogram.js';
import type { MetricSpec } from './registry.js';

interface Series { attributes: Attributes; counts: number[]; count: number; sum: number; min: number; max: number }

const hrNow = (): HrTime => {
  const ms = performance.timeOrigin + performance.now();
  return [Math.floor(ms / 1000), Math.round((ms % 1000) * 1e6)];
};

export class DurationHistogram implements MetricProducer {
  private readonly series = new Map<string, Series>();
  private readonly startTime = hrNow();

  constructor(private readonly spec: MetricSpec) {}

  /**
   * Adds one aggregate: per-bucket call counts (HISTOGRAM_BUCKETS of them),
   * the exact sum, min and max in seconds.
   */
  add(key: string, attributes: Attributes, buckets: readonly number[], sum: number, min: number, max: number): void {
    const calls = buckets.reduce((a, n) => a + n, 0);
    if (calls === 0) return;
    let s = this.series.get(key);
    if (!s) {
      s = { attributes, counts: new Array<number>(HISTOGRAM_BUCKETS).fill(0), count: 0, sum: 0, min: Infinity, max: -Infinity };
      this.series.set(key, s);
    }
    for (let i = 0; i < HISTOGRAM_BUCKETS; i++) s.counts[i]! += buckets[i] ?? 0;
    s.count += calls;
    s.sum += sum;
    s.min = Math.min(s.min, min);
    s.max = Math.max(s.max, max);
  }

  async collect(): Promise<CollectionResult> {
    const endTime = hrNow();
    const dataPoints = [...this.series.values()].map((s) => ({
      attributes: s.attributes, startTime: this.startTime, endTime,
      value: {
        buckets: { boundaries: [...HISTOGRAM_BOUNDARIES_S], counts: [...s.counts] },
        count: s.count, sum: s.sum, min: s.min, max: s.max,
      },
    }));
    return {
      // The reader keeps the SDK's resource; only the scope metrics are merged.
      resourceMetrics: {
        resource: undefined as never,
        scopeMetrics: dataPoints.length === 0 ? [] : [{
          scope: { name: 'pgscout' },
          metrics: [{
            descriptor: { name: this.spec.name, description: this.spec.description, unit: this.spec.unit, valueType: ValueType.DOUBLE },
            aggregationTemporality: AggregationTemporality.CUMULATIVE,
            dataPointType: DataPointType.HISTOGRAM,
            dataPoints,
          }],
        }],
      },
      errors: [],
    };
  }
}
