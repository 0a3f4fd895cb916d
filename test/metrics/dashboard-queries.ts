/**
 * Every PromQL expression of every Grafana dashboard in dashboards/, with
 * Grafana's template variables substituted, and a small PromQL scanner for
 * the metric and label names an expression uses.
 */
import fs from 'node:fs';
import path from 'node:path';

export const DASHBOARD_DIR = new URL('../../dashboards/', import.meta.url).pathname;

export interface DashboardQuery { dashboard: string; panel: string; refId: string; expr: string }
export interface VariableQuery { dashboard: string; variable: string; query: string }

interface Panel { title?: string; type?: string; panels?: Panel[]; targets?: { refId?: string; expr?: string }[] }
interface Dashboard {
  title: string;
  panels: Panel[];
  templating?: { list: { name: string; type: string; query?: string | { query?: string }; definition?: string }[] };
}

export function loadDashboards(): { file: string; json: Dashboard }[] {
  return fs.readdirSync(DASHBOARD_DIR).filter((f) => f.endsWith('.json')).sort()
    .map((f) => ({ file: f, json: JSON.parse(fs.readFileSync(path.join(DASHBOARD_DIR, f), 'utf8')) as Dashboard }));
}

export function allPanels(panels: Panel[]): Panel[] {
  return panels.flatMap((p) => [p, ...allPanels(p.panels ?? [])]);
}

export function panelsOf(d: Dashboard): Panel[] {
  return allPanels(d.panels).filter((p) => p.type !== 'row');
}

export function dashboardQueries(): DashboardQuery[] {
  return loadDashboards().flatMap(({ file, json }) => panelsOf(json).flatMap((p) =>
    (p.targets ?? []).map((t) => ({ dashboard: file, panel: p.title ?? '?', refId: t.refId ?? '?', expr: t.expr ?? '' }))));
}

/** Query variables: `label_values(<selector>, <label>)` and plain PromQL. */
export function variableQueries(): VariableQuery[] {
  return loadDashboards().flatMap(({ file, json }) => (json.templating?.list ?? [])
    .filter((v) => v.type === 'query')
    .map((v) => ({
      dashboard: file,
      variable: v.name,
      query: typeof v.query === 'string' ? v.query : v.query?.query ?? v.definition ?? '',
    })));
}

/** `label_values(sel, label)` → { selector, label }; null for other forms. */
export function parseLabelValues(q: string): { selector: string; label: string } | null {
  const m = /^\s*label_values\(\s*(.*),\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\)\s*$/s.exec(q);
  return m ? { selector: m[1]!, label: m[2]! } : null;
}

/** Grafana's built-in intervals and every dashboard variable (as a match-all regex). */
export function substituteVariables(expr: string): string {
  return expr
    .replace(/\$__rate_interval|\$\{__rate_interval\}/g, '1m')
    .replace(/\$__interval_ms/g, '60000')
    .replace(/\$__interval|\$\{__interval\}/g, '1m')
    .replace(/\$__range_s/g, '300')
    .replace(/\$__range|\$\{__range\}/g, '5m')
    .replace(/\$\{(\w+)(?::\w+)?\}|\$(\w+)/g, '.*');
}

const KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'offset', 'and', 'or', 'unless', 'inf', 'nan']);
const GROUPING = /\b(by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)/g;

function stripStrings(expr: string): string {
  return expr.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '""');
}

/** Metric names an expression selects (identifiers that are not functions, keywords, labels or numbers). */
export function metricNamesIn(expr: string): string[] {
  const s = stripStrings(expr).replace(/\{[^}]*\}/g, ' ').replace(/\[[^\]]*\]/g, ' ').replace(GROUPING, ' ');
  const out: string[] = [];
  for (const m of s.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    const before = s[m.index! - 1];
    if (before !== undefined && /[0-9.]/.test(before)) continue; // 1e-3, durations
    if (/^\s*\(/.test(s.slice(m.index! + m[0].length))) continue; // function call
    if (KEYWORDS.has(m[0].toLowerCase())) continue;
    out.push(m[0]);
  }
  return [...new Set(out)];
}

/** Label names used in matchers and in by/without/on/ignoring/group_* lists. */
export function labelNamesIn(expr: string): string[] {
  const s = stripStrings(expr);
  const out: string[] = [];
  for (const block of s.matchAll(/\{([^}]*)\}/g)) {
    for (const m of block[1]!.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)/g)) out.push(m[1]!);
  }
  for (const g of s.matchAll(GROUPING)) {
    for (const l of g[2]!.split(',').map((x) => x.trim()).filter(Boolean)) out.push(l);
  }
  return [...new Set(out)];
}
