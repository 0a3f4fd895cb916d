/**
 * Which perf counters this kernel opens: the mask the statement programs get
 * in their rodata (bpf/threads.h ctr_mask) must name exactly the counters
 * that were opened, so a program never calls the helper for an absent one
 * and never skips a present one.
 */
import { afterEach, expect, it } from 'vitest';
import { describeBpf } from '../helpers/bpf-env.js';
import { COUNTERS, PerfCounters } from '../../src/bpf/perf.js';

describeBpf('perf counters (src/bpf/perf.ts)', () => {
  const opened: PerfCounters[] = [];
  afterEach(() => opened.splice(0).forEach((c) => c.close()));

  it('sets mask bit i exactly for the counters it opened', () => {
    const counters = new PerfCounters(true);
    opened.push(counters);
    const mask = counters.open();
    expect(counters.status.map((s) => s.name)).toEqual(COUNTERS.map((c) => c.name));
    COUNTERS.forEach((c, i) => {
      const status = counters.status.find((s) => s.name === c.name)!;
      expect(Boolean(mask & (1 << i)), c.name).toBe(status.available);
      if (!status.available) expect(status.reason).toMatch(/perf_event_open/);
    });
    // The software clock exists on every kernel with perf events (this VM has no PMU for the others).
    expect(mask & 1).toBe(1);
    expect(counters.open()).toBe(mask);   // a second open() keeps the first set
  });

  it('leaves the software clock out unless asked for (on_cpu_ns is the same time)', () => {
    const counters = new PerfCounters(false);
    opened.push(counters);
    const mask = counters.open();
    expect(mask & 1).toBe(0);
    expect(counters.status[0]).toMatchObject({ name: 'cpu_clock_ns', available: false, reason: expect.stringMatching(/--cpu-clock/) });
    // The hardware counters are still opened when the kernel has them.
    const withClock = new PerfCounters(true);
    opened.push(withClock);
    expect(withClock.open() & ~1).toBe(mask);
  });
});
