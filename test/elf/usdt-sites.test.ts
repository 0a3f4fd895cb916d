/**
 * USDT sites restricted to one function, on the PostgreSQL 15 binary of this
 * machine: query__execute__start/done are compiled into PortalRun and into
 * PortalRunMulti (which PortalRun calls for DML), so an UPDATE hit both; the
 * statement collector attaches only PortalRun's.
 */
import { describe, expect, it } from 'vitest';
import { openElf } from '../../src/elf/elf.js';
import { usdtSites, usdtSitesWithin } from '../../src/elf/usdt-sites.js';
import { findBinDir } from '../../src/demo/cluster.js';

const elf = openElf(`${findBinDir()}/postgres`);

describe('usdtSitesWithin', () => {
  for (const name of ['query__execute__start', 'query__execute__done']) {
    it(`finds ${name} once inside PortalRun, of its sites`, () => {
      const all = usdtSites(elf, 'postgresql', name);
      const inside = usdtSitesWithin(elf, 'postgresql', name, 'PortalRun');
      const fn = elf.findSymbol('PortalRun')!;
      expect(all.length).toBeGreaterThan(1);
      expect(inside).toHaveLength(1);
      expect(all).toContainEqual(inside![0]);
      // The site is PortalRun's own nop, and the probe's semaphore is its reference counter.
      const note = elf.usdtNotes.find((n) => n.name === name && n.pcOffset === inside![0]!.offset)!;
      expect(note.pc).toBeGreaterThanOrEqual(fn.value);
      expect(note.pc).toBeLessThan(fn.value + fn.size);
      expect(elf.readAt(note.pc, 1)[0]).toBe(0x90);
      expect(inside![0]!.refCtrOffset).toBe(elf.vaddrToOffset(note.semaphore));
    });
  }

  it('is null when no site lies inside the function or the function is unknown', () => {
    expect(usdtSitesWithin(elf, 'postgresql', 'query__start', 'PortalRun')).toBeNull();
    expect(usdtSitesWithin(elf, 'postgresql', 'query__execute__start', 'no_such_function')).toBeNull();
  });
});
