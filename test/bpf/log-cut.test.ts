import { expect, it } from 'vitest';
import { headAndTail } from '../../src/bpf/libbpf.js';

it('keeps a short libbpf message whole', () => {
  expect(headAndTail('prog x: failed to load: -13')).toBe('prog x: failed to load: -13');
});

it('cuts a long verifier log to whole lines of its head and tail, where the verdict is', () => {
  const lines = Array.from({ length: 20000 }, (_, i) => `${i}: (bf) r1 = r${i % 10}`);
  lines.push('R2 min value is negative, either use unsigned or \'var &= const\'', 'processed 65314 insns');
  const cut = headAndTail(lines.join('\n'));
  expect(cut.length).toBeLessThan(40000);
  expect(cut.startsWith('0: (bf) r1 = r0\n')).toBe(true);
  expect(cut.endsWith("R2 min value is negative, either use unsigned or 'var &= const'\nprocessed 65314 insns")).toBe(true);
  const [head, tail] = cut.split(/\n… \(\d+ characters of the log left out\) …\n/);
  expect(head!.split('\n').every((l) => /^\d+: \(bf\) r1 = r\d$/.test(l))).toBe(true);
  expect(tail!.split('\n')[0]).toMatch(/^\d+: \(bf\) r1 = r\d$/);
  expect(Number(/\((\d+) characters/.exec(cut)![1]) + head!.length + tail!.length).toBe(lines.join('\n').length);
});
