/**
 * One collector per cluster, one writer per --out: a second one exits with
 * one line naming the first one's pid, and nothing it did is left behind.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, it } from 'vitest';
import { Collection } from '../../src/collect/collection.js';
import { collectConfig } from '../../src/config.js';
import { runCli } from '../helpers/cli.js';
import { describeBpf } from '../helpers/bpf-env.js';
import { useCluster } from '../helpers/cluster-fixture.js';

describeBpf('a second collector', () => {
  const db = useCluster({ outPrefix: 'pgscout-second-' });

  it('on the same cluster or into the same --out exits with one line naming the first; after the first stops, one starts', async () => {
    const other = fs.mkdtempSync(path.join(os.tmpdir(), 'pgscout-second-b-'));
    try {
      const first = await Collection.start(collectConfig({ pg: db.cluster.conninfo, out: db.out, interval: '1s' }));
      try {
        for (const out of [other, db.out]) {
          const r = await runCli(['collect', '--pg', db.cluster.conninfo, '--out', out, '--duration', '2s']);
          expect(r.code).not.toBe(0);
          const lines = r.stderr.trim().split('\n');
          expect(lines).toHaveLength(1);
          expect(lines[0]).toMatch(new RegExp(`another pgscout \\(pid ${process.pid}\\) is already collecting ` +
            (out === db.out ? `into ${db.out}` : `from the cluster in ${db.cluster.dataDir}`)));
        }
        expect(fs.readdirSync(other)).toEqual([]);
      } finally {
        await first.stop();
      }
      expect(fs.existsSync(path.join(db.out, '.pgscout.lock'))).toBe(false);
      const r = await runCli(['collect', '--pg', db.cluster.conninfo, '--out', other, '--duration', '1s']);
      expect(r.stderr).toMatch(/collecting from PostgreSQL/);
      expect(r.code).toBe(0);
    } finally {
      fs.rmSync(other, { recursive: true, force: true });
    }
  });
});
