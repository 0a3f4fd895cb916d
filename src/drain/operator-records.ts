/** Re-exports of the operator record layouts, plus the shared counter maps. */
import { COUNTERS } from '../bpf/perf.js';

export { fnEventLayout, nodeDoneKeyLayout, nodeRecordLayout, OP_STATS, NODE_FLAGS, type OpStatName } from '../bpf/records.js';

export const COUNTERS_MAPS: readonly string[] = COUNTERS.map((c) => c.map);
