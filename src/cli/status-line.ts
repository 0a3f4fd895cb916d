/** A live status line on a TTY: statements/s and rows written. */
import type { Collection } from '../collect/collection.js';

export class StatusLine {
  private timer: NodeJS.Timeout | null = null;
  private lastRows = 0;
  private lastAt = performance.now();

  constructor(private readonly collection: Collection) {}

  start(): void {
    this.timer = setInterval(() => {
      const s = this.collection.stats;
      const now = performance.now();
      const total = s.rowsWritten + s.errorRowsWritten;
      const rate = ((total - this.lastRows) * 1000) / Math.max(1, now - this.lastAt);
      this.lastRows = total;
      this.lastAt = now;
      process.stderr.write(`\r\x1b[K${rate.toFixed(0)} statements/s  ${s.rowsWritten} rows written  ` +
        `${s.drains} drains (${s.lastDrainMs.toFixed(1)} ms, ${s.lastDrainSyscalls} syscalls)  dropped ${s.kernel.drop_full ?? 0n}`);
    }, 1000);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    process.stderr.write('\n');
  }
}
