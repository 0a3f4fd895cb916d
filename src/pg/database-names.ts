/** Database oid → name, from pg_database, refreshed when an unknown oid appears. */
import { OwnConnection } from './own-backends.js';
import { logger } from '../util/log.js';

const log = logger('pg');

export class DatabaseNames {
  private readonly byOid = new Map<number, string>();
  private readonly conn: OwnConnection;

  constructor(conninfo: string) {
    this.conn = new OwnConnection(conninfo);
  }

  get(oid: number): string | null {
    return this.byOid.get(oid) ?? null;
  }

  /** One query when any oid is unknown; a failure only costs the database column. */
  async resolve(oids: Iterable<number>): Promise<void> {
    if (![...oids].some((o) => o !== 0 && !this.byOid.has(o))) return;
    try {
      const rows = await this.conn.query<{ oid: number; datname: string }>('SELECT oid::int AS oid, datname FROM pg_database');
      for (const row of rows) this.byOid.set(row.oid, row.datname);
    } catch (err) {
      log.debug(`pg_database lookup failed: ${(err as Error).message}`);
    }
  }

  close(): Promise<void> {
    return this.conn.close();
  }
}
