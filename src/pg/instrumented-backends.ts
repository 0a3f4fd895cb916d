/**
 * Client backends of a postmaster that load auto_explain, seen from /proc:
 * session_preload_libraries only reaches sessions started after it was set,
 * so "instrumentation is on" says nothing about the backends already
 * connected. A mapped auto_explain.so is the fact that counts.
 */
import { readFileSync } from 'node:fs';
import { listBackendPids } from './target.js';

export interface InstrumentedBackends {
  /** Client backends (and parallel workers) with auto_explain.so mapped. */
  instrumented: number;
  /** Client backends (and parallel workers) of the postmaster. */
  clients: number;
}

/** Process titles of the postmaster's auxiliary processes (not sessions). */
const AUXILIARY = /^postgres: (checkpointer|background writer|walwriter|autovacuum|logical replication|stats collector|archiver|walreceiver|startup|logger|io worker|walsummarizer)/;

function isClient(pid: number): boolean {
  try {
    const title = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0+$/, '').replace(/\0/g, ' ');
    return title.startsWith('postgres: ') && !AUXILIARY.test(title);
  } catch {
    return false;
  }
}

function mapsAutoExplain(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/maps`, 'utf8').includes('/auto_explain.so');
  } catch {
    return false;
  }
}

/** Counts now (one /proc scan; a few ms with hundreds of backends). */
export function countInstrumentedBackends(postmasterPid: number): InstrumentedBackends {
  let instrumented = 0;
  let clients = 0;
  for (const pid of listBackendPids(postmasterPid)) {
    if (!isClient(pid)) continue;
    clients++;
    if (mapsAutoExplain(pid)) instrumented++;
  }
  return { instrumented, clients };
}

/** The same, reused for `maxAgeMs` (drains, scrapes and the summary share one scan). */
export class InstrumentedBackendCount {
  private at = -Infinity;
  private value: InstrumentedBackends = { instrumented: 0, clients: 0 };
  /** The most instrumented client backends seen at once (the summary's figure: at exit the clients are often gone). */
  peak: InstrumentedBackends = { instrumented: 0, clients: 0 };

  constructor(private readonly postmasterPid: number, private readonly maxAgeMs = 5000) {}

  get(): InstrumentedBackends {
    const now = performance.now();
    if (now - this.at > this.maxAgeMs) {
      try {
        this.value = countInstrumentedBackends(this.postmasterPid);
        if (this.value.instrumented > this.peak.instrumented || (this.value.instrumented === this.peak.instrumented && this.value.clients > this.peak.clients)) {
          this.peak = this.value;
        }
      } catch {
        // /proc unreadable for a moment: keep the last count
      }
      this.at = now;
    }
    return this.value;
  }
}
