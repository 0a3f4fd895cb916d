/** An attachment of a BPF program; close() detaches it (idempotent). */
import { fn } from './libbpf.js';

export class Link {
  private handle: bigint | null;

  constructor(handle: bigint, readonly description: string) {
    this.handle = handle;
  }

  get attached(): boolean {
    return this.handle !== null;
  }

  close(): void {
    if (this.handle === null) return;
    fn.link_destroy(this.handle);
    this.handle = null;
  }
}
