/** Runs the built CLI (bin/pgscout.js) as a child process. */
import { spawn } from 'node:child_process';

export interface CliResult { code: number | null; stdout: string; stderr: string }

export const BIN = new URL('../../bin/pgscout.js', import.meta.url).pathname;

export function runCli(args: string[], opts: { user?: string; env?: NodeJS.ProcessEnv; killAfterMs?: number; signal?: NodeJS.Signals } = {}): Promise<CliResult> {
  const [cmd, argv] = opts.user
    ? ['runuser', ['-u', opts.user, '--', process.execPath, BIN, ...args]]
    : [process.execPath, [BIN, ...args]];
  return new Promise((resolve) => {
    const child = spawn(cmd as string, argv as string[], { env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    if (opts.killAfterMs) setTimeout(() => child.kill(opts.signal ?? 'SIGTERM'), opts.killAfterMs);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
