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

/** A running `pgscout collect` (or any command that prints "probes attached" once ready). */
export interface RunningCollect {
  readonly stdout: () => string;
  readonly stderr: () => string;
  /** Sends the signal and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Spawns `cmd argv` and resolves once it says its probes are attached; rejects if it exits first. */
export async function startCollect(argv: string[], cmd: string = process.execPath): Promise<RunningCollect> {
  const child = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => { stdout += d; });
  child.stderr.on('data', (d) => { stderr += d; });
  const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
  await new Promise<void>((resolve, reject) => {
    const poll = setInterval(() => {
      if (/probes attached/.test(stderr)) { clearInterval(poll); resolve(); }
      if (child.exitCode !== null) { clearInterval(poll); reject(new Error(`collect exited: ${stderr}`)); }
    }, 50);
  });
  return {
    stdout: () => stdout,
    stderr: () => stderr,
    stop: (signal = 'SIGTERM') => { child.kill(signal); return closed; },
  };
}
