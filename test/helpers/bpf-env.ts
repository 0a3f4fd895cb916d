/**
 * BPF tests run whenever this machine can run them. When it cannot, the
 * reason is printed and the tests are skipped — but only if the kernel
 * really lacks the feature: as root with BTF present, a skip is a failure.
 */
import fs from 'node:fs';
import { describe } from 'vitest';

export function bpfUnavailableReason(): string | null {
  if (process.getuid?.() !== 0) return `not root (uid ${process.getuid?.()}): BPF tests need root`;
  if (!fs.existsSync('/sys/kernel/btf/vmlinux')) return 'kernel has no BTF (/sys/kernel/btf/vmlinux)';
  if (!fs.existsSync(new URL('../../bpf/.output/statements.bpf.o', import.meta.url))) {
    // Root + BTF means we can build: a missing object is a failure, not a skip.
    throw new Error('bpf/.output/statements.bpf.o is missing although this machine supports BPF: run `npm run build:bpf`');
  }
  return null;
}

/** describe() that runs on BPF-capable machines and says why it does not elsewhere. */
export function describeBpf(name: string, fn: () => void): void {
  const reason = bpfUnavailableReason();
  if (reason) {
    console.warn(`SKIP ${name}: ${reason}`);
    describe.skip(name, fn);
  } else {
    describe(name, fn);
  }
}
