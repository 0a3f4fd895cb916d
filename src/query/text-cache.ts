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
