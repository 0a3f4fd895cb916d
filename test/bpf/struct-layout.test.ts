/** The compiled decoders read exactly what the generic one reads. */
import crypto from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { compileDecoder, decodeStruct } from '../../src/bpf/struct-layout.js';
import { stmtRecordLayout } from '../../src/collectors/statements/abi.js';
import { nodeRecordLayout } from '../../src/collectors/operators/abi.js';

describe('compileDecoder', () => {
  for (const layout of [stmtRecordLayout, nodeRecordLayout]) {
    it(`${layout.name}: equals decodeStruct on random records, aligned or not`, () => {
      const n = 50;
      const aligned = Buffer.alloc(n * layout.size + 16);
      crypto.randomFillSync(aligned);
      const unaligned = aligned.subarray(4);
      const decode = compileDecoder(layout);
      for (const buf of [aligned, unaligned]) {
        for (let i = 0; i < n - 1; i++) {
          expect(decode(buf, i * layout.size)).toEqual(decodeStruct(layout, buf, i * layout.size));
        }
      }
    });
  }
});
