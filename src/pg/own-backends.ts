/**
 * pgscout's own connections to the target (catalog lookups, sampling,
 * warm-up). Their backends' statements and plan nodes are not the
 * workload's, so the drainers leave them out of the dataset.
 */
import { existsSync } from 'node:fs';
import pg from 'pg';
import { toClientConfig } from './target.js';

/** Own backends whose process still runs (a closed connection stays here until its backend has exited). */
export const ownBackends = new Set<number>();
/** Own backends that exited lately → when: their last records may still be drained. */
const endedLately = new Map<number, number>();
/** Long enough for the next drains; short enough that a reused pid is not taken for ours. */
const ENDED_KEPT_MS = 10_000;
/** A backend that outlives its closed connection this long is let go anyway. */
const EXIT_WAIT_MS = 10_000;
const REAP_MS = 100;

/** Was this backend pgscout's own (live, or exited lately)? For filtering drained records. */
export function isOwnBackend(pid: number): boolean {
  const ended = endedLately.get(pid);
  return ownBackends.has(pid) || (ended !== undefined && Date.now() - ended < ENDED_KEPT_MS);
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
    client.once('end', () => reapWhenExited(pid));
  }
  return client;
}

const closing = new Map<number, number>();
let reaper: NodeJS.Timeout | null = null;

/**
 * A closed connection's backend still finishes its last statement and exits
 * after the socket closed: the kernel must keep leaving it out until then, or
 * that statement would be summed as workload. Let go once /proc has no such
 * process (no statement can follow; the pid may be reused by a workload backend).
 */
function reapWhenExited(pid: number): void {
  closing.set(pid, Date.now());
  reaper ??= setInterval(() => {
    for (const [p, since] of closing) {
      if (existsSync(`/proc/${p}`) && Date.now() - since < EXIT_WAIT_MS) continue;
      closing.delete(p);
      ownBackends.delete(p);
      endedLately.set(p, Date.now());
      for (const l of listeners) l(p);
    }
    for (const [p, at] of endedLately) if (Date.now() - at >= ENDED_KEPT_MS) endedLately.delete(p);
    if (closing.size === 0 && reaper) {
      clearInterval(reaper);
      reaper = null;
    }
  }, REAP_MS);
  reaper.unref();
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
