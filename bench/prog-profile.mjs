#!/usr/bin/env node
/**
 * Where a statement's BPF time goes inside the programs: `perf record -a` (cpu-clock: this VM has
 * no PMU) over a pgbench run while the collector is attached, each sample in a program's JIT image
 * put in the stretch of code that follows one helper call (named after that helper; "entry" before
 * the first), plus the samples in the kernel functions the helpers run. bpf_stats (prog-cost.mjs)
 * says how much a program costs; this says which of its calls it goes to.
 *
 *   node bench/prog-profile.mjs [--seconds 10] [--warm 5] [--workload select|tpcb] [--exact] [--hz 4000]
 *
 * Limits: a cpu-clock sample cannot land where interrupts are off, so sched_switch (called with
 * the run-queue lock held) is invisible here — prog-cost.mjs gives its total. A sample just after
 * a call is usually the call's return (the return thunk of this kernel's mitigations).
 * Needs root, perf, objdump and `npm run build`.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { startCluster } from '../dist/demo/cluster.js';
import { pgbench } from '../dist/demo/workload.js';
import { flag, fmt, log, pgbenchData, programImages, run, startCollecting } from './lib/harness.mjs';

const SECONDS = Number(flag('seconds', '10'));
const WARM = Number(flag('warm', '5'));
const HZ = Number(flag('hz', '4000'));
const WL = flag('workload', 'select') === 'tpcb' ? [] : ['-S'];
const EXACT = process.argv.includes('--exact');
// Kernel functions a program's helpers spend their time in (and the thunks its calls return through).
const HELPER_SYMS = /^(bpf_(?!lsm_)|copy_from_user|read_tsc|ktime_|htab_|__htab|percpu_|its_|__x86_indirect|__x86_return|__bpf|pcpu_|bpf_trace_run|strncpy_from_user|__task_storage|task_storage)/;

/** Call sites of one JIT image: [{ off, target }] sorted by offset, target named from kallsyms. */
function callSites(code, base, kallsyms, dir) {
  const bin = join(dir, 'prog.bin');
  writeFileSync(bin, code);
  const asm = execFileSync('objdump', ['-D', '-b', 'binary', '-m', 'i386:x86-64', `--adjust-vma=0x${base.toString(16)}`, bin]).toString();
  const sites = [];
  for (const m of asm.matchAll(/^\s*([0-9a-f]+):\s+(?:[0-9a-f]{2} )+\s*call\s+0x([0-9a-f]+)/gm)) {
    const at = BigInt(`0x${m[1]}`);
    sites.push({ off: Number(at - base), target: kallsyms.get(m[2]) ?? `0x${m[2]}` });
  }
  return sites;
}

function readKallsyms() {
  const byAddr = new Map();
  const byName = new Map();
  for (const line of readFileSync('/proc/kallsyms', 'utf8').split('\n')) {
    const [addr, , name] = line.split(/\s+/);
    if (!name) continue;
    if (!byAddr.has(addr)) byAddr.set(addr, name);
    byName.set(name, BigInt(`0x${addr}`));
  }
  return { byAddr, byName };
}

run(async () => {
  const dir = mkdtempSync(join(os.tmpdir(), 'pgscout-prog-profile-'));
  const cluster = await startCluster({ settings: { compute_query_id: 'on' } });
  try {
    await pgbenchData(cluster, 10);
    const collecting = await startCollecting(cluster.conninfo, EXACT ? { exact: true } : {});
    const images = Object.assign({}, ...collecting.collection.collectors.flatMap((c) => c.objects()).map(programImages));
    const { byAddr, byName } = readKallsyms();
    const progs = Object.entries(images).filter(([, im]) => byName.has(im.ksym)).map(([name, im]) => {
      const base = byName.get(im.ksym);
      if (process.argv.includes('--debug')) log(`${name}: ${im.ksym} at 0x${base.toString(16)}, ${im.code.length} bytes`);
      return { name, ksym: im.ksym, sites: callSites(im.code, base, byAddr, dir) };
    });
    if (WARM) await pgbench(cluster, [...WL, '-c', '2', '-j', '2', '-T', String(WARM)]);
    const data = join(dir, 'perf.data');
    const perf = spawn('perf', ['record', '-a', '-e', 'cpu-clock', '-F', String(HZ), '-o', data, '--', 'sleep', String(SECONDS)], { stdio: 'ignore' });
    const perfDone = new Promise((resolve) => perf.on('exit', resolve));
    const result = await pgbench(cluster, [...WL, '-c', '2', '-j', '2', '-T', String(SECONDS + 1)]);
    await perfDone;
    await collecting.stop();
    const statements = (result.transactions * (WL.length ? 1 : 7) * SECONDS) / (SECONDS + 1);
    const script = execFileSync('perf', ['script', '-i', data, '-F', 'comm,ip,sym,symoff'], { maxBuffer: 1 << 30 }).toString();
    const nsPer = (samples) => (samples * 1e9) / HZ / statements;
    const perProg = new Map(progs.map((p) => [p.ksym, { ...p, regions: new Map(), total: 0 }]));
    const helpers = new Map();
    let all = 0;
    for (const line of script.split('\n')) {
      const m = /^\s*(\S+)\s+[0-9a-f]+\s+(\S+?)\+0x([0-9a-f]+)/.exec(line);
      if (!m) continue;
      all++;
      const [, , sym, offHex] = m;
      const prog = perProg.get(sym);
      if (prog) {
        const off = parseInt(offHex, 16);
        let region = 'entry';
        let n = 0;
        for (const s of prog.sites) {
          if (s.off >= off) break;
          n++;
          region = `after call ${n} (${s.target})`;
        }
        prog.regions.set(region, (prog.regions.get(region) ?? 0) + 1);
        prog.total++;
      } else if (HELPER_SYMS.test(sym)) {
        helpers.set(sym, (helpers.get(sym) ?? 0) + 1);
      }
    }
    console.log(`${WL.length ? 'select-only' : 'tpcb-like'}${EXACT ? ' --exact' : ''}: ${result.tps.toFixed(0)} TPS, ${all} symbolized samples at ${HZ} Hz, ns per statement:`);
    for (const p of perProg.values()) {
      if (!p.total) continue;
      console.log(`  ${p.name}: ${fmt(nsPer(p.total), 0)} ns in the program's own code`);
      for (const [region, n] of [...p.regions].sort((a, b) => b[1] - a[1]).slice(0, 12)) console.log(`    ${fmt(nsPer(n), 1).padStart(6)}  ${region}`);
    }
    const helperTotal = [...helpers.values()].reduce((a, b) => a + b, 0);
    console.log(`  kernel functions under the helpers (all programs): ${fmt(nsPer(helperTotal), 0)} ns`);
    for (const [sym, n] of [...helpers].sort((a, b) => b[1] - a[1]).slice(0, 15)) console.log(`    ${fmt(nsPer(n), 1).padStart(6)}  ${sym}`);
  } finally {
    await cluster.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
