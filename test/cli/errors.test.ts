/** Bad input gets one clear line on stderr and a non-zero exit. */
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';

function oneLine(stderr: string): string {
  const lines = stderr.trim().split('\n');
  expect(lines).toHaveLength(1);
  return lines[0]!;
}

describe('pgscout CLI bad input', () => {
  it('unknown command', async () => {
    const r = await runCli(['frobnicate']);
    expect(r.code).not.toBe(0);
    expect(oneLine(r.stderr)).toMatch(/unknown command 'frobnicate'/);
  });

  it('unknown flag', async () => {
    const r = await runCli(['collect', '--pg', 'x', '--out', '/tmp/x', '--bogus']);
    expect(r.code).not.toBe(0);
    expect(oneLine(r.stderr)).toMatch(/bogus/);
  });

  it('missing --pg', async () => {
    const r = await runCli(['collect', '--out', '/tmp/x'], { env: { PGSCOUT_PG: '' } });
    expect(r.code).not.toBe(0);
    expect(oneLine(r.stderr)).toMatch(/--pg <conninfo> is required/);
  });

  it('bad --interval', async () => {
    const r = await runCli(['collect', '--pg', 'host=/tmp', '--out', '/tmp/x', '--interval', 'soon']);
    expect(r.code).not.toBe(0);
    expect(oneLine(r.stderr)).toMatch(/--interval 'soon' is not a duration/);
  });

  it('bad --sync-interval', async () => {
    const r = await runCli(['collect', '--pg', 'host=/tmp', '--out', '/tmp/x', '--sync-interval', '2h']);
    expect(r.code).not.toBe(0);
    expect(oneLine(r.stderr)).toMatch(/--sync-interval must be at most 1h, got 7200000ms/);
  });

  it('a negative --duration', async () => {
    const r = await runCli(['collect', '--pg', 'host=/tmp', '--out', '/tmp/x', '--duration', '-5']);
    expect(r.code).not.toBe(0);
    expect(oneLine(r.stderr)).toMatch(/--duration needs a value/);
  });

  it('an --out that is a file, or on /proc: refused at start, before connecting', async () => {
    for (const out of ['/etc/hostname', '/proc/foo']) {
      const r = await runCli(['collect', '--pg', 'postgresql://postgres@127.0.0.1:1/postgres', '--out', out, '--duration', '1s']);
      expect(r.code).not.toBe(0);
      expect(oneLine(r.stderr)).toMatch(new RegExp(`--out ${out} (is not a directory|is on proc)`));
    }
  });

  it('malformed DSN', async () => {
    const r = await runCli(['collect', '--pg', "host='unterminated", '--out', '/tmp/x']);
    expect(r.code).not.toBe(0);
    expect(oneLine(r.stderr)).toMatch(/pgscout: /);
  });

  it('unreachable DSN (closed port on loopback)', async () => {
    const r = await runCli(['collect', '--pg', 'postgresql://postgres@127.0.0.1:1/postgres', '--out', '/tmp/x', '--duration', '1s']);
    expect(r.code).not.toBe(0);
    expect(oneLine(r.stderr)).toMatch(/cannot connect to PostgreSQL .* ECONNREFUSED/);
  });

  it('not root', async () => {
    const r = await runCli(['collect', '--pg', 'postgresql://postgres@127.0.0.1:1/postgres', '--out', '/tmp/pgscout-nobody'], { user: 'nobody' });
    expect(r.code).not.toBe(0);
    expect(oneLine(r.stderr)).toMatch(/needs root/);
  });

  it('missing BTF', async () => {
    const r = await runCli(['collect', '--pg', 'postgresql://postgres@127.0.0.1:1/postgres', '--out', '/tmp/x'],
      { env: { PGSCOUT_BTF_PATH: '/nonexistent/vmlinux' } });
    expect(r.code).not.toBe(0);
    expect(oneLine(r.stderr)).toMatch(/BTF/);
  });

  it('summary of a directory without a dataset', async () => {
    const r = await runCli(['summary', '/tmp']);
    expect(r.code).not.toBe(0);
    expect(oneLine(r.stderr)).toMatch(/holds no pgscout dataset/);
  });
});
