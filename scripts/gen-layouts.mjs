#!/usr/bin/env node
// Builds collectors/layouts/pg<major>.json from a PostgreSQL server include
// directory. Called by scripts/gen-layouts.sh, which fetches the headers.
//
// The C compiler is the only authority on layouts: we never hand-compute an
// offset. Enum member names come from the preprocessed headers (so PG16+'s
// generated nodes/nodetags.h is covered), their values from a compiled
// program. Fields that do not exist in this major are dropped (and listed in
// meta.unavailable) instead of failing, so one spec serves every major.
//
// Usage: node scripts/gen-layouts.mjs --include DIR --major N --source TEXT
//                                     --arch DEBARCH --command TEXT --out FILE
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const HEADERS = [
  'postgres.h',
  'miscadmin.h',
  'nodes/nodes.h',
  'nodes/parsenodes.h',
  'nodes/plannodes.h',
  'nodes/execnodes.h',
  'executor/execdesc.h',
  'executor/executor.h',
  'executor/instrument.h',
  'executor/tuptable.h',
  'executor/hashjoin.h',
  'storage/proc.h',
  'utils/backend_status.h',
  'utils/rel.h',
];

// struct (typedef name) -> fields. Dotted names reach into embedded structs.
const STRUCTS = {
  // Plan tree (plannodes.h)
  Plan: ['type', 'startup_cost', 'total_cost', 'plan_rows', 'plan_width', 'parallel_aware',
    'parallel_safe', 'async_capable', 'plan_node_id', 'targetlist', 'qual', 'lefttree',
    'righttree', 'initPlan', 'extParam', 'allParam'],
  Result: ['plan', 'resconstantqual'],
  ProjectSet: ['plan'],
  ModifyTable: ['plan', 'operation', 'canSetTag', 'nominalRelation', 'rootRelation',
    'partColsUpdated', 'resultRelations', 'onConflictAction'],
  Append: ['plan', 'apprelids', 'appendplans', 'nasyncplans', 'first_partial_plan'],
  MergeAppend: ['plan', 'apprelids', 'mergeplans', 'numCols'],
  RecursiveUnion: ['plan', 'wtParam', 'numCols', 'numGroups'],
  BitmapAnd: ['plan', 'bitmapplans'],
  BitmapOr: ['plan', 'isshared', 'bitmapplans'],
  Scan: ['plan', 'scanrelid'],
  SeqScan: ['scan'],
  SampleScan: ['scan', 'tablesample'],
  IndexScan: ['scan', 'indexid', 'indexorderdir'],
  IndexOnlyScan: ['scan', 'indexid', 'indexorderdir'],
  BitmapIndexScan: ['scan', 'indexid', 'isshared'],
  BitmapHeapScan: ['scan', 'bitmapqualorig'],
  TidScan: ['scan', 'tidquals'],
  TidRangeScan: ['scan', 'tidrangequals'],
  SubqueryScan: ['scan', 'subplan', 'scanstatus'],
  FunctionScan: ['scan', 'functions', 'funcordinality'],
  ValuesScan: ['scan', 'values_lists'],
  TableFuncScan: ['scan', 'tablefunc'],
  CteScan: ['scan', 'ctePlanId', 'cteParam'],
  NamedTuplestoreScan: ['scan', 'enrname'],
  WorkTableScan: ['scan', 'wtParam'],
  ForeignScan: ['scan', 'operation', 'resultRelation', 'fs_server'],
  CustomScan: ['scan', 'flags'],
  Join: ['plan', 'jointype', 'inner_unique', 'joinqual'],
  NestLoop: ['join', 'nestParams'],
  MergeJoin: ['join', 'skip_mark_restore', 'mergeclauses'],
  HashJoin: ['join', 'hashclauses', 'hashoperators', 'hashkeys'],
  Material: ['plan'],
  Memoize: ['plan', 'numKeys', 'singlerow', 'binary_mode', 'est_entries', 'keyparamids'],
  Sort: ['plan', 'numCols'],
  IncrementalSort: ['sort', 'sort.numCols', 'nPresortedCols'],
  Group: ['plan', 'numCols'],
  Agg: ['plan', 'aggstrategy', 'aggsplit', 'numCols', 'numGroups', 'transitionSpace',
    'aggParams', 'groupingSets', 'chain'],
  WindowAgg: ['plan', 'winref', 'partNumCols', 'ordNumCols', 'frameOptions', 'runCondition',
    'topWindow'],
  Unique: ['plan', 'numCols'],
  Gather: ['plan', 'num_workers', 'rescan_param', 'single_copy', 'invisible', 'initParam'],
  GatherMerge: ['plan', 'num_workers', 'rescan_param', 'numCols', 'initParam'],
  Hash: ['plan', 'hashkeys', 'skewTable', 'skewColumn', 'skewInherit', 'rows_total'],
  SetOp: ['plan', 'cmd', 'strategy', 'numCols', 'numGroups'],
  LockRows: ['plan', 'rowMarks', 'epqParam'],
  Limit: ['plan', 'limitOffset', 'limitCount', 'limitOption', 'uniqNumCols'],

  // Statement-level (parsenodes.h, plannodes.h, execdesc.h, execnodes.h)
  RangeTblEntry: ['type', 'rtekind', 'relid', 'relkind'],
  PlannedStmt: ['type', 'commandType', 'queryId', 'hasReturning', 'planTree', 'rtable',
    'resultRelations', 'stmt_location', 'stmt_len'],
  QueryDesc: ['operation', 'plannedstmt', 'sourceText', 'params', 'dest', 'estate', 'planstate',
    'instrument_options', 'totaltime'],
  EState: ['type', 'es_direction', 'es_snapshot', 'es_range_table', 'es_range_table_size',
    'es_plannedstmt', 'es_sourceText', 'es_processed', 'es_top_eflags', 'es_instrument',
    'es_finished', 'es_query_cxt', 'es_subplanstates'],
  RelationData: ['rd_id'],
  List: ['type', 'length', 'max_length', 'elements'],
  SubPlan: ['subLinkType', 'plan_id', 'plan_name', 'firstColType'],

  // Executor state (execnodes.h, tuptable.h, hashjoin.h, instrument.h)
  PlanState: ['type', 'plan', 'state', 'ExecProcNode', 'ExecProcNodeReal', 'instrument',
    'worker_instrument', 'worker_jit_instrument', 'qual', 'lefttree', 'righttree', 'initPlan',
    'subPlan', 'chgParam', 'ps_ResultTupleSlot', 'ps_ExprContext', 'ps_ProjInfo'],
  ScanState: ['ps', 'ss_currentRelation', 'ss_currentScanDesc', 'ss_ScanTupleSlot'],
  TupleTableSlot: ['type', 'tts_flags', 'tts_nvalid', 'tts_ops', 'tts_tupleDescriptor',
    'tts_values', 'tts_isnull', 'tts_tableOid'],
  HashState: ['ps', 'hashtable', 'hashkeys'],
  HashJoinState: ['js', 'hj_HashTable'],
  HashJoinTableData: ['nbuckets', 'log2_nbuckets', 'nbuckets_original', 'nbuckets_optimal',
    'nbatch', 'curbatch', 'nbatch_original', 'nbatch_outstart', 'growEnabled', 'partialTuples',
    'totalTuples', 'skewTuples', 'spaceUsed', 'spaceAllowed', 'spacePeak', 'spaceUsedSkew'],
  SortState: ['ss', 'randomAccess', 'bounded', 'bound', 'sort_Done', 'tuplesortstate',
    'am_worker'],
  AggState: ['ss', 'aggs', 'numaggs', 'numtrans', 'aggstrategy', 'aggsplit', 'hash_spill_mode',
    'hash_mem_limit', 'hash_mem_peak', 'hash_ngroups_current', 'hash_disk_used',
    'hash_batches_used'],
  MemoizeState: ['ss', 'stats'],
  MemoizeInstrumentation: ['cache_hits', 'cache_misses', 'cache_evictions', 'cache_overflows',
    'mem_peak'],
  BitmapHeapScanState: ['ss', 'exact_pages', 'lossy_pages'],
  // Children outside lefttree/righttree (the instrumented operator source walks them)
  AppendState: ['ps', 'appendplans', 'as_nplans'],
  MergeAppendState: ['ps', 'mergeplans', 'ms_nplans'],
  BitmapAndState: ['ps', 'bitmapplans', 'nplans'],
  BitmapOrState: ['ps', 'bitmapplans', 'nplans'],
  SubqueryScanState: ['ss', 'subplan'],
  CustomScanState: ['ss', 'custom_ps'],
  SubPlanState: ['type', 'subplan', 'planstate'],
  ListCell: ['ptr_value'],
  Instrumentation: ['need_timer', 'need_bufusage', 'need_walusage', 'async_mode', 'running',
    'starttime', 'counter', 'firsttuple', 'tuplecount', 'bufusage_start', 'walusage_start',
    'startup', 'total', 'ntuples', 'ntuples2', 'nloops', 'nfiltered1', 'nfiltered2', 'bufusage',
    'walusage'],
  WorkerInstrumentation: ['num_workers', 'instrument'],
  BufferUsage: ['shared_blks_hit', 'shared_blks_read', 'shared_blks_dirtied',
    'shared_blks_written', 'local_blks_hit', 'local_blks_read', 'local_blks_dirtied',
    'local_blks_written', 'temp_blks_read', 'temp_blks_written', 'blk_read_time',
    'blk_write_time', 'temp_blk_read_time', 'temp_blk_write_time'],
  WalUsage: ['wal_records', 'wal_fpi', 'wal_bytes'],

  // Shared memory (proc.h, backend_status.h)
  PGPROC: ['pid', 'pgprocno', 'backendId', 'databaseId', 'roleId', 'lxid', 'lockGroupLeader'],
  PgBackendStatus: ['st_changecount', 'st_procpid', 'st_backendType', 'st_proc_start_timestamp', 'st_ssl',
    'st_xact_start_timestamp', 'st_activity_start_timestamp', 'st_state_start_timestamp',
    'st_databaseid', 'st_userid', 'st_state', 'st_activity_raw', 'st_query_id'],
};

// Every member of these enums is emitted; NodeTag goes to its own section.
const ENUMS = ['NodeTag', 'CmdType', 'JoinType', 'AggStrategy', 'AggSplit', 'SetOpCmd',
  'SetOpStrategy', 'LimitOption', 'RTEKind', 'ScanDirection', 'InstrumentOption',
  'BackendState', 'BackendType'];

// #define'd integers a reader needs (slot flags, executor flags).
const CONSTANTS = ['NAMEDATALEN', 'TTS_FLAG_EMPTY', 'TTS_FLAG_SHOULDFREE', 'TTS_FLAG_SLOW',
  'TTS_FLAG_FIXED', 'EXEC_FLAG_EXPLAIN_ONLY', 'EXEC_FLAG_REWIND', 'EXEC_FLAG_BACKWARD',
  'EXEC_FLAG_MARK', 'EXEC_FLAG_SKIP_TRIGGERS', 'EXEC_FLAG_WITH_NO_DATA'];

function parseArgs(argv) {
  const args = {};
  for (let i = 0; i < argv.length; i += 2) {
    if (!argv[i].startsWith('--') || argv[i + 1] === undefined) {
      throw new Error(`bad argument ${argv[i]}`);
    }
    args[argv[i].slice(2)] = argv[i + 1];
  }
  for (const k of ['include', 'major', 'source', 'arch', 'command', 'out']) {
    if (!args[k]) throw new Error(`missing --${k}`);
  }
  return args;
}

const cc = process.env.CC || 'cc';
const prelude = HEADERS.map((h) => `#include "${h}"`).join('\n') +
  // port.h turns printf into pg_printf, which lives in libpgport.
  '\n#undef printf\n#include <stdio.h>\n';

/** Member names of each enum, in declaration order, from preprocessed headers. */
function enumMembers(preprocessed, name) {
  const named = new RegExp(`enum\\s+${name}\\s*\\{([^}]*)\\}`);
  const anonymous = new RegExp(`typedef\\s+enum\\s*\\{([^}]*)\\}\\s*${name}\\s*;`);
  const m = preprocessed.match(named) ?? preprocessed.match(anonymous);
  if (!m) return null;
  return m[1].split(',').map((s) => s.trim().match(/^[A-Za-z_]\w*/)?.[0]).filter(Boolean);
}

// One printf per line so a compile error's line number names the item to drop.
// The kind is worked out by the compiler: integer signedness and _Bool via
// _Generic, the rest via __builtin_classify_type (gcc and clang agree on the
// classes used here; arrays decay, so an array is a "pointer" whose size is
// not a pointer's).
const KIND_MACRO = `
#define KIND(x) __builtin_classify_type(x), (int)_Generic((x), _Bool: 2, signed char: 1, \\
  short: 1, int: 1, long: 1, long long: 1, char: ((char)-1 < 0), default: 0)
`;

function cProgram(items) {
  const lines = [prelude, KIND_MACRO, 'int main(void) {'];
  const first = lines.join('\n').split('\n').length + 1;
  items.forEach((it, i) => {
    it.line = first + i;
    lines.push('  ' + it.stmt);
  });
  lines.push('  return 0;', '}', '');
  return lines.join('\n');
}

function buildItems(preprocessed) {
  const items = [];
  const unavailable = [];
  for (const [struct, fields] of Object.entries(STRUCTS)) {
    items.push({ id: struct, stmt: `printf("S\\t${struct}\\t%zu\\n", sizeof(${struct}));` });
    for (const f of fields) {
      const probe = `((${struct} *)0)->${f}`;
      items.push({
        id: `${struct}.${f}`,
        stmt: `{ static ${struct} p; (void)p; printf("F\\t${struct}\\t${f}\\t%zu\\t%zu\\t%d\\t%d\\n", ` +
          `offsetof(${struct}, ${f}), sizeof(${probe}), KIND(p.${f})); }`,
        // A flexible array member has an offset but no sizeof: size 0.
        fallback: `printf("F\\t${struct}\\t${f}\\t%zu\\t0\\t14\\t0\\n", offsetof(${struct}, ${f}));`,
      });
    }
  }
  for (const e of ENUMS) {
    const members = enumMembers(preprocessed, e);
    if (!members) { unavailable.push(`enum ${e}`); continue; }
    for (const m of members) {
      items.push({ id: `${e}.${m}`, stmt: `printf("E\\t${e}\\t${m}\\t%lld\\n", (long long)${m});` });
    }
  }
  for (const c of CONSTANTS) {
    items.push({ id: c, stmt: `printf("C\\t${c}\\t%lld\\n", (long long)(${c}));` });
  }
  return { items, unavailable };
}

function compile(dir, include, items) {
  const src = join(dir, 'layouts.c');
  const bin = join(dir, 'layouts');
  writeFileSync(src, cProgram(items));
  try {
    execFileSync(cc, ['-std=gnu11', '-I', include, '-o', bin, src], { stdio: 'pipe' });
    return { bin };
  } catch (err) {
    return { errors: String(err.stderr) };
  }
}

/** Compile, dropping items whose line the compiler rejects, until it builds. */
function compileDroppingMissing(dir, include, items, unavailable) {
  for (;;) {
    const { bin, errors } = compile(dir, include, items);
    if (bin) return bin;
    const bad = new Set();
    for (const m of errors.matchAll(/layouts\.c:(\d+):\d+: error/g)) bad.add(Number(m[1]));
    const rejected = items.filter((it) => bad.has(it.line));
    if (rejected.length === 0) throw new Error(`compile failed outside the probes:\n${errors}`);
    const gone = new Set();
    for (const it of rejected) {
      if (it.fallback) {
        it.stmt = it.fallback;
        it.fallback = undefined;
      } else {
        gone.add(it);
        unavailable.push(it.id);
      }
    }
    items.splice(0, items.length, ...items.filter((it) => !gone.has(it)));
  }
}

const KIND_NAMES = { 5: 'pointer', 8: 'float', 12: 'struct', 13: 'union' };

function kindOf(cls, intFlag, size) {
  if (intFlag === 2 || cls === 4) return 'bool';
  if (cls === 1 || cls === 2 || cls === 3) return intFlag === 1 ? 'int' : 'uint';
  if (cls === 5 && size !== 8) return 'array';
  if (cls === 14) return 'flexarray';
  return KIND_NAMES[cls] ?? `class${cls}`;
}

function assemble(output, meta) {
  const out = { meta, structs: {}, nodeTags: {}, enums: {}, constants: {} };
  for (const line of output.split('\n').filter(Boolean)) {
    const [tag, ...rest] = line.split('\t');
    if (tag === 'S') out.structs[rest[0]] = { size: Number(rest[1]), fields: {} };
    else if (tag === 'F') {
      const [struct, field, offset, size, cls, intFlag] = rest;
      out.structs[struct].fields[field] = {
        offset: Number(offset), size: Number(size), kind: kindOf(Number(cls), Number(intFlag), Number(size)),
      };
    } else if (tag === 'E' && rest[0] === 'NodeTag') out.nodeTags[rest[1]] = Number(rest[2]);
    else if (tag === 'E') (out.enums[rest[0]] ??= {})[rest[1]] = Number(rest[2]);
    else if (tag === 'C') out.constants[rest[0]] = Number(rest[1]);
  }
  return out;
}

// Two-space JSON, but each leaf object (a field) on one line so diffs between
// majors read as one line per changed field.
function format(value, indent = '') {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  const inner = indent + '  ';
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    return `[\n${value.map((v) => inner + format(v, inner)).join(',\n')}\n${indent}]`;
  }
  const entries = Object.entries(value);
  if (entries.length === 0) return '{}';
  const leaf = entries.length <= 4 && entries.every(([, v]) => v === null || typeof v !== 'object');
  if (leaf) return `{ ${entries.map(([k, v]) => `${JSON.stringify(k)}: ${JSON.stringify(v)}`).join(', ')} }`;
  return `{\n${entries.map(([k, v]) => `${inner}${JSON.stringify(k)}: ${format(v, inner)}`).join(',\n')}\n${indent}}`;
}

function main() {
  const args = parseArgs(process.argv.slice(2));
  const dir = mkdtempSync(join(tmpdir(), 'pgscout-layouts-'));
  try {
    const pre = join(dir, 'prelude.c');
    writeFileSync(pre, prelude);
    const preprocessed = execFileSync(cc, ['-E', '-P', '-I', args.include, pre],
      { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
    const { items, unavailable } = buildItems(preprocessed);
    const bin = compileDroppingMissing(dir, args.include, items, unavailable);
    const output = execFileSync(bin, { encoding: 'utf8' });
    const meta = {
      major: Number(args.major),
      generated_from: args.source,
      generated_at: new Date().toISOString(),
      generator: args.command,
      // Layouts differ between ABIs (slock_t, alignment), so the table names its own.
      arch: args.arch,
      unavailable,
    };
    const table = assemble(output, meta);
    if (!table.nodeTags.T_Invalid && table.nodeTags.T_Invalid !== 0) {
      throw new Error('NodeTag enum not found in the preprocessed headers');
    }
    writeFileSync(args.out, format(table) + '\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main();
