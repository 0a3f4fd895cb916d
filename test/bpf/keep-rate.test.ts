/**
 * The keep probability the programs set from the execution rate
 * (bpf/keep_rate.h), run in this kernel with BPF_PROG_RUN on a clock and
 * execution counts the test chooses (bpf/test_keep_rate.bpf.c).
 */
import { afterEach, beforeEach, expect, it } from 'vitest';
import { describeBpf } from '../helpers/bpf-env.js';
import { BpfObject } from '../../src/bpf/object.js';
import { fn } from '../../src/bpf/libbpf.js';
import { KEEP_ALL } from '../../src/collectors/statements/agg-maps.js';

const OBJECT = new URL('../../bpf/.output/test_keep_rate.bpf.o', import.meta.url).pathname;
const NO_BUDGET = 0xffffffffn;
const MS = 1_000_000n;
const ncpus = fn.num_possible_cpus() as number;

describeBpf('keep probability in the kernel (bpf/keep_rate.h)', () => {
  let obj: BpfObject;
  // Simulated time starts well away from 0 (0 means "never measured").
  let now = 1_000_000_000n;

  beforeEach(() => {
    obj = BpfObject.open(OBJECT);
    obj.setRodata({ keep_ncpus: ncpus });
    obj.load();
    now = 1_000_000_000n;
  });
  afterEach(() => obj.close());

  /** `perSecond` executions a second on `cpu` for `ms`, one step a millisecond; the last step's probability. */
  function run(budget: number | bigint, perSecond: number, ms: number, cpu = 0): number {
    let p = 0;
    for (let i = 0; i < ms; i++) {
      now += MS;
      p = obj.run('keep_rate_step', [now, BigInt(budget), BigInt(Math.round(perSecond / 1000))], cpu);
    }
    return p;
  }
  const expected = (budget: number, rate: number) => (budget / rate) * 2 ** 32;

  it('keeps everything for the first 20 ms, then budget / rate', () => {
    expect(run(500, 40_000, 1)).toBe(KEEP_ALL);
    expect(run(500, 40_000, 15)).toBe(KEEP_ALL);
    const p = run(500, 40_000, 500);
    expect(Math.abs(p - expected(500, 40_000)) / expected(500, 40_000)).toBeLessThan(0.01);
  });

  it('keeps everything without a budget, or while the rate is under it', () => {
    expect(run(NO_BUDGET, 1_000_000, 200)).toBe(KEEP_ALL);
    expect(run(5000, 4000, 200)).toBe(KEEP_ALL);
  });

  it('follows a burst at once and a lull with a 700 ms time constant', () => {
    run(500, 10_000, 500);
    // Burst: the first re-estimate (every 25 ms) whose window lies in the burst has its rate.
    const burst = run(500, 100_000, 51);
    expect(Math.abs(burst - expected(500, 100_000)) / expected(500, 100_000)).toBeLessThan(0.02);
    // Lull down to 10 000/s: 700 ms later the believed rate has come ~63 % of the way down…
    const after700 = run(500, 10_000, 700);
    const believed = (500 * 2 ** 32) / after700;
    expect(believed).toBeGreaterThan(10_000 + 0.25 * 90_000);
    expect(believed).toBeLessThan(10_000 + 0.5 * 90_000);
    // …and after 5 s it is the new rate.
    const settled = run(500, 10_000, 5000);
    expect(Math.abs(settled - expected(500, 10_000)) / expected(500, 10_000)).toBeLessThan(0.01);
  });

  it('after a long silence the first execution re-estimates from what happened meanwhile', () => {
    run(500, 40_000, 500);
    now += 60_000n * MS;   // a minute without statements
    const p = run(500, 1000, 1);
    expect(p).toBe(KEEP_ALL);
  });

  it('spreads one budget over the executions of every CPU', () => {
    if (ncpus < 2) return expect(ncpus).toBe(1);
    // CPU 1 counts 30 000/s while CPU 0 counts 10 000/s: CPU 0 keeps with budget / 40 000.
    for (let i = 0; i < 500; i++) {
      now += MS;
      obj.run('keep_rate_step', [now, 500n, 30n], 1);
      obj.run('keep_rate_step', [now, 500n, 10n], 0);
    }
    const p = obj.run('keep_rate_step', [now + MS, 500n, 0n], 0);
    expect(Math.abs(p - expected(500, 40_000)) / expected(500, 40_000)).toBeLessThan(0.03);
  });
});
