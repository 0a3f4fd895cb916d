/** A live status line on a TTY: rows/s and rows written (every table). */
import type { Collection } from '../collect/collection.js';

export class StatusLine {
  private timer: NodeJS.Timeout | null = null;
  private lastRows = 0;
  private lastAt = performance.now();

  constructor(private readonly collection: Collection) {}

  start(): void {
    this.timer = setInterval(() => {
      const c = this.collection;
      const stats = c.collectors.map((x) => x.stats());
      const drains = Math.max(0, ...stats.map((x) => x.drains));
      const dropped = stats.flatMap((x) => x.drops).filter((d) => d.reason === 'map_full').reduce((a, d) => a + d.count, 0);
      const now = performance.now();
      const total = [...c.rowsAppended.values()].reduce((a, n) => a + n, 0);
      const rate = ((total - this.lastRows) * 1000) / Math.max(1, now - this.lastAt);
      this.lastRows = total;
      this.lastAt = now;
      const tick = c.lastDrainTick;
      process.stderr.write(`\r\x1b[K${rate.toFixed(0)} rows/s  ${total} rows written  ` +
        `${drains} drains (${tick.ms.toFixed(1)} ms, ${tick.syscalls} syscalls)  dropped ${dropped}`);
    }, 1000);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    process.stderr.write('\n');
  }
}
