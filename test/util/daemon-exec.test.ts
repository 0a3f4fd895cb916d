/**
 * `pgscout collect` replaces itself once (execve) with the daemon memory
 * settings: same pid, the flags on its command line, one malloc arena, and
 * its stdio, arguments and exit code intact. The heap trimmer really calls
 * malloc_trim off the event loop.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import { expect, it } from 'vitest';
import { DAEMON_NODE_FLAGS } from '../../src/util/daemon-exec.js';
import { startHeapTrimmer, tuneDaemonMemory } from '../../src/util/memory.js';
import { BIN, runCli } from '../helpers/cli.js';

async function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

it('collect runs as the same pid with the daemon flags and MALLOC_ARENA_MAX=1, talks on stderr, and a SIGTERM during --wait ends it cleanly', async () => {
  const out = fs.mkdtempSync('/tmp/pgscout-exec-');
  // --wait on a port nobody listens on: the collector stays up, waiting for PostgreSQL.
  const child = spawn(process.execPath, [BIN, 'collect', '--pg', `postgresql://postgres@127.0.0.1:${await closedPort()}/postgres`, '--out', out, '--wait'],
    { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
  let cmdline: string[] = [];
  for (let i = 0; i < 100; i++) {
    await new Promise((r) => setTimeout(r, 100));
    cmdline = fs.readFileSync(`/proc/${child.pid}/cmdline`, 'utf8').split('\0');
    if (cmdline.includes(DAEMON_NODE_FLAGS[0]!) && /wait/i.test(stderr)) break;
  }
  expect(cmdline.slice(1, 1 + DAEMON_NODE_FLAGS.length)).toEqual(DAEMON_NODE_FLAGS);
  expect(cmdline).toContain('--wait');
  const environ = fs.readFileSync(`/proc/${child.pid}/environ`, 'utf8').split('\0');
  expect(environ).toContain('MALLOC_ARENA_MAX=1');
  expect(stderr).toMatch(/wait/i);
  child.kill('SIGTERM');
  expect(await closed).toBe(0);
  expect(stderr).toMatch(/SIGTERM while waiting for PostgreSQL: stopped before collecting anything/);
  fs.rmSync(out, { recursive: true, force: true });
});

it('a bad flag still gets its one line and exit code through the re-exec', async () => {
  const r = await runCli(['collect', '--duration', 'soon']);
  expect(r.code).not.toBe(0);
  expect(r.stderr.trim().split('\n')).toEqual([expect.stringMatching(/--duration 'soon' is not a duration/)]);
});

it('the heap trimmer calls malloc_trim on a pool thread and counts it', async () => {
  tuneDaemonMemory();
  const trimmer = startHeapTrimmer(50);
  trimmer.trimNow();
  for (let i = 0; i < 100 && trimmer.trims < 2; i++) await new Promise((r) => setTimeout(r, 20));
  trimmer.stop();
  expect(trimmer.trims).toBeGreaterThanOrEqual(2);
});
