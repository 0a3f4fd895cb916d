/** `pgscout workload analytical|oltp --pg DSN`: a load worth learning from, on a database of your choice. */
import { parseArgs } from 'node:util';
import { parseDuration } from '../config.js';
import { ConfigError } from '../util/errors.js';
import { runWorkload, type WorkloadKind } from '../workload/runner.js';

const OPTIONS = {
  pg: { type: 'string' },
  scale: { type: 'string' },
  duration: { type: 'string' },
  clients: { type: 'string' },
  seed: { type: 'string' },
} as const;

function positiveNumber(value: string | undefined, flag: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new ConfigError(`${flag} '${value}' must be a positive number`);
  return n;
}

export async function runWorkloadCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, options: OPTIONS, strict: true, allowPositionals: true });
  const kind = positionals[0];
  if (positionals.length !== 1 || (kind !== 'analytical' && kind !== 'oltp')) {
    throw new ConfigError('usage: pgscout workload analytical|oltp --pg <conninfo> [--scale 1] [--duration 60s] [--clients 2] [--seed 1]');
  }
  if (!values.pg) throw new ConfigError('--pg is required: the database to create the workload schema in and run it against');
  const clients = positiveNumber(values.clients, '--clients', 2);
  if (!Number.isInteger(clients) || clients > 64) throw new ConfigError(`--clients '${values.clients}' must be an integer from 1 to 64`);
  const stop = new Promise((resolve) => { process.once('SIGINT', resolve); process.once('SIGTERM', resolve); });
  const result = await runWorkload({
    kind: kind as WorkloadKind,
    conninfo: values.pg,
    scale: positiveNumber(values.scale, '--scale', 1),
    durationMs: values.duration ? parseDuration(values.duration, '--duration') : 60_000,
    clients,
    seed: positiveNumber(values.seed, '--seed', 1),
    stop,
  });
  const total = Object.values(result.executions).reduce((a, n) => a + n, 0);
  process.stdout.write(`workload ${kind}: ${total} executions in ${result.seconds.toFixed(1)} s (${result.errors} errors)` +
    `${result.created ? ', schema created' : ''}\n`);
  for (const [name, n] of Object.entries(result.executions).sort((a, b) => b[1] - a[1])) process.stdout.write(`  ${String(n).padStart(8)}  ${name}\n`);
  return result.errors > 0 && total === 0 ? 1 : 0;
}
