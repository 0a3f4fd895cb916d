/**
 * Exclusive time of plan nodes from PostgreSQL's inclusive times: a node's
 * total minus what ran inside it — its children and the SubPlans it
 * evaluates (listed on it) — and the InitPlans (CTEs included) that ran
 * inside it. An InitPlan is listed on the top node of its query level but
 * runs lazily inside whichever node first needs its value (a scan's filter,
 * a CTE Scan reading ahead), and PostgreSQL records no more than that; EXPLAIN
 * cannot say either. So each InitPlan is charged to the node of the listing
 * node's subtree (itself included) with the most exclusive time left, which
 * keeps every exclusive time ≥ 0 and their sum equal to the root's total
 * whenever that is possible. Works for one statement's nodes and for one
 * query's per-node sums alike.
 */
export interface TimedNode {
  id: number;
  parentId: number | null;
  /** Root of an InitPlan tree (from a node's initPlan list). */
  initPlanRoot: boolean;
  /** Inclusive time; null when not timed. */
  total: number | null;
}

/** Time to subtract from each node's total, by plan_node_id. */
export function innerTime(nodes: readonly TimedNode[]): Map<number, number> {
  const inner = new Map<number, number>();
  const add = (id: number, t: number) => inner.set(id, (inner.get(id) ?? 0) + t);
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const children = new Map<number, TimedNode[]>();
  const initPlans: TimedNode[] = [];
  for (const n of nodes) {
    if (n.parentId === null || n.total === null) continue;
    if (n.initPlanRoot) {
      initPlans.push(n);
      continue;
    }
    add(n.parentId, n.total);
    const siblings = children.get(n.parentId);
    if (siblings) siblings.push(n);
    else children.set(n.parentId, [n]);
  }
  const left = (n: TimedNode) => (n.total ?? 0) - (inner.get(n.id) ?? 0);
  for (const ip of initPlans) {
    const listing = byId.get(ip.parentId!);
    if (!listing) continue;
    let best = listing;
    const stack = [listing];
    while (stack.length) {
      const n = stack.pop()!;
      if (n.total !== null && left(n) > left(best)) best = n;
      stack.push(...(children.get(n.id) ?? []));
    }
    add(best.id, ip.total!);
  }
  return inner;
}
