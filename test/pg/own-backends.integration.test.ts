/**
 * pgscout's own backends stay "own" until their process has exited, not only
 * until the connection closed: the backend still ends its last statement
 * after the socket closed, and the kernel must not sum it as workload.
 */
import fs from 'node:fs';
import { expect, it } from 'vitest';
import { connectOwn, isOwnBackend, onOwnBackend, ownBackends } from '../../src/pg/own-backends.js';
import { describeBpf } from '../helpers/bpf-env.js';
import { useCluster } from '../helpers/cluster-fixture.js';

describeBpf('own backends', () => {
  const db = useCluster();

  it('are let go only once their backend process is gone, and still known as own for a while after', async () => {
    const seen: number[] = [];
    const unsubscribe = onOwnBackend((pid) => seen.push(pid));
    try {
      const client = await connectOwn(db.cluster.conninfo);
      const pid = (client as unknown as { processID: number }).processID;
      expect(ownBackends.has(pid)).toBe(true);
      const [{ backend }] = (await client.query<{ backend: number }>('SELECT pg_backend_pid() AS backend')).rows as [{ backend: number }];
      expect(backend).toBe(pid);
      await client.end();
      expect(ownBackends.has(pid)).toBe(true);

      let goneWhileOwn = true;
      const deadline = Date.now() + 5000;
      while (ownBackends.has(pid) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 10));
        if (ownBackends.has(pid) && !fs.existsSync(`/proc/${pid}`)) continue;
        if (!ownBackends.has(pid)) goneWhileOwn = !fs.existsSync(`/proc/${pid}`);
      }
      expect(ownBackends.has(pid)).toBe(false);
      expect(goneWhileOwn).toBe(true);
      expect(isOwnBackend(pid)).toBe(true);
      expect(seen.filter((p) => p === pid)).toHaveLength(2);
    } finally {
      unsubscribe();
    }
  });
});
