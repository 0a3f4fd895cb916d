/** Exclusive times from inclusive ones: children, SubPlans, and InitPlans charged where they ran (recorded plans of the suite). */
import { expect, it } from 'vitest';
import { innerTime, type TimedNode } from '../../../src/collectors/plan-nodes/exclusive.js';

const node = (id: number, parentId: number | null, total: number | null, initPlanRoot = false): TimedNode => ({ id, parentId, total, initPlanRoot });
const exclusive = (nodes: TimedNode[]) => {
  const inner = innerTime(nodes);
  return nodes.map((n) => (n.total === null ? null : n.total - (inner.get(n.id) ?? 0)));
};
const sum = (xs: (number | null)[]) => xs.reduce<number>((a, x) => a + (x ?? 0), 0);

it('subtracts children and SubPlans from the node they hang on', () => {
  // Aggregate(0) ← Hash Join(1) ← [Seq Scan(2), Hash(3) ← Seq Scan(4)]
  const nodes = [node(0, null, 100), node(1, 0, 90), node(2, 1, 30), node(3, 1, 40), node(4, 3, 35)];
  expect(exclusive(nodes)).toEqual([10, 20, 30, 5, 35]);
});

it('charges an InitPlan to the node that evaluated it, not to the node it is listed on (initplan_and_subplan)', () => {
  // Sort(0) lists InitPlan Aggregate(4); the Seq Scan(1) below evaluates it in its filter, and runs SubPlan Aggregate(2).
  const nodes = [node(0, null, 951050), node(1, 0, 897800), node(2, 1, 297368), node(3, 2, 182694),
    node(4, 0, 276936, true), node(5, 4, 254224), node(6, 5, 18816)];
  const excl = exclusive(nodes);
  expect(excl[0]).toBe(951050 - 897800);
  expect(excl[1]).toBe(897800 - 297368 - 276936);
  expect(sum(excl)).toBe(951050);
});

it('charges a CTE to the CTE Scan that pulled it (cte_scan)', () => {
  const nodes = [node(0, null, 742791), node(1, 0, 704569), node(2, 1, 383197), node(3, 2, 310250), node(4, 1, 162508),
    node(5, 4, 92034), node(6, 0, 191437, true)];
  const excl = exclusive(nodes);
  expect(excl[3]).toBe(310250 - 191437);
  expect(sum(excl)).toBe(742791);
  expect(excl.every((x) => x! >= 0)).toBe(true);
});

it('leaves untimed nodes alone', () => {
  expect(exclusive([node(0, null, null), node(1, 0, null)])).toEqual([null, null]);
});
