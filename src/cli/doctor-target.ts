/** Doctor checks of the PostgreSQL target, ending with a real load + attach + detach. */
import { packageRoot } from '../util/package-root.js';
import { SchedStatementSource } from '../collectors/statements/sched-source.js';
import { discoverTarget } from '../pg/target.js';
import { checkUsdtProbes, requiredUsdt } from '../pg/probes.js';
import { loadLayout } from '../pg/layouts.js';
import { StatementSource } from '../collectors/statements/source.js';
import type { Check } from './doctor-checks.js';
import { OperatorSource } from '../collectors/operators/source.js';
import { closeAll, type Link } from '../bpf/link.js';
import { warmupNodeFunctions } from '../collectors/operators/warmup.js';
import type { Target } from '../pg/target.js';
import { PlanNodeSource } from '../collectors/plan-nodes/source.js';
import { countInstrumentedBackends } from '../pg/instrumented-backends.js';
import { requireServerInstrumentation } from '../pg/instrumentation.js';
import { ConfigError } from '../util/errors.js';

export async function targetChecks(conninfo: string, canLoad: boolean): Promise<Check[]> {
  const checks: Check[] = [];
  let target;
  try {
    target = await discoverTarget(conninfo);
  } catch (err) {
    return [{ name: 'PostgreSQL target', status: 'fail', detail: (err as Error).message }];
  }
  checks.push({ name: 'PostgreSQL target', status: 'pass', detail: `${target.version}, postmaster pid ${target.postmasterPid}, ${target.binaryPath}` });
  try {
    loadLayout(target.major);
    checks.push({ name: 'struct layouts', status: 'pass', detail: `collectors/layouts/pg${target.major}.json` });
  } catch (err) {
    checks.push({ name: 'struct layouts', status: 'fail', detail: (err as Error).message });
  }
  const usdt = checkUsdtProbes(target.binaryPath, requiredUsdt());
  checks.push(usdt.missing.length === 0
    ? { name: 'USDT probes', status: 'pass', detail: `${usdt.present.length} required probes in the binary` }
    : { name: 'USDT probes', status: 'fail', detail: `missing: ${usdt.missing.join(', ')}`, fix: 'use a PostgreSQL built with --enable-dtrace (Debian/Ubuntu/PGDG packages are)' });
  const qid = target.computeQueryId;
  const qidOk = qid === 'on' || qid === 'regress' || (qid === 'auto' && target.pgssInstalled);
  checks.push(qidOk
    ? { name: 'compute_query_id', status: 'pass', detail: qid }
    : { name: 'compute_query_id', status: 'warn', detail: `${qid}: query_id will be null`, fix: "ALTER SYSTEM SET compute_query_id = 'on'; SELECT pg_reload_conf();" });
  checks.push(await instrumentationCheck(conninfo, target));
  if (canLoad) {
    checks.push(defaultSourceCheck(target));
    checks.push(planNodesCheck(target));
    let source: StatementSource | null = null;
    try {
      source = new StatementSource(target, packageRoot());
      const n = source.attachStates.filter((s) => s.attached).length;
      checks.push({ name: 'load + attach', status: 'pass', detail: `trap-based statement source (--phases, all probes): ${n}/${source.attachStates.length} probes attached and detached` });
      // --operator-probes: the per-call probes.
      checks.push(...(await operatorChecks(source, target)));
    } catch (err) {
      checks.push({ name: 'load + attach', status: 'fail', detail: (err as Error).message });
    } finally {
      source?.close();
    }
  }
  return checks;
}

/** --level operator reads what the server instruments: is auto_explain on, and in how many sessions? */
async function instrumentationCheck(conninfo: string, target: Target): Promise<Check> {
  const { instrumented, clients } = countInstrumentedBackends(target.postmasterPid);
  const sessions = `${instrumented} of ${clients} client backends load auto_explain`;
  try {
    const rate = await requireServerInstrumentation(conninfo);
    return { name: 'operator instrumentation', status: 'pass', detail: `auto_explain with log_analyze, sample_rate ${rate}; ${sessions}` };
  } catch (err) {
    if (!(err instanceof ConfigError)) return { name: 'operator instrumentation', status: 'warn', detail: (err as Error).message };
    return {
      name: 'operator instrumentation', status: 'warn', detail: `the server does not instrument statements (${sessions})`,
      fix: '--level operator needs --setup-instrumentation (auto_explain for new sessions, undone at exit) or auto_explain with log_analyze = on',
    };
  }
}

/** The instrumented operator source: its ExecutorEnd reader loads and attaches. */
function planNodesCheck(target: Target): Check {
  let source: PlanNodeSource | null = null;
  try {
    source = new PlanNodeSource(target, packageRoot(), { rowsPerSecond: null, slowNs: 0 });
    const n = source.attachStates.filter((s) => s.attached).length;
    return { name: 'operator level', status: 'pass', detail: `plan-node reader at standard_ExecutorEnd: ${n}/${source.attachStates.length} probes attached and detached` };
  } catch (err) {
    return { name: 'operator level', status: 'fail', detail: (err as Error).message };
  } finally {
    source?.close();
  }
}

/** The scheduler-based statement source: tracepoints only by default, --exact's one USDT probe. */
function defaultSourceCheck(target: Target): Check {
  let source: SchedStatementSource | null = null;
  try {
    source = new SchedStatementSource(target, packageRoot(), { slowNs: 0, rowsPerSecond: null, netRecv: true, exact: true });
    const n = source.attachStates.filter((s) => s.attached).length;
    return {
      name: 'default source', status: 'pass',
      detail: `no trap per statement by default, one with --exact: ${n}/${source.attachStates.length} probes attached and detached`,
    };
  } catch (err) {
    return { name: 'default source', status: 'fail', detail: (err as Error).message, fix: 'use --exact --phases (query lifecycle probes) on this kernel' };
  } finally {
    source?.close();
  }
}

/** Operator level: discover the node functions with EXPLAIN-only plans in our own backend; report slow probe sites. */
async function operatorChecks(stmt: StatementSource, target: Target): Promise<Check[]> {
  const ops = new OperatorSource((m) => stmt.mapFd(m), target, packageRoot(), { initialTargets: [], counterMask: stmt.counterMask });
  try {
    const discovery: Link[] = [];
    await warmupNodeFunctions(target.conninfo, (pid) => { discovery.push(...ops.attachDiscovery(pid)); });
    await closeAll(discovery); // the warm-up backends have exited
    ops.discoverNow();
    const sites = [...ops.sites.values()];
    const slow = sites.filter((s) => !s.fast);
    const checks: Check[] = [{
      name: 'operator probes', status: sites.length >= 20 ? 'pass' : 'fail',
      detail: `${sites.length} per-node executor functions discovered and probed, ${slow.length} slow`,
      fix: sites.length >= 20 ? undefined : 'ExecInitNode probes did not reveal the node functions; is this a PostgreSQL 15 binary?',
    }];
    for (const s of slow) {
      checks.push({ name: `slow probe ${s.tag}`, status: 'warn', detail: `0x${s.vaddr.toString(16)} starts with ${s.insn}: ~11 µs per call instead of ~0.6 µs` });
    }
    return checks;
  } finally {
    ops.close();
  }
}
