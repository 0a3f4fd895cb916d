/** The metric registry: well-formed, unambiguous under Prometheus naming, documented. */
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ALL_METRICS, exportedPrometheusNames } from '../../src/metrics/registry.js';
import { prometheusBaseName, prometheusSeriesNames, unitSuffix } from '../../src/metrics/prometheus-names.js';
import { uuidV5 } from '../../src/metrics/resource.js';

describe('OpenTelemetry → Prometheus names', () => {
  it('adds unit and type suffixes as the Collector does', () => {
    expect(prometheusSeriesNames('pgscout.statement.duration', 's', 'histogram'))
      .toEqual(['pgscout_statement_duration_seconds_bucket', 'pgscout_statement_duration_seconds_sum', 'pgscout_statement_duration_seconds_count']);
    expect(prometheusSeriesNames('pgscout.statement.disk.io', 'By', 'counter')).toEqual(['pgscout_statement_disk_io_bytes_total']);
    expect(prometheusSeriesNames('pgscout.statement.rows', '{row}', 'counter')).toEqual(['pgscout_statement_rows_total']);
    expect(prometheusSeriesNames('pgscout.map.fill', '1', 'gauge')).toEqual(['pgscout_map_fill_ratio']);
    expect(prometheusSeriesNames('process.memory.usage', 'By', 'updowncounter')).toEqual(['process_memory_usage_bytes']);
    expect(prometheusSeriesNames('x.requests', '1', 'counter')).toEqual(['x_requests_total']);
  });

  it('does not repeat a unit already in the name, and maps compound units', () => {
    expect(prometheusBaseName('http.server.duration_seconds', 's', 'histogram')).toBe('http_server_duration_seconds');
    expect(unitSuffix('By/s', 'gauge')).toBe('bytes_per_seconds');
    expect(unitSuffix('{packet}', 'counter')).toBe('');
    expect(prometheusBaseName('a-b.c', 'ms', 'gauge')).toBe('a_b_c_milliseconds');
  });

  it('service.instance.id is a deterministic UUIDv5', () => {
    // RFC 9562 test vector: DNS namespace, "www.example.com".
    expect(uuidV5('www.example.com', '6ba7b810-9dad-11d1-80b4-00c04fd430c8')).toBe('2ed6657d-e927-568b-95e1-2665a8aea6a2');
  });
});

describe('metric registry', () => {
  it('names, units and kinds are well formed', () => {
    for (const m of ALL_METRICS) {
      expect(m.name, m.name).toMatch(/^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$/);
      expect(m.name.startsWith('pgscout.') || m.name.startsWith('process.'), m.name).toBe(true);
      expect(m.description.length, m.name).toBeGreaterThan(10);
      expect(['s', 'By', '1', ''].includes(m.unit) || /^\{[a-z]+\}$/.test(m.unit), `${m.name}: ${m.unit}`).toBe(true);
      expect(m.name.split('.').some((t) => ['seconds', 'bytes', 'total', 'count_total'].includes(t)), m.name).toBe(false);
      if (m.kind === 'histogram') {
        expect(m.buckets, m.name).toBeDefined();
        expect([...m.buckets!].sort((a, b) => a - b), m.name).toEqual([...m.buckets!]);
        expect(m.observable, m.name).toBe(false);
      } else {
        expect('buckets' in m, m.name).toBe(false);
      }
    }
  });

  it('no two instruments share an OpenTelemetry or Prometheus name', () => {
    const otel = ALL_METRICS.map((m) => m.name);
    expect(new Set(otel).size).toBe(otel.length);
    const prom = ALL_METRICS.flatMap((m) => prometheusSeriesNames(m.name, m.unit, m.kind));
    expect(new Set(prom).size).toBe(prom.length);
    expect(exportedPrometheusNames().size).toBe(prom.length + 1); // + target_info
  });

  it('attributes are semantic-convention keys or pgscout.*', () => {
    const conventional = new Set(['db.namespace', 'db.operation.name', 'error.type', 'disk.io.direction', 'network.io.direction',
      'process.context_switch.type', 'cpu.mode']);
    for (const m of ALL_METRICS) for (const a of m.attributes) expect(conventional.has(a) || a.startsWith('pgscout.'), `${m.name}: ${a}`).toBe(true);
  });

  it('docs/metrics.md documents every metric under both names', () => {
    const doc = fs.readFileSync(new URL('../../docs/metrics.md', import.meta.url), 'utf8');
    for (const m of ALL_METRICS) {
      expect(doc, m.name).toContain(`\`${m.name}\``);
      for (const n of prometheusSeriesNames(m.name, m.unit, m.kind)) expect(doc, n).toContain(`\`${n}\``);
      for (const a of m.attributes) expect(doc, `${m.name} ${a}`).toContain(`\`${a}\``);
    }
  });
});
