/**
 * pgscout's own connections to the target (catalog lookups, sampling,
 * warm-up). Their backends' statements and plan nodes are not the
 * workload's, so the drainers leave them out of the dataset.
 */
import pg from 'pg';
import { toClientConfig } from './target.js';

export const ownBackends = new Set<number>();
/** Own backends that ended lately: their last records may still be drained (bounded: oldest out first). */
const endedLately = new Set<number>();
const ENDED_KEPT = 256;

/** Was this backend pgscout's own (live, or ended lately)? For filtering drained records. */
export function isOwnBackend(pid: number): boolean {
  return ownBackends.has(pid) || endedLately.has(pid);
}

const listeners = new Set<(pid: number) => void>();

/**
 * Called with every own backend pid as soon as its connection is up, before
 * it runs a statement (the default statement source excludes them in the
 * kernel), and again when it has ended (the pid is out of ownBackends by then,
 * and may come back as a workload backend). Returns the unsubscribe function.
 */
export function onOwnBackend(listener: (pid: number) => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** Connects as application 'pgscout' and registers the backend; `options` are server settings (-c k=v). */
export async function connectOwn(conninfo: string, settings: Record<string, string> = {}): Promise<pg.Client> {
  const options = Object.entries(settings).map(([k, v]) => `-c ${k}=${v}`).join(' ');
  const client = new pg.Client({ ...toClientConfig(conninfo), application_name: 'pgscout', ...(options ? { options } : {}) });
  await client.connect();
  const pid = (client as unknown as { processID?: number }).processID;
  if (pid) {
    ownBackends.add(pid);
    for (const l of listeners) l(pid);
    // Short-lived connections (timing slices, setup) would otherwise fill the kernel's own_pids map.
    client.once('end', () => {
      ownBackends.delete(pid);
      endedLately.add(pid);
      if (endedLately.size > ENDED_KEPT) endedLately.delete(endedLately.values().next().value!);
      for (const l of listeners) l(pid);
    });
  }
  return client;
}

/**
 * A pgscout connection opened on first use and reopened after a failure:
 * catalog lookups must never stop collection, so query() rejects and the
 * next call reconnects.
 */
export class OwnConnection {
  private client: pg.Client | null = null;

  constructor(private readonly conninfo: string) {}

  async query<R extends pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<R[]> {
    try {
      if (!this.client) {
        this.client = await connectOwn(this.conninfo);
        this.client.on('error', () => { this.client = null; });
      }
      return (await this.client.query<R>(sql, params)).rows;
    } catch (err) {
      this.client = null;
      throw err;
    }
  }

  async close(): Promise<void> {
    const c = this.client;
    this.client = null;
    await c?.end().catch(() => undefined);
  }
}
