/**
 * Read-only configuration of operators.bpf.o, derived from the struct
 * layouts of the target's major version and the declarative feature table
 * in collectors/operators.json: nothing here is a hand-copied offset.
 */
import type { CollectorSpec, FeatureSpec } from '../../bpf/collector-spec.js';
import type { RodataValue } from '../../bpf/rodata.js';
import { PGS_FEAT_RELATION, PGS_MAX_TAG, PGS_NFEATURES } from './abi.js';
import type { Layout } from '../../pg/layouts.js';
import { PgscoutError } from '../../util/errors.js';
import { hasEnumDecoder } from './node-types.js';

export interface FeatureSlot { column: string; decode: string; size: number; kind: string }

/** plan tag → the features in its slots, for decoding in user space. */
export type FeatureTable = Map<number, FeatureSlot[]>;

export function featureTable(spec: CollectorSpec, layout: Layout): { rodata: Record<string, RodataValue>; table: FeatureTable } {
  const offsets = Buffer.alloc(PGS_MAX_TAG * PGS_NFEATURES * 2, 0xff);
  const flags = Buffer.alloc(PGS_MAX_TAG * PGS_NFEATURES);
  const table: FeatureTable = new Map();
  for (const [tagName, features] of Object.entries(spec.features ?? {})) {
    const tag = layout.nodeTag(tagName);
    if (tag >= PGS_MAX_TAG) throw new PgscoutError(`plan tag ${tagName} = ${tag} exceeds PGS_MAX_TAG`);
    if (features.length > PGS_NFEATURES) throw new PgscoutError(`${tagName}: at most ${PGS_NFEATURES} features`);
    table.set(tag, features.map(([column, struct, field, decode]: FeatureSpec, i) => {
      const f = layout.field(struct, field);
      if (decode.startsWith('enum:') && !hasEnumDecoder(decode.slice(5))) {
        throw new PgscoutError(`${tagName}.${column}: no decoder for ${decode} in src/collectors/operators/node-types.ts`);
      }
      offsets.writeUInt16LE(f.offset, (tag * PGS_NFEATURES + i) * 2);
      if (decode === 'relation') flags[tag * PGS_NFEATURES + i] = PGS_FEAT_RELATION;
      return { column, decode, size: f.size, kind: f.kind };
    }));
  }
  return { rodata: { feat_off: offsets, feat_flags: flags }, table };
}

export function structRodata(layout: Layout): Record<string, RodataValue> {
  const off = (s: string, f: string) => layout.offsetOf(s, f);
  return {
    off_ps_plan: off('PlanState', 'plan'),
    off_ps_state: off('PlanState', 'state'),
    off_ps_real: off('PlanState', 'ExecProcNodeReal'),
    off_plan_type: off('Plan', 'type'),
    off_plan_startup: off('Plan', 'startup_cost'),
    off_plan_total: off('Plan', 'total_cost'),
    off_plan_rows: off('Plan', 'plan_rows'),
    off_plan_width: off('Plan', 'plan_width'),
    off_plan_parallel_aware: off('Plan', 'parallel_aware'),
    off_plan_node_id: off('Plan', 'plan_node_id'),
    off_plan_lefttree: off('Plan', 'lefttree'),
    off_plan_righttree: off('Plan', 'righttree'),
    off_slot_flags: off('TupleTableSlot', 'tts_flags'),
    tts_flag_empty: layout.constant('TTS_FLAG_EMPTY'),
    off_hs_hashtable: off('HashState', 'hashtable'),
    off_ht_partial: off('HashJoinTableData', 'partialTuples'),
    off_ht_nbuckets: off('HashJoinTableData', 'nbuckets'),
    off_ht_nbatch: off('HashJoinTableData', 'nbatch'),
    off_es_rtable: off('EState', 'es_range_table'),
    off_es_subplanstates: off('EState', 'es_subplanstates'),
    off_es_top_eflags: off('EState', 'es_top_eflags'),
    exec_flag_explain_only: layout.constant('EXEC_FLAG_EXPLAIN_ONLY'),
    off_list_elements: off('List', 'elements'),
    off_rte_relid: off('RangeTblEntry', 'relid'),
    off_subplan_plan_id: off('SubPlan', 'plan_id'),
    off_proc_leader: off('PGPROC', 'lockGroupLeader'),
    off_proc_pid: off('PGPROC', 'pid'),
    tag_hash_state: layout.nodeTag('T_HashState'),
    tag_bitmap_index_state: layout.nodeTag('T_BitmapIndexScanState'),
    tag_bitmap_and_state: layout.nodeTag('T_BitmapAndState'),
    tag_bitmap_or_state: layout.nodeTag('T_BitmapOrState'),
  };
}
