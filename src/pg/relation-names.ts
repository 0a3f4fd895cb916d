/** Relation/index oid → name, from pg_class of the DSN's database, cached. */
import { OwnConnection } from './own-backends.js';
import { logger } from '../util/log.js';

const log = logger('pg');

const LOOKUP = `SELECT c.oid::int8 AS oid,
    CASE WHEN n.nspname IN ('public', 'pg_catalog') THEN c.relname ELSE n.nspname || '.' || c.relname END AS name
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = ANY($1::oid[])`;

export class RelationNames {
  private readonly byOid = new Map<number, string | null>();
  private readonly conn: OwnConnection;

  constructor(conninfo: string) {
    this.conn = new OwnConnection(conninfo);
  }

  get(oid: number): string | null {
    return this.byOid.get(oid) ?? null;
  }

  /** One query for all unknown oids; a failure only costs the name columns. */
  async resolve(oids: Iterable<number>): Promise<void> {
    const unknown = [...new Set(oids)].filter((o) => o > 0 && !this.byOid.has(o));
    if (unknown.length === 0) return;
    try {
      const rows = await this.conn.query<{ oid: string; name: string }>(LOOKUP, [unknown]);
      for (const o of unknown) this.byOid.set(o, null);
      for (const row of rows) this.byOid.set(Number(row.oid), row.name);
    } catch (err) {
      log.debug(`pg_class lookup failed: ${(err as Error).message}`);
    }
  }

  close(): Promise<void> {
    return this.conn.close();
  }
}
