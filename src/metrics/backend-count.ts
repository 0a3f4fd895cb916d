/**
 * Processes of the target postmaster, counted from /proc. A scan reads one
 * small file per process on the host, so the result is reused for a few
 * seconds (both readers and fast scrapes share one scan).
 */
import { listBackendPids } from '../pg/target.js';

export class BackendCount {
  private at = -Infinity;
  private value = 0;

  /** `postmasterPid` is asked at each scan: after a restart it is another process. */
  constructor(private readonly postmasterPid: () => number, private readonly maxAgeMs = 2000) {}

  get(): number {
    const now = performance.now();
    if (now - this.at > this.maxAgeMs) {
      try {
        this.value = listBackendPids(this.postmasterPid()).length;
      } catch {
        this.value = 0;
      }
      this.at = now;
    }
    return this.value;
  }
}
