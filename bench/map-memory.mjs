#!/usr/bin/env node
/**
 * Kernel memory of pgscout's BPF maps per mode: one throwaway cluster, the collector started
 * in this process with each flag set in turn, and every BPF map this process holds read from
 * the kernel's own view (/proc/self/fdinfo: max_entries, memlock). Preallocated maps are the
 * bulk: they cost their full size whether used or not, for as long as pgscout runs.
 *
 *   node bench/map-memory.mjs [--max-connections 100]
 *
 * Needs root and `npm run build`.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startCluster } from '../dist/demo/cluster.js';
import { Collection } from '../dist/collect/collection.js';
import { collectConfig } from '../dist/config.js';
import { flag, log, run } from './lib/harness.mjs';

const MODES = [
  ['default', {}],
  ['--exact', { exact: true }],
  ['--level operator --operator-probes 1', { level: 'operator', 'operator-probes': '1' }],
];

/** Every BPF map fd of this process: id, name-less kernel fields (max_entries, memlock). */
function heldMaps() {
  const maps = new Map();
  for (const fd of readdirSync('/proc/self/fd')) {
    let target;
    try { target = readlinkSync(`/proc/self/fd/${fd}`); } catch { continue; }
    if (target !== 'anon_inode:bpf-map') continue;
    const info = Object.fromEntries(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8').split('\n')
      .map((l) => /^(\w+):\s+(\d+)$/.exec(l)).filter(Boolean).map((m) => [m[1], Number(m[2])]));
    maps.set(info.map_id, info);   // one map may be held by several fds
  }
  return [...maps.values()];
}

/** The map's name, from bpftool (fdinfo has none). */
function mapName(id) {
  try {
    return JSON.parse(execFileSync('bpftool', ['map', 'show', 'id', String(id), '-j']).toString()).name;
  } catch {
    return `map ${id}`;
  }
}

run(async () => {
  const cluster = await startCluster({ preload: [], settings: { max_connections: flag('max-connections', '100') } });
  try {
    for (const [label, flags] of MODES) {
      const out = mkdtempSync(path.join(os.tmpdir(), 'pgscout-mapmem-'));
      const collection = await Collection.start(collectConfig({ pg: cluster.conninfo, out, interval: '1s', ...flags }));
      const maps = heldMaps();
      const total = maps.reduce((a, m) => a + m.memlock, 0);
      const big = maps.filter((m) => m.memlock >= 1 << 20).sort((a, b) => b.memlock - a.memlock)
        .map((m) => `${mapName(m.map_id)} ${(m.memlock / 2 ** 20).toFixed(1)} MB (${m.max_entries} entries)`);
      log(`${label}: ${maps.length} maps, ${(total / 2 ** 20).toFixed(1)} MB of kernel memory; ≥ 1 MB: ${big.join(', ')}`);
      await collection.stop();
      rmSync(out, { recursive: true, force: true });
    }
  } finally {
    await cluster.stop();
  }
});
