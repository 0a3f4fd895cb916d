/**
 * pgscout's own connections to the target (catalog lookups, sampling,
 * warm-up). Their backends' statements and plan nodes are not the
 * workload's, so the drainers leave them out of the dataset.
 */
import pg from 'pg';
import { toClientConfig } from './target.js';

export const ownBackends = new Set<number>();

/** Connects as application 'pgscout' and registers the backend; `options` are server settings (-c k=v). */
export async function connectOwn(conninfo: string, settings: Record<string, string> = {}): Promise<pg.Client> {
  const options = Object.entries(settings).map(([k, v]) => `-c ${k}=${v}`).join(' ');
  const client = new pg.Client({ ...toClientConfig(conninfo), application_name: 'pgscout', ...(options ? { options } : {}) });
  await client.connect();
  const pid = (client as unknown as { processID?: number }).processID;
  if (pid) ownBackends.add(pid);
  return client;
}
