/**
 * --operator-timing: node timing on for a fraction of the time. auto_explain
 * has one log_timing for every session, and two clock reads per tuple per
 * node cost ~0.8 of bare throughput on an analytical mix, so it is switched
 * in slices (ALTER SYSTEM + pg_reload_conf(); each backend applies it before
 * its next command). Every plan_nodes row says whether it was timed.
 *
 * The timer never throws and is unref'd; stop() waits for a switch in
 * flight, so the restore that follows sees the last word.
 */
import { logger } from '../util/log.js';
import { apply } from './instrumentation.js';
import { connectOwn } from './own-backends.js';

const log = logger('instrumentation');

/** One on/off cycle. Short enough that a 1-minute collection times several slices. */
export const TIMING_PERIOD_MS = 10_000;

export class TimingSlices {
  private timer: NodeJS.Timeout | null = null;
  private switching: Promise<void> = Promise.resolve();
  private on: boolean;
  private stopped = false;
  /** Switches made, and those that failed (logged). */
  switches = 0;
  failures = 0;

  /** `startsOn`: log_timing as the setup left it. */
  constructor(private readonly conninfo: string, readonly fraction: number, startsOn: boolean, private readonly periodMs = TIMING_PERIOD_MS) {
    this.on = startsOn;
  }

  /** Nothing to switch at 0 or 1: the setup's value stays. */
  start(): void {
    if (this.fraction <= 0 || this.fraction >= 1) return;
    this.schedule();
  }

  private schedule(): void {
    if (this.stopped) return;
    const ms = (this.on ? this.fraction : 1 - this.fraction) * this.periodMs;
    this.timer = setTimeout(() => {
      this.switching = this.switchTo(!this.on).finally(() => this.schedule());
    }, ms);
    this.timer.unref();
  }

  private async switchTo(on: boolean): Promise<void> {
    if (this.stopped) return;
    try {
      const client = await connectOwn(this.conninfo);
      try {
        await client.query("LOAD 'auto_explain'");
        await apply(client, { 'auto_explain.log_timing': on ? 'on' : 'off' });
      } finally {
        await client.end();
      }
      this.on = on;
      this.switches++;
    } catch (err) {
      this.failures++;
      log.warn(`switching node timing ${on ? 'on' : 'off'} failed (${(err as Error).message}); the next slice retries`);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.switching;
  }
}
