/**
 * pgscout as an unprivileged user with only the capabilities the systemd unit
 * grants (packaging/pgscout.service): it collects, and its files are 0640.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, it } from 'vitest';
import { queryParquet, tableSource } from '../../src/dataset/read-back.js';
import { pgbench, pgbenchInit } from '../../src/demo/workload.js';
import { BIN } from '../helpers/cli.js';
import { describeBpf } from '../helpers/bpf-env.js';
import { useCluster } from '../helpers/cluster-fixture.js';

const NOBODY = 65534;
export const UNIT_CAPS = ['bpf', 'perfmon', 'sys_ptrace', 'dac_read_search'];

function runAs(caps: string[], args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const set = caps.map((c) => `+${c}`).join(',');
  const argv = [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', ...(caps.length ? [`--inh-caps=${set}`, `--ambient-caps=${set}`] : []),
    process.execPath, BIN, ...args];
  return new Promise((resolve) => {
    const child = spawn('setpriv', argv, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describeBpf('pgscout as an unprivileged user', () => {
  const db = useCluster({ outPrefix: 'pgscout-caps-', setup: (cluster) => pgbenchInit(cluster, 1) });

  it(`collects with only ${UNIT_CAPS.join(', ')}, writing 0640 files`, async () => {
    const out = path.join(db.out, 'dataset');
    const locks = fs.mkdtempSync(path.join(os.tmpdir(), 'pgscout-locks-'));
    fs.mkdirSync(out);
    for (const d of [db.out, out, locks]) fs.chownSync(d, NOBODY, NOBODY);
    try {
      const running = runAs(UNIT_CAPS, ['collect', '--pg', db.cluster.conninfo, '--out', out, '--duration', '5s', '--interval', '300ms',
        '--statement-rows', 'all'], { PGSCOUT_LOCK_DIR: locks });
      await new Promise((r) => setTimeout(r, 2500));
      await pgbench(db.cluster, ['-S', '-c', '1', '-t', '200']);
      const r = await running;
      expect(r.stderr).not.toMatch(/error/i);
      expect(r.code).toBe(0);
      const [n] = await queryParquet(`SELECT sum(calls)::BIGINT AS calls FROM ${tableSource(out, 'query_stats')} WHERE query_text LIKE 'SELECT abalance%'`);
      expect(Number(n!.calls)).toBe(200);
      const files = (fs.readdirSync(out, { recursive: true }) as string[]).filter((f) => f.endsWith('.parquet')).map((f) => fs.statSync(path.join(out, f)));
      expect(files.length).toBeGreaterThan(0);
      for (const st of files) expect([st.uid, st.mode & 0o777]).toEqual([NOBODY, 0o640]);
    } finally {
      fs.rmSync(locks, { recursive: true, force: true });
    }
  });

  it('needs each of them: without one, one line and exit ≠ 0', async () => {
    const problems: string[] = [];
    for (const missing of UNIT_CAPS) {
      const out = path.join(db.out, `no-${missing}`);
      fs.mkdirSync(out);
      fs.chownSync(out, NOBODY, NOBODY);
      const r = await runAs(UNIT_CAPS.filter((c) => c !== missing), ['collect', '--pg', db.cluster.conninfo, '--out', out, '--duration', '1s'],
        { PGSCOUT_LOCK_DIR: out });
      console.log(`without ${missing}: exit ${r.code}: ${r.stderr.trim()}`);
      if (r.code === 0 || r.stderr.trim().split('\n').length !== 1) problems.push(`without ${missing}: exit ${r.code}, ${r.stderr.trim()}`);
    }
    expect(problems).toEqual([]);
  });

  it('without capabilities: one line naming what to grant', async () => {
    const r = await runAs([], ['collect', '--pg', db.cluster.conninfo, '--out', path.join(db.out, 'none')], {});
    expect(r.code).not.toBe(0);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/CAP_BPF/);
  });
});
