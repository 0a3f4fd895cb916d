/**
 * Chooses which client backends get operator probes (--sample < 1) and
 * rotates the choice, so over time every session is seen while at any
 * moment unsampled backends run the original, unpatched code.
 */
import { OwnConnection } from '../../pg/own-backends.js';
import { logger } from '../../util/log.js';

const log = logger('sampler');

export class BackendSampler {
  private readonly conn: OwnConnection;
  private round = 0;

  constructor(conninfo: string, readonly fraction: number) {
    this.conn = new OwnConnection(conninfo);
  }

  private async clientBackends(): Promise<number[]> {
    const rows = await this.conn.query<{ pid: number }>(
      "SELECT pid FROM pg_stat_activity WHERE backend_type = 'client backend' AND application_name <> 'pgscout' ORDER BY pid");
    return rows.map((r) => r.pid);
  }

  /** The backends to sample this round: a sliding window over the sorted pids. */
  async choose(): Promise<number[]> {
    let pids: number[];
    try {
      pids = await this.clientBackends();
    } catch (err) {
      log.warn(`cannot list backends: ${(err as Error).message}`);
      return [];
    }
    if (pids.length === 0) return [];
    const k = Math.max(1, Math.round(this.fraction * pids.length));
    const start = (this.round++ * k) % pids.length;
    return Array.from({ length: k }, (_, i) => pids[(start + i) % pids.length]!);
  }

  close(): Promise<void> {
    return this.conn.close();
  }
}
