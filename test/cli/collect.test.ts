/** The CLI end to end: doctor, collect stopped by SIGTERM, summary. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, it } from 'vitest';
import { describeBpf } from '../helpers/bpf-env.js';
import { BIN, runCli, startCollect } from '../helpers/cli.js';
import { useCluster } from '../helpers/cluster-fixture.js';
import { listFiles, readTable } from '../helpers/dataset.js';

describeBpf('pgscout CLI against a real PostgreSQL', () => {
  const db = useCluster({ outPrefix: 'pgscout-cli-' });

  it('doctor passes every required check, including a real load + attach', async () => {
    const r = await runCli(['doctor', '--pg', db.cluster.conninfo]);
    expect(r.stdout).toMatch(/PASS\s+privileges/);
    expect(r.stdout).toMatch(/PASS\s+USDT probes/);
    expect(r.stdout).toMatch(/PASS\s+default source\s+no trap per statement by default, one with --exact: (\d+)\/\1 probes/);
    expect(r.stdout).toMatch(/PASS\s+load \+ attach\s+trap-based statement source \(--phases, all probes\): (\d+)\/\1 probes/);
    expect(r.stdout).toMatch(/(PASS|WARN)\s+perf counter cycles/);
    expect(r.stdout).toMatch(/PASS\s+operator probes\s+\d+ per-node executor functions discovered/);
    expect(r.stdout).toMatch(/PASS\s+operator level\s+plan-node reader at standard_ExecutorEnd: 1\/1 probes/);
    // The test cluster does not load auto_explain: said, with the flag that fixes it.
    expect(r.stdout).toMatch(/WARN\s+operator instrumentation\s+the server does not instrument statements \(0 of \d+ client backends load auto_explain\)/);
    expect(r.stdout).toContain('--setup-instrumentation');
    expect(r.code).toBe(0);
  });

  it('collect drains everything on SIGTERM and closes every file', async () => {
    const collect = await startCollect([BIN, 'collect', '--pg', db.cluster.conninfo, '--out', db.out, '--interval', '10s']);
    for (let i = 0; i < 12; i++) await db.cluster.psql(`SELECT ${i} + 1 AS sigterm_probe`);
    // The interval is 10 s: everything below reaches disk only through the shutdown drain.
    expect(await collect.stop('SIGTERM')).toBe(0);
    const stdout = collect.stdout();
    const stderr = collect.stderr();
    expect(stderr).toMatch(/SIGTERM: draining and closing files/);
    expect(stderr.split('\n').filter(Boolean)).toHaveLength(2);
    expect(stdout).toMatch(/collected \d+ statements/);
    const rows = await readTable(db.out, 'queries', "query_text = 'SELECT $1 + $2 AS sigterm_probe'");
    expect(rows).toHaveLength(12);
    expect(listFiles(db.out).filter((f) => f.includes('.tmp'))).toEqual([]);
  });

  it('collects with tracefs unmounted (a private mount namespace, as on a fresh machine)', async () => {
    const nsOut = fs.mkdtempSync(path.join(os.tmpdir(), 'pgscout-notracefs-'));
    // unshare -m makes mounts private: unmounting tracefs here leaves the host's as it is.
    const script = 'for d in /sys/kernel/debug/tracing /sys/kernel/tracing; do umount "$d" 2>/dev/null; done; '
      + 'if [ -e /sys/kernel/tracing/events ] || [ -e /sys/kernel/debug/tracing/events ]; then echo "tracefs still mounted" >&2; exit 99; fi; '
      + 'exec "$0" "$@"';
    const collect = await startCollect(['-m', '--propagation', 'private', 'sh', '-c', script, process.execPath, BIN, 'collect',
      '--pg', db.cluster.conninfo, '--out', nsOut, '--interval', '1s'], 'unshare');
    for (let i = 0; i < 5; i++) await db.cluster.psql(`SELECT ${i} + 1 AS no_tracefs_probe`);
    expect(await collect.stop('SIGTERM')).toBe(0);
    expect(collect.stderr()).not.toMatch(/ENOENT|lacks/);
    const rows = await readTable(nsOut, 'queries', "query_text = 'SELECT $1 + $2 AS no_tracefs_probe'");
    expect(rows).toHaveLength(5);
    // The sock tracepoints attach as tp_btf without tracefs: bytes are counted.
    expect(rows.every((r) => Number(r.net_send_bytes) > 0)).toBe(true);
    fs.rmSync(nsOut, { recursive: true, force: true });
  });

  it('summary reads the dataset back', async () => {
    const r = await runCli(['summary', db.out]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/statements \d+, distinct query_id \d+/);
    expect(r.stdout).toContain('SELECT $1 + $2 AS sigterm_probe');
  });
});
