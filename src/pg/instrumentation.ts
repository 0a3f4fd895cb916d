/**
 * --setup-instrumentation: switches PostgreSQL's per-node instrumentation on
 * the supported way — auto_explain loaded by new sessions, instrumenting and
 * never logging — and puts everything back at exit.
 *
 * Only postgresql.auto.conf is touched (ALTER SYSTEM), and what it held
 * before is saved in a state file per cluster (PGSCOUT_STATE_DIR, default
 * /var/lib/pgscout) before anything changes, so a pgscout that died before
 * restoring is noticed (and undone) by the next setup — or by hand: the file
 * names each setting and its previous value (null: not in auto.conf).
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type pg from 'pg';
import { ConfigError } from '../util/errors.js';
import { logger } from '../util/log.js';
import { connectOwn } from './own-backends.js';
import { TimingSlices } from './timing-slices.js';

const log = logger('instrumentation');

/** Where the settings a setup replaced wait for their restore: one file per cluster (data directory + port). */
export function stateFile(dataDir: string, port: number, dir = process.env.PGSCOUT_STATE_DIR || '/var/lib/pgscout'): string {
  const id = createHash('sha256').update(`${dataDir}:${port}`).digest('hex').slice(0, 16);
  return path.join(dir, 'instrumentation', `${port}-${id}.json`);
}

export interface InstrumentationOptions {
  /** auto_explain.log_timing at start (TimingSlices switches it afterwards when the fraction is below 1). */
  timing: boolean;
  /** auto_explain.sample_rate: the fraction of statements instrumented. */
  sampleRate: number;
}

/** What pgscout sets (session_preload_libraries gets auto_explain added to what it holds). */
export function wantedSettings(currentPreload: string, { timing, sampleRate }: InstrumentationOptions): Record<string, string> {
  const libs = currentPreload.split(',').map((s) => s.trim()).filter(Boolean);
  const preload = libs.some((l) => l.replace(/^"|"$/g, '') === 'auto_explain') ? libs : [...libs, 'auto_explain'];
  return {
    session_preload_libraries: preload.join(', '),
    'auto_explain.log_analyze': 'on',
    'auto_explain.log_buffers': 'on',
    'auto_explain.log_timing': timing ? 'on' : 'off',
    'auto_explain.log_wal': 'on',
    'auto_explain.sample_rate': String(sampleRate),
    'auto_explain.log_nested_statements': 'off',
    // ms: never reached, so nothing is ever logged (instrumenting is what we want)
    'auto_explain.log_min_duration': '2147483647',
  };
}

/** The postgresql.auto.conf entries (name → value) the server read last. */
async function autoConf(client: pg.Client): Promise<Map<string, string>> {
  const r = await client.query<{ name: string; setting: string }>(
    "SELECT name, setting FROM pg_file_settings WHERE sourcefile LIKE '%postgresql.auto.conf' AND error IS NULL ORDER BY seqno");
  return new Map(r.rows.map((x) => [x.name, x.setting]));
}

const ident = (name: string) => name.split('.').map((p) => `"${p.replace(/"/g, '""')}"`).join('.');
const literal = (v: string) => `'${v.replace(/'/g, "''")}'`;

export async function apply(client: pg.Client, values: Record<string, string | null>): Promise<void> {
  for (const [name, value] of Object.entries(values)) {
    await client.query(value === null ? `ALTER SYSTEM RESET ${ident(name)}` : `ALTER SYSTEM SET ${ident(name)} = ${literal(value)}`);
  }
  await client.query('SELECT pg_reload_conf()');
}

/** Puts back what a setup saved (now, or by an earlier pgscout that did not get to), then drops the file. */
async function restoreSaved(client: pg.Client, file: string): Promise<string[]> {
  await client.query("LOAD 'auto_explain'");
  const previous = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, string | null>;
  await apply(client, previous);
  fs.rmSync(file, { force: true });
  return Object.entries(previous).map(([k, v]) => `${k} ${v === null ? 'reset' : `= ${v}`}`);
}

/** The cluster's data directory and port, as the server reports them. */
async function clusterId(client: pg.Client): Promise<{ dataDir: string; port: number }> {
  const r = await client.query<{ d: string; p: string }>("SELECT current_setting('data_directory') AS d, current_setting('port') AS p");
  return { dataDir: r.rows[0]!.d, port: Number(r.rows[0]!.p) };
}

export interface Instrumentation {
  /** What was changed, one entry per setting. */
  readonly changed: string[];
  /** Node timing in slices (absent for the bare settings). */
  readonly timing?: TimingSlices;
  /** Puts postgresql.auto.conf back as it was; safe to call twice. */
  restore(): Promise<void>;
}

/**
 * Sets up, and with 0 < `timingFraction` < 1 switches node timing in slices
 * until restore(). Timing starts on, so the first rows are timed.
 */
export async function setupInstrumentation(conninfo: string, sampleRate: number, timingFraction: number): Promise<Instrumentation> {
  const slices = new TimingSlices(conninfo, timingFraction, timingFraction > 0);
  const inst = await setupSettings(conninfo, { sampleRate, timing: timingFraction > 0 });
  slices.start();
  return {
    changed: inst.changed,
    timing: slices,
    async restore() {
      await slices.stop();
      await inst.restore();
    },
  };
}

async function setupSettings(conninfo: string, opts: InstrumentationOptions): Promise<Instrumentation> {
  const client = await connectOwn(conninfo);
  try {
    const su = await client.query<{ s: string }>("SELECT current_setting('is_superuser') AS s");
    if (su.rows[0]?.s !== 'on') {
      throw new ConfigError('--setup-instrumentation needs a superuser connection (ALTER SYSTEM); or load auto_explain yourself (docs/dataset.md, plan nodes)');
    }
    const { dataDir, port } = await clusterId(client);
    const file = stateFile(dataDir, port);
    if (fs.existsSync(file)) {
      const undone = await restoreSaved(client, file);
      log.warn(`an earlier pgscout left its instrumentation settings; restored: ${undone.join(', ')}`);
    }
    // auto_explain's settings exist for ALTER SYSTEM only once the library is loaded here.
    await client.query("LOAD 'auto_explain'");
    const conf = await autoConf(client);
    const preload = (await client.query<{ v: string }>("SELECT current_setting('session_preload_libraries') AS v")).rows[0]!.v;
    const wanted = wantedSettings(preload, opts);
    const previous = Object.fromEntries(Object.keys(wanted).map((k) => [k, conf.get(k) ?? null]));
    try {
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, `${JSON.stringify(previous, null, 2)}\n`);
    } catch (err) {
      throw new ConfigError(`--setup-instrumentation cannot save the settings it replaces in ${file} (${(err as Error).message}); set PGSCOUT_STATE_DIR to a writable directory`);
    }
    await apply(client, wanted);
    const changed = Object.entries(wanted).map(([k, v]) => `${k} = ${v}`);
    log.info(`instrumentation on for new sessions (ALTER SYSTEM, undone at exit; saved in ${file}): ${changed.join(', ')}`);
    let restored = false;
    return {
      changed,
      async restore() {
        if (restored) return;
        restored = true;
        if (!fs.existsSync(file)) return;
        const c = await connectOwn(conninfo);
        try {
          await c.query("LOAD 'auto_explain'");
          log.info(`instrumentation settings restored: ${(await restoreSaved(c, file)).join(', ')}`);
        } finally {
          await c.end();
        }
      },
    };
  } finally {
    await client.end();
  }
}

/**
 * Without --setup-instrumentation: the server must instrument on its own
 * (auto_explain loaded for sessions with log_analyze on), or --level operator
 * would collect nothing. Returns the server's auto_explain sample_rate.
 */
export async function requireServerInstrumentation(conninfo: string): Promise<number> {
  const client = await connectOwn(conninfo);
  try {
    // pgscout's own session gets session_preload_libraries / shared_preload_libraries as every other does.
    const r = await client.query<{ analyze: string | null; rate: string | null }>(
      "SELECT current_setting('auto_explain.log_analyze', true) AS analyze, current_setting('auto_explain.sample_rate', true) AS rate");
    if (r.rows[0]?.analyze !== 'on') {
      throw new ConfigError('--level operator reads PostgreSQL\'s own per-node instrumentation, and this server does not instrument: ' +
        'add --setup-instrumentation (auto_explain for new sessions via ALTER SYSTEM, undone at exit), or load auto_explain ' +
        'with auto_explain.log_analyze = on yourself (docs/dataset.md)');
    }
    return Number(r.rows[0]?.rate ?? '1');
  } finally {
    await client.end();
  }
}
