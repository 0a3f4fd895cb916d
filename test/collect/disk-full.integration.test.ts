/**
 * `pgscout collect` into a 1 MB tmpfs under pgbench load: the disk fills,
 * the collector keeps going, counts what it could not keep in the summary
 * and the metrics, and SIGTERM ends it promptly with the files written before.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, it } from 'vitest';
import { pgbench, pgbenchInit } from '../../src/demo/workload.js';
import { BIN, startCollect } from '../helpers/cli.js';
import { describeBpf } from '../helpers/bpf-env.js';
import { useCluster } from '../helpers/cluster-fixture.js';

describeBpf('collect onto a disk that fills up', () => {
  let mnt = '';
  const db = useCluster({
    outPrefix: 'pgscout-collect-full-',
    setup: async (cluster) => {
      await pgbenchInit(cluster, 1);
      mnt = fs.mkdtempSync(path.join(os.tmpdir(), 'pgscout-full-'));
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', mnt]);
    },
    teardown: () => {
      if (!mnt) return;
      execFileSync('umount', [mnt]);
      fs.rmSync(mnt, { recursive: true, force: true });
    },
  });

  it('counts the rows it could not keep, keeps the files written, and exits on SIGTERM within seconds', async () => {
    const run = await startCollect([BIN, 'collect', '--pg', db.cluster.conninfo, '--out', mnt, '--interval', '200ms', '--statement-rows', 'all',
]);
    await pgbench(db.cluster, ['-S', '-c', '2', '-j', '2', '-T', '6']);
    await new Promise((r) => setTimeout(r, 600));
    const t0 = performance.now();
    const code = await run.stop('SIGTERM');
    const exitMs = performance.now() - t0;
    expect(code).toBe(0);
    expect(run.stderr()).toMatch(/ENOSPC/);
    expect(run.stdout()).toMatch(/rows not written because the disk was full or refused writes: .*queries \d+/);
    const kept = /files: (\d+)/.exec(run.stdout());
    expect(Number(kept![1])).toBeGreaterThan(0);
    expect(exitMs).toBeLessThan(10_000);
    console.log(`exited ${exitMs.toFixed(0)} ms after SIGTERM`);
    expect(fs.readdirSync(mnt, { recursive: true }).filter((f) => String(f).endsWith('.tmp'))).toEqual([]);
  });
});
