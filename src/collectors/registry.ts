/**
 * Every collector pgscout has, in start order (a collector may use those
 * before it). Adding a collector is one folder under src/collectors/ and
 * one line here.
 */
import type { TableSpec } from '../dataset/schema.js';
import type { CollectorRegistration } from './collector.js';
import { OperatorsCollector } from './operators/collector.js';
import { PlanNodesCollector } from './plan-nodes/collector.js';
import { StatementsCollector } from './statements/collector.js';

export const COLLECTORS: readonly CollectorRegistration[] = [
  { name: 'statements', wanted: () => true, create: () => new StatementsCollector() },
  { name: 'operators', wanted: (config) => config.operatorProbes !== null, create: () => new OperatorsCollector() },
  { name: 'plan-nodes', wanted: (config) => config.level === 'operator', create: () => new PlanNodesCollector() },
];

/** Every table of every collector, one per distinct column list (query_errors shares the columns of queries). */
export function documentedTables(): TableSpec[] {
  const seen = new Set<readonly unknown[]>();
  return COLLECTORS.flatMap((r) => r.create().tables).filter((t) => !seen.has(t.columns) && seen.add(t.columns));
}
