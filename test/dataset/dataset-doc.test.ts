/** docs/dataset.md documents every column exactly as the table specs define it. */
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BEGIN, columnsMarkdown, END } from '../../src/dataset/doc.js';
import { documentedTables } from '../../src/collectors/registry.js';
import { QUERIES_TABLE } from '../../src/collectors/statements/tables.js';
import { OPERATORS_TABLE } from '../../src/collectors/operators/table.js';

const doc = fs.readFileSync(new URL('../../docs/dataset.md', import.meta.url), 'utf8');

describe('docs/dataset.md', () => {
  for (const table of documentedTables()) {
    it(`has the generated column table of ${table.name}`, () => {
      const block = doc.slice(doc.indexOf(BEGIN(table.name)) + BEGIN(table.name).length, doc.indexOf(END(table.name))).trim();
      expect(block).toBe(columnsMarkdown(table));
    });
  }

  it('documents every collector table', () => {
    expect(documentedTables().map((t) => t.name)).toEqual(['query_stats', 'queries', 'operators', 'plan_node_stats', 'plan_nodes', 'plan_node_workers']);
  });

  it('names the columns downstream tools key on', () => {
    for (const name of ['query_id', 'fingerprint', 'query_text', 'pid', 'start_ns', 'end_ns', 'on_cpu_ns', 'off_cpu_ns']) {
      expect(QUERIES_TABLE.columns.find((c) => c.name === name), name).toBeDefined();
    }
    expect(QUERIES_TABLE.columns.find((c) => c.name === 'query_id')!.type).toBe('INT64');
    for (const name of ['query_id', 'node_type', 'plan_node_id', 'parent_node_id', 'tuples', 'loops', 'est_rows', 'est_total_cost', 'incl_ns', 'excl_ns']) {
      expect(OPERATORS_TABLE.columns.find((c) => c.name === name), name).toBeDefined();
    }
  });
});
