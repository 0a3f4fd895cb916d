/** Relation/index oid → name, from pg_class of the DSN's database, cached. */
import pg from 'pg';
import { connectOwn } from './own-backends.js';
import { logger } from '../util/log.js';

const log = logger('pg');

export class RelationNames {
  private readonly byOid = new Map<number, string | null>();
  private client: pg.Client | null = null;

  constructor(private readonly conninfo: string) {}

  get(oid: number): string | null {
    return this.byOid.get(oid) ?? null;
  }

  /** One query for all unknown oids; a failure only costs the name columns. */
  async resolve(oids: Iterable<number>): Promise<void> {
    const unknown = [...new Set(oids)].filter((o) => o > 0 && !this.byOid.has(o));
    if (unknown.length === 0) return;
    try {
      if (!this.client) {
        this.client = await connectOwn(this.conninfo);
        this.client.on('error', () => { this.client = null; });
      }
      const res = await this.client.query<{ oid: number; name: string }>(
        "SELECT c.oid::int8 AS oid, CASE WHEN n.nspname IN ('public', 'pg_catalog') THEN c.relname ELSE n.nspname || '.' || c.relname END AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = ANY($1::oid[])",
        [unknown]);
      for (const o of unknown) this.byOid.set(o, null);
      for (const row of res.rows) this.byOid.set(Number(row.oid), row.name);
    } catch (err) {
      log.debug(`pg_class lookup failed: ${(err as Error).message}`);
      this.client = null;
    }
  }

  async close(): Promise<void> {
    const c = this.client;
    this.client = null;
    await c?.end().catch(() => undefined);
  }
}
