/** An attachment of a BPF program; close() detaches it (idempotent). */
import { fn } from './libbpf.js';

/** How a link is let go: libbpf's bpf_link, or a bare link fd (uprobe_multi). */
interface Release {
  now(handle: bigint): void;
  later(handle: bigint, done: () => void): void;
}

const libbpfLink: Release = {
  now: (h) => fn.link_destroy(h),
  later: (h, done) => fn.link_destroy.async(h, () => done()),
};

const linkFd: Release = {
  now: (h) => fn.close(Number(h)),
  later: (h, done) => fn.close.async(Number(h), () => done()),
};

export class Link {
  private handle: bigint | null;

  constructor(handle: bigint, readonly description: string, private readonly release: Release = libbpfLink) {
    this.handle = handle;
  }

  /** A link the kernel handed over as an fd (created with the raw bpf syscall). */
  static fromFd(fd: number, description: string): Link {
    return new Link(BigInt(fd), description, linkFd);
  }

  get attached(): boolean {
    return this.handle !== null;
  }

  close(): void {
    if (this.handle === null) return;
    this.release.now(this.handle);
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
      this.release.later(handle, resolve);
    });
  }
}

/** Detaches many links concurrently, off the event loop. */
export async function closeAll(links: Iterable<Link>): Promise<void> {
  await Promise.all([...links].map((l) => l.closeAsync()));
}
