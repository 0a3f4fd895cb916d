/** `pgscout collect`: run until --duration or a signal, then drain and close every file. */
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { DEFAULT_CONFIG_FILE, readConfigFile } from '../config-file.js';
import { startHeapTrimmer, tuneDaemonMemory } from '../util/memory.js';
import { collectConfig } from '../config.js';
import { Collection, type CollectionSummary } from '../collect/collection.js';
import { StatusLine } from './status-line.js';
import { StoppedBeforeStartError } from '../util/errors.js';

export const COLLECT_OPTIONS = {
  pg: { type: 'string' },
  out: { type: 'string' },
  interval: { type: 'string' },
  'sync-interval': { type: 'string' },
  duration: { type: 'string' },
  host: { type: 'string' },
  level: { type: 'string' },
  sample: { type: 'string' },
  'sample-rotate': { type: 'string' },
  prometheus: { type: 'string' },
  otlp: { type: 'string' },
  'otlp-interval': { type: 'string' },
  'top-queries': { type: 'string' },
  exact: { type: 'boolean' },
  'statement-rows': { type: 'string' },
  slow: { type: 'string' },
  phases: { type: 'boolean' },
  'cpu-clock': { type: 'boolean' },
  'net-recv': { type: 'boolean' },
  'operator-probes': { type: 'string' },
  'operator-timing': { type: 'string' },
  'operator-rows': { type: 'string' },
  'setup-instrumentation': { type: 'boolean' },
  'skip-warmup': { type: 'boolean' },
  wait: { type: 'boolean' },
  config: { type: 'string' },
} as const;

/** Resolves on the first SIGINT/SIGTERM or after `ms`; a second signal exits at once. */
export function untilSignalOr(ms: number | null): Promise<string> {
  return new Promise((resolve) => {
    // The drain timer is unref'd; this one keeps the process alive until the end.
    let timer: NodeJS.Timeout | undefined = setInterval(() => undefined, 1 << 30);
    const onSignal = (sig: NodeJS.Signals) => {
      clearTimeout(timer);
      process.once(sig, () => process.exit(130));
      resolve(sig);
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    if (ms !== null) clearInterval(timer);
    if (ms !== null) timer = setTimeout(() => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      resolve('duration');
    }, ms);
  });
}

export function printCollectSummary(s: CollectionSummary): void {
  const [first, ...rest] = s.lines;
  process.stdout.write(`${first ?? 'collected nothing'} in ${s.seconds.toFixed(1)} s from PostgreSQL ${s.target.version} ` +
    `(pid ${s.target.postmasterPid}); files: ${s.files.length}\n`);
  for (const line of rest) process.stdout.write(`${line}\n`);
}

function metricsNote(c: Collection): string {
  const parts: string[] = [];
  if (c.metrics?.prometheus) parts.push(`metrics at ${c.metrics.prometheus.url}`);
  if (c.config.otlp) parts.push(`OTLP push to ${c.config.otlp} every ${c.config.otlpIntervalMs / 1000} s`);
  return parts.length ? `; ${parts.join(', ')}` : '';
}

export async function runCollect(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: COLLECT_OPTIONS, strict: true, allowPositionals: false });
  tuneDaemonMemory();
  const { config: file, ...flags } = values;
  // Flags over PGSCOUT_* variables over the config file (--config, $PGSCOUT_CONFIG, or /etc/pgscout/pgscout.toml if present).
  const path = file ?? process.env.PGSCOUT_CONFIG ?? (existsSync(DEFAULT_CONFIG_FILE) ? DEFAULT_CONFIG_FILE : null);
  const fromFile = path ? readConfigFile(path, Object.keys(COLLECT_OPTIONS)) : {};
  const cfg = collectConfig(flags, { ...fromFile, ...process.env });
  let collection: Collection;
  try {
    collection = await Collection.start(cfg);
  } catch (err) {
    if (!(err instanceof StoppedBeforeStartError)) throw err;
    process.stderr.write(`pgscout: ${err.message}\n`);
    return 0;
  }
  const trimmer = startHeapTrimmer();
  trimmer.trimNow(); // loading the BPF objects parsed kernel BTF: tens of MB of malloc, freed now
  const attached = collection.collectors.flatMap((c) => c.stats().probes).filter((a) => a.attached).length;
  process.stderr.write(`pgscout: collecting from PostgreSQL ${collection.target.version} (postmaster ${collection.target.postmasterPid}), ` +
    `${attached} probes attached, into ${cfg.out}${metricsNote(collection)}\n`);
  const status = cfg.statusLine ? new StatusLine(collection) : null;
  status?.start();
  const reason = await untilSignalOr(cfg.durationMs);
  status?.stop();
  trimmer.stop();
  if (reason !== 'duration') process.stderr.write(`pgscout: ${reason}: draining and closing files\n`);
  printCollectSummary(await collection.stop());
  return 0;
}
