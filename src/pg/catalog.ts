/**
 * Catalog names the datasets carry: database oid → name (pg_database), role
 * oid → name (pg_roles) and relation/index oid → name (pg_class of the DSN's
 * database). One lazily
 * reconnecting connection, one query per batch with unknown oids; a failed
 * lookup only costs the name columns, never the collection.
 */
import { OwnConnection } from './own-backends.js';
import { logger } from '../util/log.js';

const log = logger('pg');

const RELATIONS = `SELECT c.oid::int8 AS oid,
    CASE WHEN n.nspname IN ('public', 'pg_catalog') THEN c.relname ELSE n.nspname || '.' || c.relname END AS name
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = ANY($1::oid[])`;

const DATABASES = 'SELECT oid::int8 AS oid, datname AS name FROM pg_database';
const ROLES = 'SELECT oid::int8 AS oid, rolname AS name FROM pg_roles';

/** oid → name for one catalog, filled by `lookup` when an unknown oid appears. */
class NameCache {
  private readonly byOid = new Map<number, string | null>();

  constructor(
    private readonly what: string,
    /** Returns names for (at least) the given oids. */
    private readonly lookup: (unknown: number[]) => Promise<{ oid: string; name: string }[]>,
  ) {}

  get(oid: number): string | null {
    return this.byOid.get(oid) ?? null;
  }

  async resolve(oids: Iterable<number>): Promise<void> {
    const unknown = [...new Set(oids)].filter((o) => o > 0 && !this.byOid.has(o));
    if (unknown.length === 0) return;
    try {
      const rows = await this.lookup(unknown);
      for (const o of unknown) this.byOid.set(o, null);
      for (const row of rows) this.byOid.set(Number(row.oid), row.name);
    } catch (err) {
      log.debug(`${this.what} lookup failed: ${(err as Error).message}`);
    }
  }
}

export class Catalog {
  private readonly conn: OwnConnection;
  readonly databases: NameCache;
  readonly users: NameCache;
  readonly relations: NameCache;

  constructor(conninfo: string) {
    this.conn = new OwnConnection(conninfo);
    this.databases = new NameCache('pg_database', () => this.conn.query(DATABASES));
    this.users = new NameCache('pg_roles', () => this.conn.query(ROLES));
    this.relations = new NameCache('pg_class', (oids) => this.conn.query(RELATIONS, [oids]));
  }

  close(): Promise<void> {
    return this.conn.close();
  }
}

export type { NameCache };
