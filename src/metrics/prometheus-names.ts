/**
 * OpenTelemetry → Prometheus metric names, as the OpenTelemetry Collector's
 * prometheus exporter spells them by default (and as pgscout's own scrape
 * endpoint serves them): invalid characters → `_`, the unit as a suffix
 * (`s` → `_seconds`, `By` → `_bytes`, `1` on a gauge → `_ratio`, `{…}`
 * annotations dropped), `_total` on monotonic counters, and
 * `_bucket`/`_sum`/`_count` series for histograms. Dashboards written
 * against these names work whether Prometheus scrapes pgscout directly or
 * an OpenTelemetry Collector that received OTLP.
 */

export type MetricKind = 'histogram' | 'counter' | 'updowncounter' | 'gauge';

const UNIT_WORDS: Record<string, string> = {
  d: 'days', h: 'hours', min: 'minutes', s: 'seconds', ms: 'milliseconds', us: 'microseconds', ns: 'nanoseconds',
  By: 'bytes', KiBy: 'kibibytes', MiBy: 'mebibytes', GiBy: 'gibibytes', KBy: 'kilobytes', MBy: 'megabytes', GBy: 'gigabytes',
  '%': 'percent',
};

export function sanitizePrometheusName(name: string): string {
  return name.replace(/[^a-zA-Z0-9_:]/g, '_').replace(/_{2,}/g, '_');
}

/** The suffix a unit contributes, or '' (dimensionless counts, annotations like `{row}`). */
export function unitSuffix(unit: string, kind: MetricKind): string {
  const u = unit.replace(/\{[^}]*\}/g, '').trim();
  if (u === '') return '';
  if (u === '1') return kind === 'gauge' ? 'ratio' : '';
  const per = u.split('/');
  const word = (x: string) => UNIT_WORDS[x] ?? sanitizePrometheusName(x);
  return per.length === 2 ? `${word(per[0]!)}_per_${word(per[1]!)}` : word(u);
}

/** Family name without the type suffixes (`_total`, `_bucket`, …). */
export function prometheusBaseName(name: string, unit: string, kind: MetricKind): string {
  let base = sanitizePrometheusName(name);
  const suffix = unitSuffix(unit, kind);
  if (suffix && !base.split('_').includes(suffix)) base += `_${suffix}`;
  return base;
}

/** Every series name Prometheus stores for one instrument. */
export function prometheusSeriesNames(name: string, unit: string, kind: MetricKind): string[] {
  const base = prometheusBaseName(name, unit, kind);
  switch (kind) {
    case 'histogram':
      return [`${base}_bucket`, `${base}_sum`, `${base}_count`];
    case 'counter':
      return [base.endsWith('_total') ? base : `${base}_total`];
    default:
      return [base];
  }
}
