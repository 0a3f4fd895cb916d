/** `pgscout doctor`: a table of checks with what to do; exit 1 if any fails. */
import { parseArgs } from 'node:util';
import { kernelChecks, type Check } from './doctor-checks.js';
import { targetChecks } from './doctor-target.js';

export function formatChecks(checks: Check[]): string {
  const width = Math.max(...checks.map((c) => c.name.length));
  return checks.map((c) => {
    const mark = { pass: 'PASS', fail: 'FAIL', warn: 'WARN', info: 'INFO' }[c.status];
    const fix = c.fix ? `\n${' '.repeat(width + 9)}→ ${c.fix}` : '';
    return `${mark.padEnd(5)}  ${c.name.padEnd(width)}  ${c.detail}${fix}`;
  }).join('\n');
}

export async function runDoctor(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { pg: { type: 'string' } }, strict: true });
  const checks = kernelChecks();
  const pg = values.pg ?? process.env.PGSCOUT_PG;
  if (pg) checks.push(...(await targetChecks(pg, checks.every((c) => c.name !== 'privileges' || c.status === 'pass'))));
  else checks.push({ name: 'PostgreSQL target', status: 'info', detail: 'not checked: pass --pg <conninfo>' });
  process.stdout.write(`${formatChecks(checks)}\n`);
  const failed = checks.filter((c) => c.status === 'fail').length;
  process.stdout.write(failed ? `${failed} check(s) failed\n` : 'all required checks passed\n');
  return failed ? 1 : 0;
}
