/** A loaded BPF map: element ops and batch lookup-and-delete, counting syscalls. */
import os from 'node:os';
import { errno, fn } from './libbpf.js';
import { bpfError } from './errors.js';
import { KeyNotFoundError } from '../util/errors.js';

/** Counts every bpf() syscall the daemon makes, by operation. */
export const syscallCounter = {
  total: 0,
  byOp: new Map<string, number>(),
  add(op: string): void {
    this.total++;
    this.byOp.set(op, (this.byOp.get(op) ?? 0) + 1);
  },
};

export interface BatchResult { keys: Buffer; values: Buffer; count: number }

const scratchBuffers = new Map<string, Buffer>();

/** A reusable buffer of at least `bytes` (contents undefined), shared by every map's drain. */
function scratch(name: string, bytes: number): Buffer {
  let buf = scratchBuffers.get(name);
  if (!buf || buf.length < bytes) {
    buf = Buffer.allocUnsafeSlow(bytes);
    scratchBuffers.set(name, buf);
  }
  return buf;
}

export class BpfMap {
  private readonly perCpuKey = Buffer.alloc(4);
  private perCpuValue = Buffer.alloc(0);

  constructor(
    readonly name: string,
    readonly fd: number,
    readonly keySize: number,
    readonly valueSize: number,
    readonly maxEntries: number,
  ) {}

  update(key: Buffer, value: Buffer, flags = 0): void {
    syscallCounter.add('map_update_elem');
    const ret = fn.map_update_elem(this.fd, key, value, flags) as number;
    if (ret < 0) throw bpfError(`update of map ${this.name}`, -ret);
  }

  /** Removes the key; false when it was not there. */
  delete(key: Buffer): boolean {
    syscallCounter.add('map_delete_elem');
    const ret = fn.map_delete_elem(this.fd, key) as number;
    if (ret === -os.constants.errno.ENOENT) return false;
    if (ret < 0) throw bpfError(`delete from map ${this.name}`, -ret);
    return true;
  }

  /** `into`: a buffer of at least `valueSize` bytes to fill (and return) instead of a new one. */
  lookup(key: Buffer, valueSize = this.valueSize, into?: Buffer): Buffer {
    syscallCounter.add('map_lookup_elem');
    const value = into && into.length >= valueSize ? into : Buffer.alloc(valueSize);
    const ret = fn.map_lookup_elem(this.fd, key, value) as number;
    if (ret === -os.constants.errno.ENOENT) throw new KeyNotFoundError(`no such key in map ${this.name}`);
    if (ret < 0) throw bpfError(`lookup in map ${this.name}`, -ret);
    return value;
  }

  /**
   * Takes every entry out of a hash map with as few syscalls as the kernel
   * allows (one per `chunk` entries). The last call returns ENOENT together
   * with its rows. A per-CPU map's values are `valueStride` bytes a key (every
   * CPU's copy, each rounded up to 8 bytes).
   */
  drain(chunk = 4096, valueStride = this.valueSize): BatchResult {
    // One chunk at a time through scratch buffers every map shares (drains run one at a
    // time on this thread), copied out at the size actually taken: per-map buffers sized
    // for a full per-CPU map held ~50 MB resident for a few dozen keys.
    const keys = scratch('keys', this.keySize * chunk);
    const values = scratch('values', valueStride * chunk);
    const keyParts: Buffer[] = [];
    const valueParts: Buffer[] = [];
    // At most a full map plus one chunk: programs keep adding while we drain.
    const capacity = this.maxEntries + chunk;
    let total = 0;
    let inBatch: Buffer | null = null;
    const outBatch = Buffer.alloc(8);
    for (;;) {
      const room = Math.min(chunk, capacity - total);
      if (room <= 0) break;
      const count = [room];
      syscallCounter.add('map_lookup_and_delete_batch');
      const ret = fn.map_lookup_and_delete_batch(this.fd, inBatch, outBatch, keys, values, count, null) as number;
      const err = ret < 0 ? (errno() || -ret) : 0;
      // Rows already taken out of the map are in our buffers: keep them
      // whatever happens next (ENOSPC: a bucket larger than the room left,
      // it stays in the map for the next drain).
      const n = count[0]!;
      if (n > 0) {
        keyParts.push(Buffer.from(keys.subarray(0, n * this.keySize)));
        valueParts.push(Buffer.from(values.subarray(0, n * valueStride)));
        total += n;
      }
      if (ret >= 0) {
        inBatch = Buffer.from(outBatch);
        continue;
      }
      if (err === os.constants.errno.ENOENT || err === os.constants.errno.ENOSPC) break;
      if (total > 0) break;
      throw bpfError(`batch lookup-and-delete on map ${this.name}`, err);
    }
    const one = (parts: Buffer[]) => (parts.length === 1 ? parts[0]! : Buffer.concat(parts));
    return { keys: one(keyParts), values: one(valueParts), count: total };
  }

  /** Sums a per-CPU array of u64 counters: one syscall per index. */
  readPerCpuU64(index: number, ncpus: number): bigint {
    // Read for every slot of the stats at each report: the key and value buffers are reused.
    const key = this.perCpuKey;
    key.writeUInt32LE(index);
    if (this.perCpuValue.length < 8 * ncpus) this.perCpuValue = Buffer.alloc(8 * ncpus);
    const raw = this.lookup(key, 8 * ncpus, this.perCpuValue);
    let sum = 0n;
    for (let i = 0; i < ncpus; i++) sum += raw.readBigUInt64LE(i * 8);
    return sum;
  }

  /** A per-CPU array of u64 counters, one slot per name (in slot order), each summed over CPUs. */
  readPerCpuSlots<N extends string>(names: readonly N[], ncpus: number): Record<N, bigint> {
    const out = {} as Record<N, bigint>;
    names.forEach((name, i) => { out[name] = this.readPerCpuU64(i, ncpus); });
    return out;
  }
}
