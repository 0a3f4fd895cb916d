/**
 * Operator accuracy suite for PostgreSQL 15: a small schema and one
 * statement per case, chosen (and where needed forced with planner
 * settings) so that together they produce every common plan node type.
 *
 * Run each case as one statement in its own transaction that is rolled
 * back, with the settings applied by SET LOCAL (explain.ts's runRolledBack
 * does exactly that), so the suite is repeatable: data-modifying cases touch
 * only mod_target and leave nothing behind.
 *
 * Statistics are made deterministic: ANALYZE runs with
 * default_statistics_target = 1000, whose 300,000-row sample covers every
 * table completely, and autovacuum is off on every table, so the plans do
 * not depend on ANALYZE's random sample or on autovacuum timing.
 * test/operators/suite.test.ts checks that each case's plan contains its
 * expectNodes.
 */

export interface OperatorCase {
  name: string;
  /** SET LOCAL-able settings; always includes jit=off and max_parallel_workers_per_gather. */
  settings?: Record<string, string>;
  sql: string;
  /** EXPLAIN (FORMAT JSON) "Node Type" strings that must appear in the plan. */
  expectNodes: string[];
  /**
   * Further properties that some node of the plan must have, matched against
   * EXPLAIN's JSON keys, e.g. { 'Node Type': 'Aggregate', Strategy: 'Mixed' }
   * or { 'Parent Relationship': 'InitPlan' }.
   */
  expectProps?: Array<Record<string, string | boolean>>;
  /** The statement writes (to mod_target); only ever run it in a transaction that is rolled back. */
  modifies?: boolean;
}

/** Every case: no JIT (its compile time would swamp small plans) and no parallelism unless asked for. */
export const BASE_SETTINGS: Readonly<Record<string, string>> = Object.freeze({
  jit: 'off',
  max_parallel_workers_per_gather: '0',
});

/** Make parallel plans cheap enough to be chosen on these small tables. */
export const PARALLEL_SETTINGS: Readonly<Record<string, string>> = Object.freeze({
  jit: 'off',
  max_parallel_workers_per_gather: '2',
  parallel_setup_cost: '0',
  parallel_tuple_cost: '0',
  min_parallel_table_scan_size: '0',
  min_parallel_index_scan_size: '0',
});

const s = (extra: Record<string, string> = {}): Record<string, string> => ({ ...BASE_SETTINGS, ...extra });
const par = (extra: Record<string, string> = {}): Record<string, string> => ({ ...PARALLEL_SETTINGS, ...extra });

const NO_AUTOVACUUM = 'WITH (autovacuum_enabled = off)';

/**
 * A load transaction whose commit is flushed before it returns. The test
 * clusters run with synchronous_commit = off, and VACUUM may not set hint
 * bits (so not the visibility map either) for a transaction whose commit
 * record is not yet flushed: without this, whether Index Only Scans visit
 * the heap would depend on the WAL writer's timing.
 */
function load(sql: string): string {
  return `BEGIN; SET LOCAL synchronous_commit = on; ${sql}; COMMIT`;
}

/**
 * Schema setup, one entry per round trip (VACUUM cannot run inside a
 * multi-statement string). Rows: big 200,000; small 5,000; dim 200;
 * part 40,000 in 4 range partitions; mod_target 2,000.
 *
 * big.a = id % 1000 and big.b = id*7919 % 499 are independent (1000 and 499
 * are coprime), so AND/OR of their indexes give BitmapAnd/BitmapOr.
 */
export const SETUP_STATEMENTS: readonly string[] = Object.freeze([
  `DROP TABLE IF EXISTS big, small, dim, part, mod_target CASCADE`,
  load(`CREATE TABLE big (id int PRIMARY KEY, a int NOT NULL, b int NOT NULL, c text NOT NULL) ${NO_AUTOVACUUM};
   INSERT INTO big SELECT g, g % 1000, (g * 7919) % 499, md5(g::text) FROM generate_series(1, 200000) g;
   CREATE INDEX big_a ON big (a);
   CREATE INDEX big_b ON big (b)`),
  load(`CREATE TABLE small (id int PRIMARY KEY, big_id int NOT NULL, grp int NOT NULL, a int NOT NULL, name text NOT NULL) ${NO_AUTOVACUUM};
   INSERT INTO small SELECT g, (g * 37) % 200000 + 1, g % 50, g % 1000, 'n' || (g % 300) FROM generate_series(1, 5000) g`),
  load(`CREATE TABLE dim (id int PRIMARY KEY, label text NOT NULL) ${NO_AUTOVACUUM};
   INSERT INTO dim SELECT g, 'label ' || g FROM generate_series(1, 200) g`),
  load(`CREATE TABLE part (k int NOT NULL, v int NOT NULL, t text NOT NULL) PARTITION BY RANGE (k);
   CREATE TABLE part_1 PARTITION OF part FOR VALUES FROM (0) TO (10000) ${NO_AUTOVACUUM};
   CREATE TABLE part_2 PARTITION OF part FOR VALUES FROM (10000) TO (20000) ${NO_AUTOVACUUM};
   CREATE TABLE part_3 PARTITION OF part FOR VALUES FROM (20000) TO (30000) ${NO_AUTOVACUUM};
   CREATE TABLE part_4 PARTITION OF part FOR VALUES FROM (30000) TO (40000) ${NO_AUTOVACUUM};
   INSERT INTO part SELECT g, g % 97, 'p' || g FROM generate_series(0, 39999) g;
   CREATE INDEX part_k ON part (k)`),
  load(`CREATE TABLE mod_target (id int PRIMARY KEY, grp int NOT NULL, val int NOT NULL, note text) ${NO_AUTOVACUUM};
   INSERT INTO mod_target SELECT g, g % 20, g, NULL FROM generate_series(1, 2000) g`),
  // Sets the visibility map (Index Only Scan must not visit the heap) and hint bits.
  ...['big', 'small', 'dim', 'part_1', 'part_2', 'part_3', 'part_4', 'mod_target'].map((t) => `VACUUM ${t}`),
  `BEGIN; SET LOCAL default_statistics_target = 1000; ANALYZE big, small, dim, part, mod_target; COMMIT`,
]);

/** Run the setup with any function that executes one SQL string (cluster.psql, client.query bound, …). */
export async function setupSchema(exec: (sql: string) => Promise<unknown>): Promise<void> {
  for (const sql of SETUP_STATEMENTS) await exec(sql);
}

export const CASES: readonly OperatorCase[] = Object.freeze([
  // ---- scans -------------------------------------------------------------
  {
    name: 'seq_scan',
    settings: s(),
    sql: `SELECT id, a FROM big WHERE b % 97 = 3`,
    expectNodes: ['Seq Scan'],
  },
  {
    name: 'index_scan',
    settings: s(),
    sql: `SELECT * FROM big WHERE id BETWEEN 1000 AND 1100`,
    expectNodes: ['Index Scan'],
  },
  {
    name: 'index_only_scan',
    settings: s(),
    sql: `SELECT id FROM big WHERE id BETWEEN 1000 AND 5000`,
    expectNodes: ['Index Only Scan'],
  },
  {
    name: 'bitmap_heap_scan',
    settings: s({ enable_indexscan: 'off', enable_seqscan: 'off' }),
    sql: `SELECT * FROM big WHERE a BETWEEN 10 AND 20`,
    expectNodes: ['Bitmap Heap Scan', 'Bitmap Index Scan'],
  },
  {
    name: 'bitmap_and',
    settings: s({ enable_indexscan: 'off', enable_seqscan: 'off' }),
    sql: `SELECT * FROM big WHERE a < 50 AND b = 7`,
    expectNodes: ['Bitmap Heap Scan', 'BitmapAnd', 'Bitmap Index Scan'],
  },
  {
    name: 'bitmap_or',
    settings: s({ enable_indexscan: 'off', enable_seqscan: 'off' }),
    sql: `SELECT * FROM big WHERE a = 5 OR b = 7`,
    expectNodes: ['Bitmap Heap Scan', 'BitmapOr', 'Bitmap Index Scan'],
  },
  {
    name: 'function_scan',
    settings: s(),
    sql: `SELECT g FROM generate_series(1, 1000) g WHERE g % 3 = 0`,
    expectNodes: ['Function Scan'],
  },
  {
    name: 'values_scan',
    settings: s(),
    sql: `SELECT * FROM (VALUES (1, 'a'), (2, 'b'), (3, 'c'), (4, 'd')) v(x, y) WHERE x > 1`,
    expectNodes: ['Values Scan'],
  },
  {
    name: 'sample_scan',
    settings: s(),
    sql: `SELECT id, a FROM big TABLESAMPLE BERNOULLI (1) REPEATABLE (42)`,
    expectNodes: ['Sample Scan'],
  },
  {
    name: 'tid_scan',
    settings: s(),
    sql: `SELECT * FROM big WHERE ctid = ANY (ARRAY['(1,1)'::tid, '(2,2)'::tid, '(3,3)'::tid])`,
    expectNodes: ['Tid Scan'],
  },
  {
    name: 'tid_range_scan',
    settings: s(),
    sql: `SELECT id FROM big WHERE ctid < '(20,0)'::tid`,
    expectNodes: ['Tid Range Scan'],
  },
  {
    name: 'table_function_scan',
    settings: s(),
    sql: `SELECT * FROM XMLTABLE('/r/x' PASSING ('<r><x>1</x><x>2</x><x>3</x></r>'::xml) COLUMNS v int PATH '.')`,
    expectNodes: ['Table Function Scan'],
  },
  // ---- joins -------------------------------------------------------------
  {
    name: 'nested_loop_index',
    settings: s({ enable_hashjoin: 'off', enable_mergejoin: 'off', enable_memoize: 'off' }),
    sql: `SELECT s.id, b.c FROM small s JOIN big b ON b.id = s.big_id WHERE s.grp = 3`,
    expectNodes: ['Nested Loop', 'Seq Scan', 'Index Scan'],
    expectProps: [{ 'Node Type': 'Nested Loop', 'Join Type': 'Inner' }],
  },
  {
    name: 'nested_loop_materialize',
    settings: s({ enable_hashjoin: 'off', enable_mergejoin: 'off' }),
    sql: `SELECT count(*) FROM dim d1 JOIN dim d2 ON d1.label < d2.label`,
    expectNodes: ['Aggregate', 'Nested Loop', 'Materialize', 'Seq Scan'],
  },
  {
    name: 'memoize',
    settings: s({ enable_hashjoin: 'off', enable_mergejoin: 'off', enable_memoize: 'on' }),
    sql: `SELECT s.id, b.c FROM small s JOIN big b ON b.id = s.grp + 1`,
    expectNodes: ['Nested Loop', 'Memoize', 'Index Scan'],
  },
  {
    name: 'hash_join',
    settings: s({ enable_nestloop: 'off', enable_mergejoin: 'off' }),
    sql: `SELECT d.label, b.id FROM big b JOIN dim d ON d.id = b.a WHERE b.b < 20`,
    expectNodes: ['Hash Join', 'Hash', 'Seq Scan'],
  },
  {
    name: 'hash_join_multibatch',
    settings: s({ enable_nestloop: 'off', enable_mergejoin: 'off', work_mem: '64kB' }),
    sql: `SELECT s.name, b.c FROM small s JOIN big b ON b.id = s.big_id`,
    expectNodes: ['Hash Join', 'Hash'],
  },
  {
    name: 'hash_anti_join',
    settings: s({ enable_nestloop: 'off', enable_mergejoin: 'off' }),
    sql: `SELECT s.id FROM small s LEFT JOIN big b ON b.id = s.big_id AND b.b < 3 WHERE b.id IS NULL`,
    expectNodes: ['Hash Join', 'Hash'],
    expectProps: [{ 'Node Type': 'Hash Join', 'Join Type': 'Anti' }],
  },
  {
    name: 'merge_join',
    settings: s({ enable_hashjoin: 'off', enable_nestloop: 'off' }),
    sql: `SELECT s.id, b.a FROM big b JOIN small s ON b.id = s.big_id`,
    expectNodes: ['Merge Join', 'Sort', 'Index Scan'],
  },
  {
    name: 'merge_full_join',
    settings: s({ enable_hashjoin: 'off' }),
    sql: `SELECT count(*) FROM small s FULL JOIN dim d ON d.id = s.grp`,
    expectNodes: ['Merge Join'],
    expectProps: [{ 'Node Type': 'Merge Join', 'Join Type': 'Full' }],
  },
  // ---- sorting, grouping, aggregation -----------------------------------
  {
    name: 'sort',
    settings: s(),
    sql: `SELECT * FROM small ORDER BY name, id`,
    expectNodes: ['Sort', 'Seq Scan'],
  },
  {
    name: 'sort_external',
    settings: s({ work_mem: '64kB' }),
    sql: `SELECT id, c FROM big WHERE id <= 20000 ORDER BY c`,
    expectNodes: ['Sort'],
  },
  {
    name: 'incremental_sort',
    settings: s(),
    sql: `SELECT * FROM big ORDER BY a, b LIMIT 100`,
    expectNodes: ['Limit', 'Incremental Sort', 'Index Scan'],
  },
  {
    name: 'agg_plain',
    settings: s(),
    sql: `SELECT count(*), sum(b), max(c) FROM big`,
    expectNodes: ['Aggregate', 'Seq Scan'],
    expectProps: [{ 'Node Type': 'Aggregate', Strategy: 'Plain' }],
  },
  {
    name: 'agg_sorted',
    settings: s({ enable_hashagg: 'off' }),
    sql: `SELECT a, count(*) FROM big GROUP BY a`,
    expectNodes: ['Aggregate'],
    expectProps: [{ 'Node Type': 'Aggregate', Strategy: 'Sorted' }],
  },
  {
    name: 'agg_hashed',
    settings: s(),
    sql: `SELECT b % 37 AS k, count(*), sum(a) FROM big GROUP BY b % 37`,
    expectNodes: ['Aggregate', 'Seq Scan'],
    expectProps: [{ 'Node Type': 'Aggregate', Strategy: 'Hashed' }],
  },
  {
    name: 'agg_hashed_spill',
    settings: s({ work_mem: '64kB', enable_sort: 'off' }),
    sql: `SELECT c, count(*) FROM big WHERE id <= 30000 GROUP BY c`,
    expectNodes: ['Aggregate'],
    expectProps: [{ 'Node Type': 'Aggregate', Strategy: 'Hashed' }],
  },
  {
    name: 'agg_mixed',
    settings: s(),
    sql: `SELECT grp, a % 7 AS m, count(*) FROM small GROUP BY ROLLUP (grp, a % 7)`,
    expectNodes: ['Aggregate', 'Seq Scan'],
    expectProps: [{ 'Node Type': 'Aggregate', Strategy: 'Mixed' }],
  },
  {
    name: 'agg_grouping_sets_sorted',
    settings: s({ enable_hashagg: 'off' }),
    sql: `SELECT grp, name, count(*) FROM small GROUP BY GROUPING SETS ((grp), (name), ())`,
    expectNodes: ['Aggregate', 'Sort'],
    expectProps: [{ 'Node Type': 'Aggregate', Strategy: 'Sorted' }],
  },
  {
    name: 'group',
    settings: s({ enable_hashagg: 'off' }),
    sql: `SELECT a FROM big GROUP BY a`,
    expectNodes: ['Group'],
  },
  {
    name: 'unique',
    settings: s({ enable_hashagg: 'off' }),
    sql: `SELECT DISTINCT a FROM big`,
    expectNodes: ['Unique'],
  },
  {
    name: 'limit',
    settings: s(),
    sql: `SELECT * FROM big ORDER BY id LIMIT 10`,
    expectNodes: ['Limit', 'Index Scan'],
  },
  {
    name: 'window_agg',
    settings: s(),
    sql: `SELECT id, row_number() OVER (PARTITION BY grp ORDER BY id), sum(a) OVER (PARTITION BY grp) FROM small`,
    expectNodes: ['WindowAgg', 'Sort'],
  },
  // ---- parallel ---------------------------------------------------------
  {
    name: 'gather',
    settings: par(),
    sql: `SELECT id, c FROM big WHERE b % 13 = 3`,
    expectNodes: ['Gather', 'Seq Scan'],
    expectProps: [{ 'Node Type': 'Seq Scan', 'Parallel Aware': true }],
  },
  {
    name: 'gather_partial_agg',
    settings: par(),
    sql: `SELECT count(*), sum(b) FROM big WHERE c LIKE '%ab%'`,
    expectNodes: ['Aggregate', 'Gather', 'Seq Scan'],
    expectProps: [{ 'Node Type': 'Aggregate', 'Partial Mode': 'Partial' }, { 'Node Type': 'Aggregate', 'Partial Mode': 'Finalize' }],
  },
  {
    name: 'gather_merge',
    settings: par({ enable_bitmapscan: 'off' }),
    sql: `SELECT id, a FROM big WHERE b < 50 ORDER BY c`,
    expectNodes: ['Gather Merge', 'Sort', 'Seq Scan'],
  },
  {
    name: 'parallel_hash_join',
    settings: par({ enable_nestloop: 'off', enable_mergejoin: 'off' }),
    sql: `SELECT b.a, count(*) FROM big b JOIN small s ON s.big_id = b.id GROUP BY b.a`,
    expectNodes: ['Gather', 'Hash Join', 'Hash'],
    expectProps: [{ 'Node Type': 'Hash', 'Parallel Aware': true }],
  },
  // ---- set operations, appends, subqueries -------------------------------
  {
    name: 'append_partitions',
    settings: s(),
    sql: `SELECT * FROM part WHERE v = 3`,
    expectNodes: ['Append', 'Seq Scan'],
  },
  {
    name: 'merge_append',
    settings: s(),
    sql: `SELECT id, a FROM big UNION ALL SELECT id, a FROM small ORDER BY 1 LIMIT 20`,
    expectNodes: ['Limit', 'Merge Append', 'Index Scan'],
  },
  {
    name: 'subquery_scan',
    settings: s(),
    sql: `SELECT * FROM (SELECT a, count(*) AS n FROM small GROUP BY a OFFSET 0) q WHERE n > 5`,
    expectNodes: ['Subquery Scan', 'Aggregate'],
  },
  {
    name: 'setop_intersect_hashed',
    settings: s(),
    sql: `SELECT a FROM small INTERSECT SELECT a FROM big WHERE id < 3000`,
    expectNodes: ['SetOp', 'Append', 'Subquery Scan'],
    expectProps: [{ 'Node Type': 'SetOp', Strategy: 'Hashed', Command: 'Intersect' }],
  },
  {
    name: 'setop_except_all_sorted',
    settings: s({ enable_hashagg: 'off' }),
    sql: `SELECT a FROM small EXCEPT ALL SELECT a FROM big WHERE id < 3000`,
    expectNodes: ['SetOp', 'Sort', 'Append', 'Subquery Scan'],
    expectProps: [{ 'Node Type': 'SetOp', Strategy: 'Sorted', Command: 'Except All' }],
  },
  {
    name: 'cte_scan',
    settings: s(),
    sql: `WITH w AS MATERIALIZED (SELECT id, grp FROM small WHERE grp < 10) SELECT count(*) FROM w x JOIN w y ON x.id = y.id`,
    expectNodes: ['CTE Scan', 'Seq Scan'],
    expectProps: [{ 'Parent Relationship': 'InitPlan', 'Subplan Name': 'CTE w' }],
  },
  {
    name: 'recursive_union',
    settings: s(),
    sql: `WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 100) SELECT sum(n) FROM r`,
    expectNodes: ['Recursive Union', 'WorkTable Scan', 'CTE Scan', 'Result'],
  },
  {
    name: 'result_one_time_filter',
    settings: s(),
    sql: `SELECT id FROM small WHERE current_date > '2000-01-01'::date`,
    expectNodes: ['Result', 'Seq Scan'],
  },
  {
    name: 'result_no_child',
    settings: s(),
    sql: `SELECT 1 + 1 AS two, now() IS NOT NULL AS t`,
    expectNodes: ['Result'],
  },
  {
    name: 'project_set',
    settings: s(),
    sql: `SELECT id, generate_series(1, a % 5 + 1) FROM small`,
    expectNodes: ['ProjectSet', 'Seq Scan'],
  },
  {
    name: 'initplan',
    settings: s(),
    sql: `SELECT id, name FROM small WHERE a > (SELECT avg(a) FROM big WHERE b = 17)`,
    expectNodes: ['Seq Scan', 'Aggregate', 'Bitmap Heap Scan'],
    expectProps: [{ 'Parent Relationship': 'InitPlan' }],
  },
  {
    name: 'subplan_correlated',
    settings: s(),
    sql: `SELECT s.id, (SELECT sum(b.b) FROM big b WHERE b.a = s.a) AS bs FROM small s WHERE s.grp = 7`,
    expectNodes: ['Seq Scan', 'Aggregate', 'Bitmap Heap Scan'],
    expectProps: [{ 'Parent Relationship': 'SubPlan', 'Subplan Name': 'SubPlan 1' }],
  },
  {
    name: 'subplan_hashed',
    settings: s(),
    sql: `SELECT id FROM small s WHERE s.big_id NOT IN (SELECT id FROM big WHERE b = 3)`,
    expectNodes: ['Seq Scan', 'Bitmap Heap Scan'],
    expectProps: [{ 'Parent Relationship': 'SubPlan' }],
  },
  {
    name: 'initplan_and_subplan',
    settings: s(),
    sql: `SELECT s.id, (SELECT count(*) FROM dim d WHERE d.id = s.grp) AS n FROM small s
          WHERE s.a > (SELECT avg(a) FROM big WHERE b = 17) AND s.grp < 10 ORDER BY s.id`,
    expectNodes: ['Sort', 'Seq Scan', 'Aggregate', 'Bitmap Heap Scan'],
    expectProps: [{ 'Parent Relationship': 'InitPlan' }, { 'Parent Relationship': 'SubPlan' }],
  },
  // ---- row locking and data modification (mod_target only) ---------------
  {
    name: 'lock_rows',
    settings: s(),
    sql: `SELECT * FROM mod_target WHERE id < 50 FOR UPDATE`,
    expectNodes: ['LockRows'],
  },
  {
    name: 'insert',
    settings: s(),
    sql: `INSERT INTO mod_target (id, grp, val) SELECT g, g % 20, g FROM generate_series(100001, 101000) g`,
    expectNodes: ['ModifyTable', 'Function Scan'],
    expectProps: [{ 'Node Type': 'ModifyTable', Operation: 'Insert' }],
    modifies: true,
  },
  {
    name: 'update',
    settings: s(),
    sql: `UPDATE mod_target SET val = val + 1, note = 'u' WHERE grp = 5`,
    expectNodes: ['ModifyTable', 'Seq Scan'],
    expectProps: [{ 'Node Type': 'ModifyTable', Operation: 'Update' }],
    modifies: true,
  },
  {
    name: 'delete',
    settings: s(),
    sql: `DELETE FROM mod_target WHERE id <= 300`,
    expectNodes: ['ModifyTable'],
    expectProps: [{ 'Node Type': 'ModifyTable', Operation: 'Delete' }],
    modifies: true,
  },
]);

/** The node types the suite promises to cover (checked by suite.test.ts). */
export const COVERED_NODE_TYPES: readonly string[] = Object.freeze([
  'Seq Scan', 'Index Scan', 'Index Only Scan', 'Bitmap Heap Scan', 'Bitmap Index Scan', 'BitmapAnd', 'BitmapOr',
  'Nested Loop', 'Hash Join', 'Merge Join', 'Hash', 'Sort', 'Incremental Sort', 'Aggregate', 'Group', 'Limit',
  'Unique', 'Materialize', 'Memoize', 'Gather', 'Gather Merge', 'Append', 'Merge Append', 'Subquery Scan',
  'CTE Scan', 'Function Scan', 'Values Scan', 'Result', 'ProjectSet', 'WindowAgg', 'SetOp', 'LockRows',
  'ModifyTable', 'Recursive Union', 'WorkTable Scan', 'Sample Scan', 'Tid Scan', 'Tid Range Scan',
  'Table Function Scan',
]);
