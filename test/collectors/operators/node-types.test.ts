import { describe, expect, it } from 'vitest';
import { loadLayout } from '../../../src/pg/layouts.js';
import {
  ABSTRACT_PLAN_TAGS,
  PLAN_NODE_TYPES,
  aggStrategyName,
  cmdTypeName,
  explainNodeType,
  explainNodeTypeForTag,
  explainNodeTypeOrUndefined,
  joinTypeName,
  planNodeName,
  setOpCmdName,
  setOpStrategyName,
} from '../../../src/collectors/operators/node-types.js';
import { TargetError } from '../../../src/util/errors.js';
import { enumFeatureText, hasEnumDecoder } from '../../../src/collectors/operators/node-types.js';
import { loadCollectorSpec } from '../../../src/bpf/collector-spec.js';
import { packageRoot } from '../../../src/util/package-root.js';

const layout = loadLayout(15);
const tags = layout.table.nodeTags;

/** Tag names with values strictly between two tags, in nodes.h order. */
function tagsBetween(first: string, last: string): string[] {
  const lo = tags[first]!;
  const hi = tags[last]!;
  return Object.entries(tags)
    .filter(([, v]) => v > lo && v < hi)
    .sort((a, b) => a[1] - b[1])
    .map(([k]) => k);
}

// nodes.h (PG15): T_Plan, <plan nodes>, T_NestLoopParam, ... ; T_PlanState, <state nodes>, T_Alias, ...
const planTags = tagsBetween('T_Plan', 'T_NestLoopParam').filter((t) => !ABSTRACT_PLAN_TAGS.includes(t.slice(2)));
const stateTags = tagsBetween('T_PlanState', 'T_Alias').filter((t) => !['T_ScanState', 'T_JoinState'].includes(t));

describe('EXPLAIN node type names', () => {
  it('the pg15 tag ranges look like nodes.h', () => {
    expect(planTags[0]).toBe('T_Result');
    expect(planTags.at(-1)).toBe('T_Limit');
    expect(stateTags[0]).toBe('T_ResultState');
    expect(stateTags.at(-1)).toBe('T_LimitState');
    expect(planTags.length).toBe(42);
  });

  it('maps every executor-state tag of a plan node type', () => {
    const unmapped = stateTags.filter((t) => explainNodeTypeOrUndefined(t) === undefined);
    expect(unmapped).toEqual([]);
    for (const t of stateTags) expect(explainNodeType(t)).toBe(PLAN_NODE_TYPES[t.slice(2, -'State'.length)]);
  });

  it('maps every plan tag, each plan tag has its state tag, and the table has nothing else', () => {
    expect(planTags.filter((t) => explainNodeTypeOrUndefined(t) === undefined)).toEqual([]);
    // Same set; nodes.h lists ValuesScan/TableFuncScan in opposite orders in the two ranges.
    expect(planTags.map((t) => `${t}State`).sort()).toEqual([...stateTags].sort());
    expect(Object.keys(PLAN_NODE_TYPES).map((n) => `T_${n}`).sort()).toEqual([...planTags].sort());
  });

  it('uses EXPLAIN (FORMAT JSON) spellings', () => {
    const expected: Record<string, string> = {
      T_AggState: 'Aggregate',
      T_HashJoinState: 'Hash Join',
      T_MergeJoinState: 'Merge Join',
      T_NestLoopState: 'Nested Loop',
      T_ModifyTableState: 'ModifyTable',
      T_BitmapHeapScanState: 'Bitmap Heap Scan',
      T_BitmapIndexScanState: 'Bitmap Index Scan',
      T_IndexOnlyScanState: 'Index Only Scan',
      T_SubqueryScanState: 'Subquery Scan',
      T_CteScanState: 'CTE Scan',
      T_WorkTableScanState: 'WorkTable Scan',
      T_RecursiveUnionState: 'Recursive Union',
      T_SetOpState: 'SetOp',
      T_LockRowsState: 'LockRows',
      T_ProjectSetState: 'ProjectSet',
      T_GatherMergeState: 'Gather Merge',
      T_IncrementalSortState: 'Incremental Sort',
      T_MemoizeState: 'Memoize',
      T_MaterialState: 'Materialize',
      T_WindowAggState: 'WindowAgg',
      T_BitmapAndState: 'BitmapAnd',
      T_BitmapOrState: 'BitmapOr',
      T_MergeAppendState: 'Merge Append',
      T_TableFuncScanState: 'Table Function Scan',
      T_NamedTuplestoreScanState: 'Named Tuplestore Scan',
      T_TidRangeScanState: 'Tid Range Scan',
      T_ForeignScanState: 'Foreign Scan',
      T_CustomScanState: 'Custom Scan',
    };
    for (const [tag, type] of Object.entries(expected)) expect(explainNodeType(tag), tag).toBe(type);
  });

  it('accepts plan tags, bare names and numeric tags; rejects non-plan tags', () => {
    expect(explainNodeType('T_Sort')).toBe('Sort');
    expect(explainNodeType('SortState')).toBe('Sort');
    expect(explainNodeType('Material')).toBe('Materialize');
    expect(planNodeName('T_HashJoinState')).toBe('HashJoin');
    expect(explainNodeTypeForTag(layout.nodeTag('T_HashState'))).toBe('Hash');
    expect(explainNodeTypeForTag(layout.nodeTag('T_Hash'))).toBe('Hash');
    for (const bad of ['T_PlanState', 'T_ScanState', 'T_JoinState', 'T_Scan', 'T_Var', 'T_EState', 'Nope']) {
      expect(explainNodeTypeOrUndefined(bad), bad).toBeUndefined();
      expect(() => explainNodeType(bad), bad).toThrow(TargetError);
    }
  });
});

describe('enum decoders', () => {
  const e = (name: string, member: string) => layout.enumValue(name, member);

  it('decode JoinType like EXPLAIN "Join Type"', () => {
    expect(joinTypeName(e('JoinType', 'JOIN_INNER'))).toBe('Inner');
    expect(joinTypeName(e('JoinType', 'JOIN_LEFT'))).toBe('Left');
    expect(joinTypeName(e('JoinType', 'JOIN_FULL'))).toBe('Full');
    expect(joinTypeName(e('JoinType', 'JOIN_RIGHT'))).toBe('Right');
    expect(joinTypeName(e('JoinType', 'JOIN_SEMI'))).toBe('Semi');
    expect(joinTypeName(e('JoinType', 'JOIN_ANTI'))).toBe('Anti');
    expect(joinTypeName(e('JoinType', 'JOIN_UNIQUE_OUTER'))).toBeUndefined();
    expect(joinTypeName(99)).toBeUndefined();
  });

  it('decode AggStrategy, SetOpCmd, SetOpStrategy and CmdType', () => {
    expect([0, 1, 2, 3].map((v) => aggStrategyName(v))).toEqual(['Plain', 'Sorted', 'Hashed', 'Mixed']);
    expect(aggStrategyName(e('AggStrategy', 'AGG_MIXED'))).toBe('Mixed');
    expect(setOpCmdName(e('SetOpCmd', 'SETOPCMD_INTERSECT'))).toBe('Intersect');
    expect(setOpCmdName(e('SetOpCmd', 'SETOPCMD_INTERSECT_ALL'))).toBe('Intersect All');
    expect(setOpCmdName(e('SetOpCmd', 'SETOPCMD_EXCEPT'))).toBe('Except');
    expect(setOpCmdName(e('SetOpCmd', 'SETOPCMD_EXCEPT_ALL'))).toBe('Except All');
    expect(setOpStrategyName(e('SetOpStrategy', 'SETOP_SORTED'))).toBe('Sorted');
    expect(setOpStrategyName(e('SetOpStrategy', 'SETOP_HASHED'))).toBe('Hashed');
    expect(cmdTypeName(e('CmdType', 'CMD_SELECT'))).toBe('Select');
    expect(cmdTypeName(e('CmdType', 'CMD_INSERT'))).toBe('Insert');
    expect(cmdTypeName(e('CmdType', 'CMD_UPDATE'))).toBe('Update');
    expect(cmdTypeName(e('CmdType', 'CMD_DELETE'))).toBe('Delete');
    expect(cmdTypeName(e('CmdType', 'CMD_MERGE'))).toBe('Merge');
    expect(cmdTypeName(e('CmdType', 'CMD_UTILITY'))).toBeUndefined();
  });
});

describe('plan feature enums', () => {
  const spec = loadCollectorSpec(packageRoot(), 'operators');
  const enums = new Set(Object.values(spec.features ?? {}).flat().map((f) => f[3]).filter((d) => d.startsWith('enum:')).map((d) => d.slice(5)));

  it('every enum feature of collectors/operators.json has one decoder, used by the row builder', () => {
    expect([...enums].sort()).toEqual(['AggStrategy', 'CmdType', 'JoinType', 'LimitOption', 'SetOpCmd', 'SetOpStrategy']);
    for (const e of enums) expect(hasEnumDecoder(e), e).toBe(true);
  });

  it('decodes by the layout numbering, null for values a plan never holds', () => {
    const members = layout.table.enums;
    expect(enumFeatureText('JoinType', members.JoinType!.JOIN_ANTI!, layout)).toBe('Anti');
    expect(enumFeatureText('LimitOption', members.LimitOption!.LIMIT_OPTION_WITH_TIES!, layout)).toBe('With Ties');
    expect(enumFeatureText('JoinType', members.JoinType!.JOIN_UNIQUE_OUTER!, layout)).toBeNull();
    expect(() => enumFeatureText('NoSuchEnum', 0, layout)).toThrow(TargetError);
  });
});
