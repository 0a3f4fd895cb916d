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
    const key = (pid: number) => {
      const k = Buffer.alloc(4);
      k.writeUInt32LE(pid);
      return k;
    };
    for (const pid of this.synced) {
      if (ownBackends.has(pid)) continue;
      this.map.delete(key(pid));
      this.synced.delete(pid);
    }
    for (const pid of ownBackends) {
      if (this.synced.has(pid)) continue;
      this.map.update(key(pid), Buffer.from([1]));
      this.synced.add(pid);
    }
  }

  close(): void {
    this.unsubscribe();
  }
}
