/**
 * Runs a workload: creates and fills its schema when missing (or at another
 * scale), then N clients run it until the duration is over or the signal is
 * given. Counts executions per template and errors; loopback or local only,
 * like every pgscout load.
 */
import pg from 'pg';
import { toClientConfig } from '../pg/target.js';
import { logger } from '../util/log.js';
import { ANALYTICAL_MARKER, analyticalSchemaSql } from './analytical-schema.js';
import { ANALYTICAL_TEMPLATES } from './analytical-templates.js';
import { OLTP_MARKER, oltpSchemaSql, oltpStep } from './oltp.js';
import { Rng } from './rng.js';

const log = logger('workload');

export type WorkloadKind = 'analytical' | 'oltp';

export interface WorkloadOptions {
  kind: WorkloadKind;
  conninfo: string;
  scale: number;
  durationMs: number;
  clients: number;
  seed: number;
  /** Stops early when it resolves (a signal). */
  stop?: Promise<unknown>;
}

export interface WorkloadResult { executions: Record<string, number>; errors: number; seconds: number; created: boolean }

async function connect(conninfo: string): Promise<pg.Client> {
  const client = new pg.Client(toClientConfig(conninfo));
  client.on('error', () => undefined);
  await client.connect();
  return client;
}

/** Creates the schema unless one at this scale is there; true when it did. */
export async function ensureSchema(kind: WorkloadKind, conninfo: string, scale: number): Promise<boolean> {
  const client = await connect(conninfo);
  try {
    const marker = kind === 'analytical' ? ANALYTICAL_MARKER : OLTP_MARKER;
    const r = await client.query(`SELECT to_regclass($1) IS NOT NULL AS present`, [marker]);
    if (r.rows[0].present && (await client.query(`SELECT scale FROM ${marker}`)).rows[0]?.scale === scale) return false;
    log.info(`creating the ${kind} schema at scale ${scale} (generated on the server)`);
    for (const sql of kind === 'analytical' ? analyticalSchemaSql(scale) : oltpSchemaSql(scale)) await client.query(sql);
    return true;
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function oltpAccounts(conninfo: string): Promise<number> {
  const client = await connect(conninfo);
  try {
    return Number((await client.query(`SELECT accounts FROM ${OLTP_MARKER}`)).rows[0].accounts);
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function runClient(opts: WorkloadOptions, index: number, until: () => boolean, result: WorkloadResult, accounts: number): Promise<void> {
  const rng = new Rng(opts.seed * 7919 + index);
  const client = await connect(opts.conninfo);
  try {
    while (!until()) {
      if (opts.kind === 'analytical') {
        const t = rng.pick(ANALYTICAL_TEMPLATES);
        try {
          await client.query(t.sql, t.params(rng));
          result.executions[t.name] = (result.executions[t.name] ?? 0) + 1;
        } catch (err) {
          result.errors++;
          log.debug(`${t.name}: ${(err as Error).message}`);
        }
      } else {
        const step = oltpStep(rng, accounts);
        try {
          for (const s of step.statements) await client.query(s.sql, s.params);
          result.executions[step.name] = (result.executions[step.name] ?? 0) + 1;
        } catch (err) {
          result.errors++;
          await client.query('ROLLBACK').catch(() => undefined);
          log.debug(`${step.name}: ${(err as Error).message}`);
        }
      }
    }
  } finally {
    await client.end().catch(() => undefined);
  }
}

export async function runWorkload(opts: WorkloadOptions): Promise<WorkloadResult> {
  const created = await ensureSchema(opts.kind, opts.conninfo, opts.scale);
  const accounts = opts.kind === 'oltp' ? await oltpAccounts(opts.conninfo) : 0;
  const result: WorkloadResult = { executions: {}, errors: 0, seconds: 0, created };
  const started = performance.now();
  let stopped = false;
  opts.stop?.then(() => { stopped = true; }, () => undefined);
  const until = () => stopped || performance.now() - started >= opts.durationMs;
  await Promise.all(Array.from({ length: opts.clients }, (_, i) => runClient(opts, i, until, result, accounts)));
  result.seconds = (performance.now() - started) / 1000;
  return result;
}
