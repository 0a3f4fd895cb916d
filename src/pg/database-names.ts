/** Database oid → name, from pg_database, refreshed when an unknown oid appears. */
import pg from 'pg';
import { connectOwn } from './own-backends.js';
import { logger } from '../util/log.js';

const log = logger('pg');

export class DatabaseNames {
  private readonly byOid = new Map<number, string>();
  private client: pg.Client | null = null;

  constructor(private readonly conninfo: string) {}

  get(oid: number): string | null {
    return this.byOid.get(oid) ?? null;
  }

  /** One query when any oid is unknown; a failure only costs the database column. */
  async resolve(oids: Iterable<number>): Promise<void> {
    if (![...oids].some((o) => o !== 0 && !this.byOid.has(o))) return;
    try {
      if (!this.client) {
        this.client = await connectOwn(this.conninfo);
        this.client.on('error', () => { this.client = null; });
      }
      const res = await this.client.query<{ oid: number; datname: string }>('SELECT oid::int AS oid, datname FROM pg_database');
      for (const row of res.rows) this.byOid.set(row.oid, row.datname);
    } catch (err) {
      log.debug(`pg_database lookup failed: ${(err as Error).message}`);
      this.client = null;
    }
  }

  async close(): Promise<void> {
    const c = this.client;
    this.client = null;
    await c?.end().catch(() => undefined);
  }
}
