/** A BPF ring buffer consumed without syscalls (mmap) from the drain loop. */
import koffi from 'koffi';
import { errno, fn, ringbufCallback } from './libbpf.js';
import { bpfError } from './errors.js';
import type { BpfMap } from './map.js';

export class RingBuffer {
  private handle: bigint | null;
  private readonly callback: bigint;
  /** One 8-aligned copy area reused for every record: decoders see the same ArrayBuffer (cached typed-array views), no allocation per record. */
  private scratch = Buffer.allocUnsafeSlow(4096);

  /**
   * `onSample` gets each record in a buffer that is valid only during the
   * call (decode it, do not keep it); it must not throw.
   */
  constructor(map: BpfMap, onSample: (data: Buffer) => void) {
    this.callback = koffi.register((_ctx: bigint, data: bigint, size: number) => {
      const n = Number(size);
      if (n > this.scratch.length) this.scratch = Buffer.allocUnsafeSlow(2 ** Math.ceil(Math.log2(n)));
      this.scratch.set(new Uint8Array(koffi.view(data, n)));
      onSample(this.scratch.subarray(0, n));
      return 0;
    }, koffi.pointer(ringbufCallback));
    const handle = fn.ring_buffer_new(map.fd, this.callback, null, null) as bigint | null;
    if (!handle) throw bpfError(`ring buffer on map ${map.name}`, errno(), 'BPF ring buffers');
    this.handle = handle;
  }

  /** Consumes everything available; returns the number of records. */
  consume(): number {
    if (this.handle === null) return 0;
    const n = fn.ring_buffer_consume(this.handle) as number;
    if (n < 0) throw bpfError('ring buffer consume', -n);
    return n;
  }

  close(): void {
    if (this.handle === null) return;
    fn.ring_buffer_free(this.handle);
    this.handle = null;
    koffi.unregister(this.callback);
  }
}
