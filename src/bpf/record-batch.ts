/**
 * Fixed-size ring buffer records kept as bytes until the drain turns them
 * into rows: no object per record in between (a decoded record was ~1 KB of
 * heap, a row built from it another ~2 KB, both garbage within a second).
 */
const SHRINK_ABOVE = 1 << 20;

export class RecordBatch {
  private bytes: Buffer;
  private views!: { u64: BigUint64Array; i64: BigInt64Array; u32: Uint32Array };
  count = 0;

  /** `size`: bytes per record, a multiple of 8 (records stay 8-aligned). */
  constructor(readonly size: number, initialRecords = 256) {
    if (size <= 0 || size % 8 !== 0) throw new RangeError(`record size must be a positive multiple of 8, got ${size}`);
    this.bytes = Buffer.allocUnsafeSlow(size * initialRecords);
    this.makeViews();
  }

  private makeViews(): void {
    const ab = this.bytes.buffer as ArrayBuffer;
    const words = this.bytes.length / 8;
    this.views = {
      u64: new BigUint64Array(ab, this.bytes.byteOffset, words),
      i64: new BigInt64Array(ab, this.bytes.byteOffset, words),
      u32: new Uint32Array(ab, this.bytes.byteOffset, words * 2),
    };
  }

  /** Copies one record (valid only during the ring callback) in; a short record is zero-padded. */
  append(record: Uint8Array): void {
    if ((this.count + 1) * this.size > this.bytes.length) {
      const grown = Buffer.allocUnsafeSlow(this.bytes.length * 2);
      this.bytes.copy(grown, 0, 0, this.count * this.size);
      this.bytes = grown;
      this.makeViews();
    }
    const at = this.count * this.size;
    const n = Math.min(record.length, this.size);
    this.bytes.set(n === record.length ? record : record.subarray(0, n), at);
    if (n < this.size) this.bytes.fill(0, at + n, at + this.size);
    this.count++;
  }

  /** Unsigned 64-bit words of the records (record i starts at word i × size / 8). */
  get u64(): BigUint64Array {
    return this.views.u64;
  }

  /** The same words, signed: int64 columns without BigInt.asIntN. */
  get i64(): BigInt64Array {
    return this.views.i64;
  }

  get u32(): Uint32Array {
    return this.views.u32;
  }

  /** u32 field at byte `offset` of record `i`. */
  u32At(i: number, offset: number): number {
    return this.views.u32[(i * this.size + offset) >> 2]!;
  }

  /** Bytes held (at least the largest batch since the last shrink). */
  get capacityBytes(): number {
    return this.bytes.length;
  }

  /**
   * Forgets the records, keeping the memory for the next ones; memory beyond
   * 4× what this batch used (and over 1 MiB) goes back, so one burst under
   * `--statement-rows all` does not pin its megabytes for the daemon's life.
   */
  clear(): void {
    const used = this.count * this.size;
    if (this.bytes.length > SHRINK_ABOVE && used * 4 < this.bytes.length) {
      this.bytes = Buffer.allocUnsafeSlow(Math.max(SHRINK_ABOVE, used * 2 + this.size));
      this.makeViews();
    }
    this.count = 0;
  }
}
