/**
 * A dataset to train on: the analytical workload (scale 0.02) collected at
 * operator level, every statement instrumented and timed, every row kept.
 */
import { Collection } from '../../src/collect/collection.js';
import { collectConfig } from '../../src/config.js';
import { ensureSchema, runWorkload } from '../../src/workload/runner.js';

const SCALE = 0.02;

export async function collectAnalytical(conninfo: string, out: string, run: { durationMs: number; seed: number }): Promise<void> {
  await ensureSchema('analytical', conninfo, SCALE);
  const collection = await Collection.start(collectConfig({
    pg: conninfo, out, interval: '500ms', level: 'operator', 'setup-instrumentation': true, 'operator-timing': '1', 'operator-rows': 'all',
  }));
  await runWorkload({ kind: 'analytical', conninfo, scale: SCALE, durationMs: run.durationMs, clients: 2, seed: run.seed });
  await collection.stop();
}
