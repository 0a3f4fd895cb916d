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

  /**
   * Detaches on a worker thread: removing a uprobe waits for the kernel
   * (~0.1 s a link measured), which must not stall drains on the event loop.
   */
  closeAsync(): Promise<void> {
    const handle = this.handle;
    if (handle === null) return Promise.resolve();
    this.handle = null;
    return new Promise((resolve) => {
      fn.link_destroy.async(handle, () => resolve());
    });
  }
}

/** Detaches many links concurrently, off the event loop. */
export async function closeAll(links: Iterable<Link>): Promise<void> {
  await Promise.all([...links].map((l) => l.closeAsync()));
}
