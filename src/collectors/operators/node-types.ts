/**
 * PostgreSQL plan node names as EXPLAIN (FORMAT JSON) prints them, and the
 * enum decoders for the per-operator features.
 *
 * The strings are EXPLAIN's non-text "Node Type" (`sname` in explain.c's
 * ExplainNode), not the text-format label: an Agg is "Aggregate" whatever its
 * strategy (text says GroupAggregate/HashAggregate/MixedAggregate, JSON puts
 * that in "Strategy"), a ModifyTable is "ModifyTable" (text: "Insert on t"),
 * a SetOp is "SetOp" (text: "HashSetOp"), a Hash Join is "Hash Join" whatever
 * its join type, and parallel-aware nodes carry no "Parallel " prefix (JSON
 * has "Parallel Aware": true instead). These names are the same from
 * PostgreSQL 14 (Memoize, Tid Range Scan) through 18.
 *
 * Enum numbering comes from the layout table (collectors/layouts/pg<major>.json),
 * so decoders stay right if a major renumbers an enum; EXPLAIN's strings for
 * them are fixed here.
 */
import { loadLayout, type Layout } from '../../pg/layouts.js';
import { TargetError } from '../../util/errors.js';

/** Plan NodeTag (without `T_`) → EXPLAIN "Node Type". Every concrete Plan node of PostgreSQL 15. */
export const PLAN_NODE_TYPES: Readonly<Record<string, string>> = Object.freeze({
  Result: 'Result',
  ProjectSet: 'ProjectSet',
  ModifyTable: 'ModifyTable',
  Append: 'Append',
  MergeAppend: 'Merge Append',
  RecursiveUnion: 'Recursive Union',
  BitmapAnd: 'BitmapAnd',
  BitmapOr: 'BitmapOr',
  SeqScan: 'Seq Scan',
  SampleScan: 'Sample Scan',
  IndexScan: 'Index Scan',
  IndexOnlyScan: 'Index Only Scan',
  BitmapIndexScan: 'Bitmap Index Scan',
  BitmapHeapScan: 'Bitmap Heap Scan',
  TidScan: 'Tid Scan',
  TidRangeScan: 'Tid Range Scan',
  SubqueryScan: 'Subquery Scan',
  FunctionScan: 'Function Scan',
  ValuesScan: 'Values Scan',
  TableFuncScan: 'Table Function Scan',
  CteScan: 'CTE Scan',
  NamedTuplestoreScan: 'Named Tuplestore Scan',
  WorkTableScan: 'WorkTable Scan',
  ForeignScan: 'Foreign Scan',
  CustomScan: 'Custom Scan',
  NestLoop: 'Nested Loop',
  MergeJoin: 'Merge Join',
  HashJoin: 'Hash Join',
  Material: 'Materialize',
  Memoize: 'Memoize',
  Sort: 'Sort',
  IncrementalSort: 'Incremental Sort',
  Group: 'Group',
  Agg: 'Aggregate',
  WindowAgg: 'WindowAgg',
  Unique: 'Unique',
  Gather: 'Gather',
  GatherMerge: 'Gather Merge',
  Hash: 'Hash',
  SetOp: 'SetOp',
  LockRows: 'LockRows',
  Limit: 'Limit',
});

/**
 * Abstract node tags that no plan (or executor state) is ever built as; they
 * sit between T_Plan and T_PlanInvalItem / T_PlanState and T_LimitState.
 */
export const ABSTRACT_PLAN_TAGS: readonly string[] = Object.freeze(['Plan', 'Scan', 'Join']);

/** Executor-state NodeTag (`T_SeqScanState`) → EXPLAIN "Node Type". */
export const STATE_NODE_TYPES: Readonly<Record<string, string>> = Object.freeze(
  Object.fromEntries(Object.entries(PLAN_NODE_TYPES).map(([plan, type]) => [`T_${plan}State`, type])),
);

/** Plan NodeTag (`T_SeqScan`) → EXPLAIN "Node Type". */
export const PLAN_TAG_NODE_TYPES: Readonly<Record<string, string>> = Object.freeze(
  Object.fromEntries(Object.entries(PLAN_NODE_TYPES).map(([plan, type]) => [`T_${plan}`, type])),
);

/** `T_HashJoinState`, `HashJoinState`, `T_HashJoin` or `HashJoin` → `HashJoin`; undefined if not a plan node. */
export function planNodeName(tagName: string): string | undefined {
  let name = tagName.startsWith('T_') ? tagName.slice(2) : tagName;
  if (!Object.hasOwn(PLAN_NODE_TYPES, name) && name.endsWith('State')) name = name.slice(0, -'State'.length);
  return Object.hasOwn(PLAN_NODE_TYPES, name) ? name : undefined;
}

/** Like explainNodeType, but undefined for tags that are not plan nodes. */
export function explainNodeTypeOrUndefined(tagName: string): string | undefined {
  const name = planNodeName(tagName);
  return name === undefined ? undefined : PLAN_NODE_TYPES[name];
}

/**
 * EXPLAIN's "Node Type" for an executor-state tag name (`T_AggState` →
 * "Aggregate"); plan tag names (`T_Agg`) and names without `T_` work too.
 */
export function explainNodeType(stateTagName: string): string {
  const type = explainNodeTypeOrUndefined(stateTagName);
  if (type === undefined) throw new TargetError(`${stateTagName} is not a PostgreSQL plan node or plan state tag`);
  return type;
}

/** EXPLAIN's "Node Type" for a numeric NodeTag (of a PlanState or a Plan) of the layout's major. */
export function explainNodeTypeForTag(tag: number, layout: Layout = loadLayout(15)): string {
  return explainNodeType(layout.nodeTagName(tag));
}

/** One C enum decoded to EXPLAIN's strings: member name → string. */
type EnumStrings = Readonly<Record<string, string>>;

/** Join.jointype → EXPLAIN "Join Type". JOIN_UNIQUE_* only exist on paths, never in plans. */
export const JOIN_TYPE_NAMES: EnumStrings = Object.freeze({
  JOIN_INNER: 'Inner',
  JOIN_LEFT: 'Left',
  JOIN_FULL: 'Full',
  JOIN_RIGHT: 'Right',
  JOIN_SEMI: 'Semi',
  JOIN_ANTI: 'Anti',
});

/** Agg.aggstrategy → EXPLAIN "Strategy". */
export const AGG_STRATEGY_NAMES: EnumStrings = Object.freeze({
  AGG_PLAIN: 'Plain',
  AGG_SORTED: 'Sorted',
  AGG_HASHED: 'Hashed',
  AGG_MIXED: 'Mixed',
});

/** SetOp.cmd → EXPLAIN "Command". */
export const SETOP_CMD_NAMES: EnumStrings = Object.freeze({
  SETOPCMD_INTERSECT: 'Intersect',
  SETOPCMD_INTERSECT_ALL: 'Intersect All',
  SETOPCMD_EXCEPT: 'Except',
  SETOPCMD_EXCEPT_ALL: 'Except All',
});

/** SetOp.strategy → EXPLAIN "Strategy". */
export const SETOP_STRATEGY_NAMES: EnumStrings = Object.freeze({
  SETOP_SORTED: 'Sorted',
  SETOP_HASHED: 'Hashed',
});

/** ModifyTable.operation → EXPLAIN "Operation" (Select only occurs on Foreign Scan). */
export const CMD_TYPE_NAMES: EnumStrings = Object.freeze({
  CMD_SELECT: 'Select',
  CMD_UPDATE: 'Update',
  CMD_INSERT: 'Insert',
  CMD_DELETE: 'Delete',
  CMD_MERGE: 'Merge',
});

/** Limit.limitOption (EXPLAIN does not print it; the words follow the others' style). */
export const LIMIT_OPTION_NAMES: EnumStrings = Object.freeze({
  LIMIT_OPTION_COUNT: 'Count',
  LIMIT_OPTION_WITH_TIES: 'With Ties',
  LIMIT_OPTION_DEFAULT: 'Default',
});

/** Numeric value → string for one enum, built from the layout table's numbering. */
function decoder(enumName: string, names: EnumStrings): (value: number, layout?: Layout) => string | undefined {
  const byLayout = new WeakMap<Layout, Map<number, string>>();
  return (value, layout = loadLayout(15)) => {
    let map = byLayout.get(layout);
    if (!map) {
      map = new Map();
      const members = layout.table.enums[enumName] ?? {};
      for (const [member, text] of Object.entries(names)) {
        if (Object.hasOwn(members, member)) map.set(members[member]!, text);
      }
      byLayout.set(layout, map);
    }
    return map.get(value);
  };
}

/**
 * Decoders from the raw enum value read out of a plan node to EXPLAIN's
 * string; undefined for a value EXPLAIN would print as "???". The layout
 * defaults to PostgreSQL 15's.
 */
export const joinTypeName = decoder('JoinType', JOIN_TYPE_NAMES);
export const aggStrategyName = decoder('AggStrategy', AGG_STRATEGY_NAMES);
export const setOpCmdName = decoder('SetOpCmd', SETOP_CMD_NAMES);
export const setOpStrategyName = decoder('SetOpStrategy', SETOP_STRATEGY_NAMES);
export const cmdTypeName = decoder('CmdType', CMD_TYPE_NAMES);
export const limitOptionName = decoder('LimitOption', LIMIT_OPTION_NAMES);

/** The decoder of every enum a plan feature may hold (`enum:<Name>` in collectors/operators.json). */
const ENUM_DECODERS: Readonly<Record<string, (value: number, layout?: Layout) => string | undefined>> = Object.freeze({
  JoinType: joinTypeName,
  AggStrategy: aggStrategyName,
  SetOpCmd: setOpCmdName,
  SetOpStrategy: setOpStrategyName,
  CmdType: cmdTypeName,
  LimitOption: limitOptionName,
});

/** Whether `enum:<enumName>` features can be decoded (checked when the feature table is built). */
export function hasEnumDecoder(enumName: string): boolean {
  return Object.hasOwn(ENUM_DECODERS, enumName);
}

/** EXPLAIN's string for a raw enum value of a plan feature; null for a value EXPLAIN would print as "???". */
export function enumFeatureText(enumName: string, value: number, layout: Layout): string | null {
  const decode = ENUM_DECODERS[enumName];
  if (!decode) throw new TargetError(`no decoder for enum ${enumName} (add it to src/collectors/operators/node-types.ts)`);
  return decode(value, layout) ?? null;
}
