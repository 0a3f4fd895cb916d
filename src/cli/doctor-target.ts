/** Doctor checks of the PostgreSQL target, ending with a real load + attach + detach. */
import { discoverTarget } from '../pg/target.js';
import { checkUsdtProbes, REQUIRED_USDT } from '../pg/probes.js';
import { loadLayout } from '../pg/layouts.js';
import { StatementSource } from '../drain/statement-source.js';
import type { Check } from './doctor-checks.js';

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
  const usdt = checkUsdtProbes(target.binaryPath, REQUIRED_USDT);
  checks.push(usdt.missing.length === 0
    ? { name: 'USDT probes', status: 'pass', detail: `${usdt.present.length} required probes in the binary` }
    : { name: 'USDT probes', status: 'fail', detail: `missing: ${usdt.missing.join(', ')}`, fix: 'use a PostgreSQL built with --enable-dtrace (Debian/Ubuntu/PGDG packages are)' });
  const qid = target.computeQueryId;
  const qidOk = qid === 'on' || qid === 'regress' || (qid === 'auto' && target.pgssInstalled);
  checks.push(qidOk
    ? { name: 'compute_query_id', status: 'pass', detail: qid }
    : { name: 'compute_query_id', status: 'warn', detail: `${qid}: query_id will be null`, fix: "ALTER SYSTEM SET compute_query_id = 'on'; SELECT pg_reload_conf();" });
  if (canLoad) {
    try {
      const source = new StatementSource(target);
      const n = source.attachStates.filter((s) => s.attached).length;
      source.close();
      checks.push({ name: 'load + attach', status: 'pass', detail: `statements collector: ${n}/${source.attachStates.length} probes attached and detached` });
    } catch (err) {
      checks.push({ name: 'load + attach', status: 'fail', detail: (err as Error).message });
    }
  }
  return checks;
}
