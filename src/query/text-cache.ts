/** query_id → normalized text/fingerprint, filled from the BPF text events. */
import { normalizeStatement, type NormalizedQuery } from './normalize.js';

export class QueryTextCache {
  private readonly byId = new Map<bigint, NormalizedQuery | null>();

  constructor(private readonly maxEntries = 100_000) {}

  add(queryId: bigint, sourceText: string, stmtIndex: number): void {
    if (this.byId.has(queryId)) return;
    if (this.byId.size >= this.maxEntries) {
      const oldest = this.byId.keys().next().value;
      if (oldest !== undefined) this.byId.delete(oldest);
    }
    this.byId.set(queryId, normalizeStatement(sourceText, stmtIndex));
  }

  get(queryId: bigint): NormalizedQuery | null {
    return this.byId.get(queryId) ?? null;
  }

  get size(): number {
    return this.byId.size;
  }
}

/**
 * The process's cache: normalizing a text costs ~5 ms (libpg-query), and a
 * query_id names the same normalized statement wherever it is seen, so a
 * collection that starts again in this process (a re-attach, the bench's
 * rounds) does not normalize what is already known.
 */
export const sharedQueryTexts = new QueryTextCache();
