/**
 * The dashboards only ask for what pgscout exports: every metric name in
 * every PromQL expression (panels and variables) is one of the Prometheus
 * names derived from the metric registry, every label one of their labels.
 * The Prometheus integration test then evaluates the same expressions
 * against real data.
 */
import { describe, expect, it } from 'vitest';
import { ALL_METRICS, exportedPrometheusNames } from '../../src/metrics/registry.js';
import { sanitizePrometheusName } from '../../src/metrics/prometheus-names.js';
import { resourceAttributes } from '../../src/metrics/resource.js';
import {
  allPanels, dashboardQueries, labelNamesIn, loadDashboards, metricNamesIn, panelsOf, parseLabelValues, substituteVariables, variableQueries,
} from './dashboard-queries.js';

const exported = exportedPrometheusNames();
const knownLabels = new Set([
  'job', 'instance', 'le', 'otel_scope_name', 'otel_scope_version', '__name__',
  ...ALL_METRICS.flatMap((m) => m.attributes.map(sanitizePrometheusName)),
  ...Object.keys(resourceAttributes({ host: 'h', version: '15', dataDir: '/d', port: 5432 })).map(sanitizePrometheusName),
]);

describe('PromQL scanner', () => {
  it('finds metric names, not functions, keywords, labels or durations', () => {
    const expr = 'histogram_quantile(0.95, sum by (le, db_operation_name) (rate(pgscout_statement_duration_seconds_bucket{job=~".*", db_namespace!="x"}[1m]))) / on() group_left sum(foo_total offset 5m) > bool 1e-3';
    expect(metricNamesIn(expr).sort()).toEqual(['foo_total', 'pgscout_statement_duration_seconds_bucket']);
    expect(labelNamesIn(expr).sort()).toEqual(['db_namespace', 'db_operation_name', 'job', 'le']);
  });

  it('substitutes Grafana variables', () => {
    expect(substituteVariables('rate(x{a=~"$job", b=~"${instance:regex}"}[$__rate_interval]) + increase(y[$__range])'))
      .toBe('rate(x{a=~".*", b=~".*"}[1m]) + increase(y[5m])');
  });

  it('a metric pgscout does not export is caught', () => {
    const names = metricNamesIn('sum(rate(pgscout_statement_latency_seconds_count[1m]))');
    expect(names.filter((n) => !exported.has(n))).toEqual(['pgscout_statement_latency_seconds_count']);
  });
});

describe('dashboards', () => {
  const dashboards = loadDashboards();
  const queries = dashboardQueries();

  it('exist: overview, operators, collector health', () => {
    expect(dashboards.map((d) => d.file)).toEqual(['pgscout-collector.json', 'pgscout-operators.json', 'pgscout-overview.json']);
    expect(queries.length).toBeGreaterThan(40);
  });

  it('every panel has at least one PromQL target, on the datasource variable', () => {
    for (const { file, json } of dashboards) {
      const vars = json.templating?.list ?? [];
      expect(vars.find((v) => v.name === 'datasource')?.type, file).toBe('datasource');
      for (const p of panelsOf(json)) {
        expect((p.targets ?? []).length, `${file}: ${p.title}`).toBeGreaterThan(0);
        for (const t of p.targets ?? []) expect(t.expr?.trim(), `${file}: ${p.title}`).toBeTruthy();
        expect((p as { datasource?: { uid?: string } }).datasource?.uid, `${file}: ${p.title}`).toBe('${datasource}');
      }
    }
  });

  it('reference only metrics pgscout exports', () => {
    const unknown = queries.flatMap((q) => metricNamesIn(q.expr).filter((n) => !exported.has(n)).map((n) => `${q.dashboard} / ${q.panel}: ${n}`));
    expect(unknown).toEqual([]);
    for (const q of queries) expect(metricNamesIn(q.expr).length, `${q.dashboard} / ${q.panel}`).toBeGreaterThan(0);
  });

  it('use only labels pgscout metrics carry', () => {
    const unknown = queries.flatMap((q) => labelNamesIn(q.expr).filter((l) => !knownLabels.has(l)).map((l) => `${q.dashboard} / ${q.panel}: ${l}`));
    expect(unknown).toEqual([]);
  });

  it('variables are label_values over exported metrics and labels', () => {
    const vars = variableQueries();
    expect(vars.length).toBeGreaterThanOrEqual(6);
    for (const v of vars) {
      const lv = parseLabelValues(v.query);
      expect(lv, `${v.dashboard} $${v.variable}`).not.toBeNull();
      expect(metricNamesIn(lv!.selector).every((n) => exported.has(n)), v.query).toBe(true);
      expect(knownLabels.has(lv!.label), v.query).toBe(true);
    }
  });

  it('panel ids are unique within a dashboard', () => {
    for (const { file, json } of dashboards) {
      const ids = allPanels(json.panels).map((p) => (p as { id?: number }).id);
      expect(ids.every((id) => typeof id === 'number'), file).toBe(true);
      expect(new Set(ids).size, file).toBe(ids.length);
    }
  });
});
