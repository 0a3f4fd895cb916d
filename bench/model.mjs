#!/usr/bin/env node
/**
 * The model experiment of docs/model.md (issue 11): a throwaway cluster, the
 * analytical workload collected at operator level (every statement
 * instrumented and timed), then `pgscout train` for both targets.
 *
 *   node bench/model.mjs [--minutes 10] [--scale 0.3] [--clients 2] [--out /tmp/pgscout-model]
 *
 * Needs root and `npm run build`. Prints the training reports (JSON) and
 * leaves the dataset in --out for `pgscout train` / `predict` by hand.
 */
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { startCluster } from '../dist/demo/cluster.js';
import { runWorkload, ensureSchema } from '../dist/workload/runner.js';
import { flag, log, run } from './lib/harness.mjs';

const MINUTES = Number(flag('minutes', '10'));
const SCALE = Number(flag('scale', '0.3'));
const CLIENTS = Number(flag('clients', '2'));
const OUT = flag('out', '/tmp/pgscout-model');
const BIN = new URL('../bin/pgscout.js', import.meta.url).pathname;

run(async () => {
  fs.rmSync(OUT, { recursive: true, force: true });
  const cluster = await startCluster();
  try {
    log(`schema at scale ${SCALE}`);
    await ensureSchema('analytical', cluster.conninfo, SCALE);
    const collector = spawn(process.execPath, [BIN, 'collect', '--pg', cluster.conninfo, '--out', OUT, '--level', 'operator',
      '--setup-instrumentation', '--sample', '1', '--operator-timing', '1', '--operator-rows', 'all'], { stdio: ['ignore', 'inherit', 'inherit'] });
    await new Promise((r) => setTimeout(r, 4000));
    log(`analytical workload: ${MINUTES} min, ${CLIENTS} clients`);
    const result = await runWorkload({ kind: 'analytical', conninfo: cluster.conninfo, scale: SCALE, durationMs: MINUTES * 60_000, clients: CLIENTS, seed: 1 });
    log(`executions: ${JSON.stringify(result.executions)} errors ${result.errors}`);
    collector.kill('SIGTERM');
    await new Promise((r) => collector.once('exit', r));
  } finally {
    await cluster.stop();
  }
  for (const target of ['operator', 'statement']) {
    const out = execFileSync(process.execPath, [BIN, 'train', OUT, '--target', target, '--json'], { encoding: 'utf8', maxBuffer: 64 << 20 });
    process.stdout.write(`${target}: ${out}`);
  }
});
