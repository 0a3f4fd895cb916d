/**
 * pgscout's own backends (catalog lookups, sampler) in a kernel map
 * (`own_pids`, u32 pid → u8), so the programs leave their statements out:
 * they are not the workload. Follows the set as backends come and go.
 */
import type { BpfMap } from '../../bpf/map.js';
import { onOwnBackend, ownBackends } from '../../pg/own-backends.js';

export class OwnPidsMap {
  private readonly synced = new Set<number>();
  private readonly unsubscribe: () => void;

  constructor(private readonly map: BpfMap) {
    this.sync();
    this.unsubscribe = onOwnBackend(() => this.sync());
  }

  sync(): void {
    for (const pid of ownBackends) {
      if (this.synced.has(pid)) continue;
      const key = Buffer.alloc(4);
      key.writeUInt32LE(pid);
      this.map.update(key, Buffer.from([1]));
      this.synced.add(pid);
    }
  }

  close(): void {
    this.unsubscribe();
  }
}
