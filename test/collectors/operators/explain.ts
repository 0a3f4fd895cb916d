/**
 * EXPLAIN as ground truth for per-operator collection: run EXPLAIN
 * [ANALYZE] (FORMAT JSON) with per-statement settings, parse the plan into
 * ExplainNode trees, and match collected operator rows (plan_node_id,
 * parent_node_id, node_type) to EXPLAIN's nodes by tree structure.
 *
 * Every statement runs in BEGIN … ROLLBACK with SET LOCAL for its settings,
 * so data-modifying statements leave nothing behind and settings never leak.
 */

/** cluster.psql-like: runs SQL, returns psql's unaligned tuples-only output. */
export type PsqlFn = (sql: string) => Promise<string>;

/** node-pg Client/PoolClient-like. */
export interface Queryable {
  query(sql: string): Promise<{ rows: Array<Record<string, unknown>> }>;
}

export type SqlRunner = PsqlFn | Queryable;

export type Settings = Record<string, string>;

export interface ExplainWorker {
  worker: number;
  /** EXPLAIN's per-loop rows for this worker (ntuples / nloops, rounded in PG15). */
  actualRows: number;
  actualLoops: number;
}

export interface ExplainNode {
  /** "Node Type" as EXPLAIN (FORMAT JSON) prints it: "Aggregate", "Hash Join", "ModifyTable", … */
  nodeType: string;
  /** "Outer", "Inner", "Member", "Subquery", "InitPlan", "SubPlan"; absent at the root. */
  parentRelationship?: string;
  /** "InitPlan 1 (returns $0)", "SubPlan 2", "CTE name" on subplan roots. */
  subplanName?: string;
  /** The SubPlan plan_id from subplanName ("SubPlan 2" → 2); absent for CTEs, whose name carries none. */
  planId?: number;
  /**
   * "Actual Rows": ntuples / nloops, rounded to an integer by PostgreSQL 15.
   * For nodes under a Gather this is the total over leader and workers.
   * NaN for a plain (non-ANALYZE) EXPLAIN.
   */
  actualRows: number;
  /** "Actual Loops" (total over leader and workers under a Gather); 0 if never executed; NaN without ANALYZE. */
  actualLoops: number;
  planRows: number;
  startupCost: number;
  totalCost: number;
  parallelAware: boolean;
  /** Per-worker numbers (EXPLAIN ANALYZE VERBOSE), for nodes run in parallel workers. */
  workers?: ExplainWorker[];
  /** In EXPLAIN's order: InitPlans, outer, inner, members / subquery, SubPlans. */
  children: ExplainNode[];
  /** The node's JSON object as EXPLAIN printed it (its "Plans" included). */
  raw: Record<string, unknown>;
}

export interface ExplainResult {
  plan: ExplainNode;
  planningTimeMs?: number;
  executionTimeMs?: number;
  raw: Record<string, unknown>;
}

const GUC_NAME = /^[A-Za-z_][A-Za-z0-9_.]*$/;

/** SET LOCAL statements for settings (values are quoted as literals, which every GUC accepts). */
export function setLocalStatements(settings: Settings = {}): string[] {
  return Object.entries(settings).map(([name, value]) => {
    if (!GUC_NAME.test(name)) throw new Error(`not a setting name: ${JSON.stringify(name)}`);
    return `SET LOCAL ${name} = '${String(value).replace(/'/g, "''")}'`;
  });
}

function isQueryable(runner: SqlRunner): runner is Queryable {
  return typeof runner === 'object' && runner !== null && typeof (runner as Queryable).query === 'function';
}

/**
 * Run one statement inside BEGIN; SET LOCAL …; <sql>; ROLLBACK and return
 * the first column of its rows (psql: the raw output text; node-pg: the
 * parsed values).
 */
export async function runRolledBack(runner: SqlRunner, sql: string, settings: Settings = {}): Promise<unknown[] | string> {
  const sets = setLocalStatements(settings);
  if (!isQueryable(runner)) {
    return runner(['BEGIN', ...sets, sql, 'ROLLBACK'].join(';\n'));
  }
  await runner.query('BEGIN');
  try {
    for (const s of sets) await runner.query(s);
    const { rows } = await runner.query(sql);
    return rows.map((r) => Object.values(r)[0]);
  } finally {
    await runner.query('ROLLBACK');
  }
}

/** EXPLAIN (…, FORMAT JSON) <sql>, parsed; options are EXPLAIN options other than FORMAT. */
export async function explainJson(runner: SqlRunner, sql: string, settings: Settings = {}, options = 'ANALYZE, VERBOSE, TIMING ON'): Promise<ExplainResult> {
  const out = await runRolledBack(runner, `EXPLAIN (${options ? `${options}, ` : ''}FORMAT JSON) ${sql}`, settings);
  let doc: unknown;
  if (typeof out === 'string') doc = JSON.parse(out);
  else if (out.length === 1) doc = typeof out[0] === 'string' ? JSON.parse(out[0]) : out[0];
  else throw new Error(`EXPLAIN returned ${out.length} rows`);
  return parseExplainDocument(doc);
}

/** EXPLAIN (ANALYZE, VERBOSE, FORMAT JSON, TIMING ON) <sql>, in a transaction that is rolled back. */
export async function explainAnalyze(runner: SqlRunner, sql: string, settings: Settings = {}): Promise<ExplainNode> {
  return (await explainJson(runner, sql, settings, 'ANALYZE, VERBOSE, TIMING ON')).plan;
}

/** EXPLAIN (VERBOSE, FORMAT JSON) <sql> without running it; actualRows/actualLoops are NaN. */
export async function explainPlain(runner: SqlRunner, sql: string, settings: Settings = {}): Promise<ExplainNode> {
  return (await explainJson(runner, sql, settings, 'VERBOSE')).plan;
}

/** Accepts EXPLAIN's JSON output as text, as `[{ "Plan": … }]`, or as `{ "Plan": … }`. */
export function parseExplainDocument(doc: unknown): ExplainResult {
  if (typeof doc === 'string') doc = JSON.parse(doc);
  const top = (Array.isArray(doc) ? doc[0] : doc) as Record<string, unknown> | undefined;
  if (!top || typeof top !== 'object' || typeof top.Plan !== 'object') throw new Error('not EXPLAIN (FORMAT JSON) output');
  return {
    plan: parseExplainNode(top.Plan as Record<string, unknown>),
    planningTimeMs: num(top['Planning Time']),
    executionTimeMs: num(top['Execution Time']),
    raw: top,
  };
}

function num(v: unknown): number | undefined {
  return typeof v === 'number' ? v : undefined;
}

export function parseExplainNode(raw: Record<string, unknown>): ExplainNode {
  const nodeType = raw['Node Type'];
  if (typeof nodeType !== 'string') throw new Error('EXPLAIN node without "Node Type"');
  const subplanName = raw['Subplan Name'] as string | undefined;
  const planIdMatch = subplanName?.match(/^(?:InitPlan|SubPlan) (\d+)/);
  const node: ExplainNode = {
    nodeType,
    actualRows: num(raw['Actual Rows']) ?? NaN,
    actualLoops: num(raw['Actual Loops']) ?? NaN,
    planRows: num(raw['Plan Rows']) ?? NaN,
    startupCost: num(raw['Startup Cost']) ?? NaN,
    totalCost: num(raw['Total Cost']) ?? NaN,
    parallelAware: raw['Parallel Aware'] === true,
    children: ((raw.Plans as Array<Record<string, unknown>> | undefined) ?? []).map(parseExplainNode),
    raw,
  };
  if (typeof raw['Parent Relationship'] === 'string') node.parentRelationship = raw['Parent Relationship'] as string;
  if (subplanName !== undefined) node.subplanName = subplanName;
  if (planIdMatch) node.planId = Number(planIdMatch[1]);
  const workers = ((raw.Workers as Array<Record<string, unknown>> | undefined) ?? [])
    .filter((w) => typeof w['Actual Loops'] === 'number')
    .map((w) => ({ worker: Number(w['Worker Number']), actualRows: w['Actual Rows'] as number, actualLoops: w['Actual Loops'] as number }));
  if (workers.length) node.workers = workers;
  return node;
}

/** Pre-order walk over the whole EXPLAIN tree, subplans included, in EXPLAIN's order. */
export function* walkExplain(node: ExplainNode): Generator<ExplainNode> {
  yield node;
  for (const c of node.children) yield* walkExplain(c);
}

/** Every node in EXPLAIN's order with its Node Type and its rows over all loops (per-loop rows × loops). */
export function explainedRows(plan: ExplainNode): { type: string; rows: number }[] {
  return [...walkExplain(plan)].map((n) => ({ type: n.nodeType, rows: n.actualRows * n.actualLoops }));
}

export function isSubplanRoot(node: ExplainNode): boolean {
  return node.parentRelationship === 'InitPlan' || node.parentRelationship === 'SubPlan';
}

/**
 * The range Instrumentation.ntuples (summed over loops, leader + workers)
 * must lie in, given EXPLAIN's rounded per-loop "Actual Rows". Exact
 * (lo === hi) when loops ≤ 1.
 */
export function tupleBounds(rows: number, loops: number): [number, number] {
  if (!(loops > 0)) return [0, 0];
  if (loops === 1) return [rows, rows];
  return [Math.max(0, Math.ceil((rows - 0.5) * loops)), Math.floor((rows + 0.5) * loops)];
}

/**
 * Bounds on the tuples a parallel node produced in the leader process alone:
 * EXPLAIN's totals (leader + workers, as the leader's Instrumentation holds
 * them after ExecParallelFinish) minus each worker's share. Loops likewise.
 */
export function leaderShare(node: ExplainNode): { tuples: [number, number]; loops: number } {
  const [lo, hi] = tupleBounds(node.actualRows, node.actualLoops);
  let wlo = 0;
  let whi = 0;
  let wloops = 0;
  for (const w of node.workers ?? []) {
    const [a, b] = tupleBounds(w.actualRows, w.actualLoops);
    wlo += a;
    whi += b;
    wloops += w.actualLoops;
  }
  return { tuples: [Math.max(0, lo - whi), Math.max(0, hi - wlo)], loops: node.actualLoops - wloops };
}

// ---------------------------------------------------------------------------
// Matching collected operator rows to EXPLAIN nodes
// ---------------------------------------------------------------------------

export interface OperatorRow {
  plan_node_id: number;
  parent_node_id: number | null;
  node_type: string;
  /** -1 for the leader; rows of other processes are ignored by matchNodes. */
  worker?: number;
}

export class MatchError extends Error {}

interface Tree {
  byId: Map<number, OperatorRow>;
  /** Children by parent id, ascending plan_node_id. */
  kids: Map<number, OperatorRow[]>;
}

function buildTree(rows: readonly OperatorRow[]): Tree {
  const byId = new Map<number, OperatorRow>();
  for (const r of rows) {
    if (byId.has(r.plan_node_id)) throw new MatchError(`plan_node_id ${r.plan_node_id} appears twice among the leader rows (more than one execution?)`);
    byId.set(r.plan_node_id, r);
  }
  const kids = new Map<number, OperatorRow[]>();
  for (const r of rows) {
    if (r.parent_node_id === null || !byId.has(r.parent_node_id)) continue;
    let list = kids.get(r.parent_node_id);
    if (!list) kids.set(r.parent_node_id, (list = []));
    list.push(r);
  }
  for (const list of kids.values()) list.sort((a, b) => a.plan_node_id - b.plan_node_id);
  return { byId, kids };
}

/**
 * Match one EXPLAIN subtree (its non-subplan part) onto our rows starting at
 * `row`. Returns the pairs and the extra children met on the way (subplan
 * roots that the collector linked to a referencing node), or a reason.
 */
function matchSubtree(tree: Tree, row: OperatorRow, ex: ExplainNode): { pairs: Array<[OperatorRow, ExplainNode]>; linked: OperatorRow[] } | string {
  const pairs: Array<[OperatorRow, ExplainNode]> = [];
  const linked: OperatorRow[] = [];
  const visit = (r: OperatorRow, e: ExplainNode): string | undefined => {
    if (r.node_type !== e.nodeType) return `plan_node_id ${r.plan_node_id} is a ${r.node_type} where EXPLAIN has a ${e.nodeType}`;
    pairs.push([r, e]);
    const exMain = e.children.filter((c) => !isSubplanRoot(c));
    const kids = tree.kids.get(r.plan_node_id) ?? [];
    // Within one plan tree ids are pre-order, so a node's own children have
    // larger ids than it, in EXPLAIN's child order; subplan roots linked to
    // it either belong to an earlier tree (smaller ids: nested subplans are
    // numbered before their container) or to a later tree (ids larger than
    // any id of this tree), so they sort after its real children.
    const later = kids.filter((k) => k.plan_node_id > r.plan_node_id);
    if (later.length < exMain.length) {
      return `plan_node_id ${r.plan_node_id} (${r.node_type}) has ${later.length} child rows where EXPLAIN shows ${exMain.length} children (${exMain.map((c) => c.nodeType).join(', ')})`;
    }
    for (const k of kids) if (!(k.plan_node_id > r.plan_node_id) || later.indexOf(k) >= exMain.length) linked.push(k);
    for (let i = 0; i < exMain.length; i++) {
      const why = visit(later[i]!, exMain[i]!);
      if (why) return why;
    }
    return undefined;
  };
  const why = visit(row, ex);
  return why ?? { pairs, linked };
}

/**
 * Match the operator rows of ONE statement execution (leader rows; rows
 * with worker ≠ -1 are ignored) to the nodes of its EXPLAIN tree. Returns
 * plan_node_id → EXPLAIN node for every row that EXPLAIN shows.
 *
 * Rules (PostgreSQL 15):
 *  - The main plan's root is the row with the smallest plan_node_id
 *    (setrefs.c numbers the main tree first, in pre-order). If it is a
 *    Gather and EXPLAIN's root is not, it is the invisible Gather of
 *    force_parallel_mode and is skipped.
 *  - A row's children are the rows whose parent_node_id is its id. Its
 *    real (non-subplan) children are the first k of those with a larger id,
 *    in ascending id order, matched one-to-one with EXPLAIN's children other
 *    than InitPlan/SubPlan ones, in EXPLAIN's order (outer, inner, then
 *    Append/MergeAppend/BitmapAnd/BitmapOr members or the SubqueryScan's
 *    subplan); node_type must equal EXPLAIN's "Node Type". Gaps in the ids
 *    (nodes setrefs.c removed after numbering: trivial SubqueryScans,
 *    single-child Appends; subplans never initialised, such as unused
 *    AlternativeSubPlan arms or pruned partitions) do not matter.
 *  - InitPlan/SubPlan/CTE roots are rows with a NULL parent (PG15 inits
 *    them in InitPlan() with no ExecInitNode running) or extra children of
 *    the node that references them (if the collector links them). They are
 *    assigned to EXPLAIN's subplans whose subtree they match structurally,
 *    in increasing plan_node_id order consistent with increasing SubPlan
 *    plan_id ("InitPlan 2 …", "SubPlan 1"; CTE subplans carry no number
 *    and may go anywhere in that order), since setrefs.c numbers the
 *    subplan trees after the main tree in plan_id order.
 *  - Rows EXPLAIN does not show (initialised but unreferenced subplans, the
 *    invisible Gather) are left out of the result; an EXPLAIN node without a
 *    matching row throws MatchError.
 */
export function matchNodes(ourRows: readonly OperatorRow[], explainRoot: ExplainNode): Map<number, ExplainNode> {
  const rows = ourRows.filter((r) => r.worker === undefined || r.worker === -1);
  if (!rows.length) throw new MatchError('no leader rows to match');
  const tree = buildTree(rows);
  const result = new Map<number, ExplainNode>();
  const used = new Set<number>();
  const take = (pairs: Array<[OperatorRow, ExplainNode]>) => {
    for (const [r, e] of pairs) {
      result.set(r.plan_node_id, e);
      used.add(r.plan_node_id);
    }
  };

  let root = rows.reduce((a, b) => (b.plan_node_id < a.plan_node_id ? b : a));
  if (root.node_type === 'Gather' && explainRoot.nodeType !== 'Gather') {
    const only = (tree.kids.get(root.plan_node_id) ?? []).filter((k) => k.plan_node_id > root.plan_node_id);
    if (!only.length) throw new MatchError('invisible Gather without a child row');
    used.add(root.plan_node_id);
    root = only[0]!;
  }
  const main = matchSubtree(tree, root, explainRoot);
  if (typeof main === 'string') throw new MatchError(`main plan: ${main}`);
  take(main.pairs);

  // Subplans: EXPLAIN's (each printed once) against our candidate roots.
  const pending = [...walkExplain(explainRoot)].filter(isSubplanRoot);
  const linked = new Set(main.linked.map((r) => r.plan_node_id));
  const nullRoots = rows.filter((r) => (r.parent_node_id === null || !tree.byId.has(r.parent_node_id)) && !used.has(r.plan_node_id));

  while (pending.length) {
    const candidates = [...nullRoots.filter((r) => !used.has(r.plan_node_id)), ...[...linked].filter((id) => !used.has(id)).map((id) => tree.byId.get(id)!)]
      .sort((a, b) => a.plan_node_id - b.plan_node_id);
    const assignment = assignSubplans(tree, pending, candidates);
    if (!assignment) {
      throw new MatchError(
        `could not match EXPLAIN's subplans [${pending.map((p) => `${p.subplanName}: ${p.nodeType}`).join('; ')}] ` +
          `to subplan root rows [${candidates.map((c) => `${c.plan_node_id}: ${c.node_type}`).join('; ')}]`,
      );
    }
    let progress = false;
    for (const [p, m] of assignment) {
      take(m.pairs);
      for (const l of m.linked) linked.add(l.plan_node_id);
      pending.splice(pending.indexOf(p), 1);
      progress = true;
    }
    if (!progress) break;
  }
  return result;
}

type SubtreeMatch = { pairs: Array<[OperatorRow, ExplainNode]>; linked: OperatorRow[] };

/**
 * Assign EXPLAIN subplans to candidate roots (ascending id): every candidate
 * is used at most once, numbered subplans keep plan_id order, and as many
 * subplans as possible are placed (nested linked subplans may only become
 * candidates once their container is matched, so a partial assignment is
 * accepted if it places at least one). Backtracking; plans have few subplans.
 */
function assignSubplans(tree: Tree, pending: ExplainNode[], candidates: OperatorRow[]): Array<[ExplainNode, SubtreeMatch]> | undefined {
  const fits = new Map<string, SubtreeMatch | undefined>();
  const fit = (pi: number, ci: number): SubtreeMatch | undefined => {
    const key = `${pi}:${ci}`;
    if (!fits.has(key)) {
      const m = matchSubtree(tree, candidates[ci]!, pending[pi]!);
      fits.set(key, typeof m === 'string' ? undefined : m);
    }
    return fits.get(key);
  };
  let best: Array<[number, number]> = [];
  const chosen: Array<[number, number]> = [];
  const taken = new Set<number>();
  const search = (ci: number, lastPlanId: number) => {
    if (chosen.length > best.length) best = [...chosen];
    if (best.length === pending.length || ci >= candidates.length) return;
    for (let pi = 0; pi < pending.length; pi++) {
      if (taken.has(pi)) continue;
      const pid = pending[pi]!.planId;
      if (pid !== undefined && pid < lastPlanId) continue;
      if (!fit(pi, ci)) continue;
      taken.add(pi);
      chosen.push([pi, ci]);
      search(ci + 1, pid ?? lastPlanId);
      chosen.pop();
      taken.delete(pi);
      if (best.length === pending.length) return;
    }
    search(ci + 1, lastPlanId); // this candidate is not shown by EXPLAIN
  };
  search(0, -Infinity);
  if (!best.length) return undefined;
  return best.map(([pi, ci]) => [pending[pi]!, fit(pi, ci)!]);
}
