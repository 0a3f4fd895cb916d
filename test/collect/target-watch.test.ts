import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PostmasterWatch } from '../../src/collect/target-watch.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const openFds = () => readdirSync('/proc/self/fd').length;

describe('PostmasterWatch', () => {
  it('sees a process run, then not once it is killed, and keeps at most one file open', async () => {
    const watch = new PostmasterWatch();
    const fds = openFds();
    const child = spawn('sleep', ['30'], { stdio: 'ignore' });
    await once(child, 'spawn');
    for (let i = 0; i < 5; i++) expect(watch.alive(child.pid!)).toBe(true);
    expect(openFds()).toBe(fds + 1);
    child.kill('SIGKILL');
    await once(child, 'exit');
    expect(watch.alive(child.pid!)).toBe(false);
    expect(openFds()).toBe(fds);
    watch.close();
  });

  it('counts a zombie (exited, not reaped by its parent) as gone', async () => {
    // The exec'd sleep 3 never reaps its child `sleep 0`, which stays a zombie.
    const parent = spawn('sh', ['-c', 'sleep 0 & echo $!; exec sleep 3'], { stdio: ['ignore', 'pipe', 'ignore'] });
    const [line] = await once(parent.stdout!, 'data');
    const zombie = Number(String(line).trim());
    await sleep(300);
    const watch = new PostmasterWatch();
    expect(watch.alive(zombie)).toBe(false);
    expect(watch.alive(process.pid)).toBe(true);
    watch.close();
    parent.kill('SIGKILL');
  });

  it('says gone for a pid nobody has', () => {
    expect(new PostmasterWatch().alive(2 ** 22 + 12345)).toBe(false);
  });
});
